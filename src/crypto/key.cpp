#include "crypto/key.hpp"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <array>
#include <climits>

#include "crypto/openssl_util.hpp"

namespace latchkey::crypto {
namespace {

constexpr unsigned kMinRsaBits =
    2048;  // RFC 7518 §3.3: "A key of size 2048 bits or larger MUST be used"
constexpr unsigned kMaxRsaBits = 16384;  // bounds verification cost of hostile keys

using core::Code;

core::Error key_error(std::string internal) {
  return core::Error(Code::kInternal, "invalid key").with_internal(std::move(internal));
}

// Classifies `pkey`; fails for anything we do not support.
core::Result<std::pair<KeyKind, unsigned>> classify(EVP_PKEY* pkey) {
  switch (EVP_PKEY_get_base_id(pkey)) {
    case EVP_PKEY_RSA: {
      const int bits = EVP_PKEY_get_bits(pkey);
      if (bits < static_cast<int>(kMinRsaBits) || bits > static_cast<int>(kMaxRsaBits)) {
        return std::unexpected(
            key_error("RSA key of " + std::to_string(bits) + " bits (allowed 2048..16384)"));
      }
      return std::pair{KeyKind::kRsa, static_cast<unsigned>(bits)};
    }
    case EVP_PKEY_EC: {
      std::array<char, 80> name{};
      std::size_t len = 0;
      if (EVP_PKEY_get_group_name(pkey, name.data(), name.size(), &len) != 1) {
        drain_openssl_errors();
        return std::unexpected(key_error("EC key without a named curve"));
      }
      int nid = OBJ_sn2nid(name.data());
      if (nid == NID_undef) {
        nid = EC_curve_nist2nid(name.data());
      }
      if (nid == NID_X9_62_prime256v1) {
        return std::pair{KeyKind::kEcP256, 256U};
      }
      if (nid == NID_secp384r1) {
        return std::pair{KeyKind::kEcP384, 384U};
      }
      return std::unexpected(key_error(std::string("unsupported EC curve ") + name.data()));
    }
    case EVP_PKEY_ED25519:
      return std::pair{KeyKind::kEd25519, 256U};
    default:
      return std::unexpected(key_error("unsupported key type"));
  }
}

bool has_private_part(EVP_PKEY* pkey, KeyKind kind) {
  switch (kind) {
    case KeyKind::kRsa: {
      BIGNUM* d = nullptr;
      const bool ok = EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_D, &d) == 1 && d != nullptr;
      BN_clear_free(d);
      return ok;
    }
    case KeyKind::kEcP256:
    case KeyKind::kEcP384: {
      BIGNUM* priv = nullptr;
      const bool ok =
          EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &priv) == 1 && priv != nullptr;
      BN_clear_free(priv);
      return ok;
    }
    case KeyKind::kEd25519: {
      std::size_t len = 0;
      return EVP_PKEY_get_raw_private_key(pkey, nullptr, &len) == 1 && len == 32;
    }
  }
  return false;
}

std::shared_ptr<EVP_PKEY> share(EVP_PKEY* owned) {
  return std::shared_ptr<EVP_PKEY>(owned, detail::EvpPkeyFree{});
}

}  // namespace

void detail::EvpPkeyFree::operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }

std::string drain_openssl_errors() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    std::array<char, 256> buf{};
    ERR_error_string_n(e, buf.data(), buf.size());
    if (!out.empty()) {
      out += "; ";
    }
    out += buf.data();
  }
  return out;
}

std::optional<Alg> alg_from_string(std::string_view name) {
  if (name == "RS256") {
    return Alg::kRS256;
  }
  if (name == "RS384") {
    return Alg::kRS384;
  }
  if (name == "RS512") {
    return Alg::kRS512;
  }
  if (name == "PS256") {
    return Alg::kPS256;
  }
  if (name == "ES256") {
    return Alg::kES256;
  }
  if (name == "ES384") {
    return Alg::kES384;
  }
  if (name == "EdDSA") {
    return Alg::kEdDSA;
  }
  return std::nullopt;
}

std::string_view to_string(Alg alg) {
  switch (alg) {
    case Alg::kRS256:
      return "RS256";
    case Alg::kRS384:
      return "RS384";
    case Alg::kRS512:
      return "RS512";
    case Alg::kPS256:
      return "PS256";
    case Alg::kES256:
      return "ES256";
    case Alg::kES384:
      return "ES384";
    case Alg::kEdDSA:
      return "EdDSA";
  }
  return "?";
}

