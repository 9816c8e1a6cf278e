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
  Error last(Code::kServiceUnavailable);
  int lost_count = 0;
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    if (attempt > 0) {
      if (Clock::now() >= deadline) {
        break;
      }
      backoff(attempt, deadline);
    }
    auto lease = pool_.acquire(deadline);
    if (!lease) {
      return fail(std::move(lease.error()));
    }
    Connection& conn = **lease;
    Fault fault = Fault::kNone;
    if (auto b = conn.exec_simple(begin, "begin", conn.deadline(), fault); !b) {
      last = std::move(b.error());
      if (fault == Fault::kLost && ++lost_count <= kMaxConnectionRetries) {
        pool_.drop_idle();
        continue;
      }
      return fail(std::move(last));
    }
    PgTx tx(conn);
    const Driver& d = tx.driver();
    Status st;
    try {
      st = fn(tx);
    } catch (...) {
      conn.rollback();
      throw;
    }
    if (d.fault() == Fault::kLost) {
      pool_.drop_idle();
    }
    if (!st || d.fault() != Fault::kNone) {
      conn.rollback();
      if (d.fault() == Fault::kRetry ||
          (d.fault() == Fault::kLost && ++lost_count <= kMaxConnectionRetries)) {
        last = d.first_error().value_or(st ? Error(Code::kServiceUnavailable) : st.error());
        continue;
      }
      if (!st) {
        return st;
      }
      // The callback ignored a failed statement; PostgreSQL aborted the transaction, so
      // reporting success would claim writes that never happened.
      return fail(d.first_error().value_or(
          Error(Code::kInternal).with_internal("statement failed inside the transaction")));
    }
    fault = Fault::kNone;
    auto c = conn.exec_simple("COMMIT", "commit", conn.deadline(), fault);
    if (!c) {
      last = std::move(c.error());
      if (fault == Fault::kRetry) {
        continue;  // SERIALIZABLE may refuse at commit time; nothing was written
      }
      if (fault == Fault::kLost) {
        pool_.drop_idle();
      }
      conn.rollback();
      return fail(std::move(last));  // lost during COMMIT: outcome unknown, never re-run
    }
    return {};
  }
  return fail(std::move(last));
}

Status PostgresStore::ping() {
  // A second try after a lost connection: the first may be a pooled one killed by a restart.
  Error last(Code::kServiceUnavailable);
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto lease = pool_.acquire(Clock::now() + pool_.settings().busy_timeout);
    if (!lease) {
      return fail(std::move(lease.error()));
    }
    Fault fault = Fault::kNone;
    auto r = (*lease)->exec_simple("SELECT 1", "ping", (*lease)->deadline(), fault);
    if (r) {
      return {};
    }
    last = std::move(r.error());
    if (fault != Fault::kLost) {
      break;
    }
    pool_.drop_idle();
  }
  return fail(std::move(last));
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
