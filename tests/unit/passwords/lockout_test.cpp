// passwords::lockout_until and lockout_expires_in_seconds: the arithmetic of the temporary lockout.
#include "passwords/lockout.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace latchkey::passwords {
namespace {

constexpr std::int64_t kNow = 1'800'000'000'000;  // ms

TEST(Lockout, DefaultsAreClerks) {
  const LockoutSettings s;
  EXPECT_EQ(s.max_attempts, 100);
  EXPECT_EQ(s.lockout_ms, 3'600'000);
}

TEST(Lockout, LockedFromTheMaxAttemptsThFailure) {
  const LockoutSettings s{.max_attempts = 3, .lockout_ms = 60'000};
  EXPECT_EQ(lockout_until(s, 0, kNow), std::nullopt);
  EXPECT_EQ(lockout_until(s, 2, kNow), std::nullopt);
  EXPECT_EQ(lockout_until(s, 3, kNow), kNow + 60'000);
  EXPECT_EQ(lockout_until(s, 4, kNow), kNow + 60'000);  // counted from the latest failure
  EXPECT_EQ(lockout_until(LockoutSettings{}, 99, kNow), std::nullopt);
  EXPECT_EQ(lockout_until(LockoutSettings{}, 100, kNow), kNow + 3'600'000);
}

TEST(Lockout, OffWhenMaxAttemptsOrDurationIsZero) {
  EXPECT_EQ(lockout_until({.max_attempts = 0, .lockout_ms = 60'000}, 1'000'000, kNow),
            std::nullopt);
  EXPECT_EQ(lockout_until({.max_attempts = -1, .lockout_ms = 60'000}, 1'000'000, kNow),
            std::nullopt);
  EXPECT_EQ(lockout_until({.max_attempts = 3, .lockout_ms = 0}, 10, kNow), std::nullopt);
  EXPECT_EQ(lockout_until({.max_attempts = 3, .lockout_ms = -5}, 10, kNow), std::nullopt);
}

TEST(Lockout, SaturatesInsteadOfOverflowing) {
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  EXPECT_EQ(lockout_until({.max_attempts = 1, .lockout_ms = kMax}, 1, kNow), kMax);
  EXPECT_EQ(lockout_until({.max_attempts = 1, .lockout_ms = 10}, 1, kMax - 5), kMax);
}

TEST(Lockout, ExpiresInSecondsRoundsUp) {
  EXPECT_EQ(lockout_expires_in_seconds(kNow + 3'600'000, kNow), 3600);
  EXPECT_EQ(lockout_expires_in_seconds(kNow + 1, kNow), 1);
  EXPECT_EQ(lockout_expires_in_seconds(kNow + 1'001, kNow), 2);
  EXPECT_EQ(lockout_expires_in_seconds(kNow, kNow), 0);
  EXPECT_EQ(lockout_expires_in_seconds(kNow - 10, kNow), 0);
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  constexpr auto kMin = std::numeric_limits<std::int64_t>::min();
  EXPECT_EQ(lockout_expires_in_seconds(kMax, kMin), kMax / 500 + 1);
}

}  // namespace
}  // namespace latchkey::passwords
