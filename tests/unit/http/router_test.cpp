#include "http/router.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace latchkey::http {
namespace {

Handler tagged(std::string tag) {
  return [tag](Request&) {
    Response r;
    r.body = tag;
    return r;
  };
}

std::string run(const Match& m) {
  Request req;
  return m.route->handler(req).body;
}

TEST(Router, MatchesLiteralRoutes) {
  Router r;
  r.add(Method::kGet, "/v1/environment", tagged("env"));
  r.add(Method::kGet, "/v1/client", tagged("client"));
  auto m = r.match(Method::kGet, "/v1/client", nullptr);
  ASSERT_EQ(m.status, MatchStatus::kFound);
  EXPECT_EQ(run(m), "client");
  EXPECT_EQ(r.match(Method::kGet, "/v1/environment", nullptr).route->name, "/v1/environment");
}

TEST(Router, CapturesAreDecodedAndNamed) {
  Router r;
  r.add(Method::kPost, "/v1/client/sessions/{id}/touch", tagged("touch"), {"session_touch", false});
  std::vector<std::pair<std::string, std::string>> caps;
  auto m = r.match(Method::kPost, "/v1/client/sessions/sess_123%41/touch", &caps);
  ASSERT_EQ(m.status, MatchStatus::kFound);
  EXPECT_EQ(m.route->name, "session_touch");
  ASSERT_EQ(caps.size(), 1U);
  EXPECT_EQ(caps[0].first, "id");
  EXPECT_EQ(caps[0].second, "sess_123A");
}

TEST(Router, MultipleCapturesAndDifferentNamesAtSamePosition) {
  Router r;
  r.add(Method::kPost, "/v1/client/sessions/{id}/touch", tagged("touch"));
  r.add(Method::kPost, "/v1/client/sessions/{sid}/tokens/{template}", tagged("tmpl"));
  std::vector<std::pair<std::string, std::string>> caps;
  auto m = r.match(Method::kPost, "/v1/client/sessions/s1/tokens/hasura", &caps);
  ASSERT_EQ(m.status, MatchStatus::kFound);
  EXPECT_EQ(run(m), "tmpl");
  ASSERT_EQ(caps.size(), 2U);
  EXPECT_EQ(caps[0], (std::pair<std::string, std::string>{"sid", "s1"}));
  EXPECT_EQ(caps[1], (std::pair<std::string, std::string>{"template", "hasura"}));
}

TEST(Router, LiteralWinsOverCaptureAndBacktracks) {
  Router r;
  r.add(Method::kGet, "/v1/client/sessions/{id}", tagged("one"));
  r.add(Method::kGet, "/v1/client/sessions/active", tagged("active"));
  r.add(Method::kGet, "/v1/client/{x}/list", tagged("list"));
  EXPECT_EQ(run(r.match(Method::kGet, "/v1/client/sessions/active", nullptr)), "active");
  EXPECT_EQ(run(r.match(Method::kGet, "/v1/client/sessions/abc", nullptr)), "one");
  EXPECT_EQ(run(r.match(Method::kGet, "/v1/client/sessions/list", nullptr)), "one");
  EXPECT_EQ(run(r.match(Method::kGet, "/v1/client/foo/list", nullptr)), "list");
  // The "b" literal leads nowhere for "/a/b/d": backtrack into the capture branch.
  r.add(Method::kGet, "/a/b/c", tagged("abc"));
  r.add(Method::kGet, "/a/{x}/d", tagged("axd"));
  std::vector<std::pair<std::string, std::string>> caps;
  auto m = r.match(Method::kGet, "/a/b/d", &caps);
  ASSERT_EQ(m.status, MatchStatus::kFound);
  EXPECT_EQ(run(m), "axd");
  ASSERT_EQ(caps.size(), 1U);
  EXPECT_EQ(caps[0].second, "b");
}

TEST(Router, NotFoundVersusMethodNotAllowed) {
  Router r;
  r.add(Method::kGet, "/v1/client", tagged("get"));
  r.add(Method::kDelete, "/v1/client", tagged("del"));
  auto nf = r.match(Method::kGet, "/v1/nope", nullptr);
  EXPECT_EQ(nf.status, MatchStatus::kNotFound);
  EXPECT_EQ(nf.route, nullptr);
  auto na = r.match(Method::kPost, "/v1/client", nullptr);
  EXPECT_EQ(na.status, MatchStatus::kMethodNotAllowed);
  EXPECT_EQ(na.allow, "GET, HEAD, DELETE");
  ASSERT_NE(na.route, nullptr);
  EXPECT_EQ(na.route->name, "/v1/client");
  EXPECT_EQ(r.match(Method::kOther, "/v1/client", nullptr).status, MatchStatus::kMethodNotAllowed);
}

TEST(Router, HeadFallsBackToGet) {
  Router r;
  r.add(Method::kGet, "/health", tagged("h"));
  auto m = r.match(Method::kHead, "/health", nullptr);
  ASSERT_EQ(m.status, MatchStatus::kFound);
  EXPECT_EQ(run(m), "h");
}

TEST(Router, PathTricksDoNotMatch) {
  Router r;
  r.add(Method::kGet, "/v1/client", tagged("c"));
  r.add(Method::kGet, "/v1/client/sessions/{id}/tokens", tagged("t"));
  // Security catalog K11: no decoding of %2F into a separator, no case folding, no slash merging.
  std::vector<std::pair<std::string, std::string>> caps;
  auto m = r.match(Method::kGet, "/v1/client/sessions/..%2f..%2fadmin/tokens", &caps);
  ASSERT_EQ(m.status, MatchStatus::kFound);  // the capture holds the literal text, not a path
  EXPECT_EQ(caps[0].second, "../../admin");
  EXPECT_EQ(r.match(Method::kGet, "/v1%2fclient", nullptr).status, MatchStatus::kNotFound);
  EXPECT_EQ(r.match(Method::kGet, "//v1/client", nullptr).status, MatchStatus::kNotFound);
  EXPECT_EQ(r.match(Method::kGet, "/V1/CLIENT", nullptr).status, MatchStatus::kNotFound);
  EXPECT_EQ(r.match(Method::kGet, "/v1/client/", nullptr).status, MatchStatus::kNotFound);
  EXPECT_EQ(r.match(Method::kGet, "/v1/client;jsessionid=x", nullptr).status,
            MatchStatus::kNotFound);
  EXPECT_EQ(r.match(Method::kGet, "/v1/client/sessions//tokens", nullptr).status,
            MatchStatus::kNotFound);
  EXPECT_EQ(r.match(Method::kGet, "", nullptr).status, MatchStatus::kNotFound);
  EXPECT_EQ(r.match(Method::kGet, "v1/client", nullptr).status, MatchStatus::kNotFound);
  // An invalid escape inside a capture cannot name a resource.
  EXPECT_EQ(r.match(Method::kGet, "/v1/client/sessions/%zz/tokens", &caps).status,
            MatchStatus::kNotFound);
  std::string deep = "/";
  for (int i = 0; i < 1000; ++i) {
    deep += "a/";
  }
  EXPECT_EQ(r.match(Method::kGet, deep, nullptr).status, MatchStatus::kNotFound);
}

TEST(Router, PrefixGroupAndMount) {
  Router r;
  auto fapi = r.group("/__clerk/");
  fapi.add(Method::kGet, "/v1/environment", tagged("env"));
  Router sub;
  sub.add(Method::kGet, "/v1/jwks", tagged("jwks"), {"jwks", true});
  sub.add(Method::kGet, "/v1/client", tagged("client"));
  r.mount("/__clerk", sub);
  r.add(Method::kGet, "/", tagged("root"));

  auto env = r.match(Method::kGet, "/__clerk/v1/environment", nullptr);
  ASSERT_EQ(env.status, MatchStatus::kFound);
  EXPECT_EQ(env.route->name, "/__clerk/v1/environment");
  auto jwks = r.match(Method::kGet, "/__clerk/v1/jwks", nullptr);
  ASSERT_EQ(jwks.status, MatchStatus::kFound);
  EXPECT_EQ(jwks.route->name, "jwks");
  EXPECT_TRUE(jwks.route->inline_ok);
  EXPECT_EQ(r.match(Method::kGet, "/__clerk/v1/client", nullptr).route->name, "/__clerk/v1/client");
  EXPECT_EQ(r.match(Method::kGet, "/v1/environment", nullptr).status, MatchStatus::kNotFound);
  EXPECT_EQ(run(r.match(Method::kGet, "/", nullptr)), "root");
  EXPECT_EQ(r.routes().size(), 4U);
  for (std::size_t i = 0; i < r.routes().size(); ++i) {
    EXPECT_EQ(r.routes()[i]->index, i);
  }
}

TEST(Router, OptionsFallbackHandler) {
  Router r;
  r.add(Method::kPost, "/v1/client/sign_ins", tagged("si"));
  EXPECT_EQ(r.match(Method::kOptions, "/v1/client/sign_ins", nullptr).status,
            MatchStatus::kMethodNotAllowed);
  r.set_options_handler(tagged("preflight"));
  auto m = r.match(Method::kOptions, "/v1/client/sign_ins", nullptr);
  ASSERT_EQ(m.status, MatchStatus::kFound);
  EXPECT_EQ(run(m), "preflight");
  EXPECT_EQ(m.route, r.options_route());
  EXPECT_EQ(m.allow, "POST, OPTIONS");
  EXPECT_EQ(r.match(Method::kOptions, "/nope", nullptr).status, MatchStatus::kNotFound);
}

// A pattern that ends in '/' (clerk-js posts to /v1/me/backup_codes/) matches only with it.
TEST(Router, ATrailingSlashPatternMatchesOnlyWithTheSlash) {
  Router r;
  r.add(Method::kPost, "/v1/me/backup_codes/", tagged("codes"));
  r.add(Method::kPost, "/v1/me/totp", tagged("totp"));
  EXPECT_EQ(r.match(Method::kPost, "/v1/me/backup_codes/", nullptr).status, MatchStatus::kFound);
  EXPECT_EQ(r.match(Method::kPost, "/v1/me/backup_codes", nullptr).status, MatchStatus::kNotFound);
  EXPECT_EQ(r.match(Method::kPost, "/v1/me/backup_codes//", nullptr).status,
            MatchStatus::kNotFound);
  EXPECT_EQ(r.match(Method::kPost, "/v1/me/totp/", nullptr).status, MatchStatus::kNotFound);
  EXPECT_EQ(r.match(Method::kPost, "/v1/me//backup_codes/", nullptr).status,
            MatchStatus::kNotFound);
}

TEST(Router, RejectsBadPatternsAtStartup) {
  Router r;
  EXPECT_THROW(r.add(Method::kGet, "v1/x", tagged("x")), std::invalid_argument);
  EXPECT_THROW(r.add(Method::kGet, "/v1/{bad-name}", tagged("x")), std::invalid_argument);
  EXPECT_THROW(r.add(Method::kGet, "/v1/a{id}", tagged("x")), std::invalid_argument);
  EXPECT_THROW(r.add(Method::kGet, "/v1//x", tagged("x")), std::invalid_argument);
  EXPECT_THROW(r.add(Method::kGet, "/v1/x", Handler{}), std::invalid_argument);
  EXPECT_THROW(r.add(Method::kOther, "/v1/x", tagged("x")), std::invalid_argument);
  r.add(Method::kGet, "/v1/s/{id}", tagged("x"));
  EXPECT_THROW(r.add(Method::kGet, "/v1/s/{other}", tagged("y")), std::invalid_argument);
  EXPECT_NO_THROW(r.add(Method::kPost, "/v1/s/{other}", tagged("y")));
}

TEST(Router, MethodNamesRoundTrip) {
  for (Method m : {Method::kGet, Method::kHead, Method::kPost, Method::kPut, Method::kPatch,
                   Method::kDelete, Method::kOptions}) {
    EXPECT_EQ(parse_method(method_name(m)), m);
  }
  EXPECT_EQ(parse_method("TRACE"), Method::kOther);
  EXPECT_EQ(parse_method("get"), Method::kOther);
}

}  // namespace
}  // namespace latchkey::http
