// Second factors (issue 12) through the running binary, request by request as the pinned SDK
// sends them (shared/fapi/part2.md §1, §6): a signed-in user enrolls an authenticator app
// (POST /v1/me/totp, attempt_verification) and gets backup codes; every later sign-in - OAuth
// through the fake provider, or a password - stops at needs_second_factor until a TOTP code or a
// backup code passes. The test plays the authenticator app: it computes codes from the secret
// the enrollment returned.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>

#include "core/secret.hpp"
#include "crypto/jws.hpp"
#include "crypto/totp.hpp"
#include "support/harness.hpp"

namespace latchkey::it {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kSignIns = "/__clerk/v1/client/sign_ins";
constexpr const char* kSignUps = "/__clerk/v1/client/sign_ups";
constexpr const char* kPassword = "correct horse battery staple";

std::int64_t current_step() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return std::chrono::duration_cast<std::chrono::seconds>(now).count() / crypto::totp::kStepSeconds;
}

std::vector<std::string> strategies(const json::value& factors) {
  std::vector<std::string> out;
  if (factors.is_array()) {
    for (const auto& f : factors.as_array()) {
      out.emplace_back(f.as_object().at("strategy").as_string());
    }
  }
  return out;
}

class SecondFactors : public ::testing::Test {
 protected:
  void SetUp() override {
    auto env = idp.google_env();
    env.emplace_back("LATCHKEY_PASSWORDS_HASH_OPSLIMIT", "1");
    env.emplace_back("LATCHKEY_PASSWORDS_HASH_MEMLIMIT_KIB", "8192");
    server =
        std::make_unique<Server>(ServerOptions{.env = env, .fixed_port = true, .fast_keys = true});
  }
  Browser browser() { return Browser(*server); }
  [[nodiscard]] std::string callback_uri() const {
    return server->origin() + "/__clerk/v1/oauth_callback";
  }
  static std::string me(const std::string& path, const std::string& sid,
                        const std::string& extra = "") {
    return "/__clerk/v1/me" + path + "?_clerk_session_id=" + sid + extra;
  }

  // signIn.sso() and the provider round trip: the sign-in as the callback left it.
  json::value oauth_sign_in(Browser& b, const IdpUser& user) {
    auto started = b.post(kSignIns, {{"strategy", "oauth_google"},
                                     {"redirect_url", "/sso-callback"},
                                     {"action_complete_redirect_url", "/"}});
    EXPECT_EQ(started.status, 200) << started.body;
    auto grant =
        idp.authorize(str(started.json(),
                          "response.first_factor_verification.external_verification_redirect_url"),
                      user, callback_uri());
    auto cb = b.get("/__clerk/v1/oauth_callback?" +
                    form_encode({{"code", grant.code}, {"state", grant.state}}));
    EXPECT_EQ(cb.status, 303) << cb.raw;
    return b.client();
  }

  // A new user through the seed's callback (sign-in, transfer to a sign-up); the session id.
  std::string oauth_sign_up(Browser& b, const IdpUser& user) {
    oauth_sign_in(b, user);
    auto su = b.post(kSignUps, {{"transfer", "true"}});
    EXPECT_EQ(str(su.json(), "response.status"), "complete") << su.body;
    return str(su.json(), "response.created_session_id");
  }

