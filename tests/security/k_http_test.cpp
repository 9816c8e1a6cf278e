// Catalog §2.K: malformed input and resource exhaustion at the HTTP layer, plus the log and error
// hygiene checks K16/K17. Nothing here may crash the server or change a row.
#include <fstream>

#include "sec_fixture.hpp"

namespace latchkey::sec {
namespace {

using Clock = std::chrono::steady_clock;

// Sends `prefix`, then one byte of `drip` every `every` until the peer closes; returns how long
// the server kept the connection open.
std::chrono::milliseconds drip_until_closed(int port, const std::string& prefix, char drip,
                                            std::chrono::milliseconds every,
                                            std::chrono::milliseconds give_up) {
  it::HttpConnection c(port);
  EXPECT_TRUE(c.connected());
  const auto t0 = Clock::now();
  c.send(prefix);
  while (Clock::now() - t0 < give_up) {
    const auto got = c.read_some(every);
    if (got == it::HttpConnection::Read::kClosed) {
      break;
    }
    if (got == it::HttpConnection::Read::kData) {
      continue;  // a 408/400 answer; keep reading until the close
    }
    if (!c.send(std::string(1, drip))) {
      break;
    }
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
}

TEST_F(Sec, K1_oversized_fields) {
  start({{"LATCHKEY_SERVER_MAX_BODY_BYTES", "65536"}});
  Browser b = browser();
  const Rows before = rows();
  auto huge = b.post(kSignIns, {{"identifier", std::string(1024 * 1024, 'a')}});
  EXPECT_EQ(huge.status, 413) << huge.body.substr(0, 200);
  auto pw = b.post(kSignIns,
                   {{"identifier", "a@example.com"}, {"password", std::string(1024 * 1024, 'p')}});
  EXPECT_EQ(pw.status, 413);
  auto name = b.post(kSignUps, {{"first_name", std::string(10 * 1024, 'n')}});
  EXPECT_EQ(name.status, 422) << name.body;
  EXPECT_EQ(it::str(it::error_of(name), "code"), "form_param_format_invalid");
  EXPECT_EQ(rows(), before);
}

TEST_F(Sec, K2_invalid_utf8) {
  start();
  for (const std::string& bad :
       std::vector<std::string>{std::string("\xC0\xAF"), std::string("\xED\xA0\x80"),
                                std::string("\xFF\xFE"), std::string("ab\xE2\x82")}) {
    Browser b = browser();
    auto r = b.post(kSignUps, {{"first_name", bad}});
    // The form decoder refuses the whole body before any field is looked at.
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_EQ(it::str(it::error_of(r), "code"), "malformed_request");
  }
  EXPECT_EQ(sql_scalar(db(), "SELECT COUNT(*) FROM sign_ups"), "0");
}

TEST_F(Sec, K4_nul_bytes) {
  start();
  Browser b = browser();
  // Refused by the form decoder (400 malformed_request), never truncated at the NUL.
  auto r = b.post(kSignUps, {{"first_name", std::string("Al\0ice", 6)}});
  EXPECT_EQ(r.status, 400) << r.body;
  auto s =
      b.post(kSignIns, {{"strategy", "oauth_google"}, {"redirect_url", std::string("/a\0b", 4)}});
  EXPECT_EQ(s.status, 400) << s.body;
  auto i = b.post(kSignIns, {{"identifier", std::string("alice@example.com\0.evil.com", 27)}});
  EXPECT_EQ(i.status, 400) << i.body;
  // Percent-encoded NUL in a redirect target (decoded by us, not the form decoder): 422.
  auto e = b.post(kSignIns, {{"strategy", "oauth_google"}, {"redirect_url", "/a%00b"}});
  EXPECT_EQ(e.status, 422) << e.body;
  EXPECT_EQ(sql_scalar(db(), "SELECT COUNT(*) FROM clients"), "0");
}

TEST_F(Sec, K5_header_injection_through_echoed_values) {
  start();
  Browser b = browser();
  for (const std::string& v :
       std::vector<std::string>{"/ok%0d%0aX-Injected:%201", "/ok\r\nX-Injected: 1", "/ok%00"}) {
    auto r = b.post(kSignIns, {{"strategy", "oauth_google"}, {"redirect_url", v}});
    EXPECT_EQ(r.status, 422) << r.raw;
    EXPECT_EQ(r.raw.find("\r\nX-Injected"), std::string::npos);
  }
  // The Location we do send is the stored, validated URL.
  auto started = start_sign_in(b, "oauth_google", "/done?a=%0A");
  EXPECT_EQ(started.status, 422);
}

TEST_F(Sec, K7_slowloris_header_deadline) {
  start({{"LATCHKEY_SERVER_READ_TIMEOUT", "1s"}});
  const auto held = drip_until_closed(server->port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n", 'X',
                                      std::chrono::milliseconds(300), std::chrono::seconds(8));
  EXPECT_LT(held, std::chrono::milliseconds(3000)) << "header read deadline did not close it";
  EXPECT_EQ(it::http_get(server->port(), "/healthz").status, 200);
}

TEST_F(Sec, K8_slow_body_deadline) {
  start({{"LATCHKEY_SERVER_READ_TIMEOUT", "1s"}});
  const auto held =
      drip_until_closed(server->port(),
                        "POST /__clerk/v1/client/sign_ins HTTP/1.1\r\nHost: x\r\nContent-Type: "
                        "application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\n",
                        'a', std::chrono::milliseconds(300), std::chrono::seconds(8));
  EXPECT_LT(held, std::chrono::milliseconds(3000)) << "body read deadline did not close it";
  EXPECT_EQ(sql_scalar(db(), "SELECT COUNT(*) FROM clients"), "0");
}

TEST_F(Sec, K9_header_and_request_line_limits) {
  start();
  // RFC 6585 §5: 431 for a head over server.max_header_bytes or with more than
  // server.max_header_count fields; RFC 9112 §3: 414 for a request line over the limit. In
  // Clerk's envelope, and the connection closes.
  it::HttpRequest big;
  big.target = "/healthz";
  big.headers = {{"X-Big", std::string(64 * 1024, 'a')}};
  auto a = it::http_request(server->port(), big);
  EXPECT_EQ(a.status, 431) << a.raw.substr(0, 200);
  EXPECT_EQ(it::str(it::error_of(a), "code"), "request_headers_too_large");
  EXPECT_EQ(a.header("connection").value_or(""), "close");
  it::HttpRequest many;
  many.target = "/healthz";
  for (int i = 0; i < 500; ++i) {
    many.headers.emplace_back("X-H" + std::to_string(i), "v");
  }
  auto m = it::http_request(server->port(), many);
  EXPECT_EQ(m.status, 431) << m.raw.substr(0, 200);
  EXPECT_EQ(it::str(it::error_of(m), "code"), "request_headers_too_large");
  it::HttpRequest line;
  line.target = "/healthz?" + std::string(20 * 1024, 'q');
  auto l = it::http_request(server->port(), line);
  EXPECT_EQ(l.status, 414) << l.raw.substr(0, 200);
  EXPECT_EQ(it::str(it::error_of(l), "code"), "request_line_too_long");
  EXPECT_EQ(it::http_get(server->port(), "/healthz").status, 200);
}

namespace {

struct RawAnswer {
  std::string raw;
  bool closed = false;  // the server closed the connection
  std::chrono::milliseconds took{0};
};

// Sends `bytes` on a fresh connection and reads until the server closes it (or `give_up`).
RawAnswer send_until_closed(int port, const std::string& bytes,
                            std::chrono::milliseconds give_up = std::chrono::seconds(8)) {
  RawAnswer out;
  it::HttpConnection c(port, give_up);
  EXPECT_TRUE(c.connected());
  const auto t0 = Clock::now();
  c.send(bytes);
  const auto rest = c.rest_until_closed();
  out.closed = rest.has_value();
  out.raw = rest.value_or(c.pending());
  out.took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
  return out;
}

std::size_t count_of(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto p = haystack.find(needle); p != std::string::npos; p = haystack.find(needle, p + 1)) {
    ++n;
  }
  return n;
}

}  // namespace

// Issue 9, finding 3 (RFC 9112 §6): every framing but one Content-Length or a plain
// "Transfer-Encoding: chunked" is 400 and closes the connection, and nothing after the head is
// read as a request. The smuggled request here is a sign-in a lenient proxy would have taken for
// the body: it must not be answered, logged or acted on. Before the change the list, the unknown
// codings and the folded value were accepted and the smuggled sign-in was served.
TEST_F(Sec, K_smuggling_ambiguous_framing_refused_and_closed) {
  start({{"LATCHKEY_LOGGING_ACCESS_LOG", "true"}});
  const Rows before = rows();
  const std::string form = "strategy=oauth_google&redirect_url=/smuggled";
  const std::string smuggled =
      "POST /__clerk/v1/client/sign_ins HTTP/1.1\r\nHost: x\r\nOrigin: " + origin() +
      "\r\nContent-Type: application/x-www-form-urlencoded\r\n"
      "Content-Length: " +
      std::to_string(form.size()) + "\r\n\r\n" + form;
  const std::string chunk = "0\r\n\r\n";
  const std::string length = std::to_string(chunk.size() + smuggled.size());
  const std::vector<std::string> framings = {
      "Transfer-Encoding: chunked, identity\r\n",
      "Transfer-Encoding: xchunked\r\n",
      "Transfer-Encoding: xchunked\r\nContent-Length: " + length + "\r\n",
      "Transfer-Encoding: CHUNKED, identity\r\n",
      "Transfer-Encoding:\r\n chunked\r\n",                             // obs-fold
      "Transfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n",  // two field lines
      "Transfer-Encoding: chunked\r\nContent-Length: " + length + "\r\n",
      "Content-Length: " + length + "\r\nContent-Length: 0\r\n",
      "Content-Length: 0, 0\r\n",
  };
  for (const auto& framing : framings) {
    SCOPED_TRACE(framing);
    const std::string head = "POST /__clerk/v1/environment HTTP/1.1\r\nHost: x\r\n" + framing;
    const auto a = send_until_closed(server->port(), head + "\r\n" + chunk + smuggled);
    EXPECT_TRUE(a.raw.starts_with("HTTP/1.1 400 ")) << a.raw;
    EXPECT_EQ(count_of(a.raw, "HTTP/1.1 "), 1U) << "the smuggled request was answered:\n" << a.raw;
    EXPECT_NE(a.raw.find("malformed_request"), std::string::npos) << a.raw;
    EXPECT_NE(a.raw.find("Connection: close"), std::string::npos) << a.raw;
    EXPECT_TRUE(a.closed) << "connection left open";
    EXPECT_LT(a.took, std::chrono::milliseconds(3000));
  }
  // HTTP/1.0 with Transfer-Encoding (RFC 9112 §6.1) is faulty framing as well.
  const auto old = send_until_closed(server->port(),
                                     "POST /__clerk/v1/environment HTTP/1.0\r\nHost: x\r\n"
                                     "Transfer-Encoding: chunked\r\n\r\n" +
                                         chunk + smuggled);
  EXPECT_TRUE(old.raw.starts_with("HTTP/1.1 400 ")) << old.raw;
  EXPECT_EQ(count_of(old.raw, "HTTP/1.1 "), 1U) << old.raw;
  EXPECT_TRUE(old.closed);
  EXPECT_EQ(rows(), before);
  EXPECT_EQ(sql_scalar(db(), "SELECT COUNT(*) FROM clients"), "0");
  EXPECT_EQ(sql_scalar(db(), "SELECT COUNT(*) FROM sign_ins"), "0");
  EXPECT_EQ(idp->calls(idp->discovery_path()), 0);
  // Positive control: plain chunked framing is served (and logged).
  const auto ok = send_until_closed(server->port(),
                                    "POST /__clerk/v1/environment HTTP/1.1\r\nHost: x\r\n"
                                    "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
                                        chunk);
  EXPECT_TRUE(ok.raw.starts_with("HTTP/1.1 200 ")) << ok.raw;
  server->stop();
  const std::string logs = server->logs();
  EXPECT_EQ(logs.find("fapi_sign_in_create"), std::string::npos) << "the smuggled one was logged";
  EXPECT_EQ(logs.find("sign_ins"), std::string::npos) << logs;
  EXPECT_NE(logs.find("fapi_environment"), std::string::npos) << "the access log is on:\n" << logs;
}

TEST_F(Sec, K11_encoded_path_tricks) {
  start();
  Browser b = browser();
  const std::string sid = sign_up_user(b, User{});
  for (const std::string& p : std::vector<std::string>{
           "/__clerk/v1/client/sessions/..%2f..%2fadmin/tokens",
           "/__clerk/v1/client/sessions/" + sid + "%2ftokens", "//__clerk/v1/client",
           "/__clerk/v1/client;jsessionid=x", "/__CLERK/V1/CLIENT",
           "/__clerk/v1/client/sessions/%2e%2e/tokens"}) {
    auto r = b.post(p);
    EXPECT_TRUE(r.status == 404 || r.status == 400 || r.status == 405) << p << " " << r.raw;
    EXPECT_EQ(r.body.find("\"jwt\""), std::string::npos) << p;
  }
}

TEST_F(Sec, K12_odd_methods) {
  start();
  for (const std::string& m : std::vector<std::string>{"TRACE", "CONNECT", "PROPFIND", "FOO"}) {
    it::HttpRequest r;
    r.method = m;
    r.target = m == "CONNECT" ? "127.0.0.1:443" : kClientPath;
    r.headers = {{"Cookie", "__client=secret-cookie-value"}};
    auto res = it::http_request(server->port(), r);
    EXPECT_GE(res.status, 400) << m << " " << res.raw;
    EXPECT_LT(res.status, 600);
    EXPECT_EQ(res.raw.find("secret-cookie-value"), std::string::npos) << m << " echoed the cookie";
  }
}

TEST_F(Sec, K14_http2_preface_and_abuse) {
  start();
  auto r = it::http_raw(server->port(), std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") +
                                            std::string("\x00\x00\x00\x04\x00\x00\x00\x00\x00", 9));
  EXPECT_TRUE(r.status == 0 || (r.status >= 400 && r.status < 600)) << r.raw;
  EXPECT_EQ(it::http_get(server->port(), "/healthz").status, 200)
      << "HTTP/2 is not spoken; nothing to abuse";
}

TEST_F(Sec, K15_content_type_tricks) {
  start();
  Browser b = browser();
  // A body is read only as application/x-www-form-urlencoded: JSON as text/plain (to avoid a
  // preflight), utf-7, a Content-Type that merely contains the form type, or none at all are 415
  // and nothing is parsed. Before issue 9 the last three were parsed as forms and served.
  const std::string form = "strategy=oauth_google&redirect_url=/x";
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"text/plain", R"({"strategy":"oauth_google","redirect_url":"/x"})"},
      {"application/json", R"({"strategy":"oauth_google","redirect_url":"/x"})"},
      {"application/json; charset=utf-7", R"({"strategy":"oauth_google","redirect_url":"/x"})"},
      {"application/x-www-form-urlencoded; charset=utf-7", form},
      {"text/plain; x=application/x-www-form-urlencoded", form},
      {"application/x-www-form-urlencoded-not", form},
      {"multipart/form-data; boundary=application/x-www-form-urlencoded", form},
  };
  for (const auto& [ct, body] : refused) {
    auto r = b.post_raw_body(kSignIns, body, ct);
    EXPECT_EQ(r.status, 415) << ct << " " << r.body;
    EXPECT_EQ(it::str(it::error_of(r), "code"), "unsupported_media_type") << ct;
    EXPECT_TRUE(r.all("set-cookie").empty()) << ct;
  }
  it::HttpRequest bare;
  bare.method = "POST";
  bare.target = kSignIns;
  bare.body = form;  // a body without any Content-Type
  auto none = b.send(bare);
  EXPECT_EQ(none.status, 415) << none.raw;
  EXPECT_EQ(it::str(it::error_of(none), "code"), "unsupported_media_type");
  EXPECT_EQ(sql_scalar(db(), "SELECT COUNT(*) FROM clients"), "0");
  EXPECT_EQ(idp->calls(idp->discovery_path()), 0);
  // Positive controls: the exact media type in any letter case, with charset=utf-8, is a form.
  Browser ok = browser();
  auto r = ok.post_raw_body(kSignIns, form, "Application/X-WWW-Form-URLEncoded; charset=UTF-8");
  EXPECT_EQ(r.status, 200) << r.body;
}

