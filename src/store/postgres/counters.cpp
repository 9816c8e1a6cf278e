// The rate-counter batch (Store::hit_counters) on PostgreSQL.
#include <libpq-fe.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/postgres/params.hpp"
#include "store/postgres/retry.hpp"
#include "store/postgres/store.hpp"

namespace latchkey::store::postgres {

using core::Code;
using core::Error;
using core::fail;

// One autocommit statement for the whole batch, outside the SERIALIZABLE machinery: under READ
// COMMITTED an INSERT ... ON CONFLICT DO UPDATE that finds the row locked waits for the other
// writer and then adds to its committed value, so concurrent hits from any number of nodes
// neither lose an update nor fail to serialize. The previous window's count comes from the same
// statement's snapshot. Rows are sent in (key, window) order so two batches lock shared rows in
// the same order (no deadlock between two requests that hit the same pair of counters).
Result<std::vector<CounterCounts>> PostgresStore::hit_counters(
    const std::vector<CounterHit>& hits) {
  std::vector<CounterCounts> out(hits.size());
  if (hits.empty()) {
    return out;
  }
  // One row per distinct (key, window): ON CONFLICT DO UPDATE cannot touch a row twice in one
  // statement. `slot[i]` is the row of hits[i].
  std::vector<std::size_t> order(hits.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    order[i] = i;
  }
  auto pair_of = [&hits](std::size_t i) {
    return std::pair<std::string_view, std::int64_t>(hits[i].key, hits[i].window_number);
  };
  std::ranges::stable_sort(order, {}, pair_of);
  std::vector<std::size_t> slot(hits.size());
  std::vector<std::string_view> keys;
  std::vector<std::int64_t> windows;
  std::vector<std::int64_t> costs;
  std::vector<std::int64_t> expiries;
  for (std::size_t n = 0; n < order.size(); ++n) {
    const CounterHit& h = hits[order[n]];
    if (n == 0 || pair_of(order[n]) != pair_of(order[n - 1])) {
      keys.push_back(h.key);
      windows.push_back(h.window_number);
      costs.push_back(0);
      expiries.push_back(h.expire_at_ms);
    }
    costs.back() += h.cost;
    expiries.back() = std::max(expiries.back(), h.expire_at_ms);
    slot[order[n]] = keys.size() - 1;
  }
  Params params;
  params.add(TextArray{&keys});
  params.add(Int8Array{&windows});
  params.add(Int8Array{&costs});
  params.add(Int8Array{&expiries});
  static constexpr std::string_view kSql =
      "WITH hits AS (SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[]) "
      "WITH ORDINALITY AS h (key, window_number, cost, expire_at, ord)), "
      "counted AS (INSERT INTO rate_counters AS c (key, window_number, count, expire_at) "
      "SELECT key, window_number, cost, expire_at FROM hits ORDER BY ord "
      "ON CONFLICT (key, window_number) DO UPDATE SET count = c.count + EXCLUDED.count "
      "RETURNING c.key, c.window_number, c.count) "
      "SELECT h.ord, counted.count, COALESCE(p.count, 0) FROM hits h "
      "JOIN counted ON counted.key = h.key AND counted.window_number = h.window_number "
      "LEFT JOIN rate_counters p ON p.key = h.key AND p.window_number = h.window_number - 1";

  const Deadline deadline = Clock::now() + pool_.settings().busy_timeout;
  // A deadlock or serialization failure (a server whose default isolation is stricter) applied
  // nothing: run it again. A lost connection is retried like a transaction (a restarted server
  // kills every pooled connection); when it broke after the server ran the statement, the retry
  // counts these hits twice, which errs on the strict side.
  auto st =
      retrying(pool_, deadline, kTransactionRetries, [&](Connection& conn, Fault& fault) -> Status {
        auto name = conn.prepare(kSql, params, fault);
        if (!name) {
          return fail(std::move(name.error()));
        }
        auto r = conn.exec_prepared(*name, params, "rate counters", fault);
        if (!r) {
          return fail(std::move(r.error()));
        }
        const PGresult* res = r->get();
        const int rows = PQntuples(res);
        if (rows != static_cast<int>(keys.size())) {
          return fail(Error(Code::kInternal)
                          .with_internal("rate counters: " + std::to_string(rows) + " rows for " +
                                         std::to_string(keys.size()) + " counters"));
        }
        std::vector<CounterCounts> rows_out(keys.size());
        for (int i = 0; i < rows; ++i) {
          const ResultRow row{res, i};
          const std::int64_t ord = row.i64(0);
          if (ord < 1 || ord > rows) {
            return fail(Error(Code::kInternal).with_internal("rate counters: row out of range"));
          }
          rows_out[static_cast<std::size_t>(ord - 1)] = CounterCounts{row.i64(2), row.i64(1)};
        }
        // Hits of one counter count one after the other: the last one sees the total, each earlier
        // one the total less the costs of those after it.
        for (std::size_t i = hits.size(); i-- > 0;) {
          CounterCounts& total = rows_out[slot[i]];
          out[i] = total;
          total.current -= hits[i].cost;
        }
        return {};
      });
  if (!st) {
    return fail(std::move(st.error()));
  }
  return out;
}

}  // namespace latchkey::store::postgres
