#pragma once
// PostgreSQL implementation of store::Store (design.md §1 "storage"). Its methods are spread by
// concern: store.cpp (transactions, ping, open_postgres), counters.cpp (the rate-counter batch),
// migrations.cpp (migrate, schema_version).
//
// Concurrency model: a bounded pool of libpq connections (pool.hpp), opened lazily, each used by
// one thread at a time, each with its own prepared statements. Callers already run on the handler
// worker pool (never on the I/O threads), so a worker blocks on its own connection; every wait is
// bounded (connection.hpp).
//
// Isolation: write transactions are SERIALIZABLE, which gives what SQLite's single writer gives
// (no lost update in a read-modify-write, a check-then-insert sees the winner on retry).
// Serialization failures and deadlocks (SQLSTATE 40001/40P01) re-run the whole callback with
// jittered backoff until busy_timeout is spent, like the SQLite store retries SQLITE_BUSY. read()
// is REPEATABLE READ READ ONLY: one snapshot, writes refused by the server (SQLSTATE 25006).
//
// Broken connections (server restarted, network cut) are discarded and replaced on next use; when
// one is found broken the idle ones are dropped too (after a restart they are all dead). A
// transaction whose connection broke before COMMIT was sent is re-run (nothing was committed);
// one that broke during COMMIT is reported as kServiceUnavailable and not re-run (its outcome is
// unknown, and the server rolls back a transaction whose connection is lost before the commit).
#include <functional>
#include <string_view>
#include <vector>

#include "store/postgres/connection.hpp"
#include "store/postgres/pool.hpp"
#include "store/store.hpp"

namespace latchkey::store::postgres {

class PostgresStore final : public Store {
 public:
  explicit PostgresStore(Settings settings) : pool_(std::move(settings)) {}

  Status transaction(const std::function<Status(Tx&)>& fn) override;
  Status read(const std::function<Status(Tx&)>& fn) override;
  Result<std::vector<CounterCounts>> hit_counters(const std::vector<CounterHit>& hits) override;
  Status ping() override;
  Result<int> migrate() override;
  Result<int> schema_version() override;
  Status backup(const std::string& path) override;

 private:
  // Runs `fn` inside `begin`. Commits on success; rolls back on error or exception (rethrown).
  // Serialization failures, deadlocks and connections lost before COMMIT re-run the callback.
  Status run(const char* begin, const std::function<Status(Tx&)>& fn);

  // Runs `body(Connection&, Fault&) -> Status` in a plain read-write transaction (migrations,
  // bookkeeping); lost connections are retried like run() does.
  template <typename Body>
  Status admin(const Body& body);

  Pool pool_;
};

inline bool is_postgres_url(std::string_view url) {
  return url.starts_with("postgres://") || url.starts_with("postgresql://");
}

}  // namespace latchkey::store::postgres
