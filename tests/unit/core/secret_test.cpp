#include "core/secret.hpp"

#include <gtest/gtest.h>

#include <sstream>

using latchkey::core::Secret;

TEST(Secret, FormatsRedactedAndComparesByValue) {
  Secret s("hunter2");
  std::ostringstream os;
  os << s;
  EXPECT_EQ(os.str(), "[redacted]");
  EXPECT_TRUE(s.equals("hunter2"));
  EXPECT_FALSE(s.equals("hunter3"));
  EXPECT_FALSE(s.equals("hunter"));
}

TEST(Secret, MovedFromIsEmpty) {
  Secret a("x");
  Secret b(std::move(a));
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): the wipe is the behaviour under test
  EXPECT_EQ(b.reveal(), "x");
}
