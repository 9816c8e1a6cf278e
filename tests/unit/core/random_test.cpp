#include "core/random.hpp"

#include <gtest/gtest.h>

#include <set>

using latchkey::core::SystemRandom;

TEST(Random, IdsHavePrefixAndAreUnique) {
  SystemRandom rnd;
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    auto id = rnd.id("user");
    ASSERT_EQ(id.rfind("user_", 0), 0U);
    ASSERT_EQ(id.size(), 5U + 27U);
    EXPECT_TRUE(seen.insert(id).second);
  }
}

TEST(Random, TokenIsBase64UrlOfRequestedLength) {
  SystemRandom rnd;
  EXPECT_EQ(rnd.token(32).size(), 43U);
  EXPECT_NE(rnd.token(32), rnd.token(32));
}