bool key_fits(KeyKind kind, Alg alg) {
  switch (alg) {
    case Alg::kRS256:
    case Alg::kRS384:
    case Alg::kRS512:
    case Alg::kPS256:
      return kind == KeyKind::kRsa;
    case Alg::kES256:
      return kind == KeyKind::kEcP256;
    case Alg::kES384:
      return kind == KeyKind::kEcP384;
    case Alg::kEdDSA:
      return kind == KeyKind::kEd25519;
  }
  return false;
}

core::Result<PublicKey> PublicKey::from_evp(EVP_PKEY* pkey) {
  if (pkey == nullptr) {
    return std::unexpected(key_error("null key"));
  }
  auto kind = classify(pkey);
  if (!kind) {
    return std::unexpected(std::move(kind.error()));
  }
  // Round-trip through SubjectPublicKeyInfo: the result holds public material only, whatever
  // `pkey` held.
  unsigned char* der = nullptr;
  const int der_len = i2d_PUBKEY(pkey, &der);
  if (der_len <= 0) {
    return std::unexpected(key_error("cannot encode public key: " + drain_openssl_errors()));
  }
  const unsigned char* p = der;
  EVP_PKEY* pub = d2i_PUBKEY(nullptr, &p, der_len);
  OPENSSL_free(der);
  if (pub == nullptr) {
    return std::unexpected(key_error("cannot decode public key: " + drain_openssl_errors()));
  }
  return PublicKey(share(pub), kind->first, kind->second);
}

core::Result<PublicKey> PublicKey::from_pem(std::string_view pem) {
  if (pem.size() > 64 * 1024) {
    return std::unexpected(key_error("PEM too large"));
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) {
    return std::unexpected(key_error("out of memory"));
  }
  EvpPkeyPtr pkey(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!pkey) {
    return std::unexpected(key_error("not a PEM public key: " + drain_openssl_errors()));
  }
  return from_evp(pkey.get());
}

std::string PublicKey::to_pem() const {
  if (!pkey_) {
    return {};
  }
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), pkey_.get()) != 1) {
    drain_openssl_errors();
    return {};
  }
  return bio_to_string(bio.get());
}

core::Result<PrivateKey> PrivateKey::from_evp(EVP_PKEY* pkey) {
  if (pkey == nullptr) {
    return std::unexpected(key_error("null key"));
  }
  auto pub = PublicKey::from_evp(pkey);
  if (!pub) {
    return std::unexpected(std::move(pub.error()));
  }
  if (!has_private_part(pkey, pub->kind())) {
    drain_openssl_errors();
    return std::unexpected(key_error("key has no private part"));
  }
  if (EVP_PKEY_up_ref(pkey) != 1) {
    return std::unexpected(key_error("EVP_PKEY_up_ref failed"));
  }
  return PrivateKey(share(pkey), std::move(*pub));
}

core::Result<PrivateKey> generate_key(Alg alg, unsigned rsa_bits) {
  EvpPkeyPtr pkey;
  switch (alg) {
    case Alg::kRS256:
    case Alg::kRS384:
    case Alg::kRS512:
    case Alg::kPS256:
      if (rsa_bits < kMinRsaBits || rsa_bits > 8192) {
        return std::unexpected(key_error("rsa_bits must be 2048..8192"));
      }
      pkey.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(rsa_bits)));
      break;
    case Alg::kES256:
      pkey.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
      break;
    case Alg::kES384:
      pkey.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"));
      break;
    case Alg::kEdDSA:
      pkey.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
      break;
  }
  if (!pkey) {
    return std::unexpected(key_error("key generation failed: " + drain_openssl_errors()));
  }
  return PrivateKey::from_evp(pkey.get());
}

core::Result<PrivateKey> private_key_from_pem(std::string_view pem) {
  if (pem.size() > 64 * 1024) {
    return std::unexpected(key_error("PEM too large"));
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) {
    return std::unexpected(key_error("out of memory"));
  }
  // A null passphrase callback with an encrypted PEM fails instead of prompting on a terminal.
  EvpPkeyPtr pkey(PEM_read_bio_PrivateKey(
      bio.get(), nullptr, [](char*, int, int, void*) { return 0; }, nullptr));
  if (!pkey) {
    drain_openssl_errors();  // may mention file contents: keep it out of the error
    return std::unexpected(key_error("not an unencrypted PEM private key"));
  }
  return PrivateKey::from_evp(pkey.get());
}

std::string to_pem(const PrivateKey& key) {
  // Secure-heap BIO: its buffer is cleansed when freed.
  BioPtr bio(BIO_new(BIO_s_secmem()));
  if (!bio || PEM_write_bio_PKCS8PrivateKey(bio.get(), key.native(), nullptr, nullptr, 0, nullptr,
                                            nullptr) != 1) {
    drain_openssl_errors();
    return {};
  }
  return bio_to_string(bio.get());
}

}  // namespace latchkey::crypto
