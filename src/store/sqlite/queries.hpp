#pragma once
// The SQLite driver of sql::SqlTx (sql/sql_tx.hpp): binds a catalog statement's parameters on a
// cached prepared statement, steps it and reads its rows through StmtRow. Also the SQLite form of
// the rate-counter batch, which is not in the catalog (see catalog.hpp).
#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "store/sql/catalog.hpp"
#include "store/sql/rows.hpp"
#include "store/sql/sql_tx.hpp"
#include "store/sql/values.hpp"
#include "store/sqlite/connection.hpp"
#include "store/store.hpp"

namespace latchkey::store::sqlite {

// ---- binding and reading --------------------------------------------------------------------

inline int bind_one(sqlite3_stmt* s, int i, std::string_view v) {
  return sqlite3_bind_text64(s, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
}
inline int bind_one(sqlite3_stmt* s, int i, const std::string& v) {
  return bind_one(s, i, std::string_view(v));
}
inline int bind_one(sqlite3_stmt* s, int i, std::int64_t v) { return sqlite3_bind_int64(s, i, v); }
inline int bind_one(sqlite3_stmt* s, int i, bool v) { return sqlite3_bind_int(s, i, v ? 1 : 0); }
inline int bind_one(sqlite3_stmt* s, int i, const std::optional<std::string>& v) {
  return v ? bind_one(s, i, *v) : sqlite3_bind_null(s, i);
}
inline int bind_one(sqlite3_stmt* s, int i, const std::optional<std::int64_t>& v) {
  return v ? bind_one(s, i, *v) : sqlite3_bind_null(s, i);
}
inline int bind_one(sqlite3_stmt* s, int i, sql::Blob v) {
  return sqlite3_bind_blob64(s, i, v.bytes->data(), v.bytes->size(), SQLITE_TRANSIENT);
}
inline int bind_one(sqlite3_stmt* s, int i, sql::OptBlob v) {
  return *v.bytes ? bind_one(s, i, sql::Blob{&**v.bytes}) : sqlite3_bind_null(s, i);
}

// The current row of a stepped statement (sql::RowReader).
struct StmtRow {
  sqlite3_stmt* s;

  [[nodiscard]] std::string text(int c) const {
    const auto* p = sqlite3_column_blob(s, c);  // raw bytes: also right for BLOB columns
    const int n = sqlite3_column_bytes(s, c);
    return p != nullptr ? std::string(static_cast<const char*>(p), static_cast<std::size_t>(n))
                        : std::string();
  }
  [[nodiscard]] std::optional<std::string> opt_text(int c) const {
    if (sqlite3_column_type(s, c) == SQLITE_NULL) {
      return std::nullopt;
    }
    return text(c);
  }
  [[nodiscard]] std::int64_t i64(int c) const { return sqlite3_column_int64(s, c); }
  [[nodiscard]] std::optional<std::int64_t> opt_i64(int c) const {
    if (sqlite3_column_type(s, c) == SQLITE_NULL) {
      return std::nullopt;
    }
    return sqlite3_column_int64(s, c);
  }
  [[nodiscard]] bool boolean(int c) const { return sqlite3_column_int(s, c) != 0; }
};
static_assert(sql::RowReader<StmtRow>);

// ---- the driver -----------------------------------------------------------------------------

class Driver {
 public:
  Driver(Connection& conn, bool read_only) : conn_(conn), read_only_(read_only) {}

  // True when a statement hit SQLITE_BUSY: the runner may retry the whole callback.
  [[nodiscard]] bool saw_busy() const { return saw_busy_; }

  // SQLite keeps a transaction usable after a failed statement, so a write is a plain statement.
  template <typename Sql, typename... A>
  Status write(const Sql& sql, const A&... args) {
    auto changed = changes(sql, args...);
    if (!changed) {
      return core::fail(std::move(changed.error()));
    }
    return {};
  }

  template <typename Sql, typename... A>
  Status write_one(std::string_view table, const Sql& sql, const A&... args) {
    auto changed = changes(sql, args...);
    if (!changed) {
      return core::fail(std::move(changed.error()));
    }
    if (*changed == 0) {
      return core::fail(sql::not_found(table));
    }
    return {};
  }

  template <typename Sql, typename... A>
  Status delete_one(std::string_view table, const Sql& sql, const A&... args) {
    return write_one(table, sql, args...);
  }

  template <typename Sql, typename... A>
  Result<std::int64_t> changes(const Sql& sql, const A&... args) {
    auto use = bind(sql, args...);
    if (!use) {
      return core::fail(std::move(use.error()));
    }
    if (auto done = finish(*use); !done) {
      return core::fail(std::move(done.error()));
    }
    return sqlite3_changes64(conn_.db());
  }

  template <typename Sql, typename T, typename... A>
  Result<std::optional<T>> query_one(const Sql& sql, std::type_identity<T>, const A&... args) {
    auto use = bind(sql, args...);
    if (!use) {
      return core::fail(std::move(use.error()));
    }
    auto more = step(*use);
    if (!more) {
      return core::fail(std::move(more.error()));
    }
    if (!*more) {
      return std::optional<T>();
    }
    std::optional<T> row(std::in_place);
    sql::read_row(StmtRow{use->get()}, *row);
    // Run the statement to completion (DELETE ... RETURNING finishes its work here).
    if (auto done = finish(*use); !done) {
      return core::fail(std::move(done.error()));
    }
    return row;
  }

  template <typename Sql, typename T, typename... A>
  Result<std::vector<T>> query_all(const Sql& sql, std::type_identity<T>, const A&... args) {
    std::vector<T> rows;
    auto use = bind(sql, args...);
    if (!use) {
      return core::fail(std::move(use.error()));
    }
    for (;;) {
      auto more = step(*use);
      if (!more) {
        return core::fail(std::move(more.error()));
      }
      if (!*more) {
        break;
      }
      sql::read_row(StmtRow{use->get()}, rows.emplace_back());
    }
    return rows;
  }

  // Store::hit_counters, inside a write transaction of its own (see queries.cpp).
  Result<std::vector<CounterCounts>> hit_counters(const std::vector<CounterHit>& hits);

 private:
  // `sql` is a catalog Query or fixed SQL text (cached by its text).
  template <typename Sql, typename... A>
  Result<StmtUse> bind(const Sql& sql, const A&... args) {
    auto stmt = conn_.prepare(sql);
    if (!stmt) {
      return core::fail(std::move(stmt.error()));
    }
    StmtUse use(*stmt);
    // read() promises a snapshot without writes: refuse a writing statement before it runs.
    if (read_only_ && sqlite3_stmt_readonly(*stmt) == 0) {
      return core::fail(core::Error(core::Code::kInternal)
                            .with_internal("write attempted in a read-only transaction"));
    }
    [[maybe_unused]] int i = 0;
    int rc = SQLITE_OK;
    ((rc = rc == SQLITE_OK ? bind_one(*stmt, ++i, args) : rc), ...);
    if (rc != SQLITE_OK) {
      return core::fail(db_error(conn_.db(), rc, "bind"));
    }
    return use;
  }

  // SQLITE_ROW → true, SQLITE_DONE → false.
  Result<bool> step(const StmtUse& use);
  // Steps until SQLITE_DONE.
  Status finish(const StmtUse& use);

  Connection& conn_;
  bool read_only_;
  bool saw_busy_ = false;
};

using SqliteTx = sql::SqlTx<Driver>;

}  // namespace latchkey::store::sqlite
