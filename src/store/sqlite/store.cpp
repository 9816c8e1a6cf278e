// SQLite implementation of store::Store (design.md §1 "storage"): the pool, the transaction
// runner, migrations and open_sqlite(). The statements are the catalog's (sql/catalog.cpp), run by
// sqlite/queries.hpp.
//
// Concurrency model: a small pool of connections, each used by one thread at a time (opened with
// SQLITE_OPEN_NOMUTEX), each with its own prepared-statement cache. WAL mode lets readers run
// beside the one writer; write transactions start with BEGIN IMMEDIATE so the write lock is taken
// up front (no deadlock-prone lock upgrade from a read), and SQLITE_BUSY beyond busy_timeout is
// retried a bounded number of times with backoff by re-running the whole callback.
#include <sqlite3.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "store/faults.hpp"
#include "store/migrations.hpp"
#include "store/sqlite/connection.hpp"
#include "store/sqlite/queries.hpp"
#include "store/store.hpp"

namespace latchkey::store {
namespace {

using core::Code;
using core::Error;
using core::fail;
using sqlite::Connection;
using sqlite::db_error;
using sqlite::is_busy;
using sqlite::SqliteTx;
using sqlite::StmtUse;

// How often a transaction is re-run when SQLite stays busy past busy_timeout.
constexpr int kMaxAttempts = 5;
constexpr std::chrono::milliseconds kBackoffBase{4};

// ---- connection pool --------------------------------------------------------------------------

class Pool {
 public:
  class Lease {
   public:
    Lease(Pool* pool, Connection* conn) : pool_(pool), conn_(conn) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease(Lease&& o) noexcept : pool_(o.pool_), conn_(std::exchange(o.conn_, nullptr)) {}
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (conn_ != nullptr) {
        pool_->release(conn_);
      }
    }
    Connection& operator*() const { return *conn_; }
    Connection* operator->() const { return conn_; }

   private:
    Pool* pool_;
    Connection* conn_;
  };

  void add(std::unique_ptr<Connection> conn) {
    std::lock_guard lock(mu_);
    free_.push_back(conn.get());
    all_.push_back(std::move(conn));
  }

  // Waits at most `timeout` for a free connection. A callback that calls back into the store
  // while holding one could otherwise wait forever.
  Result<Lease> acquire(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, timeout, [this] { return !free_.empty(); })) {
      return fail(Error(Code::kServiceUnavailable)
                      .with_internal("no free sqlite connection within the busy timeout"));
    }
    Connection* conn = free_.back();
    free_.pop_back();
    return Lease(this, conn);
  }

 private:
  void release(Connection* conn) {
    {
      std::lock_guard lock(mu_);
      free_.push_back(conn);
    }
    cv_.notify_one();
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> all_;
  std::vector<Connection*> free_;
};

