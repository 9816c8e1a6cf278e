#pragma once
// One SQLite connection: the handle, its pragmas, its prepared-statement cache, and the mapping of
// SQLite failures to the store's error convention (store.hpp). Only the files of src/store/sqlite/
// include sqlite3.h.
#include <sqlite3.h>

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "core/error.hpp"
#include "store/sql/catalog.hpp"

namespace latchkey::store::sqlite {

// ---- RAII for the C handles (design.md §3.9) ------------------------------------------------

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

inline bool is_busy(int rc) {
  const int primary = rc & 0xff;
  return primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
}

// Maps an SQLite failure to the store's error convention. The SQLite message goes to `internal`
// only; unique-constraint failures are named as PostgreSQL names them (the k*Key constants).
core::Error db_error(sqlite3* db, int rc, std::string_view what);

class Connection {
 public:
  // Opens `path` in WAL mode with foreign keys on and lock waits bounded by busy_timeout_ms.
  static core::Result<std::unique_ptr<Connection>> open(const std::string& path,
                                                        int busy_timeout_ms);

  [[nodiscard]] sqlite3* db() const { return db_.get(); }

  // Runs SQL text that returns no rows we care about (pragmas, BEGIN/COMMIT, migrations).
  core::Status exec(const char* sql, std::string_view what);

  // A cached prepared statement; the caller resets it after use (StmtUse does). The catalog's
  // statements are cached by id, other fixed text by the text.
  core::Result<sqlite3_stmt*> prepare(sql::Query q) {
    if (sqlite3_stmt* cached = by_query_[sql::index(q)].get(); cached != nullptr) {
      return cached;
    }
    return prepare_slow(q);
  }
  core::Result<sqlite3_stmt*> prepare(std::string_view sql);

  void rollback_if_open() {
    if (sqlite3_get_autocommit(db_.get()) == 0) {
      sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    }
  }

 private:
  explicit Connection(DbPtr db) : db_(std::move(db)) {}

  core::Result<sqlite3_stmt*> prepare_slow(sql::Query q);
  core::Result<StmtPtr> compile(std::string_view sql);

  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // Statements are declared after the handle so they are finalized before it closes.
  DbPtr db_;
  std::array<StmtPtr, sql::kQueryCount> by_query_;
  std::unordered_map<std::string, StmtPtr, Hash, std::equal_to<>> by_text_;
};

// Resets a cached statement and drops its bindings when the use ends, so the statement never
// holds a read snapshot or a pending write past its call (COMMIT would fail otherwise).
class StmtUse {
 public:
  explicit StmtUse(sqlite3_stmt* stmt) : stmt_(stmt) {}
  StmtUse(const StmtUse&) = delete;
  StmtUse& operator=(const StmtUse&) = delete;
  StmtUse(StmtUse&& o) noexcept : stmt_(std::exchange(o.stmt_, nullptr)) {}
  StmtUse& operator=(StmtUse&&) = delete;
  ~StmtUse() {
    if (stmt_ != nullptr) {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
    }
  }
  [[nodiscard]] sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_;
};

}  // namespace latchkey::store::sqlite
