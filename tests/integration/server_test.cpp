// The HTTP foundation of the running binary (issue 2): health, readiness, metrics, JWKS across
// restarts and rotations, the Clerk error envelope for bad requests, request ids, JSON logs and
// a clean exit on SIGTERM.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>
#include <set>
#include <sstream>
#include <thread>

#include "crypto/jwk.hpp"
#include "support/harness.hpp"

namespace latchkey::it {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

std::set<std::string> kids_of(const json::value& jwks) {
  std::set<std::string> out;
  if (const auto& keys = at(jwks, "keys"); keys.is_array()) {
    for (const auto& k : keys.as_array()) {
      out.insert(str(k, "kid"));
    }
  }
  return out;
}

// RFC 7517 §4 / RFC 7518 §6.3.1: a public RSA signing key, no private member (§6.3.2).
void expect_public_rsa_jwks(const json::value& jwks) {
  const auto& keys = at(jwks, "keys");
  ASSERT_TRUE(keys.is_array()) << json::serialize(jwks);
  ASSERT_FALSE(keys.as_array().empty());
  for (const auto& k : keys.as_array()) {
    EXPECT_EQ(str(k, "kty"), "RSA");
    EXPECT_EQ(str(k, "alg"), "RS256");
    EXPECT_EQ(str(k, "use"), "sig");
    EXPECT_FALSE(str(k, "kid").empty());
    EXPECT_FALSE(str(k, "n").empty());
    EXPECT_EQ(str(k, "e"), "AQAB");
    for (const char* priv : {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}) {
      EXPECT_FALSE(k.as_object().contains(priv)) << "private member " << priv;
    }
  }
  // And the project's own strict parser accepts every key.
  auto parsed = crypto::parse_jwks(json::serialize(jwks));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->size(), keys.as_array().size());
}

TEST(Server, HealthzReadyzAndPrometheusMetrics) {
  Server s({.fast_keys = true});
  auto h = http_get(s.port(), "/healthz");
  EXPECT_EQ(h.status, 200) << h.raw;
  auto r = http_get(s.port(), "/readyz");
  EXPECT_EQ(r.status, 200) << r.raw;
  auto m = http_get(s.port(), "/metrics");
  ASSERT_EQ(m.status, 200) << m.raw;
  EXPECT_THAT(m.header("content-type").value_or(""), StartsWith("text/plain"));
  EXPECT_THAT(m.body, HasSubstr("# TYPE latchkey_http_requests_total counter"));
  EXPECT_THAT(m.body, HasSubstr("process_resident_memory_bytes "));
  // The delivery worker runs and reports (nothing sent yet).
  EXPECT_THAT(m.body, HasSubstr("latchkey_delivery_messages_total{outcome=\"sent\"} 0\n"));
  // The earlier /healthz request is counted.
  EXPECT_THAT(m.body, HasSubstr("latchkey_http_requests_total{"));
  // Exposition format 0.0.4: every sample line is "name[{labels}] value".
  std::istringstream lines(m.body);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line.starts_with('#')) {
      continue;
    }
    const auto sp = line.rfind(' ');
    ASSERT_NE(sp, std::string::npos) << line;
    const std::string value = line.substr(sp + 1);
    char* end = nullptr;
    std::strtod(value.c_str(), &end);
    EXPECT_TRUE(end != nullptr && *end == '\0') << "not a sample: " << line;
  }
  EXPECT_EQ(s.stop(), 0);
}

TEST(Server, JwksSameAtBothPathsPublicOnlyAndKidSurvivesRestart) {
  TempDir dir;
  std::set<std::string> first_kids;
  {
    Server s({.data_dir = &dir});
    auto a = http_get(s.port(), "/.well-known/jwks.json");
    auto b = http_get(s.port(), "/v1/jwks");
    ASSERT_EQ(a.status, 200) << a.raw;
    ASSERT_EQ(b.status, 200) << b.raw;
    EXPECT_THAT(a.header("content-type").value_or(""), StartsWith("application/json"));
    EXPECT_EQ(a.json(), b.json());
    expect_public_rsa_jwks(a.json());
    first_kids = kids_of(a.json());
    EXPECT_EQ(first_kids.size(), 1U);
    EXPECT_EQ(s.stop(), 0);
  }
  {
    Server s({.data_dir = &dir});
    auto a = http_get(s.port(), "/.well-known/jwks.json");
    ASSERT_EQ(a.status, 200);
    EXPECT_EQ(kids_of(a.json()), first_kids);
    EXPECT_EQ(s.stop(), 0);
  }
}