  // The enrollment a user makes from their profile page: returns the secret and the backup codes.
  std::pair<core::Secret, std::vector<std::string>> enroll(Browser& b, const std::string& sid) {
    auto made = b.post(me("/totp", sid));
    EXPECT_EQ(made.status, 200) << made.body;
    auto j = made.json();
    EXPECT_EQ(str(j, "response.object"), "totp");
    EXPECT_EQ(at(j, "response.verified"), json::value(false));
    const std::string b32 = str(j, "response.secret");
    EXPECT_THAT(str(j, "response.uri"), HasSubstr("otpauth://totp/Latchkey:"));
    EXPECT_THAT(str(j, "response.uri"), HasSubstr("secret=" + b32));
    EXPECT_THAT(str(j, "response.uri"), HasSubstr("algorithm=SHA1&digits=6&period=30"));
    // Not enabled until a code from the app proves it was set up.
    EXPECT_EQ(at(j, "client.sessions.0.user.totp_enabled"), json::value(false));
    auto raw = crypto::totp::from_base32(b32);
    EXPECT_TRUE(raw && raw->size() == crypto::totp::kSecretBytes);
    core::Secret secret(raw.value_or(""));
    const std::string code = crypto::totp::code_at(secret, current_step());
    auto wrong = b.post(me("/totp/attempt_verification", sid),
                        {{"code", code == "000000" ? "111111" : "000000"}});
    EXPECT_EQ(wrong.status, 422) << wrong.body;
    EXPECT_EQ(str(error_of(wrong), "code"), "form_code_incorrect");
    EXPECT_EQ(str(error_of(wrong), "meta.param_name"), "code");
    auto ok = b.post(me("/totp/attempt_verification", sid), {{"code", code}});
    EXPECT_EQ(ok.status, 200) << ok.body;
    auto v = ok.json();
    EXPECT_EQ(at(v, "response.verified"), json::value(true));
    EXPECT_TRUE(at(v, "response.secret").is_null());
    EXPECT_EQ(at(v, "client.sessions.0.user.two_factor_enabled"), json::value(true));
    EXPECT_EQ(at(v, "client.sessions.0.user.totp_enabled"), json::value(true));
    EXPECT_EQ(at(v, "client.sessions.0.user.backup_code_enabled"), json::value(true));
    std::vector<std::string> codes;
    for (const auto& c : at(v, "response.backup_codes").as_array()) {
      codes.emplace_back(c.as_string());
    }
    EXPECT_EQ(codes.size(), 10u);
    return {secret, codes};
  }

  FakeIdp idp;
  std::unique_ptr<Server> server;
};

TEST_F(SecondFactors, EnvironmentAdvertisesTheAuthenticatorAppAndBackupCodes) {
  Browser b = browser();
  auto j = b.get("/__clerk/v1/environment").json();
  EXPECT_EQ(at(j, "user_settings.attributes.authenticator_app.enabled"), json::value(true));
  EXPECT_EQ(at(j, "user_settings.attributes.authenticator_app.used_for_second_factor"),
            json::value(true));
  EXPECT_EQ(str(j, "user_settings.attributes.authenticator_app.second_factors.0"), "totp");
  EXPECT_EQ(str(j, "user_settings.attributes.backup_code.second_factors.0"), "backup_code");
}