// Issue 9, finding 5: one parameter, one value. A duplicated query or form parameter is refused
// (400 form_param_duplicate naming it) before anything else happens, on every route; before the
// change the first value won silently.
TEST_F(Sec, K_duplicate_parameters_refused_on_every_route) {
  start();
  Browser b = browser();
  const std::string sid = sign_up_user(b, User{});
  const Rows before = rows();
  const std::string clients = sql_scalar(db(), "SELECT COUNT(*) FROM clients");
  const std::string sign_ins = sql_scalar(db(), "SELECT COUNT(*) FROM sign_ins");
  auto expect_duplicate = [](const HttpResponse& r, const std::string& param) {
    EXPECT_EQ(r.status, 400) << r.raw;
    const auto e = it::error_of(r);
    EXPECT_EQ(it::str(e, "code"), "form_param_duplicate") << r.body;
    EXPECT_EQ(it::str(e, "meta.param_name"), param) << r.body;
    EXPECT_TRUE(r.all("set-cookie").empty()) << r.raw;
  };
  const std::string session = "/__clerk/v1/client/sessions/" + sid;
  // Form bodies.
  expect_duplicate(b.post_raw_body(kSignIns,
                                   "strategy=oauth_google&strategy=oauth_github&"
                                   "redirect_url=/x"),
                   "strategy");
  expect_duplicate(b.post_raw_body(kSignIns,
                                   "strategy=oauth_google&redirect_url=/x&"
                                   "redirect_url=https://evil.com"),
                   "redirect_url");
  expect_duplicate(b.post_raw_body(kSignUps, "strategy=oauth_google&first_name=a&first_name=b"),
                   "first_name");
  expect_duplicate(b.post_raw_body(session + "/tokens", "organization_id=&organization_id=x"),
                   "organization_id");
  expect_duplicate(b.post_raw_body(session + "/end", "a=1&%61=2"), "a");  // equal once decoded
  // Query strings, including the SDK's own parameters and the method override.
  expect_duplicate(b.get("/__clerk/v1/client?__clerk_api_version=2026-08-20&"
                         "__clerk_api_version=2026-08-20"),
                   "__clerk_api_version");
  expect_duplicate(b.get("/__clerk/v1/environment?_clerk_js_version=1&_clerk_js_version=2"),
                   "_clerk_js_version");
  expect_duplicate(b.post("/__clerk/v1/client?_method=DELETE&_method=DELETE"), "_method");
  expect_duplicate(b.post("/__clerk/v1/client/sessions?_method=DELETE&_method=PATCH"), "_method");
  expect_duplicate(b.post(session + "/remove?x=1&x=1"), "x");
  // Nothing changed: still signed in, same rows, no new client or attempt.
  EXPECT_EQ(rows(), before);
  EXPECT_EQ(sql_scalar(db(), "SELECT COUNT(*) FROM clients"), clients);
  EXPECT_EQ(sql_scalar(db(), "SELECT COUNT(*) FROM sign_ins"), sign_ins);
  EXPECT_EQ(it::at(b.client(), "sessions").as_array().size(), 1U);
  // Positive control: the SDK's query, each parameter once, is served.
  EXPECT_EQ(
      b.get("/__clerk/v1/client?__clerk_api_version=2026-08-20&_clerk_js_version=6.40.0").status,
      200);
}

