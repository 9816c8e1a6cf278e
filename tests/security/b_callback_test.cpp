// Catalog §2.B: the authorization response at /v1/oauth_callback. A callback that does not belong
// to a pending attempt of this browser is a 400 oauth_state_invalid on our own origin (never a
// redirect); one that does but fails ends the attempt (303 back to the app, attempt failed).
// The token endpoint is never called after a front-channel failure.
#include <sqlite3.h>

#include <future>

#include "sec_fixture.hpp"

namespace latchkey::sec {
namespace {

using ::testing::HasSubstr;

// A pending sign-in in `b`; returns the provider's grant for it.
ScriptIdp::Grant pending(Sec& t, ScriptIdp& idp, Browser& b, const User& user = User{}) {
  auto started = t.start_sign_in(b);
  EXPECT_EQ(started.status, 200) << started.body;
  return idp.authorize(Sec::auth_url_of(started), user);
}

void expect_state_refused(const HttpResponse& r) {
  EXPECT_EQ(r.status, 400) << r.raw;
  EXPECT_EQ(it::str(it::error_of(r), "code"), "oauth_state_invalid");
  EXPECT_FALSE(r.header("location")) << "a refused callback must not redirect";
  EXPECT_FALSE(set_cookie_named(r, "__client"));
  EXPECT_EQ(r.header("cache-control").value_or(""), "no-store");
}

TEST_F(Sec, B1_callback_without_state) {
  start();
  Browser b = browser();
  auto g = pending(*this, *idp, b);
  const Rows before = rows();
  auto r = callback(b, {{"code", g.code}});
  expect_state_refused(r);
  EXPECT_EQ(idp->token_calls(), 0);
  EXPECT_EQ(rows(), before);
  expect_log("reason=missing");
}

TEST_F(Sec, B2_unknown_random_state) {
  start();
  Browser b = browser();
  auto g = pending(*this, *idp, b);
  const Rows before = rows();
  auto r =
      callback(b, {{"code", g.code}, {"state", "Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eHF1dXg"}});
  expect_state_refused(r);
  EXPECT_EQ(idp->token_calls(), 0);
  EXPECT_EQ(rows(), before);
  expect_log("reason=unknown");
}

TEST_F(Sec, B3_tampered_state) {
  start();
  Browser b = browser();
  auto g = pending(*this, *idp, b);
  const Rows before = rows();
  std::string tampered = g.state;
  tampered[5] = tampered[5] == 'A' ? 'B' : 'A';
  auto r = callback(b, {{"code", g.code}, {"state", tampered}});
  expect_state_refused(r);
  EXPECT_EQ(idp->token_calls(), 0);
  EXPECT_EQ(rows(), before);
  // No oracle and no side effect: the pending attempt is untouched (a forged link cannot cancel
  // a sign-in), and the genuine response still completes it.
  EXPECT_EQ(it::str(b.client(), "sign_in.first_factor_verification.status"), "unverified");
  EXPECT_EQ(callback(b, {{"code", g.code}, {"state", g.state}}).status, 303);
  EXPECT_EQ(it::str(b.client(), "sign_in.first_factor_verification.status"), "transferable");
}

// B3 at rest: what a start leaves pending (state, nonce, PKCE verifier) is one sealed value in
// the state row. None of it is readable there; a row given another row's value does not complete
// (the value carries its own state), and a value that does not open fails the request. The
// token endpoint is called in neither case.
TEST_F(Sec, B3b_pending_authorization_sealed_in_the_state_row) {
  start();
  Browser a = browser();
  Browser b = browser();
  auto ga = pending(*this, *idp, a);
  auto gb = pending(*this, *idp, b);
  const std::string attempt_a = it::str(a.client(), "sign_in.id");
  const std::string attempt_b = it::str(b.client(), "sign_in.id");
  auto data_of = [&](const std::string& attempt) {
    return sql_scalar(db(), "SELECT data FROM oauth_states WHERE attempt_id = '" + attempt + "'");
  };
  auto set_data = [&](const std::string& attempt, const std::string& data) {
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(db().c_str(), &h), SQLITE_OK);
    sqlite3_busy_timeout(h, 5000);
    const std::string sql =
        "UPDATE oauth_states SET data = '" + data + "' WHERE attempt_id = '" + attempt + "'";
    EXPECT_EQ(sqlite3_exec(h, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(h);
  };
  const std::string sealed_a = data_of(attempt_a);
  const std::string sealed_b = data_of(attempt_b);
  for (const auto& [sealed, g] : {std::pair{sealed_a, ga}, std::pair{sealed_b, gb}}) {
    EXPECT_TRUE(sealed.starts_with("v1.")) << sealed;
    ASSERT_FALSE(g.state.empty());
    ASSERT_FALSE(g.nonce.empty());
    EXPECT_EQ(sealed.find(g.state), std::string::npos);
    EXPECT_EQ(sealed.find(g.nonce), std::string::npos);
  }
  EXPECT_NE(sealed_a, sealed_b);

  // A's row holding B's value: it opens, but was made for B's state.
  set_data(attempt_a, sealed_b);
  Rows before = rows();
  auto r = callback(a, {{"code", ga.code}, {"state", ga.state}});
  expect_failed_attempt(a, r, before, "oauth_state_invalid",
                        "pending authorization was made for another state");
  EXPECT_EQ(idp->token_calls(), 0);

  // B's row altered: it does not open (a fault of ours, as with a changed master key).
  std::string tampered = sealed_b;
  tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
  set_data(attempt_b, tampered);
  before = rows();
  r = callback(b, {{"code", gb.code}, {"state", gb.state}});
  EXPECT_EQ(r.status, 500) << r.raw;
  EXPECT_FALSE(r.header("location"));
  EXPECT_FALSE(set_cookie_named(r, "__client"));
  EXPECT_EQ(idp->token_calls(), 0);
  EXPECT_EQ(rows(), before);
  EXPECT_EQ(it::str(b.client(), "sign_in.first_factor_verification.status"), "unverified");
  expect_log("oauth callback failed: code=internal_clerk_error");
}

TEST_F(Sec, B4_replay_after_success) {
  start();
  Browser setup = browser();
  sign_up_user(setup, User{});
  Browser b = browser();
  auto g = pending(*this, *idp, b);
  auto first = callback(b, {{"code", g.code}, {"state", g.state}});
  ASSERT_EQ(first.status, 303);
  ASSERT_EQ(it::str(b.client(), "sign_in.status"), "complete");
  const Rows before = rows();
  const int tokens = idp->token_calls();
  expect_state_refused(callback(b, {{"code", g.code}, {"state", g.state}}));
  EXPECT_EQ(rows(), before) << "the replay changed a session or user";
  EXPECT_EQ(idp->token_calls(), tokens);
  EXPECT_EQ(it::at(b.client(), "sessions").as_array().size(), 1U);
}

TEST_F(Sec, B5_expired_state) {
  start();
  Browser b = browser();
  auto g = pending(*this, *idp, b);
  {
    // Age the state past its TTL (fault injection on the data; the server reads expire_at).
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(db().c_str(), &h), SQLITE_OK);
    sqlite3_busy_timeout(h, 5000);
    ASSERT_EQ(sqlite3_exec(h, "UPDATE oauth_states SET expire_at = 1", nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(h);
  }
  const Rows before = rows();
  expect_state_refused(callback(b, {{"code", g.code}, {"state", g.state}}));
  EXPECT_EQ(idp->token_calls(), 0);
  EXPECT_EQ(rows(), before);
}

TEST_F(Sec, B6_login_csrf_attacker_code_in_victim_browser) {
  start();
  Browser attacker = browser();
  auto g = pending(*this, *idp, attacker, User{"attacker-sub", "attacker@example.com"});
  for (const bool victim_has_client : {true, false}) {
    SCOPED_TRACE(victim_has_client ? "victim with a client" : "victim without cookies");
    Browser victim = browser();
    if (victim_has_client) {
      ASSERT_EQ(start_sign_in(victim).status, 200);
    }
    const Rows before = rows();
    auto r = callback(victim, {{"code", g.code}, {"state", g.state}});
    expect_state_refused(r);
    auto vc = victim.client();
    EXPECT_TRUE(vc.is_null() || it::at(vc, "sessions").as_array().empty());
    EXPECT_EQ(rows(), before);
  }
  // The attacker's attempt is spent: its state was consumed by the first use.
  EXPECT_EQ(it::str(attacker.client(), "sign_in.first_factor_verification.status"), "failed");
  EXPECT_EQ(idp->token_calls(), 0);
  expect_log("reason=client_mismatch");
}

TEST_F(Sec, B7_valid_state_code_missing) {
  start();
  Browser b = browser();
  auto g = pending(*this, *idp, b);
  const Rows before = rows();
  auto r = callback(b, {{"state", g.state}, {"code", ""}});
  expect_failed_attempt(b, r, before, "oauth_token_exchange_error", "reason=code_missing");
  EXPECT_EQ(idp->token_calls(), 0);
}

TEST_F(Sec, B9_code_replay_with_fresh_state) {
  start();
  Browser first = browser();
  auto g1 = pending(*this, *idp, first);
  ASSERT_EQ(callback(first, {{"code", g1.code}, {"state", g1.state}}).status, 303);
  Browser second = browser();
  auto g2 = pending(*this, *idp, second);
  const Rows before = rows();
  const int tokens = idp->token_calls();
  auto r = callback(second, {{"code", g1.code}, {"state", g2.state}});
  expect_failed_attempt(second, r, before, "oauth_token_exchange_error",
                        "oauth_token_exchange_error");
  EXPECT_EQ(idp->token_calls(), tokens + 1) << "exactly one redemption attempt, no retry loop";
}

TEST_F(Sec, B11_pkce_rejected_description_not_reflected) {
  idp->faults_["/token"] =
      Fault{Fault::kRaw,
            {},
            0,
            400,
            "application/json",
            R"({"error":"invalid_grant","error_description":"<b>code_verifier mismatch</b>"})"};
  start();
  Browser b = browser();
  auto g = pending(*this, *idp, b);
  const Rows before = rows();
  auto r = callback(b, {{"code", g.code}, {"state", g.state}});
  expect_failed_attempt(b, r, before, "oauth_token_exchange_error", "HTTP 400");
  for (const auto& body : b.bodies()) {
    EXPECT_EQ(body.find("code_verifier mismatch"), std::string::npos) << body;
  }
}

TEST_F(Sec, B12_authorization_response_iss_mismatch) {
  start();
  Browser b = browser();
  auto g = pending(*this, *idp, b);
  const Rows before = rows();
  auto r = callback(b, {{"code", g.code}, {"state", g.state}, {"iss", "https://evil.example"}});
  expect_failed_attempt(b, r, before, "oauth_token_exchange_error", "reason=issuer_mismatch");
  EXPECT_EQ(idp->token_calls(), 0) << "iss must be checked before the code is redeemed";
}

TEST_F(Sec, B12b_iss_missing_when_advertised) {
  idp->discovery_hook = [](json::object& d) {
    d["authorization_response_iss_parameter_supported"] = true;
  };
  start();
  Browser b = browser();
  auto g = pending(*this, *idp, b);
  const Rows before = rows();
  auto r = callback(b, {{"code", g.code}, {"state", g.state}});
  expect_failed_attempt(b, r, before, "oauth_token_exchange_error", "reason=issuer_missing");
  EXPECT_EQ(idp->token_calls(), 0);
}

TEST_F(Sec, B15_front_channel_tokens_ignored) {
  start();
  // Tokens instead of a code: nothing to redeem, nothing trusted.
  Browser b = browser();
  auto g = pending(*this, *idp, b);
  const Rows before = rows();
  auto r = callback(b, {{"state", g.state},
                        {"id_token", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."},
                        {"access_token", "at-injected"},
                        {"token_type", "Bearer"}});
  expect_failed_attempt(b, r, before, "oauth_token_exchange_error", "reason=code_missing");
  EXPECT_EQ(idp->token_calls(), 0);
  // Alongside a real code: the identity comes only from the token endpoint's validated ID token.
  Browser c = browser();
  auto g2 = pending(*this, *idp, c, User{"real-sub", "real@example.com"});
  auto r2 = callback(c, {{"code", g2.code},
                         {"state", g2.state},
                         {"id_token", "forged"},
                         {"access_token", "at-injected"}});
  ASSERT_EQ(r2.status, 303);
  auto su = c.post(kSignUps, {{"transfer", "true"}});
  ASSERT_EQ(su.status, 200) << su.body;
  EXPECT_EQ(sql_scalar(db(), "SELECT provider_user_id FROM external_accounts"), "real-sub");
}

TEST_F(Sec, B16_error_and_code_together) {
  start();
  Browser b = browser();
  auto g = pending(*this, *idp, b);
  const Rows before = rows();
  auto r = callback(b, {{"code", g.code}, {"state", g.state}, {"error", "server_error"}});
  expect_failed_attempt(b, r, before, "oauth_token_exchange_error", "server_error");
  EXPECT_EQ(idp->token_calls(), 0);
}

TEST_F(Sec, B17_oversized_parameters) {
  start();
  Browser b = browser();
  auto g = pending(*this, *idp, b);
  const Rows before = rows();
  auto big_state = callback(b, {{"code", g.code}, {"state", std::string(64 * 1024, 's')}});
  EXPECT_GE(big_state.status, 400);
  EXPECT_LT(big_state.status, 500) << big_state.raw;
  auto big_code = callback(b, {{"code", std::string(1024 * 1024, 'c')}, {"state", g.state}});
  EXPECT_GE(big_code.status, 400);
  EXPECT_LT(big_code.status, 500);
  std::string many = "state=" + g.state;
  for (int i = 0; i < 10000; ++i) {
    many += "&p" + std::to_string(i) + "=1";
  }
  auto r = b.get(std::string(kCallback) + "?" + many);
  EXPECT_GE(r.status, 400);
  EXPECT_LT(r.status, 500);
  EXPECT_EQ(idp->token_calls(), 0);
  EXPECT_EQ(rows(), before);
  EXPECT_EQ(it::http_get(server->port(), "/healthz").status, 200);
}

TEST_F(Sec, B18_no_pending_attempt_static_page) {
  start();
  Browser b = browser();
  auto g = pending(*this, *idp, b);
  b.clear_cookies();
  const Rows before = rows();
  expect_state_refused(callback(b, {{"code", g.code}, {"state", g.state}}));
  // A real browser asks for HTML: a static page on our origin linking the configured sign-in page.
  it::HttpRequest req;
  req.target = std::string(kCallback) + "?" + it::form_encode({{"code", "x"}, {"state", "y"}});
  req.headers = {{"Accept", "text/html,application/xhtml+xml"}};
  auto page = it::http_request(server->port(), req);
  EXPECT_EQ(page.status, 400);
  EXPECT_THAT(page.header("content-type").value_or(""), HasSubstr("text/html"));
  EXPECT_THAT(page.body, HasSubstr("oauth_state_invalid"));
  EXPECT_THAT(page.body, HasSubstr("href=\"" + origin() + "/sign-in\""));
  EXPECT_FALSE(page.header("location"));
  EXPECT_EQ(idp->token_calls(), 0);
  EXPECT_EQ(rows(), before);
}

TEST_F(Sec, B19_concurrent_double_submit) {
  start();
  Browser setup = browser();
  sign_up_user(setup, User{});
  Browser b = browser();
  auto g = pending(*this, *idp, b);
  const int tokens = idp->token_calls();
  it::HttpRequest req;
  req.target =
      std::string(kCallback) + "?" + it::form_encode({{"code", g.code}, {"state", g.state}});
  req.headers = {{"Cookie", "__client=" + *b.cookie("__client")}};
  auto f1 = std::async(std::launch::async, [&] { return it::http_request(server->port(), req); });
  auto f2 = std::async(std::launch::async, [&] { return it::http_request(server->port(), req); });
  auto r1 = f1.get();
  auto r2 = f2.get();
  const int ok = (r1.status == 303 ? 1 : 0) + (r2.status == 303 ? 1 : 0);
  EXPECT_EQ(ok, 1) << r1.raw << "\n" << r2.raw;
  EXPECT_EQ((r1.status == 400 ? 1 : 0) + (r2.status == 400 ? 1 : 0), 1);
  EXPECT_EQ(idp->token_calls(), tokens + 1);
  const Rows after = rows();
  EXPECT_EQ(after.user_count, 1);
  EXPECT_EQ(after.account_count, 1);
  EXPECT_EQ(after.session_count, 2);  // setup's and b's
}

TEST_F(Sec, B21_back_button_resubmit_after_sign_up) {
  start();
  Browser b = browser();
  auto started = start_sign_in(b);
  auto g = idp->authorize(auth_url_of(started), User{});
  const std::string target =
      std::string(kCallback) + "?" + it::form_encode({{"code", g.code}, {"state", g.state}});
  ASSERT_EQ(b.get(target).status, 303);
  ASSERT_EQ(b.post(kSignUps, {{"transfer", "true"}}).status, 200);
  const Rows before = rows();
  ASSERT_EQ(before.session_count, 1);
  expect_state_refused(b.get(target));
  EXPECT_EQ(rows(), before);
  EXPECT_EQ(idp->token_calls(), 1);
}

}  // namespace
}  // namespace latchkey::sec
