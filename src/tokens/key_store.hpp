#pragma once
// Where KeyRing keeps its signing keys: the few operations it needs, inside a transaction.
// tokens/ does not depend on store/: app/ adapts store::Store to this interface
// (app/store_key_store.hpp), tests may pass any other implementation.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace latchkey::tokens {

// One signing key as persisted.
struct StoredKey {
  std::string kid;              // RFC 7638 thumbprint
  std::string algorithm;        // "RS256"
  std::string public_jwk;       // JSON object text (RFC 7517), published as is
  std::string private_key_enc;  // sealed with the master key, aad "signing-key:<kid>"
  std::int64_t created_at_ms = 0;
  bool active = false;                        // exactly one active key
  std::optional<std::int64_t> retired_at_ms;  // when it stopped signing; published until
                                              // retired_at + retire_after

  bool operator==(const StoredKey&) const = default;
};

// The operations of one transaction. Errors follow the store's conventions (store/store.hpp):
// kResourceNotFound for a missing kid, kConflict for a duplicate, kServiceUnavailable when busy.
class KeyStoreTx {
 public:
  virtual ~KeyStoreTx() = default;

  [[nodiscard]] virtual core::Result<std::vector<StoredKey>> list() = 0;  // newest first
  virtual core::Status insert(const StoredKey& key) = 0;
  // Marks `kid` inactive and retired at `at_ms`.
  virtual core::Status retire(const std::string& kid, std::int64_t at_ms) = 0;
  virtual core::Status remove(const std::string& kid) = 0;
};

class KeyStore {
 public:
  virtual ~KeyStore() = default;

  // Runs `fn` in one read-write transaction: commits if it returns success, rolls back
  // otherwise. `fn` may run more than once (transient contention is retried), so it must have
  // no side effects outside the transaction.
  virtual core::Status transaction(const std::function<core::Status(KeyStoreTx&)>& fn) = 0;
  // A read-only transaction (a consistent snapshot; writes fail).
  virtual core::Status read(const std::function<core::Status(KeyStoreTx&)>& fn) = 0;
};

}  // namespace latchkey::tokens