// The callback refuses a duplicated `code` or `state` in its own style (the static page for a
// browser, the envelope otherwise) before the state is consumed or the provider is called: the
// genuine callback still completes afterwards.
TEST_F(Sec, K_duplicate_parameters_on_the_callback_refused_before_the_state_is_used) {
  start();
  Browser b = browser();
  auto started = start_sign_in(b);
  ASSERT_EQ(started.status, 200) << started.body;
  auto g = idp->authorize(auth_url_of(started), User{});
  const Rows before = rows();
  const std::string cb = std::string(kCallback) + "?code=" + g.code + "&state=" + g.state;
  for (const std::string& q :
       {cb + "&state=" + g.state, cb + "&code=other", cb + "&code=" + g.code}) {
    auto r = b.get(q);
    EXPECT_EQ(r.status, 400) << q << " " << r.raw;
    EXPECT_EQ(it::str(it::error_of(r), "code"), "form_param_duplicate") << r.body;
    EXPECT_FALSE(r.header("location")) << "never a redirect";
    EXPECT_EQ(r.header("x-frame-options").value_or(""), "DENY") << "callback style headers";
  }
  it::HttpRequest html;
  html.target = cb + "&state=" + g.state;
  html.headers = {{"Accept", "text/html"}};
  auto page = b.send(html);
  EXPECT_EQ(page.status, 400) << page.raw;
  EXPECT_THAT(page.header("content-type").value_or(""), ::testing::HasSubstr("text/html"));
  EXPECT_THAT(page.body, ::testing::HasSubstr("form_param_duplicate"));
  // form_post with a duplicated state: refused as well, no redirect carrying either value.
  it::HttpRequest post;
  post.method = "POST";
  post.target = kCallback;
  post.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  post.body = "code=" + g.code + "&state=" + g.state + "&state=x";
  auto p = it::http_request(server->port(), post);
  EXPECT_EQ(p.status, 400) << p.raw;
  EXPECT_FALSE(p.header("location"));
  EXPECT_EQ(idp->token_calls(), 0) << "the code must not be redeemed";
  EXPECT_EQ(rows(), before);
  // The state was not consumed: the genuine callback completes.
  auto ok = b.get(cb);
  expect_accepted(b, ok);
}