TEST(Server, KeysRotateMakesTheServedJwksHoldTwoKeysAfterRestart) {
  TempDir dir;
  std::set<std::string> before;
  {
    Server s({.data_dir = &dir});
    before = kids_of(http_get(s.port(), "/v1/jwks").json());
    ASSERT_EQ(before.size(), 1U);
    EXPECT_EQ(s.stop(), 0);
  }
  auto rot = run_cli({"keys", "rotate"}, {{"LATCHKEY_STORAGE_DATA_DIR", dir.str()}});
  ASSERT_EQ(rot.exit_code, 0) << rot.out << rot.err;
  Server s({.data_dir = &dir});
  auto jwks = http_get(s.port(), "/.well-known/jwks.json").json();
  auto after = kids_of(jwks);
  EXPECT_EQ(after.size(), 2U) << json::serialize(jwks);
  EXPECT_TRUE(after.contains(*before.begin()));
  expect_public_rsa_jwks(jwks);
  EXPECT_EQ(s.stop(), 0);
}

TEST(Server, UnknownRouteIs404ClerkEnvelope) {
  Server s({.fast_keys = true});
  for (const char* path : {"/nope", "/__clerk/v1/nope", "/__clerk/v1/client/sign_ins/x/y/z"}) {
    auto r = http_get(s.port(), path);
    EXPECT_EQ(r.status, 404) << path << " " << r.raw;
    EXPECT_THAT(r.header("content-type").value_or(""), StartsWith("application/json")) << path;
    auto e = error_of(r);
    EXPECT_FALSE(str(e, "code").empty()) << path;
  }
}

TEST(Server, BodyOverMaxBodyBytesIs413Envelope) {
  Server s({.env = {{"LATCHKEY_SERVER_MAX_BODY_BYTES", "1024"}}, .fast_keys = true});
  HttpRequest req;
  req.method = "POST";
  req.target = "/__clerk/v1/client/sign_ins";
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  req.body = "strategy=oauth_google&redirect_url=" + std::string(4096, 'a');
  auto r = http_request(s.port(), req);
  EXPECT_EQ(r.status, 413) << r.raw;
  auto e = error_of(r);
  EXPECT_EQ(str(e, "code"), "request_body_too_large");
  EXPECT_TRUE(r.header("x-request-id").has_value());
  // A body within the limit on the same route is processed (it is the size that was refused).
  req.body = "strategy=oauth_nope&redirect_url=%2F";
  auto ok = http_request(s.port(), req);
  EXPECT_NE(ok.status, 413) << ok.raw;
  // And the server still serves afterwards.
  EXPECT_EQ(http_get(s.port(), "/healthz").status, 200);
}

TEST(Server, GarbageBytesAre400) {
  Server s({.fast_keys = true});
  std::vector<std::string> inputs = {
      std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n", 23),
      "HELLO WORLD\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
      "GET http://evil.test/healthz HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n",
      // RFC 9112 §6.3 (5): conflicting Content-Length values are an unrecoverable framing error.
      "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
      // Request smuggling shape (RFC 9112 §6.1): both framings at once.
      "POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3"
      "\r\n\r\n0\r\n\r\n",
      // RFC 9112 §6.1: a coding list, and §5.2: a folded field.
      "POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
      "POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n",
  };
  for (const auto& in : inputs) {
    auto r = http_raw(s.port(), in, std::chrono::seconds(5));
    EXPECT_EQ(r.status, 400) << "input: " << in << "\nanswer: " << r.raw;
    if (r.status == 400) {
      EXPECT_TRUE(r.header("x-request-id").has_value()) << r.raw;
    }
  }
  EXPECT_EQ(http_get(s.port(), "/healthz").status, 200);
}

TEST(Server, OversizedHeadsAre431Envelope) {
  Server s({.fast_keys = true});
  // RFC 6585 §5: too large a head, or too many fields, is 431 in Clerk's envelope.
  std::string many = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 150; ++i) {
    many += "X-H" + std::to_string(i) + ": v\r\n";
  }
  for (const std::string& in :
       {"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n",
        many + "\r\n"}) {
    auto r = http_raw(s.port(), in, std::chrono::seconds(5));
    EXPECT_EQ(r.status, 431) << r.raw.substr(0, 300);
    EXPECT_EQ(str(error_of(r), "code"), "request_headers_too_large");
    EXPECT_TRUE(r.header("x-request-id").has_value()) << r.raw;
  }
  EXPECT_EQ(http_get(s.port(), "/healthz").status, 200);
}

