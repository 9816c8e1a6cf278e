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

TEST(ErrorInfo, EveryCodeMapsToAnErrorStatusAndAWireCode) {
  for (int i = 0; i <= static_cast<int>(Code::kInternal); ++i) {
    const ErrorInfo& info = error_info(static_cast<Code>(i));
    EXPECT_GE(info.status, 400) << i;
    EXPECT_LE(info.status, 599) << i;
    EXPECT_FALSE(info.wire_code.empty()) << i;
    EXPECT_FALSE(info.message.empty()) << i;
    EXPECT_FALSE(info.long_message.empty()) << i;
  }
  // The refusals the HTTP server makes itself, before any route runs.
  EXPECT_EQ(error_info(Code::kMalformedRequest).status, 400);
  EXPECT_EQ(error_info(Code::kRequestBodyTooLarge).status, 413);
  EXPECT_EQ(error_info(Code::kRequestLineTooLong).status, 414);
  EXPECT_EQ(error_info(Code::kRequestHeadersTooLarge).status, 431);
  EXPECT_EQ(error_info(Code::kResourceNotFound).status, 404);
  EXPECT_EQ(error_info(Code::kMethodNotAllowed).status, 405);
  EXPECT_EQ(error_info(Code::kServiceUnavailable).status, 503);
  EXPECT_EQ(error_info(Code::kInternal).status, 500);
  EXPECT_EQ(error_info(Code::kInternal).wire_code, "internal_clerk_error");
}

TEST(Reason, EveryReasonHasAUniqueSnakeCaseNameThatRoundTrips) {
  std::set<std::string> seen;
  for (std::size_t i = 0; i < kReasonCount; ++i) {
    const auto reason = static_cast<Reason>(i);
    const std::string name(reason_name(reason));
    EXPECT_FALSE(name.empty()) << i;
    EXPECT_EQ(name.find_first_not_of("abcdefghijklmnopqrstuvwxyz_"), std::string::npos) << name;
    EXPECT_TRUE(seen.insert(name).second) << "duplicate name " << name;
    EXPECT_EQ(reason_from_name(name), reason) << name;
  }
  EXPECT_EQ(seen.size(), kReasonCount);
  // Logs ("reason=<name>"), dashboards and the tests that grep logs use these: they must not
  // change.
  EXPECT_EQ(reason_name(Reason::kUnspecified), "unspecified");
  EXPECT_EQ(reason_name(Reason::kStaleClientCredential), "stale_client_credential");
  EXPECT_EQ(reason_name(Reason::kClientMismatch), "client_mismatch");
  EXPECT_EQ(reason_name(Reason::kMissing), "missing");
  EXPECT_EQ(reason_name(Reason::kKid), "kid");
  EXPECT_EQ(reason_name(Reason::kSub), "sub");
  EXPECT_FALSE(reason_from_name("no_such_reason"));
  EXPECT_FALSE(reason_from_name(""));
}

TEST(Reason, TravelsWithTheErrorAndDefaultsToUnspecified) {
  EXPECT_EQ(Error(Code::kInternal).reason, Reason::kUnspecified);
  const Error e = Error(Code::kOAuthStateInvalid)
                      .with_reason(Reason::kClientMismatch)
                      .with_internal("reason=client_mismatch: state bound to another browser");
  EXPECT_EQ(e.reason, Reason::kClientMismatch);
  EXPECT_EQ(e.code, Code::kOAuthStateInvalid);
}

}  // namespace
}  // namespace latchkey::core
