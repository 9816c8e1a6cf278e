#include "core/error.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace latchkey::core {
namespace {

TEST(CodeId, EveryCodeHasADistinctStableNameThatRoundTrips) {
  std::set<std::string> seen;
  for (int i = 0; i <= static_cast<int>(Code::kInternal); ++i) {
    const auto code = static_cast<Code>(i);
    const std::string name(code_id(code));
    EXPECT_FALSE(name.empty()) << i;
    EXPECT_TRUE(seen.insert(name).second) << "duplicate name " << name;
    EXPECT_EQ(code_from_id(name), code) << name;
  }
  // Persisted attempt data holds these names: they must not change.
  EXPECT_EQ(code_id(Code::kOAuthAccessDenied), "oauth_access_denied");
  EXPECT_EQ(code_id(Code::kExternalAccountNotFound), "external_account_not_found");
  EXPECT_EQ(code_id(Code::kSessionExists), "session_exists");
  EXPECT_FALSE(code_from_id("no_such_code"));
  EXPECT_FALSE(code_from_id(""));
}

}  // namespace
}  // namespace latchkey::core
