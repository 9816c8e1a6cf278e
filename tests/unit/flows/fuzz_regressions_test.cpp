// Regression tests for findings of the libFuzzer harnesses (fuzz/, docs/fuzzing.md).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "flows/policy.hpp"

namespace latchkey::flows {
namespace {

const std::vector<std::string> kAllowed = {"https://app.example.com", "http://[::1]:3000"};

bool accepted(std::string_view url) {
  return resolve_redirect_url(url, "https://app.example.com", kAllowed, "redirect_url").has_value();
}

// fuzz_redirect, corpus regress-ipv6-userinfo (the differential fuzz_discovery found first):
// Boost.URL 1.81 parses "http://[::1]:3000@evil.com/" as host [::1], port 3000 and path
// "@evil.com/"; the browser reads userinfo "[::1]:3000" and navigates to evil.com (catalog C5).
TEST(RedirectFuzzRegression, IpLiteralOriginFollowedByUserinfoIsRefused) {
  EXPECT_FALSE(accepted("http://[::1]:3000@evil.com/"));
  EXPECT_FALSE(accepted("http://[::1]:3000x@evil.com/"));
  EXPECT_FALSE(accepted("http://[::1]:3000@evil.com"));
  auto r = resolve_redirect_url("http://[::1]:3000@evil.com/", "https://app.example.com", kAllowed,
                                "redirect_url");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::Code::kRedirectUrlInvalid);
}

TEST(RedirectFuzzRegression, IpLiteralOriginStillWorks) {
  EXPECT_TRUE(accepted("http://[::1]:3000/cb"));
  EXPECT_TRUE(accepted("http://[::1]:3000"));
  EXPECT_TRUE(accepted("http://[::1]:3000?x=1"));
  EXPECT_TRUE(accepted("/dashboard"));
}

// fuzz_redirect, corpus regress-relative-near-limit: a 2,047-byte path was accepted and came back
// as a 2,070-byte URL under the base origin, which the same function then refused as oversized —
// what we return must be something we accept again (and the limit holds for the result).
TEST(RedirectFuzzRegression, RelativePathNearTheLimitIsJudgedWithItsOrigin) {
  const std::string path = "/" + std::string(2040, 'x');
  EXPECT_FALSE(accepted(path));
  const std::string short_path = "/" + std::string(2000, 'x');
  auto r = resolve_redirect_url(short_path, "https://app.example.com", kAllowed, "redirect_url");
  ASSERT_TRUE(r.has_value());
  auto again = resolve_redirect_url(*r, "https://app.example.com", kAllowed, "redirect_url");
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(*again, *r);
}

}  // namespace
}  // namespace latchkey::flows
