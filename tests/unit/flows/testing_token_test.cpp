// flows::TestingTokens: a signed expiry, accepted until it expires, by the key that minted it only.
#include "flows/testing_token.hpp"

#include <gtest/gtest.h>

namespace latchkey::flows {
namespace {

constexpr std::int64_t kNow = 1'800'000'000'000;

TEST(TestingTokens, AMintedTokenVerifiesUntilItExpires) {
  const TestingTokens tokens(core::Secret(std::string(32, 'k')));
  auto t = tokens.mint(kNow);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->expires_at_ms, kNow + TestingTokens::kLifetime.count());
  EXPECT_TRUE(t->token.starts_with("lktt1."));
  EXPECT_TRUE(tokens.verify(t->token, kNow));
  EXPECT_TRUE(tokens.verify(t->token, t->expires_at_ms - 1));
  EXPECT_FALSE(tokens.verify(t->token, t->expires_at_ms));
  EXPECT_FALSE(tokens.mint(-1));
}

TEST(TestingTokens, AnotherKeyOrAnyAlterationIsRefused) {
  const TestingTokens tokens(core::Secret(std::string(32, 'k')));
  const TestingTokens other(core::Secret(std::string(32, 'o')));
  const std::string token = tokens.mint(kNow)->token;
  EXPECT_FALSE(other.verify(token, kNow));
  for (std::size_t i = 0; i < token.size(); ++i) {
    std::string altered = token;
    altered[i] = altered[i] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(tokens.verify(altered, kNow)) << altered;
  }
  EXPECT_FALSE(tokens.verify(token.substr(0, token.size() - 1), kNow));
  EXPECT_FALSE(tokens.verify("", kNow));
  EXPECT_FALSE(tokens.verify("lktt1..x", kNow));
  EXPECT_FALSE(tokens.verify(token + std::string(200, 'A'), kNow));
}

TEST(TestingTokens, AnExpiryTooFarAheadIsRefusedEvenIfSigned) {
  const TestingTokens tokens(core::Secret(std::string(32, 'k')));
  // Minted "in the future" by a node whose clock runs a day ahead.
  const std::string ahead = tokens.mint(kNow + 24 * 3600 * 1000LL)->token;
  EXPECT_FALSE(tokens.verify(ahead, kNow));
  // A few minutes ahead is a clock skew and passes.
  EXPECT_TRUE(tokens.verify(tokens.mint(kNow + 60'000)->token, kNow));
}

}  // namespace
}  // namespace latchkey::flows
