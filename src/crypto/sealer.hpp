#pragma once
// Encryption at rest for private signing keys and provider tokens (design.md §4: "tokens from
// providers are encrypted at rest").
//
// XChaCha20-Poly1305 (IETF, libsodium): a random 192-bit nonce per message is safe to pick at
// random for any realistic number of messages, so there is no nonce state to persist. The
// associated data binds a ciphertext to its purpose and row (e.g. "signing-key:<kid>"), so a
// ciphertext copied into another column or row does not open.
//
// Sealed form: "v1." + base64url(nonce(24) || ciphertext || tag(16)). Text-safe for any column
// type (SQLite TEXT, PostgreSQL text), and versioned so the master key or cipher can change later.
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "core/secret.hpp"

namespace latchkey::crypto {

class Sealer {
 public:
  static constexpr std::size_t kKeyBytes = 32;

  // Start-up only: throws std::invalid_argument unless `key32` is exactly 32 bytes, and
  // std::runtime_error if libsodium cannot initialise.
  explicit Sealer(const core::Secret& key32);

  [[nodiscard]] std::string seal(std::string_view plaintext, std::string_view aad) const;
  // Fails (kInternal, reason in Error::internal) on a wrong version, bad encoding, truncation,
  // tampering, wrong key or wrong aad. Thread-safe.
  [[nodiscard]] core::Result<std::string> open(std::string_view sealed, std::string_view aad) const;

  // A keyed MAC (HMAC-SHA-256 under a subkey derived from the key, so it never equals a seal's
  // key) of `context` and `message`, base64url: what is stored instead of a short secret such as a
  // one-time code, so that a database read does not reveal it. mac_equals compares in constant
  // time.
  [[nodiscard]] std::string mac(std::string_view context, std::string_view message) const;
  [[nodiscard]] bool mac_equals(std::string_view expected_mac, std::string_view context,
                                std::string_view message) const;

 private:
  core::Secret key_;
  core::Secret mac_key_;
};

}  // namespace latchkey::crypto
