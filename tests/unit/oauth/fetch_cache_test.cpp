#include "oauth/fetch_cache.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace latchkey::oauth {
namespace {

using std::chrono::seconds;

FetchCacheOptions opts() { return FetchCacheOptions{seconds(100), seconds(10), seconds(30)}; }

TEST(FetchCache, ServesFreshValueWithoutRefetchAndRefetchesAfterTtl) {
  core::ManualClock clock;
  FetchCache<int> cache(clock, opts());
  int calls = 0;
  auto fetch = [&]() -> core::Result<int> { return ++calls; };
  EXPECT_EQ(**cache.get("k", false, fetch), 1);
  EXPECT_EQ(**cache.get("k", false, fetch), 1);
  clock.advance(seconds(101));
  EXPECT_EQ(**cache.get("k", false, fetch), 2);
  EXPECT_EQ(calls, 2);
}

TEST(FetchCache, FailedRefreshKeepsLastGoodValueAndBacksOff) {
  core::ManualClock clock;
  FetchCache<int> cache(clock, opts());
  int calls = 0;
  bool fail = false;
  auto fetch = [&]() -> core::Result<int> {
    ++calls;
    if (fail) {
      return std::unexpected(core::Error(core::Code::kOAuthProviderUnavailable));
    }
    return 7;
  };
  ASSERT_TRUE(cache.get("k", false, fetch).has_value());
  fail = true;
  clock.advance(seconds(101));
  auto stale = cache.get("k", false, fetch);
  ASSERT_TRUE(stale.has_value());
  EXPECT_EQ(**stale, 7);
  EXPECT_EQ(calls, 2);
  // Within the error backoff, no new attempt.
  EXPECT_EQ(**cache.get("k", false, fetch), 7);
  EXPECT_EQ(calls, 2);
  clock.advance(seconds(11));
  EXPECT_EQ(**cache.get("k", false, fetch), 7);
  EXPECT_EQ(calls, 3);
}

TEST(FetchCache, FirstFetchFailureIsReported) {
  core::ManualClock clock;
  FetchCache<int> cache(clock, opts());
  auto r = cache.get("k", false, []() -> core::Result<int> {
    return std::unexpected(
        core::Error(core::Code::kOAuthProviderUnavailable).with_internal("down"));
  });
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().internal, "down");
}

TEST(FetchCache, ForcedRefreshIsRateLimited) {
  core::ManualClock clock;
  FetchCache<int> cache(clock, opts());
  int calls = 0;
  auto fetch = [&]() -> core::Result<int> { return ++calls; };
  ASSERT_TRUE(cache.get("k", false, fetch).has_value());
  EXPECT_EQ(**cache.get("k", true, fetch), 2);  // first forced refresh honoured
  EXPECT_EQ(**cache.get("k", true, fetch), 2);  // within cooldown: cached value
  EXPECT_EQ(**cache.get("k", true, fetch), 2);
  clock.advance(seconds(31));
  EXPECT_EQ(**cache.get("k", true, fetch), 3);
  EXPECT_EQ(calls, 3);
}

TEST(FetchCache, ConcurrentMissesCoalesceIntoOneFetch) {
  core::ManualClock clock;
  FetchCache<int> cache(clock, opts());
  std::atomic<int> calls{0};
  auto fetch = [&]() -> core::Result<int> {
    ++calls;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    return 42;
  };
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      auto r = cache.get("k", false, fetch);
      if (r && **r == 42) {
        ++ok;
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(ok.load(), 8);
  EXPECT_EQ(calls.load(), 1);
}

}  // namespace
}  // namespace latchkey::oauth
