// Catalog §2.F: every state change checks Origin against the allowlist (403 origin_invalid), is
// never reachable by GET, ignores method-override headers, and CORS never reflects arbitrary
// origins. Browser-navigated pages cannot be framed.
#include "sec_fixture.hpp"

namespace latchkey::sec {
namespace {

using ::testing::HasSubstr;

TEST_F(Sec, F1_cross_site_form_post_login_csrf) {
  start();
  for (const std::string& ct : std::vector<std::string>{
           "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"}) {
    SCOPED_TRACE(ct);
    Browser evil = browser();
    evil.origin_header = "https://evil.com";
    auto r = evil.post_raw_body(kSignIns, "strategy=oauth_google&redirect_url=/x", ct);
    EXPECT_EQ(r.status, 403) << r.body;
    EXPECT_EQ(it::str(it::error_of(r), "code"), "origin_invalid");
    EXPECT_TRUE(r.all("set-cookie").empty());
    auto su = evil.post_raw_body(kSignUps, "strategy=oauth_google&redirect_url=/x", ct);
    EXPECT_EQ(su.status, 403);
  }
  EXPECT_EQ(sql_scalar(db(), "SELECT COUNT(*) FROM clients"), "0");
  EXPECT_EQ(idp->calls(idp->discovery_path()), 0);
}

TEST_F(Sec, F2_cross_site_forced_logout) {
  start();
  Browser b = browser();
  const std::string sid = sign_up_user(b, User{});
  const Rows before = rows();
  b.origin_header = "https://evil.com";
  for (const std::string& path :
       std::vector<std::string>{"/__clerk/v1/client/sessions/" + sid + "/end",
                                "/__clerk/v1/client/sessions/" + sid + "/remove",
                                std::string("/__clerk/v1/client/sessions?_method=DELETE"),
                                std::string("/__clerk/v1/client?_method=DELETE"),
                                "/__clerk/v1/client/sessions/" + sid + "/touch"}) {
    auto r = b.post(path);
    EXPECT_EQ(r.status, 403) << path << " " << r.body;
  }
  EXPECT_EQ(rows(), before);
  b.origin_header = origin();
  EXPECT_EQ(it::at(b.client(), "sessions").as_array().size(), 1U);
}

TEST_F(Sec, F3_state_change_via_get_or_override_header) {
  start();
  Browser b = browser();
  const std::string sid = sign_up_user(b, User{});
  const Rows before = rows();
  for (const std::string& action : std::vector<std::string>{"end", "remove", "tokens", "touch"}) {
    auto r = b.get("/__clerk/v1/client/sessions/" + sid + "/" + action);
    EXPECT_TRUE(r.status == 405 || r.status == 404) << action << " " << r.raw;
  }
  EXPECT_TRUE(b.get("/__clerk/v1/client/sign_ins?strategy=oauth_google&redirect_url=/x").status >=
              404);
  // X-HTTP-Method-Override is not a thing here: a POST stays a (non-destructive) POST.
  it::HttpRequest req;
  req.method = "POST";
  req.target = kClientPath;
  req.headers = {{"X-HTTP-Method-Override", "DELETE"},
                 {"Origin", origin()},
                 {"Cookie", "__client=" + *b.cookie("__client")}};
  auto r = it::http_request(server->port(), req);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(it::at(r.json(), "response").is_null());
  EXPECT_EQ(rows(), before);
  EXPECT_EQ(it::at(b.client(), "sessions").as_array().size(), 1U);
}

TEST_F(Sec, F5_origin_null) {
  start();
  Browser b = browser();
  b.origin_header = "null";
  auto r = start_sign_in(b);
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(it::str(it::error_of(r), "code"), "origin_invalid");
  EXPECT_EQ(sql_scalar(db(), "SELECT COUNT(*) FROM clients"), "0");
}

TEST_F(Sec, F6_cors_preflight_allowlist) {
  start({{"LATCHKEY_FRONTEND_ALLOWED_ORIGINS", "https://app.example.com"}});
  auto preflight = [&](const std::string& o) {
    it::HttpRequest req;
    req.method = "OPTIONS";
    req.target = kSignIns;
    req.headers = {{"Origin", o}, {"Access-Control-Request-Method", "POST"}};
    return it::http_request(server->port(), req);
  };
  for (const std::string& bad :
       std::vector<std::string>{"https://evil.com", "null", "https://app.example.com.evil.com",
                                "https://APP.example.com:8443"}) {
    auto r = preflight(bad);
    EXPECT_FALSE(r.header("access-control-allow-origin")) << bad << " " << r.raw;
    EXPECT_FALSE(r.header("access-control-allow-credentials")) << bad;
  }
  auto ok = preflight("https://app.example.com");
  EXPECT_EQ(ok.header("access-control-allow-origin").value_or(""), "https://app.example.com");
  EXPECT_EQ(ok.header("access-control-allow-credentials").value_or(""), "true");
  EXPECT_THAT(ok.header("vary").value_or(""), HasSubstr("Origin"));
  // Actual requests: never '*', never a foreign origin reflected.
  it::HttpRequest g;
  g.target = kClientPath;
  g.headers = {{"Origin", "https://evil.com"}};
  auto r = it::http_request(server->port(), g);
  EXPECT_FALSE(r.header("access-control-allow-origin")) << r.raw;
}

TEST_F(Sec, F8_callback_and_error_pages_cannot_be_framed) {
  start();
  Browser b = browser();
  auto started = start_sign_in(b);
  auto g = idp->authorize(auth_url_of(started), User{});
  auto ok = callback(b, {{"code", g.code}, {"state", g.state}});
  auto bad = callback(b, {{"code", g.code}, {"state", "nope"}});
  for (const auto* r : {&ok, &bad}) {
    EXPECT_THAT(r->header("content-security-policy").value_or(""),
                HasSubstr("frame-ancestors 'none'"))
        << r->raw;
    EXPECT_EQ(r->header("x-frame-options").value_or(""), "DENY");
    EXPECT_EQ(r->header("referrer-policy").value_or(""), "no-referrer");
    EXPECT_FALSE(r->header("access-control-allow-origin")) << "no CORS on a navigated endpoint";
  }
}

// Issue 9, finding 4: a state-changing request without Origin fails closed when the browser's
// Fetch Metadata or Referer says it comes from elsewhere. Before the change all of these were
// served (token minted, attempt started, signed out).
it::HttpRequest no_origin_post(const std::string& target,
                               std::vector<std::pair<std::string, std::string>> headers) {
  it::HttpRequest r;
  r.method = "POST";
  r.target = target;
  r.headers = std::move(headers);
  return r;
}

TEST_F(Sec, F_no_origin_cross_site_or_foreign_referer_refused) {
  start();
  Browser b = browser();
  const std::string sid = sign_up_user(b, User{});
  const Rows before = rows();
  const std::string sign_ins = sql_scalar(db(), "SELECT COUNT(*) FROM sign_ins");
  b.origin_header.clear();  // no Origin from here on
  const std::string session = "/__clerk/v1/client/sessions/" + sid;
  const std::vector<std::string> targets = {session + "/tokens",
                                            std::string(kSignIns),
                                            session + "/touch",
                                            session + "/end",
                                            session + "/remove",
                                            "/__clerk/v1/client/sessions?_method=DELETE",
                                            "/__clerk/v1/client?_method=DELETE"};
  const std::vector<std::vector<std::pair<std::string, std::string>>> attacks = {
      {{"Sec-Fetch-Site", "cross-site"}},
      {{"Sec-Fetch-Site", "cross-site"}, {"Sec-Fetch-Mode", "navigate"}},
      // same-site: a sibling subdomain is same-site too; without an allowed Referer, refused.
      {{"Sec-Fetch-Site", "same-site"}},
      {{"Sec-Fetch-Site", "same-site"}, {"Referer", "http://evil.localhost/"}},
      {{"Sec-Fetch-Site", "not-a-value"}},
      // A Referer naming a foreign origin, with or without Fetch Metadata.
      {{"Referer", "https://evil.com/page"}},
      {{"Referer", "https://evil.com/"}, {"Sec-Fetch-Site", "same-origin"}},
      {{"Referer", origin() + "@evil.com/"}},
      {{"Referer", "about:client"}},
  };
  for (const auto& target : targets) {
    for (const auto& headers : attacks) {
      auto req = no_origin_post(target, headers);
      if (target == kSignIns) {
        req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
        req.body = "strategy=oauth_google&redirect_url=/x";
      }
      auto r = b.send(req);
      SCOPED_TRACE(target + " " + headers.front().first + ": " + headers.front().second);
      EXPECT_EQ(r.status, 403) << r.body;
      EXPECT_EQ(it::str(it::error_of(r), "code"), "origin_invalid");
      EXPECT_EQ(r.body.find("\"jwt\""), std::string::npos);
      EXPECT_TRUE(r.all("set-cookie").empty());
    }
  }
  EXPECT_EQ(rows(), before);
  EXPECT_EQ(sql_scalar(db(), "SELECT COUNT(*) FROM sign_ins"), sign_ins);
  // Positive controls: no Fetch Metadata and no Referer (curl, a server, a native app), a
  // same-origin or user-initiated request, or an allowed Referer still mint tokens.
  const std::string tokens = session + "/tokens";
  const std::vector<std::vector<std::pair<std::string, std::string>>> allowed = {
      {},
      {{"Sec-Fetch-Site", "same-origin"}},
      {{"Sec-Fetch-Site", "none"}},
      {{"Sec-Fetch-Site", "same-site"}, {"Referer", origin() + "/account"}},
      {{"Referer", origin() + "/account?tab=1"}},
      {{"Sec-Fetch-Site", "same-origin"}, {"Referer", origin() + "/"}},
  };
  for (const auto& headers : allowed) {
    auto r = b.send(no_origin_post(tokens, headers));
    EXPECT_EQ(r.status, 200) << (headers.empty() ? "no headers" : headers.front().second) << " "
                             << r.body;
    EXPECT_NE(r.body.find("\"jwt\""), std::string::npos);
  }
  b.origin_header = origin();
  EXPECT_EQ(it::at(b.client(), "sessions").as_array().size(), 1U);
}

// The callback is a cross-site top-level navigation from the provider: it never checks Origin
// or Fetch Metadata (the state bound to the client is its CSRF defence, catalog §2.B).
TEST_F(Sec, F_oauth_callback_cross_site_navigation_still_works) {
  start();
  Browser b = browser();
  auto started = start_sign_in(b);
  ASSERT_EQ(started.status, 200) << started.body;
  auto g = idp->authorize(auth_url_of(started), User{});
  it::HttpRequest nav;
  nav.target =
      std::string(kCallback) + "?" + it::form_encode({{"code", g.code}, {"state", g.state}});
  nav.headers = {{"Sec-Fetch-Site", "cross-site"},
                 {"Sec-Fetch-Mode", "navigate"},
                 {"Sec-Fetch-Dest", "document"},
                 {"Referer", idp->issuer() + "/"},
                 {"Accept", "text/html"}};
  auto cb = b.send(nav);
  expect_accepted(b, cb);
}

}  // namespace
}  // namespace latchkey::sec
