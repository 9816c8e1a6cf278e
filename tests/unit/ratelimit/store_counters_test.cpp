// The limiter over counters kept in the database (src/ratelimit/store_counters.hpp), on a real
// SQLite store: limits hold across nodes that share the database, every check of a request is one
// store call, rows expire when no decision needs them, and a database failure lets requests
// through.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "ratelimit/limiter.hpp"
#include "ratelimit/store_counters.hpp"
#include "store/store.hpp"

namespace latchkey::ratelimit {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<store::Store> migrated_store() {
  auto s = store::open_sqlite(store::SqliteOptions{":memory:"});
  EXPECT_TRUE(s.has_value());
  auto applied = (*s)->migrate();
  EXPECT_TRUE(applied.has_value()) << applied.error().internal;
  return std::move(*s);
}

// Forwards to a real store and records every hit_counters batch.
class RecordingStore final : public store::Store {
 public:
  explicit RecordingStore(store::Store& inner) : inner_(inner) {}
  core::Status transaction(const std::function<core::Status(store::Tx&)>& fn) override {
    return inner_.transaction(fn);
  }
  core::Status read(const std::function<core::Status(store::Tx&)>& fn) override {
    return inner_.read(fn);
  }
  core::Result<std::vector<store::CounterCounts>> hit_counters(
      const std::vector<store::CounterHit>& hits) override {
    batches.push_back(hits);
    return inner_.hit_counters(hits);
  }
  core::Status ping() override { return inner_.ping(); }
  core::Result<int> migrate() override { return inner_.migrate(); }
  core::Result<int> schema_version() override { return inner_.schema_version(); }

  std::vector<std::vector<store::CounterHit>> batches;

 private:
  store::Store& inner_;
};

store::PurgeCounts purge(store::Store& s, std::int64_t now_ms) {
  store::PurgeCounts out;
  auto st = s.transaction([&](store::Tx& tx) -> core::Status {
    auto r = tx.purge_expired(now_ms);
    if (!r) {
      return core::fail(std::move(r.error()));
    }
    out = *r;
    return {};
  });
  EXPECT_TRUE(st.has_value());
  return out;
}

TEST(StoreCounters, TwoNodesOnOneDatabaseShareOneBudget) {
  auto db = migrated_store();
  core::ManualClock clock;
  // Two nodes: each its own counter store and limiter, one database.
  auto counters_a = make_store_counter_store(*db);
  auto counters_b = make_store_counter_store(*db);
  Limiter a(*counters_a, clock);
  Limiter b(*counters_b, clock);
  const Rule rule{"sign_in_ip", 4, 60s};
  for (int i = 0; i < 4; ++i) {
    Limiter& node = i % 2 == 0 ? a : b;
    EXPECT_TRUE(node.hit({{&rule, "192.0.2.1"}}).allowed) << "hit " << i + 1;
  }
  // The fifth hit is refused on either node: the limit is 4 in all, not 4 per node.
  const Decision d = a.hit({{&rule, "192.0.2.1"}});
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.rule, "sign_in_ip");
  EXPECT_GE(d.retry_after, 1s);
  EXPECT_FALSE(b.hit({{&rule, "192.0.2.1"}}).allowed);
  // Other keys are untouched.
  EXPECT_TRUE(b.hit({{&rule, "192.0.2.2"}}).allowed);
  EXPECT_EQ(a.store_errors() + b.store_errors(), 0U);
}

TEST(StoreCounters, SlidingWindowAndRetryAfterMatchTheMemoryStore) {
  // The same sequence against both stores gives the same decisions, window edges included.
  auto db = migrated_store();
  core::ManualClock clock(
      std::chrono::system_clock::time_point(std::chrono::seconds(60 * 30'000'000)));
  auto in_db = make_store_counter_store(*db);
  auto in_memory = make_memory_counter_store();
  Limiter shared(*in_db, clock);
  Limiter local(*in_memory, clock);
  const Rule rule{"r", 3, 60s};
  std::vector<bool> shared_allowed;
  std::vector<bool> local_allowed;
  std::vector<std::chrono::seconds> shared_retry;
  std::vector<std::chrono::seconds> local_retry;
  const std::chrono::seconds steps[] = {0s, 1s, 1s, 1s, 1s, 58s, 1s, 20s, 30s, 61s, 120s, 1s};
  for (const auto step : steps) {
    clock.advance(step);
    const Decision ds = shared.hit({{&rule, "k"}});
    const Decision dl = local.hit({{&rule, "k"}});
    shared_allowed.push_back(ds.allowed);
    local_allowed.push_back(dl.allowed);
    shared_retry.push_back(ds.retry_after);
    local_retry.push_back(dl.retry_after);
  }
  EXPECT_EQ(shared_allowed, local_allowed);
  EXPECT_EQ(shared_retry, local_retry);
  // The sequence exercised both outcomes.
  EXPECT_NE(std::count(shared_allowed.begin(), shared_allowed.end(), false), 0);
  EXPECT_NE(std::count(shared_allowed.begin(), shared_allowed.end(), true), 0);
}

