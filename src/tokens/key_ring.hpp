#pragma once
// Session-token signing keys: creation, rotation, publication (JWKS) and JWT sign/verify.
//
// Keys live in a KeyStore (tokens/key_store.hpp; the database in production): one row per key,
// private key sealed with the master key, aad "signing-key:<kid>", kid = RFC 7638 thumbprint.
// Exactly one key is active and signs; a rotated key stays published until retired_at +
// keys.retire_after (>= the longest token lifetime), so tokens it signed keep verifying, then it
// is pruned. Rotation is staged: a new key is published at once but signs only
// keys.activation_delay after its creation; until then the key it replaced keeps signing, so a
// node that has not re-read the keys yet (every 5 s) or a verifier holding a JWKS fetched just
// before the rotation never meets a token signed by a key it does not know.
//
// Thread safety: all const methods are safe to call concurrently with each other and with
// rotate()/reload(). State is an immutable snapshot swapped atomically; readers never lock.
#include <atomic>
#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/random.hpp"
#include "core/secret.hpp"
#include "crypto/key.hpp"
#include "crypto/sealer.hpp"
#include "tokens/key_store.hpp"

namespace latchkey::tokens {

struct KeyInfo {
  std::string kid;
  std::string alg;
  std::int64_t created_at_ms = 0;
  bool active = false;   // the newest key, not retired (it may not sign yet: activation_delay)
  bool signing = false;  // the key that signs now
  std::optional<std::int64_t> retired_at_ms;
};

// What the application configures (app/ fills it from the [keys] section of the configuration).
struct KeyRingOptions {
  std::string algorithm = "RS256";  // of a new key: RS256, ES256, ...
  unsigned rsa_bits = 2048;
  // A rotated-out key stays published this long after it stopped signing (>= longest token life).
  std::chrono::seconds retire_after{3600};
  // A new key is published at once but signs only this long after it was created; until then the
  // key it replaced keeps signing. 0 = at once.
  std::chrono::seconds activation_delay{15};
};

class KeyRing {
 public:
  // Start-up only: throws std::invalid_argument when master_key is not 32 bytes. `store` must
  // outlive the ring.
  KeyRing(KeyStore& store, const core::Clock& clock, core::Random& random, core::Secret master_key,
          KeyRingOptions options);
  ~KeyRing();
  KeyRing(const KeyRing&) = delete;
  KeyRing& operator=(const KeyRing&) = delete;

  // Loads the keys; on first start creates the active key (keys.algorithm, keys.rsa_bits). Safe
  // against several processes starting at once: the insert happens in one store transaction that
  // re-checks for an active key first.
  core::Status load_or_create();

  // In one transaction: retires the active key (retired_at = now), prunes keys past their
  // publication window, inserts a new active key. Returns the new kid.
  core::Result<std::string> rotate();

  // Re-reads the keys (another process may have rotated); prunes expired retired keys.
  core::Status reload();

  // {"keys":[...]} of the published keys (public members only). Cached; rebuilt only when the
  // key set changes or a retired key's publication window ends.
  [[nodiscard]] std::string jwks_json() const;
  // The same document without a copy, for the JWKS handler's hot path.
  [[nodiscard]] std::shared_ptr<const std::string> jwks() const;

  // Compact JWS with header {"alg","kid","typ":"JWT"} signed by the signing key: the active key
  // once it is keys.activation_delay old, until then the key it replaced.
  [[nodiscard]] core::Result<std::string> sign_jwt(const boost::json::object& claims) const;

  // Verifies a JWT we issued: typ "JWT", kid of a published key (an unknown kid triggers at most
  // one reload every few seconds), alg equal to that key's alg, signature, then exp (required),
  // nbf and iat against the injected clock with `leeway_s`. Returns the claims. Failures are
  // kAuthenticationInvalid with the reason (unknown_kid, alg_mismatch, signature, expired, ...)
  // in Error::internal.
  [[nodiscard]] core::Result<boost::json::object> verify_jwt(std::string_view jwt,
                                                             std::int64_t leeway_s = 5) const;

  [[nodiscard]] std::vector<KeyInfo> list() const;
  // The kid of the key that signs now (see sign_jwt).
  [[nodiscard]] std::string active_kid() const;

  // An unknown kid reloads from the store at most this often (security catalog E4, H11).
  static constexpr std::int64_t kReloadCooldownMs = 5'000;

 private:
  struct Snapshot;
  struct LoadedKey;

  core::Result<std::shared_ptr<const Snapshot>> build_snapshot(const std::vector<StoredKey>& rows,
                                                               const Snapshot* previous) const;
  static void publish(Snapshot* snap, std::int64_t now_ms);
  core::Result<StoredKey> new_key_row() const;
  std::shared_ptr<const Snapshot> current() const;
  // const: the snapshot is the only state these change, and it is swapped atomically.
  core::Status install(const std::vector<StoredKey>& rows) const;
  core::Status reload_impl() const;
  void reload_for_unknown_kid() const;

  KeyStore& store_;
  const core::Clock& clock_;
  // Part of the construction contract (design.md §3.6); key material itself comes from OpenSSL's
  // DRBG and Sealer nonces from libsodium, so nothing reads it yet.
  core::Random& random_;
  crypto::Sealer sealer_;
  KeyRingOptions options_;
  mutable std::atomic<std::shared_ptr<const Snapshot>> snapshot_;
  mutable std::atomic<std::int64_t> last_reload_ms_{0};
};

}  // namespace latchkey::tokens
