#pragma once
// An OpenID provider for black-box tests, on 127.0.0.1:0 (the oauth tests' FakeHttpServer):
// discovery, JWKS, a token endpoint that checks the code, redirect_uri, client credentials and
// PKCE S256 like a real provider, and signs an ID token carrying the nonce of the authorization
// URL Latchkey produced. The test plays the user agent: authorize() reads the authorization URL
// and hands out a code, as the provider's consent page would.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <ctime>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "../unit/oauth/fake_idp.hpp"
#include "core/base64.hpp"
#include "crypto/jwk.hpp"
#include "crypto/jws.hpp"
#include "crypto/key.hpp"
#include "harness.hpp"

namespace latchkey::it {

struct IdpUser {
  std::string sub = "idp-user-1";
  std::string email = "ada@example.com";
  bool email_verified = true;
  std::string given_name = "Ada";
  std::string family_name = "Lovelace";
};

class FakeOidc {
 public:
  using FakeRequest = oauth::testing::FakeRequest;
  using FakeResponse = oauth::testing::FakeResponse;

  static constexpr const char* kClientId = "it-client-id";
  static constexpr const char* kClientSecret = "it-client-secret-7f3a9c0e55d1";

  FakeOidc() : server_([this](const FakeRequest& r) { return handle(r); }) {}

  [[nodiscard]] std::string issuer() const { return server_.base_url(); }
  [[nodiscard]] int token_calls() const { return server_.count("/token"); }

  // The provider as Latchkey's oauth_google, with the issuer pointed here (discovery).
  [[nodiscard]] EnvVars latchkey_env() const {
    return {{"LATCHKEY_PROVIDERS_OAUTH_GOOGLE_CLIENT_ID", kClientId},
            {"LATCHKEY_PROVIDERS_OAUTH_GOOGLE_CLIENT_SECRET", kClientSecret},
            {"LATCHKEY_PROVIDERS_OAUTH_GOOGLE_ISSUER", issuer()}};
  }

  struct Grant {
    std::string code;
    std::string state;
  };

  // The user approves at the provider: checks the authorization request (RFC 6749 §4.1.1,
  // RFC 7636 §4.3, OIDC Core 3.1.2.1) and issues a one-time code bound to it.
  Grant authorize(const std::string& authorization_url, const IdpUser& user,
                  const std::string& expected_redirect_uri) {
    EXPECT_TRUE(authorization_url.starts_with(issuer() + "/authorize?")) << authorization_url;
    auto q = query_params(authorization_url);
    EXPECT_EQ(q["response_type"], "code");
    EXPECT_EQ(q["client_id"], kClientId);
    EXPECT_EQ(q["redirect_uri"], expected_redirect_uri);
    EXPECT_EQ(q["code_challenge_method"], "S256");
    EXPECT_EQ(q["code_challenge"].size(), 43U);
    EXPECT_GE(q["state"].size(), 32U);
    EXPECT_GE(q["nonce"].size(), 16U);
    EXPECT_NE(q["scope"].find("openid"), std::string::npos);
    std::lock_guard lock(mu_);
    Grant g{"code-" + std::to_string(++next_code_), q["state"]};
    codes_[g.code] = Pending{user, q["nonce"], q["code_challenge"], q["redirect_uri"], false};
    return g;
  }

  // Everything below is read by the server thread; change it under lock via these setters.
  void set_token_delay(std::chrono::milliseconds d) {
    std::lock_guard lock(mu_);
    token_delay_ = d;
  }
  void set_discovery_delay(std::chrono::milliseconds d) {
    std::lock_guard lock(mu_);
    discovery_delay_ = d;
  }
  // Changes every ID token's claims from now on (a misbehaving or hostile provider).
  void set_claims_hook(std::function<void(boost::json::object&)> hook) {
    std::lock_guard lock(mu_);
    claims_hook_ = std::move(hook);
  }
  // Protocol violations the token endpoint saw (should stay empty).
  [[nodiscard]] std::vector<std::string> violations() const {
    std::lock_guard lock(mu_);
    return violations_;
  }

 private:
  struct Pending {
    IdpUser user;
    std::string nonce;
    std::string code_challenge;
    std::string redirect_uri;
    bool used = false;
  };

  static const crypto::PrivateKey& signing_key() {
    static const crypto::PrivateKey key = *crypto::generate_key(crypto::Alg::kRS256);
    return key;
  }

  static std::string b64(std::string_view s) { return core::base64url_encode(s); }