TEST(Server, EveryResponseCarriesARequestIdAndAValidOneIsEchoed) {
  Server s({.fast_keys = true});
  std::vector<HttpResponse> responses;
  responses.push_back(http_get(s.port(), "/healthz"));
  responses.push_back(http_get(s.port(), "/readyz"));
  responses.push_back(http_get(s.port(), "/metrics"));
  responses.push_back(http_get(s.port(), "/v1/jwks"));
  responses.push_back(http_get(s.port(), "/missing"));
  responses.push_back(http_get(s.port(), "/__clerk/v1/environment"));
  responses.push_back(http_get(s.port(), "/__clerk/v1/client"));
  responses.push_back(http_raw(s.port(), "BLAH\r\n\r\n"));
  HttpRequest post;
  post.method = "POST";
  post.target = "/__clerk/v1/client/sign_ins";
  post.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  post.body = "strategy=bogus";
  responses.push_back(http_request(s.port(), post));
  std::set<std::string> ids;
  for (const auto& r : responses) {
    ASSERT_NE(r.status, 0) << r.raw;
    auto id = r.header("x-request-id");
    ASSERT_TRUE(id.has_value()) << r.raw;
    EXPECT_FALSE(id->empty());
    ids.insert(*id);
  }
  EXPECT_EQ(ids.size(), responses.size()) << "request ids must be unique";

  HttpRequest with_id;
  with_id.target = "/healthz";
  with_id.headers = {{"X-Request-Id", "trace-abc_123.x"}};
  EXPECT_EQ(http_request(s.port(), with_id).header("x-request-id"), "trace-abc_123.x");
  // An id that could forge log lines is replaced, not echoed.
  with_id.headers = {{"X-Request-Id", "a\"b,c}"}};
  auto forged = http_request(s.port(), with_id);
  EXPECT_NE(forged.header("x-request-id").value_or("a\"b,c}"), "a\"b,c}");
}

TEST(Server, LogsAreJsonLinesWithRequestIds) {
  Server s({.fast_keys = true});
  auto r = http_get(s.port(), "/healthz");
  ASSERT_EQ(r.status, 200);
  const std::string id = r.header("x-request-id").value_or("?");
  EXPECT_EQ(s.stop(), 0);
  std::istringstream lines(s.logs());
  std::string line;
  bool saw_access = false;
  while (std::getline(lines, line)) {
    if (line.empty()) {
      continue;
    }
    boost::system::error_code ec;
    auto v = json::parse(line, ec);
    EXPECT_FALSE(ec) << "not a JSON log line: " << line;
    EXPECT_TRUE(v.is_object()) << line;
    if (line.find(id) != std::string::npos) {
      saw_access = true;
    }
  }
  EXPECT_TRUE(saw_access) << "no access log line with request id " << id << " in:\n" << s.logs();
}

TEST(Server, SigtermWhenIdleExitsZero) {
  Server s({.fast_keys = true});
  EXPECT_EQ(http_get(s.port(), "/healthz").status, 200);
  s.child().signal(SIGTERM);
  auto rc = s.child().wait(std::chrono::seconds(15));
  ASSERT_TRUE(rc.has_value()) << "still running 15 s after SIGTERM";
  EXPECT_EQ(*rc, 0) << s.logs();
}

// latchkey_http_connections_active as the server reports it (the /metrics request included);
// -1 when it cannot be read.
int open_connections(int port) {
  const auto m = http_get(port, "/metrics");
  const std::string sample = "\nlatchkey_http_connections_active ";
  const auto pos = m.body.find(sample);
  return pos == std::string::npos ? -1 : std::atoi(m.body.c_str() + pos + sample.size());
}

// Polls until open_connections() is `n`; false after `timeout`.
bool wait_for_open_connections(int port, int n, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (open_connections(port) != n) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

TEST(Server, SigtermWithASlowlyArrivingRequestExitsZero) {
  // A request whose body is still arriving when SIGTERM comes: the server stops accepting,
  // gives in-flight work shutdown_timeout to finish, and exits 0.
  Server s({.env = {{"LATCHKEY_SERVER_SHUTDOWN_TIMEOUT", "2s"}}, .fast_keys = true});
  ASSERT_TRUE(wait_for_open_connections(s.port(), 1, std::chrono::seconds(5)))
      << "connections other than the metrics request are open";
  HttpConnection slow(s.port(), std::chrono::seconds(8));
  HttpRequest req;
  req.method = "POST";
  req.target = "/__clerk/v1/client/sign_ins";
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"}, {"Content-Length", "100"}};
  req.body = "strategy=";  // 91 bytes short: the server waits for the rest
  ASSERT_TRUE(slow.send(serialize(s.port(), req)));
  // SIGTERM only once the server holds the request (it and the metrics request are open).
  ASSERT_TRUE(wait_for_open_connections(s.port(), 2, std::chrono::seconds(5)))
      << "the slow request never reached the server";
  s.child().signal(SIGTERM);
  auto rc = s.child().wait(std::chrono::seconds(12));
  ASSERT_TRUE(rc.has_value()) << "still running after SIGTERM";
  EXPECT_EQ(*rc, 0) << s.logs();
  // It waited for the request until the deadline, then closed it.
  EXPECT_THAT(s.logs(), HasSubstr("shutdown deadline reached; closing 1 connection(s)"));
  EXPECT_TRUE(slow.closed_by_peer()) << "the in-flight connection was left open";
}

}  // namespace
}  // namespace latchkey::it