TEST_F(SecondFactors, AnOAuthSignInOfAUserWithAnAppStopsAtTheSecondFactor) {
  IdpUser user;
  user.sub = "mfa-1";
  user.email = "ada@example.com";
  Browser b = browser();
  const std::string sid = oauth_sign_up(b, user);
  ASSERT_FALSE(sid.empty());
  auto [secret, backup] = enroll(b, sid);
  EXPECT_THAT(server->logs(), HasSubstr("mfa: authenticator app enrolled"));
  EXPECT_THAT(server->logs(), Not(HasSubstr(backup.front())));
  // A second app while one is verified is refused.
  EXPECT_EQ(b.post(me("/totp", sid)).status, 400);
  // Regenerated (clerk-js posts with a trailing slash): the first set no longer works.
  auto regen = b.post("/__clerk/v1/me/backup_codes/?_clerk_session_id=" + sid);
  ASSERT_EQ(regen.status, 200) << regen.body;
  EXPECT_EQ(str(regen.json(), "response.object"), "backup_code");
  const auto fresh = at(regen.json(), "response.codes").as_array();
  ASSERT_EQ(fresh.size(), 10u);
  ASSERT_EQ(b.post("/__clerk/v1/client/sessions?_method=DELETE").status, 200);

  // The callback's sign-in waits for the second factor: no session, the factors offered.
  Browser c = browser();
  auto client = oauth_sign_in(c, user);
  EXPECT_EQ(str(client, "sign_in.status"), "needs_second_factor");
  EXPECT_EQ(strategies(at(client, "sign_in.supported_second_factors")),
            (std::vector<std::string>{"totp", "backup_code"}));
  EXPECT_TRUE(at(client, "sign_in.created_session_id").is_null());
  EXPECT_TRUE(at(client, "sessions").as_array().empty());
  const std::string sia = str(client, "sign_in.id");
  const std::string attempt = std::string(kSignIns) + "/" + sia + "/attempt_second_factor";

  // The enrollment's own code (same step) is used already.
  const std::int64_t step = current_step();
  auto replay =
      c.post(attempt, {{"strategy", "totp"}, {"code", crypto::totp::code_at(secret, step - 1)}});
  EXPECT_EQ(replay.status, 422) << replay.body;
  EXPECT_EQ(str(error_of(replay), "code"), "form_code_incorrect");
  auto old_backup = c.post(attempt, {{"strategy", "backup_code"}, {"code", backup.front()}});
  EXPECT_EQ(old_backup.status, 422) << old_backup.body;
  EXPECT_EQ(num(c.client(), "sign_in.second_factor_verification.attempts"), 2);

  auto ok =
      c.post(attempt, {{"strategy", "totp"}, {"code", crypto::totp::code_at(secret, step + 1)}});
  ASSERT_EQ(ok.status, 200) << ok.body;
  auto j = ok.json();
  EXPECT_EQ(str(j, "response.status"), "complete");
  EXPECT_EQ(str(j, "response.second_factor_verification.status"), "verified");
  EXPECT_EQ(str(j, "response.second_factor_verification.strategy"), "totp");
  const std::string new_sid = str(j, "response.created_session_id");
  ASSERT_FALSE(new_sid.empty());
  EXPECT_EQ(str(j, "client.sessions.0.id"), new_sid);

  // Another browser, a backup code: once, never twice.
  const std::string one(fresh.front().as_string());
  for (int round = 0; round < 2; ++round) {
    Browser d = browser();
    auto cl = oauth_sign_in(d, user);
    ASSERT_EQ(str(cl, "sign_in.status"), "needs_second_factor");
    auto r = d.post(std::string(kSignIns) + "/" + str(cl, "sign_in.id") + "/attempt_second_factor",
                    {{"strategy", "backup_code"}, {"code", round == 0 ? " " + one + " " : one}});
    if (round == 0) {
      ASSERT_EQ(r.status, 200) << r.body;
      EXPECT_EQ(str(r.json(), "response.status"), "complete");
    } else {
      EXPECT_EQ(r.status, 422) << r.body;
      EXPECT_TRUE(at(d.client(), "sessions").as_array().empty());
    }
  }

  // Removing the app (clerk-js: POST ?_method=DELETE) removes the second step.
  auto del = c.post(me("/totp", new_sid, "&_method=DELETE"));
  ASSERT_EQ(del.status, 200) << del.body;
  EXPECT_EQ(at(del.json(), "response.deleted"), json::value(true));
  EXPECT_EQ(at(del.json(), "client.sessions.0.user.two_factor_enabled"), json::value(false));
  EXPECT_EQ(at(del.json(), "client.sessions.0.user.backup_code_enabled"), json::value(false));
  Browser e = browser();
  EXPECT_EQ(str(oauth_sign_in(e, user), "sign_in.status"), "complete");
}

