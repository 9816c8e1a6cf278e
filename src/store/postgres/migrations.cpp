// PostgresStore's migrations (the embedded migrations/postgres/*.sql) and schema version.
#include <libpq-fe.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>

#include "store/migrations.hpp"
#include "store/postgres/params.hpp"
#include "store/postgres/retry.hpp"
#include "store/postgres/store.hpp"

namespace latchkey::store::postgres {

using core::Code;
using core::Error;
using core::fail;

// Serializes concurrent migrate() calls from several nodes (pg_advisory_xact_lock key: "lkmigrat").
constexpr std::int64_t kMigrationLockKey = 0x6c6b6d6967726174;
// Migrations may rewrite large tables: no statement timeout, a generous client deadline.
constexpr milliseconds kMigrationTimeout{10 * 60 * 1000};

template <typename Body>
Status PostgresStore::admin(const Body& body) {
  const Deadline deadline = Clock::now() + pool_.settings().busy_timeout;
  return retrying(pool_, deadline, kAdminRetries, [&](Connection& conn, Fault& fault) -> Status {
    if (auto b = conn.exec_simple("BEGIN", "begin", conn.deadline(), fault); !b) {
      return fail(std::move(b.error()));
    }
    if (Status st = body(conn, fault); !st) {
      conn.rollback();
      if (fault != Fault::kLost) {
        fault = Fault::kAborted;  // READ COMMITTED bookkeeping: only a lost connection re-runs
      }
      return st;
    }
    if (auto c = conn.exec_simple("COMMIT", "commit", conn.deadline(), fault); !c) {
      conn.rollback();
      fault = Fault::kAborted;  // never re-run a COMMIT whose outcome is unknown
      return fail(std::move(c.error()));
    }
    return {};
  });
}

Result<int> PostgresStore::migrate() {
  const auto all = postgres_migrations();
  const int latest = all.empty() ? 0 : all.back().version;
  int applied = 0;
  for (const auto& m : all) {
    bool did = false;
    int current = 0;
    // One transaction per migration, under an advisory lock that serializes every node's
    // migrate(); it re-checks the version, so the loser of a race skips what the winner did.
    // DDL is transactional in PostgreSQL: a failed migration leaves nothing behind.
    auto st = admin([&](Connection& conn, Fault& fault) -> Status {
      did = false;
      const Deadline dl = Clock::now() + kMigrationTimeout;
      const std::string prologue =
          "SET LOCAL statement_timeout = 0; SELECT pg_advisory_xact_lock(" +
          std::to_string(kMigrationLockKey) +
          "); CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT NOT NULL PRIMARY "
          "KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";
      if (auto r = conn.exec_simple(prologue, "migration lock", dl, fault); !r) {
        return fail(std::move(r.error()));
      }
      // Applied is decided per version, not by the highest one: branches land in any order, so
      // a database may hold 0010 and still lack 0009 (the SQLite migrator does the same).
      auto v =
          conn.exec_simple("SELECT COALESCE(MAX(version), 0), COUNT(*) FILTER (WHERE version = " +
                               std::to_string(m.version) + ") FROM schema_migrations",
                           "read schema_migrations", dl, fault);
      if (!v) {
        return fail(std::move(v.error()));
      }
      current = std::atoi(PQgetvalue(v->get(), 0, 0));
      const bool already = std::atoi(PQgetvalue(v->get(), 0, 1)) > 0;
      if (current > latest || already) {
        return {};
      }
      if (auto r = conn.exec_simple(std::string(m.sql), "migration", dl, fault); !r) {
        Error e = std::move(r.error());
        e.internal = "migration " + std::string(m.name) + ": " + e.internal;
        return fail(std::move(e));
      }
      Params p;
      p.add(static_cast<std::int64_t>(m.version));
      p.add(m.name);
      auto name = conn.prepare(
          "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, "
          "(extract(epoch FROM clock_timestamp()) * 1000)::bigint)",
          p, fault);
      if (!name) {
        return fail(std::move(name.error()));
      }
      auto ins = conn.exec_prepared(*name, p, "record migration", fault);
      if (!ins) {
        return fail(std::move(ins.error()));
      }
      did = true;
      return {};
    });
    if (!st) {
      return fail(std::move(st.error()));
    }
    if (current > latest) {
      return fail(Error(Code::kInternal)
                      .with_internal("database schema version " + std::to_string(current) +
                                     " is newer than this binary's " + std::to_string(latest)));
    }
    applied += did ? 1 : 0;
  }
  return applied;
}

Result<int> PostgresStore::schema_version() {
  int version = 0;
  auto st = admin([&](Connection& conn, Fault& fault) -> Status {
    const Deadline dl = conn.deadline();
    // to_regclass follows search_path, like the unqualified names in the migrations.
    auto exists = conn.exec_simple("SELECT to_regclass('schema_migrations') IS NOT NULL",
                                   "schema_version", dl, fault);
    if (!exists) {
      return fail(std::move(exists.error()));
    }
    if (std::string_view(PQgetvalue(exists->get(), 0, 0)) != "t") {
      version = 0;
      return {};
    }
    auto v = conn.exec_simple("SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                              "schema_version", dl, fault);
    if (!v) {
      return fail(std::move(v.error()));
    }
    version = std::atoi(PQgetvalue(v->get(), 0, 0));
    return {};
  });
  if (!st) {
    return fail(std::move(st.error()));
  }
  return version;
}

}  // namespace latchkey::store::postgres
