#include "http/cors.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace latchkey::http {
namespace {

Cors make() {
  CorsOptions o;
  o.allowed_origins = {"http://localhost:4100", "HTTPS://App.Example.com:443/"};
  return Cors(o);
}

Request with_origin(std::string origin, Method m = Method::kGet) {
  Request r;
  r.method = m;
  r.headers.push_back({"origin", std::move(origin)});
  return r;
}

TEST(Cors, NormalisesOrigins) {
  EXPECT_EQ(normalize_origin("HTTPS://App.Example.com:443/"), "https://app.example.com");
  EXPECT_EQ(normalize_origin("http://localhost:80"), "http://localhost");
  EXPECT_EQ(normalize_origin("http://localhost:4100"), "http://localhost:4100");
  EXPECT_EQ(normalize_origin("https://x.com:8443"), "https://x.com:8443");
  EXPECT_EQ(normalize_origin("https://x.com/path"), "");
  EXPECT_EQ(normalize_origin("https://user@x.com"), "");
  EXPECT_EQ(normalize_origin("javascript://x"), "");
  EXPECT_EQ(normalize_origin("x.com"), "");
  EXPECT_THROW(Cors(CorsOptions{{"not an origin"}}), std::invalid_argument);
}

TEST(Cors, AllowedOriginGetsExactEchoAndCredentials) {
  Cors cors = make();
  Response res;
  cors.apply(with_origin("https://app.example.com"), res);
  EXPECT_EQ(res.header("access-control-allow-origin"), "https://app.example.com");
  EXPECT_EQ(res.header("access-control-allow-credentials"), "true");
  EXPECT_EQ(res.header("vary"), "Origin");
  EXPECT_EQ(res.header("access-control-expose-headers"), "x-country");
}

TEST(Cors, OtherOriginsGetNoAllowHeaders) {
  // Security catalog F6: never '*', never reflect an arbitrary origin.
  Cors cors = make();
  for (std::string o : {"https://evil.com", "null", "https://app.example.com.evil.com",
                        "http://app.example.com", "https://APP.example.com", ""}) {
    Response res;
    cors.apply(with_origin(o), res);
    EXPECT_FALSE(res.header("access-control-allow-origin")) << o;
    EXPECT_FALSE(res.header("access-control-allow-credentials")) << o;
    EXPECT_EQ(res.header("vary"), "Origin");
  }
  Response none;
  cors.apply(Request{}, none);
  EXPECT_FALSE(none.header("access-control-allow-origin"));
}

TEST(Cors, Preflight) {
  Cors cors = make();
  Request req = with_origin("http://localhost:4100", Method::kOptions);
  EXPECT_FALSE(Cors::is_preflight(req));
  req.headers.push_back({"access-control-request-method", "POST"});
  EXPECT_TRUE(Cors::is_preflight(req));
  Response ok = cors.preflight(req);
  EXPECT_EQ(ok.status, 204);
  EXPECT_EQ(ok.header("access-control-allow-origin"), "http://localhost:4100");
  EXPECT_EQ(ok.header("access-control-allow-credentials"), "true");
  EXPECT_TRUE(ok.header("access-control-allow-methods"));
  EXPECT_EQ(ok.header("access-control-max-age"), "600");

  Request evil = with_origin("https://evil.com", Method::kOptions);
  evil.headers.push_back({"access-control-request-method", "POST"});
  Response no = cors.preflight(evil);
  EXPECT_EQ(no.status, 204);
  EXPECT_FALSE(no.header("access-control-allow-origin"));
  EXPECT_FALSE(no.header("access-control-allow-methods"));
}

}  // namespace
}  // namespace latchkey::http