TEST_F(SecondFactors, WrongCodesEndTheAttemptAndAPasswordSignInAsksToo) {
  Browser b = browser();
  const std::string email = "grace@example.com";
  auto su = b.post(kSignUps,
                   {{"strategy", "password"}, {"email_address", email}, {"password", kPassword}});
  ASSERT_EQ(su.status, 200) << su.body;
  const std::string sua = str(su.json(), "response.id");
  ASSERT_EQ(b.post(std::string(kSignUps) + "/" + sua + "/prepare_verification",
                   {{"strategy", "email_code"}})
                .status,
            200);
  auto done = b.post(
      std::string(kSignUps) + "/" + sua + "/attempt_verification",
      {{"strategy", "email_code"}, {"code", mailed_code(server->data_dir().path(), email, 1)}});
  ASSERT_EQ(done.status, 200) << done.body;
  const std::string sid = str(done.json(), "response.created_session_id");
  auto [secret, backup] = enroll(b, sid);

  Browser c = browser();
  auto si = c.post(kSignIns, {{"identifier", email}, {"password", kPassword}});
  ASSERT_EQ(si.status, 200) << si.body;
  EXPECT_EQ(str(si.json(), "response.status"), "needs_second_factor");
  EXPECT_EQ(str(si.json(), "response.first_factor_verification.status"), "verified");
  EXPECT_TRUE(at(si.json(), "client.sessions").as_array().empty());
  const std::string attempt =
      std::string(kSignIns) + "/" + str(si.json(), "response.id") + "/attempt_second_factor";
  // Not a strategy of this user, and not a code at all.
  EXPECT_EQ(c.post(attempt, {{"strategy", "phone_code"}, {"code", "123456"}}).status, 422);
  EXPECT_EQ(c.post(attempt, {{"strategy", "totp"}}).status, 422);
  // Five wrong codes (the default max_attempts) fail the verification for good.
  const std::string right = crypto::totp::code_at(secret, current_step() + 1);
  const std::string wrong = right == "000000" ? "111111" : "000000";
  for (int i = 1; i <= 4; ++i) {
    auto r = c.post(attempt, {{"strategy", "totp"}, {"code", wrong}});
    EXPECT_EQ(r.status, 422) << i << r.body;
  }
  auto last = c.post(attempt, {{"strategy", "totp"}, {"code", wrong}});
  EXPECT_EQ(last.status, 400) << last.body;
  EXPECT_EQ(str(error_of(last), "code"), "verification_failed");
  EXPECT_EQ(str(c.client(), "sign_in.second_factor_verification.status"), "failed");
  auto after = c.post(attempt, {{"strategy", "totp"}, {"code", right}});
  EXPECT_EQ(after.status, 400) << after.body;
  EXPECT_TRUE(at(c.client(), "sessions").as_array().empty());

  // A new sign-in starts over.
  auto again = c.post(kSignIns, {{"identifier", email}, {"password", kPassword}});
  ASSERT_EQ(str(again.json(), "response.status"), "needs_second_factor");
  auto ok = c.post(
      std::string(kSignIns) + "/" + str(again.json(), "response.id") + "/attempt_second_factor",
      {{"strategy", "totp"}, {"code", right}});
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(str(ok.json(), "response.status"), "complete");
}

// Wrong codes count per user across sign-ins: a fresh sign-in does not reset them, and past the
// password lockout's threshold (10 by default) the user is locked (user_locked) until it expires.
TEST_F(SecondFactors, WrongCodesAcrossSignInsLockTheUser) {
  IdpUser user;
  user.sub = "mfa-lock";
  user.email = "lin@example.com";
  Browser b = browser();
  const std::string sid = oauth_sign_up(b, user);
  auto [secret, backup] = enroll(b, sid);
  const std::string right = crypto::totp::code_at(secret, current_step() + 1);
  const std::string wrong = right == "000000" ? "111111" : "000000";
  int sent = 0;
  for (int sign_in = 0; sign_in < 2; ++sign_in) {
    Browser c = browser();
    auto cl = oauth_sign_in(c, user);
    ASSERT_EQ(str(cl, "sign_in.status"), "needs_second_factor");
    const std::string attempt =
        std::string(kSignIns) + "/" + str(cl, "sign_in.id") + "/attempt_second_factor";
    for (int i = 0; i < 5; ++i) {
      auto r = c.post(attempt, {{"strategy", i % 2 == 0 ? "totp" : "backup_code"},
                                {"code", i % 2 == 0 ? wrong : "zzzzzzzz"}});
      ++sent;
      EXPECT_EQ(r.status / 100, 4) << sent << r.body;
    }
  }
  Browser d = browser();
  auto cl = oauth_sign_in(d, user);
  ASSERT_EQ(str(cl, "sign_in.status"), "needs_second_factor");
  auto locked =
      d.post(std::string(kSignIns) + "/" + str(cl, "sign_in.id") + "/attempt_second_factor",
             {{"strategy", "totp"}, {"code", right}});
  EXPECT_EQ(locked.status, 403) << locked.body;
  EXPECT_EQ(str(error_of(locked), "code"), "user_locked");
  EXPECT_FALSE(str(error_of(locked), "meta.lockout_expires_in_seconds").empty());
  EXPECT_TRUE(at(d.client(), "sessions").as_array().empty());
}

