// PostgresStore's transactions and readiness, and open_postgres() / open_store().
#include "store/postgres/store.hpp"

#include <memory>
#include <string>
#include <utility>

#include "store/postgres/libpq_loader.hpp"
#include "store/postgres/queries.hpp"
#include "store/postgres/retry.hpp"

namespace latchkey::store {
namespace postgres {

using core::Code;
using core::Error;
using core::fail;

Status PostgresStore::transaction(const std::function<Status(Tx&)>& fn) {
  return run("BEGIN ISOLATION LEVEL SERIALIZABLE", fn);
}

Status PostgresStore::read(const std::function<Status(Tx&)>& fn) {
  return run("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", fn);
}

Status PostgresStore::run(const char* begin, const std::function<Status(Tx&)>& fn) {
  const Deadline deadline = Clock::now() + pool_.settings().busy_timeout;
  return retrying(
      pool_, deadline, kTransactionRetries, [&](Connection& conn, Fault& fault) -> Status {
        if (auto b = conn.exec_simple(begin, "begin", conn.deadline(), fault); !b) {
          if (fault != Fault::kLost) {
            fault =
                Fault::kAborted;  // only a lost connection makes a failed BEGIN worth re-running
          }
          return fail(std::move(b.error()));
        }
        PgTx tx(conn);
        Status st;
        try {
          st = fn(tx);
        } catch (...) {
          conn.rollback();
          throw;
        }
        const Driver& d = tx.driver();
        if (!st || d.fault() != Fault::kNone) {
          conn.rollback();
          fault = d.fault();
          if (fault == Fault::kRetry || (fault == Fault::kLost && st)) {
            // Re-run (or, out of attempts, report): the store's own error, not the callback's.
            return fail(d.first_error().value_or(st ? Error(Code::kServiceUnavailable)
                                                    : std::move(st.error())));
          }
          if (!st) {
            return st;
          }
          // The callback ignored a failed statement; PostgreSQL aborted the transaction, so
          // reporting success would claim writes that never happened.
          return fail(d.first_error().value_or(
              Error(Code::kInternal).with_internal("statement failed inside the transaction")));
        }
        if (auto c = conn.exec_simple("COMMIT", "commit", conn.deadline(), fault); !c) {
          if (fault == Fault::kRetry) {
            // SERIALIZABLE may refuse at commit time; nothing was written: re-run.
            return fail(std::move(c.error()));
          }
          if (fault == Fault::kLost) {
            pool_.drop_idle();
          }
          conn.rollback();
          fault = Fault::kAborted;  // lost during COMMIT: outcome unknown, never re-run
          return fail(std::move(c.error()));
        }
        return {};
      });
}

Status PostgresStore::backup(const std::string& path) {
  (void)path;
  return fail(Error(Code::kInternal)
                  .with_internal("latchkey backup copies SQLite databases only; back up PostgreSQL "
                                 "with pg_dump (see docs/deployment.md)"));
}

Status PostgresStore::ping() {
  const Deadline deadline = Clock::now() + pool_.settings().busy_timeout;
  return retrying(pool_, deadline, kPingRetries, [](Connection& conn, Fault& fault) -> Status {
    if (auto r = conn.exec_simple("SELECT 1", "ping", conn.deadline(), fault); !r) {
      return fail(std::move(r.error()));
    }
    return {};
  });
}

}  // namespace postgres

Result<std::unique_ptr<Store>> open_postgres(const PostgresOptions& options) {
  if (auto st = load_libpq(); !st) {
    return core::fail(std::move(st).error());
  }
  // Validated here so a typo stops start-up; the message never repeats the URL (it may hold a
  // password).
  char* err = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(options.url.c_str(), &err);
  if (err != nullptr) {
    PQfreemem(err);
  }
  if (parsed == nullptr || !postgres::is_postgres_url(options.url)) {
    if (parsed != nullptr) {
      PQconninfoFree(parsed);
    }
    return core::fail(core::Error(core::Code::kInternal)
                          .with_internal("storage.database_url is not a valid postgres:// URL"));
  }
  PQconninfoFree(parsed);
  if (options.pool_size < 1 || options.busy_timeout_ms < 0 || options.connect_timeout_ms < 1 ||
      options.statement_timeout_ms < 1) {
    return core::fail(core::Error(core::Code::kInternal)
                          .with_internal("invalid postgres pool size, busy, connect or statement "
                                         "timeout"));
  }
  postgres::Settings s;
  s.url = options.url;
  s.pool_size = options.pool_size;
  s.busy_timeout = postgres::milliseconds(options.busy_timeout_ms);
  s.connect_timeout = postgres::milliseconds(options.connect_timeout_ms);
  s.statement_timeout = postgres::milliseconds(options.statement_timeout_ms);
  return std::unique_ptr<Store>(std::make_unique<postgres::PostgresStore>(std::move(s)));
}

Result<std::unique_ptr<Store>> open_store(const std::string& url, int busy_timeout_ms,
                                          int pool_size) {
  if (postgres::is_postgres_url(url)) {
    PostgresOptions o;
    o.url = url;
    o.busy_timeout_ms = busy_timeout_ms;
    o.pool_size = pool_size;
    return open_postgres(o);
  }
  return open_sqlite(SqliteOptions{url, busy_timeout_ms, pool_size});
}

}  // namespace latchkey::store
