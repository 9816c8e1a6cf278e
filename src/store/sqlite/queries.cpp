#include "store/sqlite/queries.hpp"

#include "store/faults.hpp"

namespace latchkey::store::sqlite {

Result<bool> Driver::step(const StmtUse& use) {
  if (faults::at_statement() == faults::Action::kFail) {
    return core::fail(db_error(nullptr, SQLITE_IOERR, "step (injected fault)"));
  }
  const int rc = sqlite3_step(use.get());
  if (rc == SQLITE_ROW) {
    return true;
  }
  if (rc == SQLITE_DONE) {
    return false;
  }
  if (is_busy(rc)) {
    saw_busy_ = true;
  }
  return core::fail(db_error(conn_.db(), rc, "step"));
}

Status Driver::finish(const StmtUse& use) {
  for (;;) {
    auto more = step(use);
    if (!more) {
      return core::fail(std::move(more.error()));
    }
    if (!*more) {
      return {};
    }
  }
}

// One upsert per hit, in order (so repeated keys count one after the other), and the previous
// window's row. SQLite has one writer at a time, so each increment is atomic.
Result<std::vector<CounterCounts>> Driver::hit_counters(const std::vector<CounterHit>& hits) {
  static constexpr std::string_view kUpsert =
      "INSERT INTO rate_counters (key, window_number, count, expire_at) VALUES (?1, ?2, ?3, ?4) "
      "ON CONFLICT (key, window_number) DO UPDATE SET count = count + excluded.count "
      "RETURNING count";
  static constexpr std::string_view kPrevious =
      "SELECT count FROM rate_counters WHERE key = ?1 AND window_number = ?2";
  std::vector<CounterCounts> out;
  out.reserve(hits.size());
  for (const auto& h : hits) {
    auto current =
        query_one(kUpsert, sql::as<sql::Count>, h.key, h.window_number, h.cost, h.expire_at_ms);
    if (!current) {
      return core::fail(std::move(current.error()));
    }
    auto previous = query_one(kPrevious, sql::as<sql::Count>, h.key, h.window_number - 1);
    if (!previous) {
      return core::fail(std::move(previous.error()));
    }
    out.push_back(CounterCounts{previous->value_or(sql::Count{}).value,
                                current->value_or(sql::Count{}).value});
  }
  return out;
}

}  // namespace latchkey::store::sqlite