TEST_F(SecondFactors, MeNeedsTheCallersOwnLiveSession) {
  IdpUser user;
  user.sub = "mfa-3";
  user.email = "hedy@example.com";
  Browser b = browser();
  const std::string sid = oauth_sign_up(b, user);
  Browser stranger = browser();
  EXPECT_EQ(stranger.post(me("/totp", sid)).status / 100, 4);
  EXPECT_EQ(b.post("/__clerk/v1/me/totp").status, 401);  // no _clerk_session_id
  auto got = b.get(me("", sid));
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(str(got.json(), "response.object"), "user");
  EXPECT_EQ(at(got.json(), "response.totp_enabled"), json::value(false));
  // Backup codes need an app first.
  EXPECT_EQ(b.post(me("/backup_codes/", sid)).status, 400);
}

// [mfa] required: a user without a second factor signs in to a pending session with the setup-mfa
// task (part2 §5); its token says sts "pending"; /v1/me works for it; once the app is enrolled the
// touch of setActive() makes it active.
class RequiredSecondFactor : public SecondFactors {
 protected:
  void SetUp() override {
    auto env = idp.google_env();
    env.emplace_back("LATCHKEY_MFA_REQUIRED", "true");
    server =
        std::make_unique<Server>(ServerOptions{.env = env, .fixed_port = true, .fast_keys = true});
  }
};

std::string token_status(const json::value& session) {
  auto jws = crypto::decode_jws(str(session, "last_active_token.jwt"));
  if (!jws) {
    return "(no token)";
  }
  const auto claims = json::parse(jws->payload);
  const auto* sts = claims.as_object().if_contains("sts");
  return sts == nullptr ? "" : std::string(sts->as_string());
}

TEST_F(RequiredSecondFactor, ASessionWaitsOnSetupMfaUntilTheAppIsEnrolled) {
  Browser b = browser();
  EXPECT_EQ(
      at(b.get("/__clerk/v1/environment").json(), "user_settings.sign_in.second_factor.required"),
      json::value(true));
  IdpUser user;
  user.sub = "task-1";
  user.email = "joan@example.com";
  const std::string sid = oauth_sign_up(b, user);
  ASSERT_FALSE(sid.empty());
  auto touch = [&] {
    return b.post("/__clerk/v1/client/sessions/" + sid + "/touch",
                  {{"active_organization_id", ""}, {"intent", "select_session"}});
  };
  auto t1 = touch();
  ASSERT_EQ(t1.status, 200) << t1.body;
  EXPECT_EQ(str(t1.json(), "response.status"), "pending");
  EXPECT_EQ(str(t1.json(), "response.tasks.0.key"), "setup-mfa");
  EXPECT_EQ(token_status(at(t1.json(), "response")), "pending");
  enroll(b, sid);  // /v1/me answers a pending session
  auto t2 = touch();
  ASSERT_EQ(t2.status, 200) << t2.body;
  EXPECT_EQ(str(t2.json(), "response.status"), "active");
  EXPECT_TRUE(at(t2.json(), "response.tasks").is_null());
  EXPECT_EQ(str(b.client(), "sessions.0.status"), "active");
  auto tok = b.post("/__clerk/v1/client/sessions/" + sid + "/tokens");
  ASSERT_EQ(tok.status, 200) << tok.body;
  auto jws = crypto::decode_jws(str(tok.json(), "jwt"));
  ASSERT_TRUE(jws);
  EXPECT_FALSE(json::parse(jws->payload).as_object().contains("sts"));
}

}  // namespace
}  // namespace latchkey::it
