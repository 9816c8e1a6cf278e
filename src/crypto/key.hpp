#pragma once
// Asymmetric keys for JOSE (RFC 7515/7517/7518/8037) on OpenSSL 3 EVP (design.md §1 "JWS / JWK").
//
// Crypto objects are validated when built (design.md §3.10): a PublicKey/PrivateKey only exists
// for a key type we support (RSA >= 2048 bits, EC P-256/P-384, Ed25519), so nothing downstream
// re-checks what a key "really" is. The algorithm that uses a key always comes from the key or the
// configuration, never from a token; `none` is not a value of Alg.
//
// Thread safety: both classes share one immutable EVP_PKEY; every sign/verify call creates its own
// EVP_MD_CTX/EVP_PKEY_CTX, so any number of threads may use the same key concurrently.
#include <openssl/types.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace latchkey::crypto {

// JWS "alg" values we accept (RFC 7518 §3.1, RFC 8037 §3.1). HS* is deliberately absent: a MAC
// with a public key as secret is the classic alg-confusion attack (security catalog E2).
enum class Alg { kRS256, kRS384, kRS512, kPS256, kES256, kES384, kEdDSA };

std::optional<Alg> alg_from_string(std::string_view name);
std::string_view to_string(Alg alg);

// What a key is, fixed when it is built. Each Alg needs exactly one kind (see key_fits()).
enum class KeyKind { kRsa, kEcP256, kEcP384, kEd25519 };

// True when `alg` may be used with a key of `kind` (RSA for RS*/PS*, the matching curve for ES*,
// Ed25519 for EdDSA).
bool key_fits(KeyKind kind, Alg alg);

namespace detail {
struct EvpPkeyFree {
  void operator()(EVP_PKEY* p) const noexcept;
};
}  // namespace detail

class PublicKey {
 public:
  // An empty key: verifies nothing, has no JWK. Exists so containers and aggregates can hold keys.
  PublicKey() = default;

  // Takes a reference on `pkey` (the caller keeps its own). Validates type and size; extracts only
  // public material, so a PublicKey built from a private EVP_PKEY never carries private parts.
  static core::Result<PublicKey> from_evp(EVP_PKEY* pkey);
  // SubjectPublicKeyInfo PEM ("-----BEGIN PUBLIC KEY-----").
  static core::Result<PublicKey> from_pem(std::string_view pem);

  [[nodiscard]] bool empty() const { return !pkey_; }
  [[nodiscard]] KeyKind kind() const { return kind_; }
  [[nodiscard]] unsigned bits() const { return bits_; }
  // Borrowed handle for OpenSSL calls; null when empty(). Never mutate it.
  [[nodiscard]] EVP_PKEY* native() const { return pkey_.get(); }
  [[nodiscard]] std::string to_pem() const;  // SubjectPublicKeyInfo PEM; "" when empty

 private:
  PublicKey(std::shared_ptr<EVP_PKEY> pkey, KeyKind kind, unsigned bits)
      : pkey_(std::move(pkey)), kind_(kind), bits_(bits) {}

  std::shared_ptr<EVP_PKEY> pkey_;
  KeyKind kind_ = KeyKind::kRsa;
  unsigned bits_ = 0;
};

class PrivateKey {
 public:
  // Takes a reference on `pkey`. Fails unless it holds a private key of a supported type and size.
  static core::Result<PrivateKey> from_evp(EVP_PKEY* pkey);

  [[nodiscard]] const PublicKey& public_key() const { return public_; }
  [[nodiscard]] KeyKind kind() const { return public_.kind(); }
  [[nodiscard]] EVP_PKEY* native() const { return pkey_.get(); }

 private:
  PrivateKey(std::shared_ptr<EVP_PKEY> pkey, PublicKey pub)
      : pkey_(std::move(pkey)), public_(std::move(pub)) {}

  std::shared_ptr<EVP_PKEY> pkey_;
  PublicKey public_;
};

// RSA (`rsa_bits`, 2048..8192) for RS*/PS*, P-256 for ES256, P-384 for ES384, Ed25519 for EdDSA.
core::Result<PrivateKey> generate_key(Alg alg, unsigned rsa_bits = 2048);

// PKCS#8 PEM (also accepts the traditional "BEGIN RSA/EC PRIVATE KEY" forms). No passphrase.
core::Result<PrivateKey> private_key_from_pem(std::string_view pem);
// Unencrypted PKCS#8 PEM. This is secret material: seal it (Sealer) before it touches disk.
std::string to_pem(const PrivateKey& key);

// The usual OpenSSL error queue, drained into one line for Error::internal (never holds secrets).
std::string drain_openssl_errors();

}  // namespace latchkey::crypto
