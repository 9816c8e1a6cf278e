#include "flows/policy.hpp"

#include <gtest/gtest.h>

#include "flows/attempts.hpp"

using latchkey::core::Code;
using namespace latchkey::flows;

namespace {
const std::vector<std::string> kAllowed{"http://localhost:5173", "https://app.example.com"};

std::string resolved(std::string_view url, std::string_view base = "http://localhost:5173") {
  auto r = resolve_redirect_url(url, base, kAllowed, "redirect_url");
  return r ? *r : "ERR:" + r.error().internal;
}
}  // namespace

TEST(RedirectUrl, RelativePathResolvesAgainstTheCallersOrigin) {
  EXPECT_EQ(resolved("/sso-callback"), "http://localhost:5173/sso-callback");
  EXPECT_EQ(resolved("/a?b=c"), "http://localhost:5173/a?b=c");
  EXPECT_EQ(resolved("/x", "https://app.example.com"), "https://app.example.com/x");
}

TEST(RedirectUrl, AbsoluteUrlOfAnAllowedOriginIsKeptWithoutFragment) {
  EXPECT_EQ(resolved("https://app.example.com/done#frag"), "https://app.example.com/done");
  EXPECT_EQ(resolved("HTTPS://APP.EXAMPLE.COM:443/x"), "HTTPS://APP.EXAMPLE.COM:443/x");
}

TEST(RedirectUrl, RefusesEverythingElse) {
  for (std::string_view bad :
       {"", "//evil.test/x", "/\\evil.test", "https://evil.test/", "javascript:alert(1)",
        "https://app.example.com.evil.test/", "https://user@app.example.com/",
        "http://app.example.com/", "https://app.example.com:8443/", "data:text/html,x",
        "/a\r\nLocation: x", "sso-callback", "ftp://app.example.com/"}) {
    auto r = resolve_redirect_url(bad, "http://localhost:5173", kAllowed, "redirect_url");
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, Code::kRedirectUrlInvalid) << bad;
    ASSERT_NE(r.error().find_meta("param_name"), nullptr);
    EXPECT_EQ(*r.error().find_meta("param_name"), "redirect_url");
  }
}

TEST(MissingFields, EmailIsAlwaysRequiredAndConfiguredFieldsAreAdded) {
  SignUpData d;
  EXPECT_EQ(missing_fields(d, {}), std::vector<std::string>{"email_address"});
  d.email_address = "a@b.test";
  EXPECT_TRUE(missing_fields(d, {}).empty());
  EXPECT_EQ(missing_fields(d, {"first_name", "last_name", "legal_accepted"}),
            (std::vector<std::string>{"first_name", "last_name", "legal_accepted"}));
  d.first_name = "Grace";
  d.last_name = "";
  EXPECT_EQ(missing_fields(d, {"first_name", "last_name"}), std::vector<std::string>{"last_name"});
  d.last_name = "Hopper";
  d.legal_accepted_at_ms = 1;
  EXPECT_TRUE(missing_fields(d, {"first_name", "last_name", "legal_accepted"}).empty());
}

TEST(LinkPolicy, LinksOnlyWhenBothSidesAreVerifiedAndTheProviderIsTrusted) {
  EXPECT_EQ(decide_link(true, true, true), LinkDecision::kLink);
  EXPECT_EQ(decide_link(false, true, true), LinkDecision::kRefuseUnverified);
  EXPECT_EQ(decide_link(true, true, false), LinkDecision::kRefuseUnverified);
  EXPECT_EQ(decide_link(true, false, true), LinkDecision::kRefuseUnverified);
  EXPECT_EQ(decide_link(false, false, false), LinkDecision::kRefuseUnverified);
}

TEST(Validation, UsernamesAndNames) {
  EXPECT_TRUE(validate_username("grace_h-1"));
  EXPECT_FALSE(validate_username("abc"));
  EXPECT_FALSE(validate_username("has space"));
  EXPECT_FALSE(validate_username(std::string(65, 'a')));
  EXPECT_TRUE(validate_name("Zoë", "first_name"));
  EXPECT_FALSE(validate_name("a\nb", "first_name"));
  EXPECT_FALSE(validate_name("\xff\xfe", "first_name"));
  EXPECT_FALSE(validate_name(std::string(300, 'a'), "last_name"));
}

TEST(AttemptData, RoundTripsThroughJson) {
  SignInData d;
  d.strategy = "oauth_google";
  d.redirect_url = "http://localhost:5173/sso-callback";
  d.first_factor =
      Verification{"transferable",
                   "oauth_google",
                   std::nullopt,
                   VerificationError{Code::kExternalAccountNotFound, "", "", {{"k", "v"}}},
                   std::int64_t{42},
                   {},
                   0,
                   {},
                   {},
                   {}};
  d.identity =
      PendingIdentity{"oauth_google", "google",    "sub-1", "a@b.test", true, "A", "B", "", "",
                      "openid",       "v1.sealed", ""};
  auto back = parse_sign_in_data(to_json(d));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->first_factor->status, "transferable");
  EXPECT_EQ(back->first_factor->error->code, Code::kExternalAccountNotFound);
  EXPECT_EQ(back->first_factor->error->meta.at(0).second, "v");
  EXPECT_EQ(back->first_factor->expire_at_ms, 42);
  EXPECT_EQ(back->identity->provider_user_id, "sub-1");
  EXPECT_TRUE(back->identity->email_verified);
  EXPECT_EQ(back->identity->access_token_enc, "v1.sealed");
  EXPECT_FALSE(parse_sign_in_data("[1]"));
}
