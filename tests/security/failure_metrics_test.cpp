// Issue 10, item 5: every failure branch counts in latchkey_request_failures_total{route,code,
// reason}, labelled with the route's name from the table and the typed reason, while the client
// still gets the uniform answer of the code (the reason never reaches the response).
#include <sstream>

#include "sec_fixture.hpp"

namespace latchkey::sec {
namespace {

// The value of one series in /metrics; -1 when it is absent.
long long series_value(const Sec& t, const std::string& series) {
  const auto m = it::http_get(t.server->port(), "/metrics");
  EXPECT_EQ(m.status, 200) << m.raw;
  std::istringstream lines(m.body);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.starts_with(series + " ")) {
      return std::stoll(line.substr(series.size() + 1));
    }
  }
  return -1;
}

std::string failures(const std::string& route, const std::string& code, const std::string& reason) {
  return "latchkey_request_failures_total{route=\"" + route + "\",code=\"" + code + "\",reason=\"" +
         reason + "\"}";
}

TEST_F(Sec, M1_refused_origin_is_counted_with_its_reason) {
  start();
  Browser evil = browser();
  evil.origin_header = "https://evil.com";
  const std::string series =
      failures("fapi_sign_in_create", "origin_not_allowed", "origin_not_allowed");
  EXPECT_EQ(series_value(*this, series), -1);
  for (int i = 1; i <= 2; ++i) {
    auto r = evil.post(kSignIns, {{"strategy", "oauth_google"}, {"redirect_url", "/x"}});
    EXPECT_EQ(r.status, 403) << r.body;
    EXPECT_EQ(it::str(it::error_of(r), "code"), "origin_invalid");
    EXPECT_EQ(r.body.find("origin_not_allowed"), std::string::npos) << "the reason leaked";
    EXPECT_EQ(series_value(*this, series), i);
  }
  // No Origin, a cross-site fetch: the same answer, another reason.
  Browser fetch = browser();
  fetch.origin_header = "";
  it::HttpRequest req;
  req.method = "POST";
  req.target = kClientPath;
  req.headers = {{"Sec-Fetch-Site", "cross-site"}};
  EXPECT_EQ(fetch.send(req).status, 403);
  EXPECT_EQ(series_value(*this, failures("fapi_client_mutate", "origin_not_allowed",
                                         "fetch_site_cross_site")),
            1);
}

TEST_F(Sec, M2_callback_refusal_and_provider_failure_are_counted) {
  start();
  // Another browser's state (B6): refused with 400, reason client_mismatch.
  Browser attacker = browser();
  auto started = start_sign_in(attacker);
  ASSERT_EQ(started.status, 200) << started.body;
  auto grant = idp->authorize(auth_url_of(started), User{"attacker-sub", "attacker@example.com"});
  Browser victim = browser();
  auto r = callback(victim, {{"code", grant.code}, {"state", grant.state}});
  EXPECT_EQ(r.status, 400) << r.raw;
  EXPECT_EQ(it::str(it::error_of(r), "code"), "oauth_state_invalid");
  EXPECT_EQ(r.body.find("client_mismatch"), std::string::npos) << "the reason leaked";
  EXPECT_EQ(series_value(*this,
                         failures("fapi_oauth_callback", "oauth_state_invalid", "client_mismatch")),
            1);
  expect_log("reason=client_mismatch");

  // A failed ID token check still redirects (the attempt records the failure): counted on the
  // audit path, next to oauth's own counter.
  idp->id_token_hook = [](json::object&, json::object& c) { c["nonce"] = "not-ours"; };
  Browser b = browser();
  auto cb = round_trip(b, User{});
  EXPECT_EQ(cb.status, 303) << cb.raw;
  EXPECT_EQ(series_value(*this, failures("fapi_oauth_callback", "oauth_id_token_invalid", "nonce")),
            1);
  EXPECT_EQ(series_value(*this, "latchkey_oauth_failures_total{reason=\"id_token.nonce\"}"), 1);
  expect_log("reason=nonce");
}

TEST_F(Sec, M3_rate_limit_and_missing_client_are_counted) {
  start({{"LATCHKEY_RATELIMIT_ENABLED", "true"}, {"LATCHKEY_RATELIMIT_SIGN_IN_PER_IP", "1"}});
  Browser b = browser();
  EXPECT_EQ(start_sign_in(b).status, 200);
  auto limited = start_sign_in(b);
  EXPECT_EQ(limited.status, 429) << limited.body;
  EXPECT_TRUE(limited.header("retry-after"));
  EXPECT_EQ(
      series_value(*this, failures("fapi_sign_in_create", "too_many_requests", "rate_limited_ip")),
      1);
  // Minting without a client: 401 authentication_invalid, reason no_client.
  Browser stranger = browser();
  auto t = stranger.post("/__clerk/v1/client/sessions/sess_x/tokens");
  EXPECT_EQ(t.status, 401) << t.body;
  EXPECT_EQ(
      series_value(*this, failures("fapi_session_tokens", "authentication_invalid", "no_client")),
      1);
}

}  // namespace
}  // namespace latchkey::sec
