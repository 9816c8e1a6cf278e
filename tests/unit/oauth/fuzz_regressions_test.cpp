// Regression tests for findings of the libFuzzer harnesses (fuzz/, docs/fuzzing.md). Each test
// names the harness and the input that found the problem.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdint>
#include <limits>

#include "core/base64.hpp"
#include "core/clock.hpp"
#include "crypto/jwk.hpp"
#include "crypto/jws.hpp"
#include "oauth/discovery.hpp"
#include "oauth/id_token.hpp"
#include "oauth/provider.hpp"

namespace latchkey::oauth {
namespace {

namespace json = boost::json;

class IdTokenFuzzRegression : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    key_ = new crypto::PrivateKey(*crypto::generate_key(crypto::Alg::kEdDSA));
  }
  static void TearDownTestSuite() {
    delete key_;
    key_ = nullptr;
  }

  // A token signed by the provider's only key, with the claims given.
  static std::string token(const json::object& claims) {
    const std::string input =
        core::base64url_encode(json::serialize(json::object{{"alg", "EdDSA"}, {"kid", "k1"}})) +
        "." + core::base64url_encode(json::serialize(claims));
    return input + "." + core::base64url_encode(*crypto::sign(*key_, crypto::Alg::kEdDSA, input));
  }

  core::Result<ValidatedIdToken> validate(const json::value& exp) {
    json::object claims{{"iss", "https://issuer.example"},
                        {"aud", "client-123"},
                        {"iat", clock_.now_s()},
                        {"sub", "user-1"},
                        {"exp", exp}};
    IdTokenExpectations expect;
    expect.issuer = "https://issuer.example";
    expect.client_id = "client-123";
    expect.allowed_algs = {crypto::Alg::kEdDSA};
    auto set = std::make_shared<const JwkSet>(
        JwkSet{crypto::Jwk{"k1", crypto::Alg::kEdDSA, "sig", key_->public_key()}});
    const KeySource keys = [set](bool) -> core::Result<std::shared_ptr<const JwkSet>> {
      return set;
    };
    return validate_id_token(token(claims), expect, keys, clock_);
  }

  core::ManualClock clock_;
  static crypto::PrivateKey* key_;
};

crypto::PrivateKey* IdTokenFuzzRegression::key_ = nullptr;

// fuzz_id_token, corpus seed-08: exp = INT64_MAX made `exp + leeway` overflow (signed overflow is
// undefined behaviour; with wrap-around the token was "expired"). A far-future exp is simply not
// expired; iat/max_age still bound the token's age.
TEST_F(IdTokenFuzzRegression, MaximalExpDoesNotOverflow) {
  auto r = validate(json::value(std::numeric_limits<std::int64_t>::max()));
  ASSERT_TRUE(r.has_value()) << r.error().internal;
  EXPECT_EQ(r->subject, "user-1");
}

TEST_F(IdTokenFuzzRegression, MinimalExpIsExpired) {
  auto r = validate(json::value(std::numeric_limits<std::int64_t>::min()));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(id_token_failure_reason(r.error()), "exp");
}

TEST_F(IdTokenFuzzRegression, ExpJustInsideTheLeewayIsAccepted) {
  // now - leeway < exp: still valid; exp == now - leeway: expired (the boundary did not move).
  const std::int64_t leeway = IdTokenExpectations{}.leeway.count();
  EXPECT_TRUE(validate(json::value(clock_.now_s() - leeway + 1)).has_value());
  auto r = validate(json::value(clock_.now_s() - leeway));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(id_token_failure_reason(r.error()), "exp");
}

// fuzz_discovery, artifact discovery-crash-3b46c15b: Boost.URL 1.81 parses
// "http://[::1]:x@evil.example/j" as host [::1] and path "x@evil.example/j", so the endpoint passed
// as loopback http; curl (and every WHATWG parser) sees userinfo "[::1]:x" and host evil.example.
TEST(EndpointFuzzRegression, IpLiteralFollowedByUserinfoIsRefused) {
  EXPECT_FALSE(is_acceptable_endpoint("http://[::1]:x@evil.example/j"));
  EXPECT_FALSE(is_acceptable_endpoint("http://[::1]:9000@evil.example/j"));
  EXPECT_FALSE(is_acceptable_endpoint("http://[::1]x@evil.example/j"));
  EXPECT_FALSE(is_acceptable_endpoint("https://[::1]:443@evil.example/j"));
  // Positive controls: IP literals with and without port and path.
  EXPECT_TRUE(is_acceptable_endpoint("http://[::1]:9000/j"));
  EXPECT_TRUE(is_acceptable_endpoint("http://[::1]"));
  EXPECT_TRUE(is_acceptable_endpoint("https://[2001:db8::1]/jwks?x=1"));
}

TEST(EndpointFuzzRegression, DiscoveryWithSmuggledHostIsRefused) {
  const std::string doc = R"({"issuer":"http://127.0.0.1:9000",
    "authorization_endpoint":"http://127.0.0.1:9000/auth","token_endpoint":"http://127.0.0.1:9000/t",
    "jwks_uri":"http://[::1]:ddddddddd@dddddddddddd9000/j"})";
  auto m = parse_discovery(doc, "http://127.0.0.1:9000");
  ASSERT_FALSE(m.has_value());
  EXPECT_NE(m.error().internal.find("jwks_uri"), std::string::npos);
}

}  // namespace
}  // namespace latchkey::oauth