// ---- the store ----------------------------------------------------------------------------------

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(int busy_timeout_ms) : busy_timeout_(busy_timeout_ms) {}

  Pool& pool() { return pool_; }

  Status transaction(const std::function<Status(Tx&)>& fn) override {
    return run(true, [&fn](Connection& conn, bool& saw_busy) {
      SqliteTx tx(conn, false);
      auto st = fn(tx);
      saw_busy = tx.driver().saw_busy();
      return st;
    });
  }

  Status read(const std::function<Status(Tx&)>& fn) override {
    return run(false, [&fn](Connection& conn, bool& saw_busy) {
      SqliteTx tx(conn, true);
      auto st = fn(tx);
      saw_busy = tx.driver().saw_busy();
      return st;
    });
  }

  Result<std::vector<CounterCounts>> hit_counters(const std::vector<CounterHit>& hits) override {
    std::vector<CounterCounts> out;
    if (hits.empty()) {
      return out;
    }
    auto st = run(true, [&](Connection& conn, bool& saw_busy) -> Status {
      sqlite::Driver driver(conn, false);
      auto counts = driver.hit_counters(hits);
      saw_busy = driver.saw_busy();
      if (!counts) {
        return fail(std::move(counts.error()));
      }
      out = std::move(*counts);
      return {};
    });
    if (!st) {
      return fail(std::move(st.error()));
    }
    return out;
  }

  Status backup(const std::string& path) override;

  Status ping() override {
    auto lease = pool_.acquire(busy_timeout_);
    if (!lease) {
      return fail(std::move(lease.error()));
    }
    return (*lease)->exec("SELECT 1", "ping");
  }

  Result<int> migrate() override {
    // The bookkeeping table itself; IF NOT EXISTS under the write lock is safe when two processes
    // start at once.
    auto st = run(true, [](Connection& conn, bool&) {
      return conn.exec(
          "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER NOT NULL PRIMARY KEY, "
          "name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT",
          "create schema_migrations");
    });
    if (!st) {
      return fail(std::move(st.error()));
    }
    const auto all = sqlite_migrations();
    const int latest = all.empty() ? 0 : all.back().version;
    auto current = schema_version();
    if (!current) {
      return fail(std::move(current.error()));
    }
    if (*current > latest) {
      return fail(Error(Code::kInternal)
                      .with_internal("database schema version " + std::to_string(*current) +
                                     " is newer than this binary's " + std::to_string(latest)));
    }
    int applied = 0;
    for (const auto& m : all) {
      // Each migration in its own IMMEDIATE transaction that re-checks whether it is applied, so a
      // second process running migrate() at the same time waits, then skips it.
      bool did = false;
      auto one = run(true, [&m, &did](Connection& conn, bool&) -> Status {
        did = false;
        auto stmt = conn.prepare("SELECT 1 FROM schema_migrations WHERE version = ?");
        if (!stmt) {
          return fail(std::move(stmt.error()));
        }
        StmtUse use(*stmt);
        sqlite3_bind_int(use.get(), 1, m.version);
        const int rc = sqlite3_step(use.get());
        if (rc == SQLITE_ROW) {
          return {};
        }
        if (rc != SQLITE_DONE) {
          return fail(db_error(conn.db(), rc, "read schema_migrations"));
        }
        const std::string sql(m.sql);
        if (auto ex = conn.exec(sql.c_str(), "migration"); !ex) {
          Error e = std::move(ex.error());
          e.internal = "migration " + std::string(m.name) + ": " + e.internal;
          return fail(std::move(e));
        }
        auto ins = conn.prepare(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, "
            "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))");
        if (!ins) {
          return fail(std::move(ins.error()));
        }
        StmtUse ins_use(*ins);
        sqlite3_bind_int(ins_use.get(), 1, m.version);
        sqlite3_bind_text64(ins_use.get(), 2, m.name.data(), m.name.size(), SQLITE_TRANSIENT,
                            SQLITE_UTF8);
        if (const int irc = sqlite3_step(ins_use.get()); irc != SQLITE_DONE) {
          return fail(db_error(conn.db(), irc, "record migration"));
        }
        did = true;
        return {};
      });
      if (!one) {
        return fail(std::move(one.error()));
      }
      applied += did ? 1 : 0;
    }
    return applied;
  }

  Result<int> schema_version() override {
    int version = 0;
    auto st = run(false, [&version](Connection& conn, bool&) -> Status {
      auto stmt = conn.prepare(
          "SELECT CASE WHEN EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND "
          "name = 'schema_migrations') THEN 1 ELSE 0 END");
      if (!stmt) {
        return fail(std::move(stmt.error()));
      }
      bool exists = false;
      {
        StmtUse use(*stmt);
        const int rc = sqlite3_step(use.get());
        if (rc != SQLITE_ROW) {
          return fail(db_error(conn.db(), rc, "schema_version"));
        }
        exists = sqlite3_column_int(use.get(), 0) != 0;
      }
      if (!exists) {
        return {};
      }
      // Prepared only once the table exists (preparing fails on a missing table).
      auto max = conn.prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
      if (!max) {
        return fail(std::move(max.error()));
      }
      StmtUse use(*max);
      const int rc = sqlite3_step(use.get());
      if (rc != SQLITE_ROW) {
        return fail(db_error(conn.db(), rc, "schema_version"));
      }
      version = sqlite3_column_int(use.get(), 0);
      return {};
    });
    if (!st) {
      return fail(std::move(st.error()));
    }
    return version;
  }

 private:
  // Runs `body` inside BEGIN IMMEDIATE (write) or BEGIN (read) on a pooled connection. Commits on
  // success; rolls back on error or exception (rethrown). Busy is retried kMaxAttempts times with
  // exponential backoff by re-running the whole body.
  template <typename Body>
  Status run(bool write, const Body& body) {
    Error last(Code::kServiceUnavailable);
    for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
      if (attempt > 0) {
        std::this_thread::sleep_for(kBackoffBase * (1 << (attempt - 1)));
      }
      auto lease = pool_.acquire(busy_timeout_);
      if (!lease) {
        return fail(std::move(lease.error()));
      }
      Connection& conn = **lease;
      const int brc = faults::at_statement() == faults::Action::kFail
                          ? SQLITE_IOERR
                          : sqlite3_exec(conn.db(), write ? "BEGIN IMMEDIATE" : "BEGIN", nullptr,
                                         nullptr, nullptr);
      if (brc != SQLITE_OK) {
        last = db_error(conn.db(), brc, "begin");
        if (is_busy(brc)) {
          continue;
        }
        return fail(std::move(last));
      }
      bool saw_busy = false;
      Status st;
      try {
        st = body(conn, saw_busy);
      } catch (...) {
        conn.rollback_if_open();
        throw;
      }
      if (!st) {
        conn.rollback_if_open();
        if (saw_busy) {
          last = std::move(st.error());
          continue;
        }
        return st;
      }
      const int crc = faults::at_statement() == faults::Action::kFail
                          ? SQLITE_IOERR
                          : sqlite3_exec(conn.db(), "COMMIT", nullptr, nullptr, nullptr);
      if (crc != SQLITE_OK) {
        last = db_error(conn.db(), crc, "commit");
        conn.rollback_if_open();
        if (is_busy(crc)) {
          continue;
        }
        return fail(std::move(last));
      }
      return {};
    }
    return fail(std::move(last));
  }

  std::chrono::milliseconds busy_timeout_;
  Pool pool_;
};

