// Bot protection on sign-up (issue 11 items 6, 9; fapi part2 §8) in the running binary, with
// [bot_protection] on and a fake siteverify on 127.0.0.1 as its verify URL: what passes, what is
// refused with which code, that a refusal writes nothing, the OAuth bypass list (directly and
// through a transfer), the continue page's PATCH, and test mode's testing token.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/harness.hpp"
#include "support/http_server.hpp"

namespace latchkey::it {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;
using Form = std::vector<std::pair<std::string, std::string>>;

constexpr const char* kSignIns = "/__clerk/v1/client/sign_ins";
constexpr const char* kSignUps = "/__clerk/v1/client/sign_ups";
constexpr const char* kPassword = "correct horse battery staple";

// The siteverify of Cloudflare Turnstile, by token: "good-*" pass on 127.0.0.1 as a signup,
// "elsewhere" passes on another host, "down" is a 503; anything else is refused.
FakeResponse siteverify(const FakeRequest& r) {
  auto has = [&](std::string_view s) { return r.body.find(s) != std::string::npos; };
  if (!has("secret=fake-secret")) {
    return {200, "application/json", R"({"success":false,"error-codes":["invalid-input-secret"]})"};
  }
  if (has("response=good-")) {
    return {200, "application/json",
            R"({"success":true,"hostname":"127.0.0.1","action":"signup","error-codes":[]})"};
  }
  if (has("response=elsewhere")) {
    return {200, "application/json",
            R"({"success":true,"hostname":"evil.example","action":"signup"})"};
  }
  if (has("response=down")) {
    return {503, "text/plain", "unavailable"};
  }
  return {200, "application/json", R"({"success":false,"error-codes":["invalid-input-response"]})"};
}

class Captcha : public ::testing::Test {
 protected:
  void start(EnvVars extra = {}) {
    EnvVars env = idp.google_env();
    env.insert(env.end(),
               {{"LATCHKEY_BOT_PROTECTION_ENABLED", "true"},
                {"LATCHKEY_BOT_PROTECTION_SITE_KEY", "1x00000000000000000000AA"},
                {"LATCHKEY_BOT_PROTECTION_SECRET_KEY", "fake-secret"},
                {"LATCHKEY_BOT_PROTECTION_VERIFY_URL", verify.base_url() + "/siteverify"},
                {"LATCHKEY_PASSWORDS_HASH_OPSLIMIT", "1"},
                {"LATCHKEY_PASSWORDS_HASH_MEMLIMIT_KIB", "8192"}});
    env.insert(env.end(), extra.begin(), extra.end());
    server =
        std::make_unique<Server>(ServerOptions{.env = env, .fixed_port = true, .fast_keys = true});
  }
  Browser browser() { return Browser(*server); }
  [[nodiscard]] std::string callback_uri() const {
    return server->origin() + "/__clerk/v1/oauth_callback";
  }

  HttpResponse password_sign_up(Browser& b, const std::string& email, Form extra,
                                const std::string& query = "") {
    Form f{{"strategy", "password"}, {"email_address", email}, {"password", kPassword}};
    f.insert(f.end(), extra.begin(), extra.end());
    return b.post(std::string(kSignUps) + query, f);
  }

  // The provider round trip of an OAuth attempt whose authorization URL is `url`.
  HttpResponse round_trip(Browser& b, const std::string& url, const IdpUser& user = {}) {
    auto grant = idp.authorize(url, user, callback_uri());
    return b.get("/__clerk/v1/oauth_callback?" +
                 form_encode({{"code", grant.code}, {"state", grant.state}}));
  }

  // signIn.sso() for a new user, through the callback: the sign-in is now transferable.
  void transferable_sign_in(Browser& b, const IdpUser& user = {}) {
    auto si = b.post(kSignIns, {{"strategy", "oauth_google"}, {"redirect_url", "/sso-callback"}});
    ASSERT_EQ(si.status, 200) << si.body;
    const std::string url =
        str(si.json(), "response.first_factor_verification.external_verification_redirect_url");
    ASSERT_EQ(round_trip(b, url, user).status, 303);
    ASSERT_EQ(str(b.client(), "sign_in.first_factor_verification.status"), "transferable");
  }

  static void expect_refused(const HttpResponse& r, int status, const std::string& code) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(str(error_of(r), "code"), code) << r.body;
  }

  // A testing token from the CLI, on the server's data dir (its master key).
  std::string cli_testing_token(bool testing_enabled = true) {
    auto r = run_cli({"testing-token"},
                     {{"LATCHKEY_STORAGE_DATA_DIR", server->data_dir().str()},
                      {"LATCHKEY_TESTING_ENABLED", testing_enabled ? "true" : "false"}});
    EXPECT_EQ(r.exit_code, testing_enabled ? 0 : 2) << r.out << r.err;
    std::string token = r.out.substr(0, r.out.find('\n'));
    return token;
  }

  FakeHttpServer verify{siteverify};
  FakeIdp idp;
  std::unique_ptr<Server> server;
};

