#pragma once
// The PostgreSQL driver of sql::SqlTx (sql/sql_tx.hpp): runs a catalog statement as a prepared
// statement on the transaction's connection, INSERT and UPDATE inside a savepoint (see
// connection.hpp), and remembers the worst fault and the first error for the runner.
#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>
#include <type_traits>
#include <vector>

#include "store/postgres/connection.hpp"
#include "store/postgres/errors.hpp"
#include "store/postgres/params.hpp"
#include "store/sql/catalog.hpp"
#include "store/sql/rows.hpp"
#include "store/sql/sql_tx.hpp"
#include "store/sql/values.hpp"
#include "store/store.hpp"

namespace latchkey::store::postgres {

// The row count of an INSERT, UPDATE or DELETE.
inline std::int64_t affected(const PGresult* r) {
  const char* n = PQcmdTuples(const_cast<PGresult*>(r));
  std::int64_t v = 0;
  if (n != nullptr) {
    std::from_chars(n, n + std::strlen(n), v);
  }
  return v;
}

template <typename... A>
Params params_of(const A&... args) {
  Params p;
  (p.add(args), ...);
  return p;
}

class Driver {
 public:
  explicit Driver(Connection& conn) : conn_(conn) {}

  // The worst thing that happened to the transaction, and the first error that came with a fault.
  [[nodiscard]] Fault fault() const { return fault_; }
  [[nodiscard]] const std::optional<core::Error>& first_error() const { return first_error_; }

  template <typename... A>
  Status write(sql::Query q, const A&... args) {
    auto r = guarded(q, args...);
    if (!r) {
      return core::fail(std::move(r.error()));
    }
    return {};
  }

  template <typename... A>
  Status write_one(std::string_view table, sql::Query q, const A&... args) {
    auto r = guarded(q, args...);
    if (!r) {
      return core::fail(std::move(r.error()));
    }
    if (*r == 0) {
      return core::fail(sql::not_found(table));
    }
    return {};
  }

  template <typename... A>
  Status delete_one(std::string_view table, sql::Query q, const A&... args) {
    auto changed = changes(q, args...);
    if (!changed) {
      return core::fail(std::move(changed.error()));
    }
    if (*changed == 0) {
      return core::fail(sql::not_found(table));
    }
    return {};
  }

  template <typename... A>
  Result<std::int64_t> changes(sql::Query q, const A&... args) {
    auto r = run(q, args...);
    if (!r) {
      return core::fail(std::move(r.error()));
    }
    return affected(r->get());
  }

  template <typename T, typename... A>
  Result<std::optional<T>> query_one(sql::Query q, std::type_identity<T>, const A&... args) {
    auto r = run(q, args...);
    if (!r) {
      return core::fail(std::move(r.error()));
    }
    if (PQntuples(r->get()) == 0) {
      return std::optional<T>();
    }
    std::optional<T> row(std::in_place);
    sql::read_row(ResultRow{r->get(), 0}, *row);
    return row;
  }

  template <typename T, typename... A>
  Result<std::vector<T>> query_all(sql::Query q, std::type_identity<T>, const A&... args) {
    auto r = run(q, args...);
    if (!r) {
      return core::fail(std::move(r.error()));
    }
    std::vector<T> rows;
    const int n = PQntuples(r->get());
    rows.resize(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
      sql::read_row(ResultRow{r->get(), i}, rows[static_cast<std::size_t>(i)]);
    }
    return rows;
  }

 private:
  core::Error note(core::Error e, Fault f) {
    fault_ = std::max(fault_, f);
    if (f != Fault::kNone && !first_error_) {
      first_error_ = e;
    }
    return e;
  }

  template <typename... A>
  Result<ResultPtr> run(sql::Query q, const A&... args) {
    Params p = params_of(args...);
    Fault f = Fault::kNone;
    auto name = conn_.prepare(q, p, f);
    if (!name) {
      return core::fail(note(std::move(name.error()), f));
    }
    auto r = conn_.exec_prepared(*name, p, "statement", f);
    if (!r) {
      return core::fail(note(std::move(r.error()), f));
    }
    return r;
  }

  // INSERT/UPDATE inside a savepoint: a failure leaves the transaction usable.
  template <typename... A>
  Result<std::int64_t> guarded(sql::Query q, const A&... args) {
    Params p = params_of(args...);
    Fault f = Fault::kNone;
    auto name = conn_.prepare(q, p, f);
    if (!name) {
      return core::fail(note(std::move(name.error()), f));
    }
    auto r = conn_.exec_guarded(*name, p, "statement", f);
    if (!r) {
      return core::fail(note(std::move(r.error()), f));
    }
    return affected(r->get());
  }

  Connection& conn_;
  Fault fault_ = Fault::kNone;
  std::optional<core::Error> first_error_;
};

using PgTx = sql::SqlTx<Driver>;

}  // namespace latchkey::store::postgres
