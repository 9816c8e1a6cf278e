// Catalog §2.E and §1.5 "Session fixation" (OWASP ASVS 7.2.4): the __client credential rotates
// whenever who is signed in changes - sign-in, sign-up, activation of another session, session
// end/remove, sign-out - and the replaced value at once stops revealing a session or minting a
// token. A request that raced the rotation (the same browser, still carrying the old value) gets
// a 401 without a new client or cookie, so the browser keeps its new credential and stays signed
// in. More than one client cookie in a request is never resolved by order.
#include "sec_fixture.hpp"

namespace latchkey::sec {
namespace {

using ::testing::HasSubstr;

const std::string kSessions = "/__clerk/v1/client/sessions/";

// One request with exactly this Cookie header (a copy of a credential, or several variants).
HttpResponse with_cookie(int port, const std::string& origin, const std::string& method,
                         const std::string& target, const std::string& cookie,
                         const std::string& body = "") {
  it::HttpRequest req;
  req.method = method;
  req.target = target;
  req.headers = {{"Cookie", cookie}, {"Origin", origin}};
  if (!body.empty()) {
    req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    req.body = body;
  }
  return it::http_request(port, req);
}

class Credential : public Sec {
 protected:
  HttpResponse as(const std::string& cookie, const std::string& method, const std::string& target,
                  const std::string& body = "") {
    return with_cookie(server->port(), origin(), method, target, cookie, body);
  }
  // A copy of a credential must reveal nothing, mint nothing, change nothing and set no cookie.
  void expect_copy_is_dead(const std::string& value, const std::string& session_id) {
    SCOPED_TRACE("copy " + value.substr(0, 8));
    const Rows before = rows();
    const std::string clients = sql_scalar(db(), "SELECT COUNT(*) FROM clients");
    const std::string cookie = "__client=" + value;
    auto c = as(cookie, "GET", kClientPath);
    EXPECT_TRUE(c.status == 401 || (c.status == 200 && it::at(c.json(), "response").is_null()))
        << c.raw;
    EXPECT_EQ(c.body.find(session_id), std::string::npos) << c.body;
    auto t = as(cookie, "POST", kSessions + session_id + "/tokens");
    EXPECT_TRUE(t.status == 401 || t.status == 404) << t.raw;
    EXPECT_EQ(t.body.find("\"jwt\""), std::string::npos) << t.body;
    auto touch = as(cookie, "POST", kSessions + session_id + "/touch");
    EXPECT_TRUE(touch.status == 401 || touch.status == 404) << touch.raw;
    EXPECT_EQ(touch.body.find(session_id), std::string::npos) << touch.body;
    auto end = as(cookie, "POST", kSessions + session_id + "/end");
    EXPECT_TRUE(end.status == 401 || end.status == 404) << end.raw;
    for (const auto* r : {&c, &t, &touch, &end}) {
      EXPECT_FALSE(set_cookie_named(*r, "__client")) << r->raw;
    }
    EXPECT_EQ(rows(), before);
    EXPECT_EQ(sql_scalar(db(), "SELECT COUNT(*) FROM clients"), clients);
  }
  // The browser's own (current) credential still works: the session is listed and mints.
  void expect_signed_in(Browser& b, const std::string& session_id) {
    auto client = b.client();
    ASSERT_EQ(it::at(client, "sessions").as_array().size(), 1U) << boost::json::serialize(client);
    EXPECT_EQ(it::str(client, "sessions.0.id"), session_id);
    auto t = b.post(kSessions + session_id + "/tokens");
    EXPECT_EQ(t.status, 200) << t.body;
    EXPECT_FALSE(it::str(t.json(), "jwt").empty());
  }
};

TEST_F(Credential, E20_planted_client_cookie_never_sees_the_victims_session) {
  start();
  // The attacker gets a credential of their own: any anonymous sign-in start creates a client.
  Browser attacker = browser();
  ASSERT_EQ(start_sign_in(attacker).status, 200);
  const std::string planted = *attacker.cookie("__client");

  // ...plants it in the victim's browser (a cookie set from a sibling subdomain), and waits.
  Browser victim = browser();
  victim.set_cookie("__client", planted);
  const std::string sid = sign_up_user(victim, User{.sub = "victim-1", .email = "v@example.com"});
  ASSERT_FALSE(sid.empty());
  const std::string rotated = *victim.cookie("__client");
  EXPECT_NE(rotated, planted) << "the sign-up completed without a new credential";

  expect_copy_is_dead(planted, sid);
  expect_signed_in(victim, sid);
  // The attacker's own browser, which still holds the planted value, sees nothing either.
  auto seen = attacker.get(kClientPath);
  EXPECT_EQ(seen.body.find(sid), std::string::npos) << seen.body;
}

TEST_F(Credential, E21_sign_in_through_the_callback_rotates_the_credential) {
  start();
  const User user{.sub = "returning-1", .email = "r@example.com"};
  {
    Browser first = browser();
    sign_up_user(first, user);
  }
  Browser attacker = browser();
  ASSERT_EQ(start_sign_in(attacker).status, 200);
  const std::string planted = *attacker.cookie("__client");

  Browser victim = browser();
  victim.set_cookie("__client", planted);
  auto cb = round_trip(victim, user);
  ASSERT_EQ(cb.status, 303) << cb.raw;
  // The provider's redirect back completes the sign-in, so the 303 carries the new credential.
  const auto set = set_cookie_named(cb, "__client");
  ASSERT_TRUE(set) << cb.raw;
  EXPECT_THAT(*set, HasSubstr("HttpOnly"));
  EXPECT_EQ(set->find(planted), std::string::npos);
  auto client = victim.client();
  ASSERT_EQ(it::str(client, "sign_in.status"), "complete") << boost::json::serialize(client);
  const std::string sid = it::str(client, "sign_in.created_session_id");
  expect_copy_is_dead(planted, sid);
  expect_signed_in(victim, sid);
}

TEST_F(Credential, E22_copy_kept_from_before_a_sign_out_never_sees_the_next_sign_in) {
  start();
  const User user{.sub = "user-2", .email = "u2@example.com"};
  Browser b = browser();
  const std::string first_sid = sign_up_user(b, user);
  const std::string while_signed_in = *b.cookie("__client");

  auto out = b.post("/__clerk/v1/client/sessions?_method=DELETE");
  ASSERT_EQ(out.status, 200) << out.body;
  ASSERT_TRUE(set_cookie_named(out, "__client")) << "sign-out must rotate the credential";
  const std::string after_sign_out = *b.cookie("__client");
  EXPECT_NE(after_sign_out, while_signed_in);
  expect_copy_is_dead(while_signed_in, first_sid);

  // The next sign-in on the same browser rotates again; neither older value sees it.
  auto cb = round_trip(b, user);
  ASSERT_EQ(cb.status, 303) << cb.raw;
  auto client = b.client();
  const std::string sid = it::str(client, "sign_in.created_session_id");
  ASSERT_FALSE(sid.empty()) << boost::json::serialize(client);
  EXPECT_NE(*b.cookie("__client"), after_sign_out);
  expect_copy_is_dead(while_signed_in, sid);
  expect_copy_is_dead(after_sign_out, sid);
  expect_signed_in(b, sid);

  // Ending or removing the session rotates as well.
  for (const std::string action : {"end"}) {
    const std::string before = *b.cookie("__client");
    auto r = b.post(kSessions + sid + "/" + action);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_TRUE(set_cookie_named(r, "__client")) << action;
    EXPECT_NE(*b.cookie("__client"), before);
  }
}

TEST_F(Credential, E23_request_racing_the_rotation_does_not_sign_the_user_out) {
  start();
  const User user{.sub = "user-3", .email = "u3@example.com"};
  {
    Browser first = browser();
    sign_up_user(first, user);
  }
  Browser b = browser();
  ASSERT_EQ(start_sign_in(b).status, 200);
  const std::string old_value = *b.cookie("__client");
  // A second tab of the same browser sent requests with the old value; they reach the server
  // after the callback rotated it (their responses arrive after the new cookie was stored).
  auto cb = round_trip(b, user);
  ASSERT_EQ(cb.status, 303) << cb.raw;
  const std::string sid = it::str(b.client(), "sign_in.created_session_id");
  ASSERT_FALSE(sid.empty());
  const std::string clients = sql_scalar(db(), "SELECT COUNT(*) FROM clients");

  const std::string cookie = "__client=" + old_value;
  // Reading the client with it finds none (the SDK re-reads the client after a 401; a 401 here
  // would loop for a browser that really lost its new cookie).
  auto get = as(cookie, "GET", kClientPath);
  EXPECT_EQ(get.status, 200) << get.raw;
  EXPECT_TRUE(it::at(get.json(), "response").is_null()) << get.body;
  EXPECT_FALSE(set_cookie_named(get, "__client"));
  auto tok = as(cookie, "POST", kSessions + sid + "/tokens");
  auto create = as(cookie, "POST", kSignIns, "strategy=oauth_google&redirect_url=%2Fsso-callback");
  auto su = as(cookie, "POST", kSignUps, "strategy=oauth_google&redirect_url=%2Fsso-callback");
  auto bye = as(cookie, "POST", "/__clerk/v1/client/sessions?_method=DELETE");
  for (const auto* r : {&tok, &create, &su, &bye}) {
    // 401: clerk-js re-reads the client with the cookie it now has (handleUnauthenticated) and
    // keeps the session; no Set-Cookie, so the new credential in the jar is not overwritten.
    EXPECT_EQ(r->status, 401) << r->raw;
    EXPECT_EQ(it::str(it::error_of(*r), "code"), "authentication_invalid");
    EXPECT_FALSE(set_cookie_named(*r, "__client")) << r->raw;
    EXPECT_EQ(r->body.find(sid), std::string::npos);
  }
  EXPECT_EQ(sql_scalar(db(), "SELECT COUNT(*) FROM clients"), clients) << "no client was created";
  expect_signed_in(b, sid);
  expect_log("stale_client_credential");
}

TEST_F(Credential, E23b_stale_copy_is_unknown_after_the_grace) {
  start({{"LATCHKEY_FRONTEND_CLIENT_ROTATION_GRACE", "1s"}});
  Browser b = browser();
  ASSERT_EQ(start_sign_in(b).status, 200);
  const std::string old_value = *b.cookie("__client");
  const std::string sid = sign_up_user(b, User{.sub = "user-4", .email = "u4@example.com"});
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  // Past the grace the old value is just unknown: no client, and a new anonymous one may be made.
  auto get = as("__client=" + old_value, "GET", kClientPath);
  EXPECT_EQ(get.status, 200) << get.raw;
  EXPECT_TRUE(it::at(get.json(), "response").is_null()) << get.body;
  auto create = as("__client=" + old_value, "POST", kSignIns,
                   "strategy=oauth_google&redirect_url=%2Fsso-callback");
  EXPECT_EQ(create.status, 200) << create.raw;
  EXPECT_TRUE(set_cookie_named(create, "__client"));
  EXPECT_EQ(create.body.find(sid), std::string::npos);
  expect_signed_in(b, sid);
}

TEST_F(Credential, E24_multi_session_switch_rotates_and_a_racing_refresh_keeps_both) {
  start({{"LATCHKEY_FRONTEND_SINGLE_SESSION_MODE", "false"}});
  Browser b = browser();
  const std::string s1 = sign_up_user(b, User{.sub = "multi-1", .email = "m1@example.com"});
  ASSERT_EQ(b.post(kSessions + s1 + "/touch").status, 200);
  const std::string s2 = sign_up_user(b, User{.sub = "multi-2", .email = "m2@example.com"});
  ASSERT_FALSE(s2.empty());
  ASSERT_EQ(b.post(kSessions + s2 + "/touch").status, 200);
  // Switching the active session back to the first user rotates the credential.
  const std::string before = *b.cookie("__client");
  auto sw = b.post(kSessions + s1 + "/touch");
  ASSERT_EQ(sw.status, 200) << sw.body;
  EXPECT_TRUE(set_cookie_named(sw, "__client"));
  EXPECT_NE(*b.cookie("__client"), before);
  // The other tab's token refresh for s2, sent with the old value, is refused without a cookie...
  auto racing = as("__client=" + before, "POST", kSessions + s2 + "/tokens");
  EXPECT_EQ(racing.status, 401) << racing.raw;
  EXPECT_FALSE(set_cookie_named(racing, "__client"));
  // ...and with the browser's current cookie both sessions still mint.
  for (const auto& sid : {s1, s2}) {
    auto t = b.post(kSessions + sid + "/tokens");
    EXPECT_EQ(t.status, 200) << t.body;
  }
  // Touching the session that is already active changes nothing and rotates nothing.
  auto same = b.post(kSessions + s1 + "/touch");
  EXPECT_EQ(same.status, 200);
  EXPECT_FALSE(set_cookie_named(same, "__client"));
}

TEST_F(Credential, E25_two_client_cookies_are_never_resolved_by_order) {
  start();
  Browser victim = browser();
  const std::string sid = sign_up_user(victim, User{.sub = "dup-1", .email = "d@example.com"});
  const std::string real = *victim.cookie("__client");
  Browser attacker = browser();
  ASSERT_EQ(start_sign_in(attacker).status, 200);
  const std::string planted = *attacker.cookie("__client");
  const Rows before = rows();

  for (const std::string& header : {"__client=" + planted + "; __client=" + real,
                                    "__client=" + real + "; __client=" + planted}) {
    SCOPED_TRACE(header);
    auto c = as(header, "GET", kClientPath);
    EXPECT_EQ(c.status, 200) << c.raw;
    EXPECT_TRUE(it::at(c.json(), "response").is_null()) << c.body;
    // Every variant we can name is deleted: host-only and on the FAPI paths.
    const auto removals = c.all("set-cookie");
    ASSERT_GE(removals.size(), 3U) << c.raw;
    std::string joined;
    for (const auto& r : removals) {
      EXPECT_THAT(r, HasSubstr("Max-Age=0"));
      joined += r + "\n";
    }
    EXPECT_THAT(joined, HasSubstr("Path=/;"));  // plus Path=/__clerk and Path=/__clerk/v1
    EXPECT_THAT(joined, HasSubstr("Path=/__clerk;"));
    auto t = as(header, "POST", kSessions + sid + "/tokens");
    EXPECT_EQ(t.status, 401) << t.raw;
    EXPECT_EQ(t.body.find("\"jwt\""), std::string::npos);
    // A sign-in started with both gets a client of its own, neither the planted nor the real one,
    // and its cookie comes after the removals.
    auto s = as(header, "POST", kSignIns, "strategy=oauth_google&redirect_url=%2Fsso-callback");
    ASSERT_EQ(s.status, 200) << s.raw;
    const auto all = s.all("set-cookie");
    ASSERT_FALSE(all.empty());
    EXPECT_EQ(all.back().find("Max-Age=0"), std::string::npos) << all.back();
    const std::string fresh = all.back().substr(9, all.back().find(';') - 9);
    EXPECT_NE(fresh, planted);
    EXPECT_NE(fresh, real);
  }
  EXPECT_EQ(rows(), before);
  expect_log("ambiguous client cookie");
  expect_signed_in(victim, sid);  // the victim's own single cookie still works
}

TEST_F(Credential, E25b_two_cookies_clear_the_parent_domain_variant) {
  // FAPI at auth.example.test: a sibling (evil.example.test) can set Domain=example.test.
  const int port = it::free_port();
  start({{"LATCHKEY_SERVER_LISTEN", "127.0.0.1:" + std::to_string(port)},
         {"LATCHKEY_SERVER_PUBLIC_URL", "http://auth.example.test:" + std::to_string(port)}});
  auto c = as("__client=a; __client=b", "GET", kClientPath);
  EXPECT_EQ(c.status, 200) << c.raw;
  std::string joined;
  for (const auto& r : c.all("set-cookie")) {
    joined += r + "\n";
  }
  EXPECT_THAT(joined, HasSubstr("Domain=example.test"));
  EXPECT_EQ(joined.find("Domain=test"), std::string::npos) << "never a single-label domain";
  // One cookie: nothing is cleared.
  EXPECT_TRUE(as("__client=a", "GET", kClientPath).all("set-cookie").empty());
}

}  // namespace
}  // namespace latchkey::sec