  std::string id_token(const Pending& p) const {
    const auto now = static_cast<std::int64_t>(std::time(nullptr));
    boost::json::object header{{"alg", "RS256"}, {"kid", "idp-key-1"}, {"typ", "JWT"}};
    boost::json::object claims{{"iss", issuer()},
                               {"sub", p.user.sub},
                               {"aud", kClientId},
                               {"azp", kClientId},
                               {"iat", now},
                               {"exp", now + 600},
                               {"nonce", p.nonce},
                               {"email", p.user.email},
                               {"email_verified", p.user.email_verified}};
    if (!p.user.given_name.empty()) {
      claims["given_name"] = p.user.given_name;
    }
    if (!p.user.family_name.empty()) {
      claims["family_name"] = p.user.family_name;
    }
    if (claims_hook_) {
      claims_hook_(claims);
    }
    const std::string input =
        b64(boost::json::serialize(header)) + "." + b64(boost::json::serialize(claims));
    return input + "." + b64(*crypto::sign(signing_key(), crypto::Alg::kRS256, input));
  }

  FakeResponse error(const std::string& why) {
    violations_.push_back(why);
    return {400, "application/json", R"({"error":"invalid_grant"})"};
  }

  FakeResponse handle(const FakeRequest& r) {
    std::lock_guard lock(mu_);
    const std::string base = issuer();
    if (r.path == "/.well-known/openid-configuration") {
      boost::json::object doc{{"issuer", base},
                              {"authorization_endpoint", base + "/authorize"},
                              {"token_endpoint", base + "/token"},
                              {"userinfo_endpoint", base + "/userinfo"},
                              {"jwks_uri", base + "/jwks"},
                              {"response_types_supported", boost::json::array{"code"}},
                              {"subject_types_supported", boost::json::array{"public"}},
                              {"id_token_signing_alg_values_supported", boost::json::array{"RS256"}},
                              {"code_challenge_methods_supported", boost::json::array{"S256"}}};
      return {200, "application/json", boost::json::serialize(doc), discovery_delay_};
    }
    if (r.path == "/jwks") {
      boost::json::array keys{
          crypto::public_jwk(signing_key().public_key(), "idp-key-1", crypto::Alg::kRS256)};
      return {200, "application/json", boost::json::serialize(boost::json::object{{"keys", keys}})};
    }
    if (r.path == "/token") {
      auto f = query_params("?" + r.body);
      if (r.method != "POST" || f["grant_type"] != "authorization_code") {
        return error("token request is not an authorization_code POST");
      }
      auto it = codes_.find(f["code"]);
      if (it == codes_.end() || it->second.used) {
        return error("unknown or reused code");
      }
      Pending& p = it->second;
      p.used = true;
      if (f["redirect_uri"] != p.redirect_uri) {
        return error("redirect_uri differs from the authorization request");
      }
      if (f["client_id"] != kClientId || f["client_secret"] != kClientSecret) {
        return error("bad client credentials");
      }
      // RFC 7636 §4.6: BASE64URL(SHA256(code_verifier)) == code_challenge.
      if (b64(crypto::sha256(f["code_verifier"])) != p.code_challenge) {
        return error("PKCE verifier does not match the challenge");
      }
      access_tokens_["at-" + f["code"]] = p.user;
      boost::json::object body{{"access_token", "at-" + f["code"]},
                               {"token_type", "Bearer"},
                               {"expires_in", 3600},
                               {"scope", "openid email profile"},
                               {"id_token", id_token(p)}};
      return {200, "application/json", boost::json::serialize(body), token_delay_};
    }
    if (r.path == "/userinfo") {
      std::string auth = r.headers.count("authorization") != 0 ? r.headers.at("authorization") : "";
      const std::string prefix = "Bearer ";
      auto it = auth.starts_with(prefix) ? access_tokens_.find(auth.substr(prefix.size()))
                                         : access_tokens_.end();
      if (it == access_tokens_.end()) {
        return {401, "application/json", R"({"error":"invalid_token"})"};
      }
      boost::json::object u{{"sub", it->second.sub},
                            {"email", it->second.email},
                            {"email_verified", it->second.email_verified}};
      if (!it->second.given_name.empty()) {
        u["given_name"] = it->second.given_name;
      }
      if (!it->second.family_name.empty()) {
        u["family_name"] = it->second.family_name;
      }
      return {200, "application/json", boost::json::serialize(u)};
    }
    return {404, "text/plain", "not found"};
  }

  mutable std::mutex mu_;
  int next_code_ = 0;
  std::map<std::string, Pending> codes_;
  std::map<std::string, IdpUser> access_tokens_;
  std::chrono::milliseconds token_delay_{0};
  std::chrono::milliseconds discovery_delay_{0};
  std::vector<std::string> violations_;
  std::function<void(boost::json::object&)> claims_hook_;
  oauth::testing::FakeHttpServer server_;  // last: its thread calls handle()
};

}  // namespace latchkey::it
