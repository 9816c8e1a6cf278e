// FAPI GET /v1/client/handshake (issue 13): the server-side handshake @clerk/backend's
// authenticateRequest sends a browser through when its __client_uat says signed in but its
// __session is missing or expired. Driven against the real binary with a password sign-in.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "crypto/jwk.hpp"
#include "crypto/jws.hpp"
#include "support/harness.hpp"

namespace latchkey::it {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr const char* kSignUps = "/__clerk/v1/client/sign_ups";
constexpr const char* kPassword = "correct horse battery staple";
constexpr const char* kApp = "http://localhost:4300";

class Handshake : public ::testing::Test {
 protected:
  void SetUp() override {
    server = std::make_unique<Server>(
        ServerOptions{.env = {{"LATCHKEY_PASSWORDS_HASH_OPSLIMIT", "1"},
                              {"LATCHKEY_PASSWORDS_HASH_MEMLIMIT_KIB", "8192"},
                              {"LATCHKEY_FRONTEND_ALLOWED_ORIGINS", kApp}},
                      .fixed_port = true,
                      .fast_keys = true});
  }
  Browser browser() { return Browser(*server); }

  // Sign-up with email + password, verified with the mailed code; returns the session id.
  std::string sign_up(Browser& b, const std::string& email) {
    auto su = b.post(kSignUps, {{"strategy", "password"},
                                {"email_address", email},
                                {"password", kPassword},
                                {"locale", "en-US"}});
    EXPECT_EQ(su.status, 200) << su.body;
    const std::string id = str(su.json(), "response.id");
    auto prep = b.post(std::string(kSignUps) + "/" + id + "/prepare_verification",
                       {{"strategy", "email_code"}});
    EXPECT_EQ(prep.status, 200) << prep.body;
    auto done = b.post(
        std::string(kSignUps) + "/" + id + "/attempt_verification",
        {{"strategy", "email_code"}, {"code", mailed_code(server->data_dir().path(), email, 1)}});
    EXPECT_EQ(done.status, 200) << done.body;
    return str(done.json(), "response.created_session_id");
  }

  // The handshake JWT of a 307's location, verified with the served JWKS; its claims.
  json::value handshake_claims(const HttpResponse& r, const std::string& redirect) {
    const std::string loc(r.header("location").value_or(""));
    const std::string prefix = redirect + "?__clerk_handshake=";
    EXPECT_THAT(loc, StartsWith(prefix));
    const std::string jwt = loc.substr(std::min(prefix.size(), loc.size()));
    auto jwks = crypto::parse_jwks(http_get(server->port(), "/v1/jwks").body);
    EXPECT_TRUE(jwks.has_value());
    auto jws = crypto::decode_jws(jwt);
    if (!jws || !jwks || !jws->kid) {
      ADD_FAILURE() << "not a JWS: " << loc;
      return nullptr;
    }
    bool verified = false;
    for (const auto& k : *jwks) {
      if (k.kid == *jws->kid) {
        verified = crypto::verify_signature(k.key, jws->alg, jws->signing_input, jws->signature);
      }
    }
    EXPECT_TRUE(verified) << "handshake not verifiable with the served JWKS";
    auto claims = json::parse(jws->payload);
    EXPECT_EQ(num(claims, "exp") - num(claims, "iat"), 60);
    return claims;
  }

  static std::vector<std::string> directives(const json::value& claims) {
    std::vector<std::string> out;
    if (const auto& h = at(claims, "handshake"); h.is_array()) {
      for (const auto& d : h.as_array()) {
        out.emplace_back(d.is_string() ? std::string(d.as_string()) : "");
      }
    }
    return out;
  }

