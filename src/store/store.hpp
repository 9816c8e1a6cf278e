#pragma once
// The one storage interface (design.md §1, §2). Callers never see SQL, handles or transactions of a
// particular engine: a PostgreSQL implementation satisfies the same interface without changing them.
//
// Every data operation lives on Tx. A Tx exists only inside Store::transaction(): the callback's
// writes commit together when it returns success and roll back together when it returns an error
// (or throws). That is how "no half-made user, session or link" is guaranteed.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace latchkey::store {

using core::Result;
using core::Status;

// ---- rows ---------------------------------------------------------------------------------

struct SigningKey {
  std::string kid;
  std::string algorithm;          // "RS256"
  std::string public_jwk;         // JSON object text (RFC 7517), published as is
  std::string private_key_enc;    // private key, encrypted at rest (opaque to the store)
  std::int64_t created_at_ms = 0;
  bool active = false;            // exactly one active key signs
  std::optional<std::int64_t> retired_at_ms;  // when it stopped signing; still published until
                                              // retired_at + retire_after
};

// ---- transaction ----------------------------------------------------------------------------

class Tx {
 public:
  virtual ~Tx() = default;

  // Signing keys
  virtual Result<std::vector<SigningKey>> list_signing_keys() = 0;  // newest first
  virtual Status insert_signing_key(const SigningKey& key) = 0;
  // Marks `kid` inactive and retired at `at_ms`; resource_not_found if absent.
  virtual Status retire_signing_key(const std::string& kid, std::int64_t at_ms) = 0;
  virtual Status delete_signing_key(const std::string& kid) = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // Runs `fn` in one read-write transaction. Commits if it returns success, rolls back otherwise.
  // Transient contention (SQLITE_BUSY, serialization failures) is retried a bounded number of
  // times, so `fn` must have no side effects outside the Tx.
  virtual Status transaction(const std::function<Status(Tx&)>& fn) = 0;
  // A read-only transaction (a consistent snapshot; writes fail).
  virtual Status read(const std::function<Status(Tx&)>& fn) = 0;

  // Readiness: the database answers a trivial query.
  virtual Status ping() = 0;
  // Applies pending numbered migrations; returns how many were applied.
  virtual Result<int> migrate() = 0;
  virtual Result<int> schema_version() = 0;
};

// "sqlite:///abs/path.db", "sqlite://relative.db", or a bare path. `busy_timeout_ms` bounds lock waits.
Result<std::unique_ptr<Store>> open_sqlite(const std::string& path, int busy_timeout_ms = 5000);

}  // namespace latchkey::store
