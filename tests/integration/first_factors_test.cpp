// Password, email-code and reset-code first factors of the running binary, driven request by
// request as the pinned SDK drives them (shared/fapi/part2.md §3, §4; samples-part2/signup,
// email_code, reset). With no SMTP server configured, messages go to the mail drop
// (<data_dir>/mail/*.eml): the tests read the codes from there, as a developer would.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/harness.hpp"

namespace latchkey::it {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kSignIns = "/__clerk/v1/client/sign_ins";
constexpr const char* kSignUps = "/__clerk/v1/client/sign_ups";
constexpr const char* kPassword = "correct horse battery staple";

class FirstFactors : public ::testing::Test {
 protected:
  void SetUp() override {
    server = std::make_unique<Server>(
        ServerOptions{.env = {{"LATCHKEY_PASSWORDS_HASH_OPSLIMIT", "1"},
                              {"LATCHKEY_PASSWORDS_HASH_MEMLIMIT_KIB", "8192"},
                              {"LATCHKEY_PASSWORDS_LOCKOUT_MAX_ATTEMPTS", "3"}},
                      .fixed_port = true,
                      .fast_keys = true});
  }
  Browser browser() { return Browser(*server); }

  // The newest 6-digit code mailed to `to`, once `nth` messages reached it.
  std::string code_for(const std::string& to, std::size_t nth = 1) {
    return mailed_code(server->data_dir().path(), to, nth);
  }

  // Sign-up with email + password, verified with the emailed code; returns the session id.
  std::string sign_up(Browser& b, const std::string& email) {
    auto su = b.post(kSignUps, {{"strategy", "password"},
                                {"email_address", email},
                                {"password", kPassword},
                                {"locale", "en-US"}});
    EXPECT_EQ(su.status, 200) << su.body;
    const std::string id = str(su.json(), "response.id");
    auto prep = b.post(std::string(kSignUps) + "/" + id + "/prepare_verification",
                       {{"strategy", "email_code"}});
    EXPECT_EQ(prep.status, 200) << prep.body;
    auto done = b.post(std::string(kSignUps) + "/" + id + "/attempt_verification",
                       {{"strategy", "email_code"}, {"code", code_for(email)}});
    EXPECT_EQ(done.status, 200) << done.body;
    return str(done.json(), "response.created_session_id");
  }

