// Catalog §2.G: rate limits (429 too_many_requests + Retry-After in the Clerk envelope, before
// any database or provider work), per IP and per client; enumeration resistance.
#include <chrono>
#include <thread>

#include "sec_fixture.hpp"

namespace latchkey::sec {
namespace {

it::EnvVars limits(const std::string& key, const std::string& value) {
  return {{"LATCHKEY_RATELIMIT_ENABLED", "true"}, {key, value}};
}

void expect_429(const HttpResponse& r) {
  EXPECT_EQ(r.status, 429) << r.raw;
  EXPECT_EQ(it::str(it::error_of(r), "code"), "too_many_requests");
  const auto retry = r.header("retry-after");
  ASSERT_TRUE(retry) << r.raw;
  EXPECT_GE(std::atoi(retry->c_str()), 1);
  // Refused hits keep counting, so a caller that keeps hammering waits up to two windows.
  EXPECT_LE(std::atoi(retry->c_str()), 120);
  EXPECT_TRUE(r.all("set-cookie").empty());
}

namespace {

constexpr const char* kGoodPassword = "correct horse battery staple";

// A password user signed up through the API, its address verified by the mailed code.
void password_user(Sec& t, const std::string& email) {
  Browser b = t.browser();
  auto su = b.post(kSignUps, {{"strategy", "password"},
                              {"email_address", email},
                              {"password", kGoodPassword},
                              {"first_name", "Grace"},
                              {"last_name", "Hopper"}});
  ASSERT_EQ(su.status, 200) << su.body;
  const std::string id = it::str(su.json(), "response.id");
  ASSERT_EQ(b.post(std::string(kSignUps) + "/" + id + "/prepare_verification",
                   {{"strategy", "email_code"}})
                .status,
            200);
  const std::string code = it::mailed_code(t.server->data_dir().path(), email);
  auto done = b.post(std::string(kSignUps) + "/" + id + "/attempt_verification",
                     {{"strategy", "email_code"}, {"code", code}});
  ASSERT_EQ(done.status, 200) << done.body;
  ASSERT_EQ(it::str(done.json(), "response.status"), "complete") << done.body;
}

// Cheap hashing for the tests that hash many times (the cost is not what they are about).
it::EnvVars cheap_hashing(it::EnvVars extra = {}) {
  extra.emplace_back("LATCHKEY_PASSWORDS_HASH_OPSLIMIT", "1");
  extra.emplace_back("LATCHKEY_PASSWORDS_HASH_MEMLIMIT_KIB", "8192");
  return extra;
}

}  // namespace

TEST_F(Sec, G1_password_lockout) {
  start(cheap_hashing());  // the default lockout: 10 failures, 1 hour
  password_user(*this, "grace@example.com");
  Browser b = browser();
  auto attempt = [&](const std::string& pw) {
    return b.post(kSignIns, {{"identifier", "grace@example.com"}, {"password", pw}});
  };
  for (int i = 1; i <= 10; ++i) {
    auto r = attempt("wrong password " + std::to_string(i));
    ASSERT_EQ(r.status, 422) << "failure " << i << ": " << r.body;
    EXPECT_EQ(it::str(it::error_of(r), "code"), "form_password_incorrect");
  }
  // The 11th try: locked, even with the right password, and it says for how long.
  auto locked = attempt(kGoodPassword);
  ASSERT_EQ(locked.status, 403) << locked.body;
  EXPECT_EQ(it::str(it::error_of(locked), "code"), "user_locked");
  const auto seconds = std::stoll(it::str(it::error_of(locked), "meta.lockout_expires_in_seconds"));
  EXPECT_GT(seconds, 3500);
  EXPECT_LE(seconds, 3600);
  EXPECT_EQ(sql_scalar(db(), "SELECT failed_password_attempts FROM users"), "10");
  EXPECT_EQ(sql_scalar(db(), "SELECT COUNT(*) FROM sessions"), "1");  // the sign-up's only
  // Another browser is locked out as well: the lockout is the account's, not the client's.
  Browser other = browser();
  EXPECT_EQ(other.post(kSignIns, {{"identifier", "grace@example.com"}, {"password", kGoodPassword}})
                .status,
            403);
}

TEST_F(Sec, G1b_a_correct_password_resets_the_count) {
  start(cheap_hashing());
  password_user(*this, "count@example.com");
  Browser b = browser();
  for (int i = 0; i < 9; ++i) {
    ASSERT_EQ(
        b.post(kSignIns, {{"identifier", "count@example.com"}, {"password", "nope nope"}}).status,
        422);
  }
  auto ok = b.post(kSignIns, {{"identifier", "count@example.com"}, {"password", kGoodPassword}});
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(sql_scalar(db(), "SELECT failed_password_attempts FROM users"), "0");
}

TEST_F(Sec, G2_credential_stuffing_per_ip) {
  start(limits("LATCHKEY_RATELIMIT_SIGN_IN_PER_IP", "5"));
  // One IP, a fresh identifier (and no cookie) each time: the per-IP budget runs out.
  for (int i = 0; i < 5; ++i) {
    Browser b = browser();
    auto r = b.post(kSignIns, {{"identifier", "user" + std::to_string(i) + "@example.com"}});
    EXPECT_EQ(r.status, 422) << r.body;  // form_identifier_not_found: one indexed read
  }
  Browser b = browser();
  expect_429(b.post(kSignIns, {{"identifier", "user6@example.com"}}));
  expect_429(start_sign_in(b));
  expect_429(b.post(kSignUps, {{"strategy", "oauth_google"}, {"redirect_url", "/x"}}));
  EXPECT_EQ(sql_scalar(db(), "SELECT COUNT(*) FROM clients"), "0");
  EXPECT_EQ(idp->calls(idp->discovery_path()), 0) << "refused requests did provider work";
  // Another IP is unaffected.
  it::HttpRequest req;
  req.method = "POST";
  req.target = kSignIns;
  req.headers = {{"Origin", origin()}, {"Content-Type", "application/x-www-form-urlencoded"}};
  req.body = "strategy=oauth_google&redirect_url=%2Fx";
  auto other = request_from("127.0.0.2", server->port(), req);
  EXPECT_EQ(other.status, 200) << other.raw;
}

TEST_F(Sec, G2b_forwarded_for_is_ignored_unless_from_a_trusted_proxy) {
  start(limits("LATCHKEY_RATELIMIT_SIGN_IN_PER_IP", "2"));
  it::HttpRequest req;
  req.method = "POST";
  req.target = kSignIns;
  req.headers = {{"Origin", origin()}, {"Content-Type", "application/x-www-form-urlencoded"}};
  int refused = 0;
  for (int i = 0; i < 4; ++i) {
    auto h = req;
    h.headers.emplace_back("X-Forwarded-For", "10.0.0." + std::to_string(i));
    refused += it::http_request(server->port(), h).status == 429 ? 1 : 0;
  }
  EXPECT_EQ(refused, 2) << "a spoofed X-Forwarded-For must not reset the per-IP budget";
}

TEST_F(Sec, G2c_trusted_proxy_forwarded_client_is_the_key) {
  start({{"LATCHKEY_RATELIMIT_ENABLED", "true"},
         {"LATCHKEY_RATELIMIT_SIGN_IN_PER_IP", "2"},
         {"LATCHKEY_RATELIMIT_TRUSTED_PROXIES", "127.0.0.1"}});
  it::HttpRequest req;
  req.method = "POST";
  req.target = kSignIns;
  req.headers = {{"Origin", origin()},
                 {"Content-Type", "application/x-www-form-urlencoded"},
                 {"X-Forwarded-For", "198.51.100.7"}};
  EXPECT_NE(it::http_request(server->port(), req).status, 429);
  EXPECT_NE(it::http_request(server->port(), req).status, 429);
  expect_429(it::http_request(server->port(), req));
  req.headers.back().second = "198.51.100.8";
  EXPECT_NE(it::http_request(server->port(), req).status, 429) << "another client behind the proxy";
}

TEST_F(Sec, G4_otp_guessing) {
  start(cheap_hashing());
  password_user(*this, "otp@example.com");
  Browser b = browser();
  auto si = b.post(kSignIns, {{"identifier", "otp@example.com"}, {"strategy", "email_code"}});
  ASSERT_EQ(si.status, 200) << si.body;
  const std::string id = it::str(si.json(), "response.id");
  const std::string code = it::mailed_code(server->data_dir().path(), "otp@example.com", 2);
  const std::string path = std::string(kSignIns) + "/" + id + "/attempt_first_factor";
  std::vector<std::string> codes;
  for (int i = 0; i < 20; ++i) {
    auto r = b.post(path, {{"strategy", "email_code"}, {"code", std::to_string(100000 + i)}});
    codes.push_back(it::str(it::error_of(r), "code"));
    EXPECT_NE(r.status, 200);
  }
  // Three wrong codes, then the verification has failed: no guess, not even the right code, counts.
  EXPECT_EQ(codes[0], "form_code_incorrect");
  EXPECT_EQ(codes[1], "form_code_incorrect");
  EXPECT_EQ(codes[2], "verification_failed");
  for (std::size_t i = 3; i < codes.size(); ++i) {
    EXPECT_EQ(codes[i], "verification_failed") << i;
  }
  auto right = b.post(path, {{"strategy", "email_code"}, {"code", code}});
  EXPECT_EQ(it::str(it::error_of(right), "code"), "verification_failed");
  EXPECT_EQ(sql_scalar(db(), "SELECT COUNT(*) FROM sessions"), "1");  // the sign-up's only
}

TEST_F(Sec, G5_email_sms_bombing) {
  start(cheap_hashing());
  password_user(*this, "victim@example.com");
  // 30 fresh sign-ins (no cookie), each asking for a code to the same address: the per-recipient
  // limit ([delivery] per_recipient, 10 per hour) refuses the rest with 429 and sends nothing.
  int refused = 0;
  for (int i = 0; i < 30; ++i) {
    Browser b = browser();
    auto r = b.post(kSignIns, {{"identifier", "victim@example.com"}, {"strategy", "email_code"}});
    if (r.status == 429) {
      ++refused;
      EXPECT_EQ(it::str(it::error_of(r), "code"), "too_many_requests") << r.body;
    } else {
      EXPECT_EQ(r.status, 200) << r.body;
    }
  }
  EXPECT_GE(refused, 20);
  const int queued = std::stoi(sql_scalar(db(), "SELECT COUNT(*) FROM outbox"));
  EXPECT_LE(queued, 10 + 1) << "messages to one address must stay bounded";
  // The victim can still sign in with the password: the limit is on sending, not on the account.
  Browser owner = browser();
  EXPECT_EQ(
      owner.post(kSignIns, {{"identifier", "victim@example.com"}, {"password", kGoodPassword}})
          .status,
      200);
}

TEST_F(Sec, G7_enumeration_sign_up_and_sign_in_with_existing_email) {
  // Strict mode (Clerk's user enumeration protection); off, Clerk answers form_identifier_exists /
  // form_identifier_not_found at once, and so does Latchkey (tests/integration/first_factors).
  start({{"LATCHKEY_IDENTIFIERS_ENUMERATION_PROTECTION", "true"}});
  Browser owner = browser();
  sign_up_user(owner, User{"owner", "taken@example.com", true});
  auto answer = [&](const std::string& path, const Form& f) {
    Browser b = browser();
    auto r = b.post(path, f);
    if (r.status == 200) {
      return std::to_string(r.status) + " " + it::str(r.json(), "response.status");
    }
    return std::to_string(r.status) + " " + it::str(it::error_of(r), "code") + " " +
           it::str(it::error_of(r), "long_message");
  };
  EXPECT_EQ(answer(kSignUps, {{"email_address", "taken@example.com"}}),
            answer(kSignUps, {{"email_address", "fresh@example.com"}}));
  // With a password too, and when the code is asked for: the owner gets a notice, not a code.
  Browser taken = browser();
  auto su = taken.post(kSignUps, {{"email_address", "taken@example.com"},
                                  {"password", "correct horse battery staple"}});
  ASSERT_EQ(su.status, 200) << su.body;
  auto prep = taken.post(
      std::string(kSignUps) + "/" + it::str(su.json(), "response.id") + "/prepare_verification",
      {{"strategy", "email_code"}});
  ASSERT_EQ(prep.status, 200) << prep.body;
  for (int i = 0; i < 100 && it::mails_to(server->data_dir().path(), "taken@example.com").empty();
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const auto mails = it::mails_to(server->data_dir().path(), "taken@example.com");
  ASSERT_EQ(mails.size(), 1u);
  EXPECT_THAT(mails[0], ::testing::HasSubstr("already have an account"));
  EXPECT_THAT(mails[0], ::testing::Not(::testing::HasSubstr("is your verification code")));
  // And no code can verify that sign-up (none was sent to anyone).
  for (const char* guess : {"000000", "123456", "424242"}) {
    auto r = taken.post(
        std::string(kSignUps) + "/" + it::str(su.json(), "response.id") + "/attempt_verification",
        {{"strategy", "email_code"}, {"code", guess}});
    EXPECT_NE(r.status, 200) << r.body;
  }
  EXPECT_EQ(answer(kSignIns, {{"identifier", "taken@example.com"}}),
            answer(kSignIns, {{"identifier", "fresh@example.com"}}));
  // An OAuth start with an existing address as login hint looks like any other.
  Browser a = browser();
  Browser c = browser();
  auto ra = a.post(
      kSignIns,
      {{"strategy", "oauth_google"}, {"identifier", "taken@example.com"}, {"redirect_url", "/x"}});
  auto rc = c.post(
      kSignIns,
      {{"strategy", "oauth_google"}, {"identifier", "fresh@example.com"}, {"redirect_url", "/x"}});
  EXPECT_EQ(ra.status, rc.status);
  EXPECT_EQ(it::str(ra.json(), "response.status"), it::str(rc.json(), "response.status"));
}

TEST_F(Sec, G9_oauth_start_flood_per_client) {
  start({{"LATCHKEY_RATELIMIT_ENABLED", "true"}, {"LATCHKEY_RATELIMIT_SIGN_IN_PER_CLIENT", "3"}});
  Browser b = browser();
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(start_sign_in(b).status, 200);
  }
  expect_429(start_sign_in(b));
  EXPECT_EQ(sql_scalar(db(), "SELECT COUNT(*) FROM oauth_states"), "3");
  EXPECT_EQ(sql_scalar(db(), "SELECT COUNT(*) FROM sign_ins"), "1")
      << "one pending attempt per client";
  // Another browser (own client) still gets through.
  Browser other = browser();
  EXPECT_EQ(start_sign_in(other).status, 200);
}

TEST_F(Sec, G10_verification_and_token_minting_limits) {
  start({{"LATCHKEY_RATELIMIT_ENABLED", "true"},
         {"LATCHKEY_RATELIMIT_VERIFICATION_PER_IP", "4"},
         {"LATCHKEY_RATELIMIT_TOKEN_PER_CLIENT", "3"}});
  Browser b = browser();
  const std::string sid = sign_up_user(b, User{});  // one callback
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(b.post("/__clerk/v1/client/sessions/" + sid + "/tokens").status, 200);
  }
  expect_429(b.post("/__clerk/v1/client/sessions/" + sid + "/tokens"));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(callback(b, {{"state", "x"}}).status, 400);
  }
  const int tokens = idp->token_calls();
  expect_429(callback(b, {{"state", "x"}}));
  EXPECT_EQ(idp->token_calls(), tokens);
}

}  // namespace
}  // namespace latchkey::sec
