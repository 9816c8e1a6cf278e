// Catalog §2.F: every state change checks Origin against the allowlist (403 origin_invalid), is
// never reachable by GET, ignores method-override headers, and CORS never reflects arbitrary
// origins. Browser-navigated pages cannot be framed.
#include "sec_fixture.hpp"

namespace latchkey::sec {
namespace {

using ::testing::HasSubstr;

TEST_F(Sec, F1_cross_site_form_post_login_csrf) {
  start();
  for (const std::string& ct : std::vector<std::string>{"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"}) {
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
  for (const std::string& path : std::vector<std::string>{"/__clerk/v1/client/sessions/" + sid + "/end",
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
  EXPECT_TRUE(b.get("/__clerk/v1/client/sign_ins?strategy=oauth_google&redirect_url=/x").status >= 404);
  // X-HTTP-Method-Override is not a thing here: a POST stays a (non-destructive) POST.
  it::HttpRequest req;
  req.method = "POST";
  req.target = kClientPath;
  req.headers = {{"X-HTTP-Method-Override", "DELETE"}, {"Origin", origin()},
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
  for (const std::string& bad : std::vector<std::string>{"https://evil.com", "null", "https://app.example.com.evil.com",
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
    EXPECT_THAT(r->header("content-security-policy").value_or(""), HasSubstr("frame-ancestors 'none'"))
        << r->raw;
    EXPECT_EQ(r->header("x-frame-options").value_or(""), "DENY");
    EXPECT_EQ(r->header("referrer-policy").value_or(""), "no-referrer");
    EXPECT_FALSE(r->header("access-control-allow-origin")) << "no CORS on a navigated endpoint";
  }
}

}  // namespace
}  // namespace latchkey::sec