  std::unique_ptr<Server> server;
};

TEST_F(FirstFactors, EnvironmentOffersEmailAndPasswordLikeANewClerkApplication) {
  Browser b = browser();
  auto env = b.get("/__clerk/v1/environment");
  ASSERT_EQ(env.status, 200);
  auto j = env.json();
  EXPECT_EQ(at(j, "user_settings.attributes.email_address.used_for_first_factor"),
            json::value(true));
  EXPECT_EQ(str(j, "user_settings.attributes.email_address.first_factors.0"), "email_code");
  EXPECT_EQ(str(j, "user_settings.attributes.email_address.verifications.0"), "email_code");
  EXPECT_EQ(at(j, "user_settings.attributes.password.enabled"), json::value(true));
  EXPECT_EQ(at(j, "user_settings.attributes.password.required"), json::value(true));
  EXPECT_EQ(num(j, "user_settings.password_settings.min_length"), 8);
}

TEST_F(FirstFactors, PasswordSignUpIsVerifiedByTheEmailedCode) {
  Browser b = browser();
  auto su = b.post(kSignUps, {{"strategy", "password"},
                              {"email_address", "  Newbie@Example.COM "},
                              {"password", kPassword}});
  ASSERT_EQ(su.status, 200) << su.body;
  auto j = su.json();
  EXPECT_EQ(str(j, "response.status"), "missing_requirements");
  EXPECT_EQ(str(j, "response.email_address"), "newbie@example.com");
  EXPECT_EQ(str(j, "response.unverified_fields.0"), "email_address");
  EXPECT_EQ(at(j, "response.missing_fields"), json::array());
  EXPECT_EQ(at(j, "response.password_enabled"), json::value(true));
  EXPECT_EQ(str(j, "response.verifications.email_address.next_action"), "needs_prepare");
  EXPECT_THAT(su.body, Not(HasSubstr("argon2")));  // the digest never leaves the server
  const std::string id = str(j, "response.id");

  auto prep = b.post(std::string(kSignUps) + "/" + id + "/prepare_verification",
                     {{"strategy", "email_code"}});
  ASSERT_EQ(prep.status, 200) << prep.body;
  EXPECT_EQ(str(prep.json(), "response.verifications.email_address.next_action"), "needs_attempt");
  EXPECT_EQ(str(prep.json(), "response.verifications.email_address.status"), "unverified");
  const std::string code = code_for("newbie@example.com");
  ASSERT_EQ(code.size(), 6u);
  EXPECT_THAT(server->logs(), Not(HasSubstr(code)));  // no code in any log line

  const std::string wrong = code == "000000" ? "111111" : "000000";
  auto bad = b.post(std::string(kSignUps) + "/" + id + "/attempt_verification",
                    {{"strategy", "email_code"}, {"code", wrong}});
  ASSERT_EQ(bad.status, 422) << bad.body;
  EXPECT_EQ(str(error_of(bad), "code"), "form_code_incorrect");
  EXPECT_EQ(num(b.client(), "sign_up.verifications.email_address.attempts"), 1);

  auto ok = b.post(std::string(kSignUps) + "/" + id + "/attempt_verification",
                   {{"strategy", "email_code"}, {"code", code}});
  ASSERT_EQ(ok.status, 200) << ok.body;
  auto oj = ok.json();
  EXPECT_EQ(str(oj, "response.status"), "complete");
  EXPECT_FALSE(str(oj, "response.created_session_id").empty());
  EXPECT_EQ(str(oj, "client.sessions.0.user.email_addresses.0.email_address"),
            "newbie@example.com");
  EXPECT_EQ(str(oj, "client.sessions.0.user.email_addresses.0.verification.status"), "verified");
  EXPECT_EQ(at(oj, "client.sessions.0.user.password_enabled"), json::value(true));

  // The address is taken now: a second sign-up is told at once.
  Browser other = browser();
  auto again =
      other.post(kSignUps, {{"email_address", "newbie@example.com"}, {"password", kPassword}});
  ASSERT_EQ(again.status, 422) << again.body;
  EXPECT_EQ(str(error_of(again), "code"), "form_identifier_exists");
}

TEST_F(FirstFactors, WeakPasswordsAreRefusedWithClerksCodesAndNothingIsCreated) {
  Browser b = browser();
  auto short_pw = b.post(kSignUps, {{"email_address", "a@example.com"}, {"password", "short"}});
  ASSERT_EQ(short_pw.status, 422) << short_pw.body;
  EXPECT_EQ(str(error_of(short_pw), "code"), "form_password_length_too_short");
  EXPECT_EQ(str(error_of(short_pw), "meta.param_name"), "password");
  auto pwned = b.post(kSignUps, {{"email_address", "a@example.com"}, {"password", "password123"}});
  ASSERT_EQ(pwned.status, 422) << pwned.body;
  EXPECT_EQ(str(error_of(pwned), "code"), "form_password_pwned");
  EXPECT_TRUE(b.client().is_null());  // no client, no sign-up
}

TEST_F(FirstFactors, PasswordSignInAndItsFailures) {
  Browser up = browser();
  ASSERT_FALSE(sign_up(up, "ada@example.com").empty());

  Browser b = browser();
  auto unknown = b.post(kSignIns, {{"identifier", "nobody@example.com"}, {"password", kPassword}});
  ASSERT_EQ(unknown.status, 422) << unknown.body;
  EXPECT_EQ(str(error_of(unknown), "code"), "form_identifier_not_found");
  EXPECT_EQ(str(error_of(unknown), "meta.param_name"), "identifier");

  auto wrong =
      b.post(kSignIns, {{"identifier", "ada@example.com"}, {"password", "wrong password"}});
  ASSERT_EQ(wrong.status, 422) << wrong.body;
  EXPECT_EQ(str(error_of(wrong), "code"), "form_password_incorrect");
  EXPECT_EQ(str(error_of(wrong), "message"),
            "Password is incorrect. Try again, or use another method.");

  // signIn.password(): no strategy param, the server infers it.
  auto ok = b.post(kSignIns, {{"identifier", "ADA@example.com"},
                              {"password", kPassword},
                              {"locale", "en-US"},
                              {"timezone", "UTC"}});
  ASSERT_EQ(ok.status, 200) << ok.body;
  auto j = ok.json();
  EXPECT_EQ(str(j, "response.status"), "complete");
  EXPECT_EQ(str(j, "response.first_factor_verification.status"), "verified");
  EXPECT_EQ(str(j, "response.first_factor_verification.strategy"), "password");
  const std::string sid = str(j, "response.created_session_id");
  ASSERT_FALSE(sid.empty());
  EXPECT_EQ(str(j, "client.last_authentication_strategy"), "password");
  auto tok = b.post("/__clerk/v1/client/sessions/" + sid + "/tokens", {});
  ASSERT_EQ(tok.status, 200) << tok.body;
  EXPECT_FALSE(str(tok.json(), "jwt").empty());
}

TEST_F(FirstFactors, TheIdentifierFirstThenThePasswordAsAFirstFactor) {
  Browser up = browser();
  ASSERT_FALSE(sign_up(up, "grace@example.com").empty());
  Browser b = browser();
  auto si = b.post(kSignIns, {{"identifier", "grace@example.com"}});
  ASSERT_EQ(si.status, 200) << si.body;
  auto j = si.json();
  EXPECT_EQ(str(j, "response.status"), "needs_first_factor");
  EXPECT_EQ(str(j, "response.supported_first_factors.0.strategy"), "password");
  EXPECT_EQ(str(j, "response.supported_first_factors.1.strategy"), "email_code");
  EXPECT_EQ(str(j, "response.supported_first_factors.1.safe_identifier"), "g***@example.com");
  EXPECT_EQ(str(j, "response.supported_first_factors.2.strategy"), "reset_password_email_code");
  EXPECT_THAT(si.body, Not(HasSubstr("\"email\":")));  // the address behind a factor stays here
  const std::string id = str(j, "response.id");
  auto ok = b.post(std::string(kSignIns) + "/" + id + "/attempt_first_factor",
                   {{"strategy", "password"}, {"password", kPassword}});
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(str(ok.json(), "response.status"), "complete");
}

TEST_F(FirstFactors, WrongPasswordsLockTheUserTemporarily) {
  Browser up = browser();
  ASSERT_FALSE(sign_up(up, "locked@example.com").empty());
  Browser b = browser();
  for (int i = 0; i < 3; ++i) {
    auto wrong =
        b.post(kSignIns, {{"identifier", "locked@example.com"}, {"password", "wrong password"}});
    ASSERT_EQ(wrong.status, 422) << wrong.body;
  }
  // Locked now (LATCHKEY_PASSWORDS_LOCKOUT_MAX_ATTEMPTS=3): even the right password waits.
  auto locked = b.post(kSignIns, {{"identifier", "locked@example.com"}, {"password", kPassword}});
  ASSERT_EQ(locked.status, 403) << locked.body;
  EXPECT_EQ(str(error_of(locked), "code"), "user_locked");
  EXPECT_GT(std::stoll(str(error_of(locked), "meta.lockout_expires_in_seconds")), 0);
}

TEST_F(FirstFactors, EmailCodeSignIn) {
  Browser up = browser();
  ASSERT_FALSE(sign_up(up, "code@example.com").empty());
  Browser b = browser();
  auto si = b.post(kSignIns, {{"identifier", "code@example.com"}});
  ASSERT_EQ(si.status, 200) << si.body;
  const std::string id = str(si.json(), "response.id");
  const std::string eid = str(si.json(), "response.supported_first_factors.1.email_address_id");
  auto prep = b.post(std::string(kSignIns) + "/" + id + "/prepare_first_factor",
                     {{"strategy", "email_code"}, {"email_address_id", eid}});
  ASSERT_EQ(prep.status, 200) << prep.body;
  EXPECT_EQ(str(prep.json(), "response.first_factor_verification.strategy"), "email_code");
  EXPECT_EQ(str(prep.json(), "response.first_factor_verification.status"), "unverified");
  EXPECT_EQ(num(prep.json(), "response.first_factor_verification.attempts"), 0);
  // Asking again at once is refused (resend cooldown) and changes nothing.
  auto again = b.post(std::string(kSignIns) + "/" + id + "/prepare_first_factor",
                      {{"strategy", "email_code"}, {"email_address_id", eid}});
  EXPECT_EQ(again.status, 429) << again.body;
  const std::string code = code_for("code@example.com", 2);  // the sign-up's code came first
  auto ok = b.post(std::string(kSignIns) + "/" + id + "/attempt_first_factor",
                   {{"strategy", "email_code"}, {"code", code}});
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(str(ok.json(), "response.status"), "complete");
  // The code is single-use: the attempt moved on.
  auto replay = b.post(std::string(kSignIns) + "/" + id + "/attempt_first_factor",
                       {{"strategy", "email_code"}, {"code", code}});
  EXPECT_NE(replay.status, 200) << replay.body;
}

TEST_F(FirstFactors, ForgotPasswordThenANewPasswordSignsOutTheOtherSessions) {
  Browser up = browser();
  const std::string first_session = sign_up(up, "reset@example.com");
  ASSERT_FALSE(first_session.empty());
  Browser b = browser();
  auto si = b.post(kSignIns, {{"identifier", "reset@example.com"}});
  ASSERT_EQ(si.status, 200) << si.body;
  const std::string id = str(si.json(), "response.id");
  auto prep = b.post(std::string(kSignIns) + "/" + id + "/prepare_first_factor",
                     {{"strategy", "reset_password_email_code"}});
  ASSERT_EQ(prep.status, 200) << prep.body;
  const std::string code = code_for("reset@example.com", 2);
  auto verified = b.post(std::string(kSignIns) + "/" + id + "/attempt_first_factor",
                         {{"strategy", "reset_password_email_code"}, {"code", code}});
  ASSERT_EQ(verified.status, 200) << verified.body;
  EXPECT_EQ(str(verified.json(), "response.status"), "needs_new_password");

  auto weak = b.post(std::string(kSignIns) + "/" + id + "/reset_password",
                     {{"password", "short"}, {"sign_out_of_other_sessions", "true"}});
  ASSERT_EQ(weak.status, 422) << weak.body;
  EXPECT_EQ(str(error_of(weak), "code"), "form_password_length_too_short");

  const std::string fresh = "a brand new password";
  auto done = b.post(std::string(kSignIns) + "/" + id + "/reset_password",
                     {{"password", fresh}, {"sign_out_of_other_sessions", "true"}});
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_EQ(str(done.json(), "response.status"), "complete");
  EXPECT_FALSE(str(done.json(), "response.created_session_id").empty());
  // The other browser's session was revoked: it mints no more tokens.
  auto old_token = up.post("/__clerk/v1/client/sessions/" + first_session + "/tokens", {});
  EXPECT_EQ(old_token.status, 401) << old_token.body;
  // The old password no longer signs in; the new one does.
  Browser c = browser();
  auto old_pw = c.post(kSignIns, {{"identifier", "reset@example.com"}, {"password", kPassword}});
  EXPECT_EQ(old_pw.status, 422) << old_pw.body;
  auto new_pw = c.post(kSignIns, {{"identifier", "reset@example.com"}, {"password", fresh}});
  EXPECT_EQ(new_pw.status, 200) << new_pw.body;
}

TEST(FirstFactorsTestMode, ClerkTestAddressesTakeTheCode424242AndAreSentNothing) {
  Server server(ServerOptions{.env = {{"LATCHKEY_TESTING_ENABLED", "true"},
                                      {"LATCHKEY_PASSWORDS_HASH_OPSLIMIT", "1"},
                                      {"LATCHKEY_PASSWORDS_HASH_MEMLIMIT_KIB", "8192"}},
                              .fixed_port = true,
                              .fast_keys = true});
  EXPECT_THAT(server.logs(), HasSubstr("test mode is on"));
  Browser b(server);
  auto su =
      b.post(kSignUps, {{"email_address", "jane+clerk_test@example.com"}, {"password", kPassword}});
  ASSERT_EQ(su.status, 200) << su.body;
  const std::string id = str(su.json(), "response.id");
  ASSERT_EQ(b.post(std::string(kSignUps) + "/" + id + "/prepare_verification",
                   {{"strategy", "email_code"}})
                .status,
            200);
  auto done = b.post(std::string(kSignUps) + "/" + id + "/attempt_verification",
                     {{"strategy", "email_code"}, {"code", "424242"}});
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_EQ(str(done.json(), "response.status"), "complete");
  // A real address in test mode gets a real code, and 424242 means nothing for it.
  Browser other(server);
  auto real =
      other.post(kSignUps, {{"email_address", "jane@example.com"}, {"password", kPassword}});
  ASSERT_EQ(real.status, 200) << real.body;
  const std::string rid = str(real.json(), "response.id");
  ASSERT_EQ(other
                .post(std::string(kSignUps) + "/" + rid + "/prepare_verification",
                      {{"strategy", "email_code"}})
                .status,
            200);
  const std::string code = mailed_code(server.data_dir().path(), "jane@example.com");
  if (code != "424242") {
    auto wrong = other.post(std::string(kSignUps) + "/" + rid + "/attempt_verification",
                            {{"strategy", "email_code"}, {"code", "424242"}});
    EXPECT_EQ(wrong.status, 422) << wrong.body;
  }
  // Nothing was mailed to the test address.
  EXPECT_TRUE(mails_to(server.data_dir().path(), "jane+clerk_test@example.com").empty());
}

TEST(FirstFactorsTestMode, IsOffByDefaultAndRefusedWithAnHttpsPublicUrl) {
  auto r =
      run_cli({"config", "check"}, {{"LATCHKEY_TESTING_ENABLED", "true"},
                                    {"LATCHKEY_SERVER_PUBLIC_URL", "https://auth.example.com"}});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("testing.enabled"));
  auto forced =
      run_cli({"config", "check"}, {{"LATCHKEY_TESTING_ENABLED", "true"},
                                    {"LATCHKEY_TESTING_ALLOW_PRODUCTION", "true"},
                                    {"LATCHKEY_SERVER_PUBLIC_URL", "https://auth.example.com"}});
  EXPECT_EQ(forced.exit_code, 0) << forced.err;
}

}  // namespace
}  // namespace latchkey::it