  std::unique_ptr<Server> server;
};

std::string handshake_path(const std::string& redirect) {
  return "/__clerk/v1/client/handshake?" +
         form_encode(
             {{"redirect_url", redirect}, {"format", "token"}, {"suffixed_cookies", "false"}});
}

TEST_F(Handshake, SignedInBrowserGetsAFreshSessionTokenForTheApp) {
  Browser b = browser();
  const std::string sid = sign_up(b, "ada@example.com");
  ASSERT_FALSE(sid.empty());
  const std::string redirect = std::string(kApp) + "/protected";
  auto r = b.get(handshake_path(redirect));
  ASSERT_EQ(r.status, 307) << r.raw;
  auto claims = handshake_claims(r, redirect);
  auto d = directives(claims);
  ASSERT_EQ(d.size(), 2U) << json::serialize(claims);
  ASSERT_THAT(d[0], StartsWith("__session="));
  EXPECT_THAT(d[0], HasSubstr("; Path=/"));
  const std::string token = d[0].substr(10, d[0].find(';') - 10);
  auto tok = crypto::decode_jws(token);
  ASSERT_TRUE(tok.has_value()) << d[0];
  auto tc = json::parse(tok->payload);
  EXPECT_EQ(str(tc, "sid"), sid);
  EXPECT_EQ(str(tc, "azp"), kApp);  // minted for the app the browser goes back to
  ASSERT_THAT(d[1], StartsWith("__client_uat="));
  const auto uat = std::stoll(d[1].substr(13));
  const auto now = static_cast<std::int64_t>(std::time(nullptr));
  EXPECT_GT(uat, 0);
  EXPECT_LE(uat, now + 1);
}

TEST_F(Handshake, SignedOutBrowserGetsDirectivesThatClearTheSession) {
  Browser b = browser();
  const std::string redirect = std::string(kApp) + "/protected?x=1";
  auto r = b.get(handshake_path(redirect));
  ASSERT_EQ(r.status, 307) << r.raw;
  const std::string loc(r.header("location").value_or(""));
  ASSERT_THAT(loc, StartsWith(redirect + "&__clerk_handshake="));
  auto d = directives(json::parse(crypto::decode_jws(loc.substr(loc.find("e=") + 2))->payload));
  ASSERT_EQ(d.size(), 2U);
  EXPECT_THAT(d[0], StartsWith("__session=;"));
  EXPECT_THAT(d[0], HasSubstr("Max-Age=0"));
  EXPECT_THAT(d[1], StartsWith("__client_uat=0;"));

  // Signed in, then signed out: the same signed-out directives.
  const std::string sid = sign_up(b, "grace@example.com");
  ASSERT_FALSE(sid.empty());
  auto out = b.post("/__clerk/v1/client/sessions?_method=DELETE", {});
  ASSERT_EQ(out.status, 200) << out.body;
  auto again = b.get(handshake_path(std::string(kApp) + "/protected"));
  ASSERT_EQ(again.status, 307) << again.raw;
  auto d2 = directives(handshake_claims(again, std::string(kApp) + "/protected"));
  ASSERT_EQ(d2.size(), 2U);
  EXPECT_THAT(d2[1], StartsWith("__client_uat=0;"));
}

TEST_F(Handshake, RedirectOutsideTheAllowListOrMissingIsRefusedWithTheEnvelope) {
  Browser b = browser();
  ASSERT_FALSE(sign_up(b, "eve@example.com").empty());
  for (const std::string bad :
       {"http://evil.test/protected", "//evil.test/x", "javascript:alert(1)"}) {
    auto r = b.get(handshake_path(bad));
    EXPECT_NE(r.status, 307) << bad;
    EXPECT_FALSE(r.header("location").has_value()) << bad;
    EXPECT_FALSE(str(error_of(r), "code").empty()) << r.body;
  }
  auto missing = b.get("/__clerk/v1/client/handshake?format=token");
  EXPECT_EQ(missing.status, 422) << missing.raw;
  EXPECT_EQ(str(error_of(missing), "code"), "form_param_missing");
  auto format = b.get("/__clerk/v1/client/handshake?" +
                      form_encode({{"redirect_url", std::string(kApp) + "/"}, {"format", "jwe"}}));
  EXPECT_EQ(format.status, 422) << format.raw;
  EXPECT_EQ(str(error_of(format), "meta.param_name"), "format");
  // The nonce form (what @clerk/backend sends; redeemed through the Backend API in
  // tests/bapi/tests/handshake.test.mjs): an opaque nonce in the redirect, no JWT.
  auto nonce = b.get("/__clerk/v1/client/handshake?" +
                     form_encode({{"redirect_url", std::string(kApp) + "/"}, {"format", "nonce"}}));
  ASSERT_EQ(nonce.status, 307) << nonce.raw;
  const std::string location = nonce.header("location").value_or("");
  EXPECT_THAT(location, StartsWith(std::string(kApp) + "/?__clerk_handshake_nonce=v1."));
  EXPECT_EQ(location.find("__clerk_handshake="), std::string::npos);
}

}  // namespace
}  // namespace latchkey::it