TEST_F(Sec, K16_no_secret_in_logs_with_debug_logging) {
  start({{"LATCHKEY_LOGGING_LEVEL", "debug"}, {"LATCHKEY_LOGGING_ACCESS_LOG", "true"}});
  Browser b = browser();
  const std::string sid = sign_up_user(b, User{});
  ASSERT_EQ(b.post("/__clerk/v1/client/sessions/" + sid + "/tokens").status, 200);
  // A failing round trip too (its error path logs).
  Browser c = browser();
  idp->script([](ScriptIdp& i) { i.sign_mode_ = Sign::kCorruptSignature; });
  round_trip(c, User{"x", "x@example.com"});
  server->stop();
  const std::string logs = server->logs();
  std::vector<std::string> secrets = idp->secrets_seen();
  secrets.push_back(ScriptIdp::kClientSecret);
  secrets.push_back(*b.cookie("__client"));
  secrets.push_back(*c.cookie("__client"));
  ASSERT_GE(secrets.size(), 8U);
  for (const auto& s : secrets) {
    ASSERT_FALSE(s.empty());
    EXPECT_EQ(logs.find(s), std::string::npos) << "secret in the log: " << s.substr(0, 12) << "...";
  }
  const auto key = std::filesystem::path(dir->path()) / "master.key";
  if (std::filesystem::exists(key)) {
    std::ifstream in(key);
    std::string k((std::istreambuf_iterator<char>(in)), {});
    while (!k.empty() && (k.back() == '\n')) {
      k.pop_back();
    }
    EXPECT_EQ(logs.find(k), std::string::npos);
  }
}

TEST_F(Sec, K17_error_bodies_leak_nothing_internal) {
  start();
  Browser b = browser();
  std::vector<HttpResponse> errors = {
      b.post(kSignIns, {{"strategy", "oauth_nope"}}),
      b.post(kSignIns, {{"strategy", "oauth_google"}, {"redirect_url", "https://evil.com"}}),
      b.post_raw_body(kSignIns, "%%%", "application/x-www-form-urlencoded"),
      b.get("/__clerk/v1/client/sign_ins/sia_nope"),
      callback(b, {{"state", "nope"}}),
      b.post("/__clerk/v1/client/sessions/sess_nope/tokens"),
      it::http_raw(server->port(), "GARBAGE\r\n\r\n"),
  };
  for (const auto& r : errors) {
    EXPECT_GE(r.status, 400) << r.raw;
    for (const std::string& leak :
         std::vector<std::string>{"sqlite", "SQLITE", "/tmp", ".cpp", "exception", "what()",
                                  "boost", "Beast", "libcurl", "std::", "SELECT ", "latchkey.db"}) {
      EXPECT_EQ(r.raw.find(leak), std::string::npos) << leak << " in " << r.raw;
    }
  }
}

}  // namespace
}  // namespace latchkey::sec