TEST(StoreCounters, EveryCheckOfARequestGoesInOneStoreCall) {
  auto db = migrated_store();
  RecordingStore recording(*db);
  core::ManualClock clock;
  auto counters = make_store_counter_store(recording);
  Limiter limiter(*counters, clock);
  const Rule ip{"token_ip", 10, 60s};
  const Rule client{"token_client", 10, 60s};
  const Rule off{"off", 0, 60s};
  EXPECT_TRUE(limiter.hit({{&ip, "192.0.2.1"}, {&off, "x"}, {&client, "c0ffee"}}).allowed);
  ASSERT_EQ(recording.batches.size(), 1U);
  const auto& batch = recording.batches[0];
  ASSERT_EQ(batch.size(), 2U);  // the limit that is off is not counted
  EXPECT_EQ(batch[0].key, "token_ip|192.0.2.1");
  EXPECT_EQ(batch[1].key, "token_client|c0ffee");
  const std::int64_t window = clock.now_ms() / 60'000;
  EXPECT_EQ(batch[0].window_number, window);
  EXPECT_EQ(batch[0].cost, 1);
  // Kept until the end of the next window, the last time it is read as the previous one.
  EXPECT_EQ(batch[0].expire_at_ms, (window + 2) * 60'000);
  // A request with nothing to count does not reach the database.
  EXPECT_TRUE(limiter.hit({{&off, "x"}}).allowed);
  EXPECT_EQ(recording.batches.size(), 1U);
}

TEST(StoreCounters, RowsLiveExactlyAsLongAsADecisionReadsThem) {
  auto db = migrated_store();
  core::ManualClock clock(
      std::chrono::system_clock::time_point(std::chrono::seconds(60 * 30'000'000)));
  auto counters = make_store_counter_store(*db);
  Limiter limiter(*counters, clock);
  const Rule rule{"r", 2, 60s};
  ASSERT_TRUE(limiter.hit({{&rule, "k"}}).allowed);
  ASSERT_TRUE(limiter.hit({{&rule, "k"}}).allowed);
  const std::int64_t window_end = clock.now_ms() + 60'000;
  // Still needed during the next window: a purge then keeps it, and the estimate still counts it.
  EXPECT_EQ(purge(*db, window_end + 60'000 - 1).rate_counters, 0);
  clock.advance(60s + 1s);
  EXPECT_FALSE(limiter.hit({{&rule, "k"}}).allowed) << "the previous window was forgotten";
  // After the next window nothing reads the first one: purged.
  EXPECT_EQ(purge(*db, window_end + 60'000).rate_counters, 1);
}

TEST(StoreCounters, ADatabaseFailureLetsTheRequestThroughAndIsCounted) {
  // A store whose schema is missing fails every statement, as a broken database would.
  auto broken = store::open_sqlite(store::SqliteOptions{":memory:"});
  ASSERT_TRUE(broken.has_value());
  core::ManualClock clock;
  auto counters = make_store_counter_store(**broken);
  Limiter limiter(*counters, clock);
  const Rule rule{"r", 1, 60s};
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(limiter.hit({{&rule, "k"}}).allowed);
  }
  EXPECT_EQ(limiter.store_errors(), 3U);
  auto direct = counters->hit("r|k", 1, 60'000, 1);
  ASSERT_FALSE(direct.has_value());
}

TEST(StoreCounters, SingleHitsAndBatchesAgree) {
  auto db = migrated_store();
  auto counters = make_store_counter_store(*db);
  EXPECT_EQ(counters->hit("r|k", 10, 1000, 2).value().current, 2U);
  const CounterStore::Hit batch[] = {
      {"r|k", 11, 1000, 1}, {"r|j", 11, 1000, 1}, {"r|k", 11, 1000, 1}};
  auto counts = counters->hit_many(batch);
  ASSERT_TRUE(counts.has_value()) << counts.error().internal;
  ASSERT_EQ(counts->size(), 3U);
  EXPECT_EQ((*counts)[0].previous, 2U);
  EXPECT_EQ((*counts)[0].current, 1U);
  EXPECT_EQ((*counts)[1].previous, 0U);
  EXPECT_EQ((*counts)[1].current, 1U);
  EXPECT_EQ((*counts)[2].current, 2U);
  // A window length of zero is a caller's bug, refused before the database.
  EXPECT_FALSE(counters->hit("r|k", 10, 0, 1).has_value());
}

}  // namespace
}  // namespace latchkey::ratelimit