TEST_F(Captcha, TheEnvironmentTellsClerkJsToRenderTheWidget) {
  start();
  Browser b = browser();
  auto j = b.get("/__clerk/v1/environment").json();
  EXPECT_EQ(at(j, "user_settings.sign_up.captcha_enabled"), json::value(true));
  EXPECT_EQ(str(j, "display_config.captcha_public_key"), "1x00000000000000000000AA");
  EXPECT_EQ(str(j, "display_config.captcha_public_key_invisible"), "1x00000000000000000000AA");
  EXPECT_EQ(str(j, "display_config.captcha_widget_type"), "smart");
  EXPECT_EQ(str(j, "display_config.captcha_provider"), "turnstile");
  EXPECT_EQ(str(j, "display_config.captcha_oauth_bypass.0"), "oauth_google");
}

TEST_F(Captcha, AGoodTokenCreatesTheSignUpAndIsCheckedWithSiteverify) {
  start();
  Browser b = browser();
  auto su = password_sign_up(b, "ada@example.com",
                             {{"captcha_token", "good-1"}, {"captcha_widget_type", "smart"}});
  ASSERT_EQ(su.status, 200) << su.body;
  EXPECT_EQ(str(su.json(), "response.status"), "missing_requirements");
  EXPECT_EQ(str(b.client(), "sign_up.email_address"), "ada@example.com");
  const FakeRequest r = verify.last("/siteverify");
  EXPECT_EQ(r.method, "POST");
  EXPECT_THAT(r.body, HasSubstr("secret=fake-secret&response=good-1"));
}

TEST_F(Captcha, MissingBadForeignOrFailedWidgetTokensAreRefusedAndWriteNothing) {
  start();
  Browser b = browser();
  expect_refused(password_sign_up(b, "ada@example.com", {}), 400, "captcha_invalid");
  expect_refused(password_sign_up(b, "ada@example.com", {{"captcha_token", ""}}), 400,
                 "captcha_invalid");
  expect_refused(password_sign_up(b, "ada@example.com", {{"captcha_token", "forged"}}), 400,
                 "captcha_invalid");
  expect_refused(password_sign_up(b, "ada@example.com", {{"captcha_token", "elsewhere"}}), 400,
                 "captcha_invalid");
  // What clerk-js sends when the Turnstile script could not load (part2 §8).
  auto script =
      password_sign_up(b, "ada@example.com", {{"captcha_error", "captcha_script_failed_to_load"}});
  expect_refused(script, 400, "captcha_invalid");
  EXPECT_TRUE(b.client().is_null());  // no client, no sign-up
  // The address is still free: a good token signs it up.
  ASSERT_EQ(password_sign_up(b, "ada@example.com", {{"captcha_token", "good-2"}}).status, 200);
}

TEST_F(Captcha, AReplayedTokenIsRefused) {
  start();
  Browser first = browser();
  ASSERT_EQ(password_sign_up(first, "ada@example.com", {{"captcha_token", "good-3"}}).status, 200);
  Browser second = browser();
  expect_refused(password_sign_up(second, "grace@example.com", {{"captcha_token", "good-3"}}), 400,
                 "captcha_invalid");
  EXPECT_TRUE(second.client().is_null());
}

TEST_F(Captcha, ASiteverifyThatCannotAnswerRefusesTheSignUpWith503) {
  start();
  Browser b = browser();
  expect_refused(password_sign_up(b, "ada@example.com", {{"captcha_token", "down"}}), 503,
                 "captcha_unavailable");
  verify.stop();
  expect_refused(password_sign_up(b, "ada@example.com", {{"captcha_token", "good-4"}}), 503,
                 "captcha_unavailable");
  EXPECT_TRUE(b.client().is_null());
}

TEST_F(Captcha, ABypassedOAuthStrategySignsUpWithoutAToken) {
  start();  // oauth_google is on Clerk's default bypass list
  Browser b = browser();
  auto su = b.post(kSignUps, {{"strategy", "oauth_google"}, {"redirect_url", "/sso-callback"}});
  ASSERT_EQ(su.status, 200) << su.body;
  const std::string url =
      str(su.json(), "response.verifications.external_account.external_verification_redirect_url");
  ASSERT_EQ(round_trip(b, url).status, 303);
  EXPECT_EQ(str(b.client(), "sign_up.status"), "complete");
  EXPECT_EQ(verify.count("/siteverify"), 0);

  // A transfer from a bypassed strategy's sign-in needs no token either.
  Browser t = browser();
  IdpUser other;
  other.sub = "idp-user-2";
  other.email = "grace@example.com";
  transferable_sign_in(t, other);
  auto tr = t.post(kSignUps, {{"transfer", "true"}});
  ASSERT_EQ(tr.status, 200) << tr.body;
  EXPECT_EQ(str(tr.json(), "response.status"), "complete");
}