// "sqlite:///abs/path.db" → "/abs/path.db"; "sqlite://rel.db" → "rel.db"; bare paths as is.
Result<std::string> parse_path(const std::string& spec) {
  constexpr std::string_view kScheme = "sqlite://";
  std::string path = spec;
  if (std::string_view(spec).starts_with(kScheme)) {
    path = spec.substr(kScheme.size());
  } else if (spec.find("://") != std::string::npos) {
    return fail(Error(Code::kInternal).with_internal("not an sqlite database url"));
  }
  if (path.empty()) {
    return fail(Error(Code::kInternal).with_internal("empty sqlite database path"));
  }
  return path;
}

}  // namespace

Result<std::unique_ptr<Store>> open_sqlite(const std::string& path, int busy_timeout_ms) {
  return open_sqlite(SqliteOptions{path, busy_timeout_ms, SqliteOptions{}.pool_size});
}

// One sqlite3_backup_step(-1) copies every page under one read snapshot of the source (WAL:
// writers carry on meanwhile), so the copy is consistent. Busy/locked (a checkpoint, a writer
// holding the lock in rollback mode) is retried within the busy timeout.
Status SqliteStore::backup(const std::string& path) {
  if (path.empty()) {
    return fail(Error(Code::kInternal).with_internal("backup: no file given"));
  }
  const std::filesystem::path target(path);
  const std::filesystem::path tmp = target.string() + ".partial";
  std::error_code ec;
  std::filesystem::remove(tmp, ec);
  auto lease = pool_.acquire(busy_timeout_);
  if (!lease) {
    return fail(std::move(lease.error()));
  }
  sqlite3* raw = nullptr;
  const int orc = sqlite3_open_v2(
      tmp.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  sqlite::DbPtr dest(raw);
  if (orc != SQLITE_OK) {
    return fail(db_error(dest.get(), orc, "backup: open " + tmp.string()));
  }
  // Owner-only, like the database itself (sealed provider tokens, encrypted keys).
  std::filesystem::permissions(
      tmp, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
      std::filesystem::perm_options::replace, ec);
  auto discard = [&tmp](Error e) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    return fail(std::move(e));
  };
  sqlite3_backup* b = sqlite3_backup_init(dest.get(), "main", (*lease)->db(), "main");
  if (b == nullptr) {
    return discard(db_error(dest.get(), sqlite3_errcode(dest.get()), "backup: init"));
  }
  const auto deadline = std::chrono::steady_clock::now() + busy_timeout_;
  int rc = SQLITE_OK;
  for (;;) {
    rc = sqlite3_backup_step(b, -1);
    if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) ||
        std::chrono::steady_clock::now() >= deadline) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const int frc = sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE) {
    return discard(db_error(dest.get(), rc, "backup: copy"));
  }
  if (frc != SQLITE_OK) {
    return discard(db_error(dest.get(), frc, "backup: finish"));
  }
  // The copy keeps the source's WAL mode in its header; fold any WAL back in before closing.
  if (const int crc = sqlite3_wal_checkpoint_v2(dest.get(), nullptr, SQLITE_CHECKPOINT_TRUNCATE,
                                                nullptr, nullptr);
      crc != SQLITE_OK) {
    return discard(db_error(dest.get(), crc, "backup: checkpoint"));
  }
  dest.reset();
  std::filesystem::rename(tmp, target, ec);
  if (ec) {
    return discard(Error(Code::kInternal).with_internal("backup: rename: " + ec.message()));
  }
  return {};
}

Result<std::unique_ptr<Store>> open_sqlite(const SqliteOptions& options) {
  auto path = parse_path(options.path);
  if (!path) {
    return fail(std::move(path.error()));
  }
  if (options.busy_timeout_ms < 0 || options.pool_size < 1) {
    return fail(Error(Code::kInternal).with_internal("invalid sqlite busy timeout or pool size"));
  }
  // Every ":memory:" connection is its own database, so an in-memory store has exactly one.
  const bool memory = *path == ":memory:";
  bool created = false;
  if (!memory) {
    std::error_code ec;
    const std::filesystem::path file(*path);
    if (file.has_parent_path()) {
      std::filesystem::create_directories(file.parent_path(), ec);
      if (ec) {
        return fail(
            Error(Code::kInternal)
                .with_internal("cannot create directory for the database: " + ec.message()));
      }
    }
    created = !std::filesystem::exists(file, ec);
  }
  auto store = std::make_unique<SqliteStore>(options.busy_timeout_ms);
  const int size = memory ? 1 : options.pool_size;
  for (int i = 0; i < size; ++i) {
    auto conn = Connection::open(*path, options.busy_timeout_ms);
    if (!conn) {
      return fail(std::move(conn.error()));
    }
    store->pool().add(std::move(*conn));
  }
  if (created) {
    // The database holds sealed provider tokens and encrypted keys: owner-only access. SQLite
    // gives the -wal and -shm files the same mode as the database file.
    std::error_code ec;
    std::filesystem::permissions(
        *path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
        std::filesystem::perm_options::replace, ec);
  }
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace latchkey::store
