// The limiter in process: sliding-window arithmetic, Retry-After, independence of keys and rules,
// bounded memory, and the client-IP derivation (trusted proxies only).
#include <gtest/gtest.h>

#include "core/clock.hpp"
#include "ratelimit/limiter.hpp"

namespace latchkey::ratelimit {
namespace {

using namespace std::chrono_literals;

struct Rig {
  core::ManualClock clock{
      std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000))};
  std::unique_ptr<CounterStore> store = make_memory_counter_store();
  Limiter limiter{*store, clock};
  Rule rule{"r", 3, 60s};
};

TEST(RateLimiter, AllowsUpToTheLimitThenRefusesWithRetryAfter) {
  Rig s;
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(s.limiter.hit({{&s.rule, "ip"}}).allowed) << i;
  }
  auto d = s.limiter.hit({{&s.rule, "ip"}});
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.rule, "r");
  EXPECT_GE(d.retry_after, 1s);
  EXPECT_LE(d.retry_after, 120s);
}

TEST(RateLimiter, KeysAndRulesAreIndependent) {
  Rig s;
  Rule other{"other", 1, 60s};
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(s.limiter.hit({{&s.rule, "a"}}).allowed);
  }
  EXPECT_FALSE(s.limiter.hit({{&s.rule, "a"}}).allowed);
  EXPECT_TRUE(s.limiter.hit({{&s.rule, "b"}}).allowed);
  EXPECT_TRUE(s.limiter.hit({{&other, "a"}}).allowed);
}

TEST(RateLimiter, SlidingWindowForgetsGradually) {
  Rig s;
  // Start of a window: 3 hits; at the next window's start the estimate is still 3 (refused); two
  // windows later everything is forgotten.
  s.clock.set(std::chrono::system_clock::time_point(std::chrono::seconds(60 * 30'000'000)));
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(s.limiter.hit({{&s.rule, "k"}}).allowed);
  }
  s.clock.advance(60s);
  EXPECT_FALSE(s.limiter.hit({{&s.rule, "k"}}).allowed)
      << "a burst at a window edge doubled the budget";
  s.clock.advance(120s);
  EXPECT_TRUE(s.limiter.hit({{&s.rule, "k"}}).allowed);
}

TEST(RateLimiter, RetryAfterIsHonest) {
  Rig s;
  for (int i = 0; i < 4; ++i) {
    s.limiter.hit({{&s.rule, "k"}});
  }
  auto d = s.limiter.hit({{&s.rule, "k"}});
  ASSERT_FALSE(d.allowed);
  s.clock.advance(d.retry_after);
  EXPECT_TRUE(s.limiter.hit({{&s.rule, "k"}}).allowed) << "still refused after Retry-After";
}

TEST(RateLimiter, ZeroLimitIsOff) {
  Rig s;
  Rule off{"off", 0, 60s};
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(s.limiter.hit({{&off, "k"}}).allowed);
  }
}

TEST(RateLimiter, MemoryStoreStaysBounded) {
  core::ManualClock clock;
  auto store = make_memory_counter_store({.max_keys = 100});
  Limiter limiter(*store, clock);
  Rule r{"r", 1, 60s};
  for (int i = 0; i < 10'000; ++i) {
    limiter.hit({{&r, "ip-" + std::to_string(i)}});
  }
  // Still working (and not holding 10 000 keys: eviction is internal; behaviour stays correct).
  EXPECT_TRUE(limiter.hit({{&r, "fresh"}}).allowed);
  EXPECT_FALSE(limiter.hit({{&r, "fresh"}}).allowed);
}

TEST(ClientIp, PeerAddressUnlessATrustedProxyForwarded) {
  EXPECT_EQ(client_ip("203.0.113.9", "198.51.100.1", {}), "203.0.113.9");
  EXPECT_EQ(client_ip("203.0.113.9", "198.51.100.1", {"10.0.0.1"}), "203.0.113.9");
  EXPECT_EQ(client_ip("10.0.0.1", "198.51.100.1", {"10.0.0.1"}), "198.51.100.1");
  // Right-most untrusted entry: a client-supplied left part cannot choose the key.
  EXPECT_EQ(client_ip("10.0.0.1", "1.2.3.4, 198.51.100.1, 10.0.0.2", {"10.0.0.1", "10.0.0.2"}),
            "198.51.100.1");
  EXPECT_EQ(client_ip("10.0.0.1", "", {"10.0.0.1"}), "10.0.0.1");
}

TEST(ClientIp, Ipv6IsKeyedByItsSlash64AndMappedIpv4ByTheAddress) {
  EXPECT_EQ(client_ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "", {}), "2001:db8:1:2::/64");
  EXPECT_EQ(client_ip("2001:db8:1:2::1", "", {}), client_ip("2001:db8:1:2:ffff::9", "", {}));
  EXPECT_EQ(client_ip("::ffff:192.0.2.1", "", {}), "192.0.2.1");
}

}  // namespace
}  // namespace latchkey::ratelimit