TEST_F(Captcha, AnOAuthStrategyOffTheBypassListNeedsAToken) {
  start({{"LATCHKEY_BOT_PROTECTION_OAUTH_BYPASS", "oauth_microsoft"}});
  Browser b = browser();
  expect_refused(
      b.post(kSignUps, {{"strategy", "oauth_google"}, {"redirect_url", "/sso-callback"}}), 400,
      "captcha_invalid");
  EXPECT_TRUE(b.client().is_null());
  // signUp.sso() carries the widget's token on the same POST (part2 §8).
  auto su = b.post(kSignUps, {{"strategy", "oauth_google"},
                              {"redirect_url", "/sso-callback"},
                              {"captcha_token", "good-5"}});
  ASSERT_EQ(su.status, 200) << su.body;
  const std::string url =
      str(su.json(), "response.verifications.external_account.external_verification_redirect_url");
  ASSERT_EQ(round_trip(b, url).status, 303);
  EXPECT_EQ(str(b.client(), "sign_up.status"), "complete");
}

TEST_F(Captcha, ATransferFromAStrategyOffTheBypassListNeedsAToken) {
  start({{"LATCHKEY_BOT_PROTECTION_OAUTH_BYPASS", "oauth_microsoft"}});
  Browser b = browser();
  transferable_sign_in(b);  // signing in needs no captcha
  expect_refused(b.post(kSignUps, {{"transfer", "true"}}), 400, "captcha_invalid");
  // Nothing changed: still a transferable sign-in, no sign-up, no session.
  auto client = b.client();
  EXPECT_EQ(str(client, "sign_in.first_factor_verification.status"), "transferable");
  EXPECT_TRUE(at(client, "sign_up").is_null());
  EXPECT_EQ(at(client, "sessions"), json::array());
  auto ok = b.post(kSignUps, {{"transfer", "true"}, {"captcha_token", "good-6"}});
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(str(ok.json(), "response.status"), "complete");
}

// The seed's callback page transfers, then its continue page PATCHes the missing fields: the
// PATCH is no create and asks for no captcha.
TEST_F(Captcha, TheContinuePagesPatchNeedsNoToken) {
  start({{"LATCHKEY_FRONTEND_REQUIRED_FIELDS", "first_name,last_name"}});
  Browser b = browser();
  IdpUser nameless;
  nameless.given_name.clear();
  nameless.family_name.clear();
  transferable_sign_in(b, nameless);
  auto su = b.post(kSignUps, {{"transfer", "true"}});
  ASSERT_EQ(su.status, 200) << su.body;
  ASSERT_EQ(str(su.json(), "response.status"), "missing_requirements");
  const std::string id = str(su.json(), "response.id");
  auto patch = b.post(std::string(kSignUps) + "/" + id + "?_method=PATCH",
                      {{"first_name", "Grace"}, {"last_name", "Hopper"}});
  ASSERT_EQ(patch.status, 200) << patch.body;
  EXPECT_EQ(str(patch.json(), "response.status"), "complete");
  EXPECT_EQ(verify.count("/siteverify"), 0);
}

TEST_F(Captcha, TestModesTestingTokenStandsInForTheCaptcha) {
  start({{"LATCHKEY_TESTING_ENABLED", "true"}});
  const std::string token = cli_testing_token();
  ASSERT_TRUE(token.starts_with("lktt1.")) << token;
  Browser b = browser();
  auto su = password_sign_up(b, "ada@example.com", {},
                             "?" + form_encode({{"__clerk_testing_token", token}}));
  ASSERT_EQ(su.status, 200) << su.body;
  EXPECT_EQ(verify.count("/siteverify"), 0);
  // The same token serves a whole suite (Clerk's testing tokens are not single-use), even when
  // clerk-js reports that it could not load the widget.
  Browser again = browser();
  ASSERT_EQ(password_sign_up(again, "grace@example.com",
                             {{"captcha_error", "captcha_script_failed_to_load"}},
                             "?" + form_encode({{"__clerk_testing_token", token}}))
                .status,
            200);
  // A forged or altered one is ignored: the captcha is required again.
  Browser forged = browser();
  std::string altered = token;
  altered.back() = altered.back() == 'A' ? 'B' : 'A';
  for (const std::string& t : {altered, std::string("lktt1.99999999999999.AAAA"), std::string()}) {
    expect_refused(password_sign_up(forged, "eve@example.com", {},
                                    "?" + form_encode({{"__clerk_testing_token", t}})),
                   400, "captcha_invalid");
  }
  EXPECT_TRUE(forged.client().is_null());
}

TEST_F(Captcha, TheTestingTokenIsRefusedWhenTestModeIsOff) {
  start();
  // The CLI refuses to mint without test mode...
  EXPECT_EQ(cli_testing_token(false), "");
  // ...and a token minted with the instance's key is ignored by a server not in test mode.
  const std::string token = cli_testing_token(true);
  ASSERT_FALSE(token.empty());
  Browser b = browser();
  expect_refused(password_sign_up(b, "ada@example.com", {},
                                  "?" + form_encode({{"__clerk_testing_token", token}})),
                 400, "captcha_invalid");
  EXPECT_TRUE(b.client().is_null());
}

}  // namespace
}  // namespace latchkey::it
