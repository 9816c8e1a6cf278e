// End-to-end tests of the relying party against an in-process fake IdP over 127.0.0.1
// (security catalog §1.2, §1.3, §2.A, §2.B, §2.H).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/hmac.h>

#include <boost/json.hpp>
#include <memory>
#include <mutex>

#include "core/base64.hpp"
#include "core/clock.hpp"
#include "core/random.hpp"
#include "crypto/jwk.hpp"
#include "crypto/jws.hpp"
#include "crypto/sealer.hpp"
#include "oauth/detail/pending.hpp"
#include "oauth/id_token.hpp"
#include "oauth/service.hpp"
#include "support/fake_idp.hpp"

namespace latchkey::oauth {
namespace {

using test::b64;
using test::FakeHttpServer;
using test::FakeIdp;
using test::FakeRequest;
using test::FakeResponse;
using test::Fault;
using test::IdpKey;
using test::IdpUser;
using ::testing::HasSubstr;
namespace json = boost::json;

constexpr std::string_view kClientId = "client-abc";
constexpr std::string_view kClientSecret = "secret-xyz";
constexpr std::string_view kRedirect = "https://app.example.com/__clerk/v1/oauth_callback";

// The provider's keys (made once per binary by the support library), with their kids.
IdpKey rsa_key(int which) {
  return {&test::rsa_key(which), "k" + std::to_string(which), crypto::Alg::kRS256};
}
IdpKey ec_key() { return {&test::ec_key(), "e1", crypto::Alg::kES256}; }

// The claims segment of a compact JWS, as the provider encoded it.
std::string claims_part(const std::string& token) {
  const auto first = token.find('.');
  return token.substr(first + 1, token.find('.', first + 1) - first - 1);
}

// The person at the provider: an OIDC profile with every optional claim, or GitHub's octocat.
IdpUser oidc_user() {
  return {"user-123",
          "ada@example.com",
          true,
          "Ada",
          "Lovelace",
          "Ada Lovelace",
          "https://img.example.com/ada.png",
          "ada"};
}
IdpUser github_user() {
  return {"583231",
          "public@example.com",
          true,
          "",
          "",
          "The Octocat",
          "https://avatars.example.com/u/583231",
          "octocat"};
}

// The provider as these tests want it (the support library's FakeIdp): this file's client and
// clock, GitHub's API under /api, any code good for the latest grant (the tests check the token
// request themselves), ES256 advertised besides RS256, fixed tokens (at-1 and rt-1, GitHub's
// gho_abc) and one verified primary GitHub email.
FakeIdp::Options idp_options(const core::Clock& clock) {
  FakeIdp::Options o;
  o.client_id = std::string(kClientId);
  o.client_secret = std::string(kClientSecret);
  o.clock = &clock;
  o.check_token_requests = false;
  o.github_api_path = "/api";
  return o;
}

void script_defaults(FakeIdp& i) {
  i.signing_algs_ = {"RS256", "ES256"};
  i.token_response_hook = [](json::object& body) {
    if (body.contains("id_token")) {
      body["access_token"] = "at-1";
      body["refresh_token"] = "rt-1";
    } else {
      body = {
          {"access_token", "gho_abc"}, {"token_type", "bearer"}, {"scope", "read:user,user:email"}};
    }
  };
  i.github_emails = [](const IdpUser&) {
    return json::parse(R"([{"email":"octo@example.com","primary":true,"verified":true}])");
  };
}

ProviderSettings provider_config(std::string strategy, const std::string& base) {
  ProviderSettings c;
  c.strategy = std::move(strategy);
  c.client_id = std::string(kClientId);
  c.client_secret = core::Secret(std::string(kClientSecret));
  c.issuer = base;
  return c;
}

ProviderSettings github_config(const std::string& base) {
  ProviderSettings c;
  c.strategy = "oauth_github";
  c.client_id = std::string(kClientId);
  c.client_secret = core::Secret(std::string(kClientSecret));
  c.authorization_endpoint = base + "/login/oauth/authorize";
  c.token_endpoint = base + "/login/oauth/access_token";
  c.api_base = base + "/api";
  return c;
}

std::map<std::string, std::string> query_params(std::string_view url) {
  std::map<std::string, std::string> out;
  auto q = url.substr(url.find('?') + 1);
  while (!q.empty()) {
    auto amp = q.find('&');
    auto part = q.substr(0, amp);
    auto eq = part.find('=');
    out[std::string(part.substr(0, eq))] = std::string(part.substr(eq + 1));
    q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
  }
  return out;
}

CallbackParams cb(std::string code, std::string error = {}, std::string description = {},
                  std::optional<std::string> iss = {}) {
  CallbackParams p;
  p.code = std::move(code);
  p.error = std::move(error);
  p.error_description = std::move(description);
  p.iss = std::move(iss);
  return p;
}

class OAuthFlow : public ::testing::Test {
 protected:
  OAuthFlow() : idp_(idp_options(clock_)), http_(make_curl_http_client()) {
    idp_.script(script_defaults);
  }

  void make_service(std::vector<ProviderSettings> configs,
                    std::chrono::milliseconds timeout = std::chrono::milliseconds(3000),
                    std::size_t max_bytes = 64 * 1024) {
    std::vector<Provider> providers;
    for (const auto& c : configs) {
      auto p = make_provider(c);
      ASSERT_TRUE(p.has_value()) << p.error().internal;
      providers.push_back(std::move(*p));
    }
    ServiceOptions options;
    options.limits.timeout = timeout;
    options.limits.connect_timeout = std::chrono::milliseconds(1000);
    options.limits.max_response_bytes = max_bytes;
    auto s = Service::create(std::move(providers), options, *http_, sealer_, clock_, random_);
    ASSERT_TRUE(s.has_value());
    service_ = std::move(*s);
  }
  void make_google() { make_service({provider_config("oauth_google", idp_.base())}); }

  // begin + complete, the user approving at the IdP in between (which binds the nonce).
  core::Result<ExternalIdentity> run(std::string_view strategy = "oauth_google",
                                     CallbackParams params = cb("code-1")) {
    auto req = service_->begin(strategy, kRedirect);
    if (!req) {
      return std::unexpected(req.error());
    }
    idp_.authorize(req->authorization_url,
                   strategy == "oauth_github" ? github_user() : oidc_user());
    last_pending_ = opened(*req, strategy);
    return service_->complete(strategy, params, req->state.reveal(), req->pending);
  }

  // What a request left pending, opened the way complete() opens it (a test sees inside).
  detail::PendingFields opened(const AuthorizationRequest& req,
                               std::string_view strategy = "oauth_google") const {
    auto fields = detail::open_pending(sealer_, req.pending, strategy);
    EXPECT_TRUE(fields.has_value()) << fields.error().internal;
    return fields ? std::move(*fields) : detail::PendingFields{};
  }

  template <typename F>
  void with_idp(F&& f) {
    idp_.script(std::forward<F>(f));
  }

  void expect_id_token_rejected(std::string_view reason) {
    auto r = run();
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, core::Code::kOAuthIdTokenInvalid) << r.error().internal;
    EXPECT_EQ(id_token_failure_reason(r.error()), reason) << r.error().internal;
    EXPECT_EQ(idp_.server().count("/userinfo"), 0);
  }

  core::ManualClock clock_;
  core::SystemRandom random_;
  crypto::Sealer sealer_{core::Secret(std::string(crypto::Sealer::kKeyBytes, 'k'))};
  FakeIdp idp_;
  std::unique_ptr<HttpClient> http_;
  std::unique_ptr<Service> service_;
  detail::PendingFields last_pending_;  // of the last run()
};

TEST_F(OAuthFlow, OidcHappyPathMapsClaims) {
  make_google();
  auto r = run();
  ASSERT_TRUE(r.has_value()) << r.error().internal;
  EXPECT_EQ(r->strategy, "oauth_google");
  EXPECT_EQ(r->provider, "google");
  EXPECT_EQ(r->issuer, idp_.base());
  EXPECT_EQ(r->provider_user_id, "user-123");
  EXPECT_EQ(r->email, "ada@example.com");
  EXPECT_TRUE(r->email_verified);
  EXPECT_EQ(r->first_name, "Ada");
  EXPECT_EQ(r->last_name, "Lovelace");
  EXPECT_EQ(r->name, "Ada Lovelace");
  EXPECT_EQ(r->image_url, "https://img.example.com/ada.png");
  EXPECT_EQ(r->username, "ada");
  EXPECT_EQ(r->approved_scopes, "openid email profile");
  EXPECT_EQ(r->access_token.reveal(), "at-1");
  EXPECT_EQ(r->refresh_token.reveal(), "rt-1");
  EXPECT_FALSE(r->id_token.empty());
  EXPECT_EQ(idp_.server().count("/token"), 1);
  EXPECT_EQ(idp_.server().count("/jwks"), 1);
  EXPECT_EQ(idp_.server().count("/userinfo"), 0);  // email was in the ID token

  // The token request: authorization_code grant, exact redirect_uri, PKCE verifier,
  // client_secret_post.
  const auto token_req = idp_.server().last("/token");
  EXPECT_EQ(token_req.method, "POST");
  EXPECT_EQ(token_req.headers.at("content-type"), "application/x-www-form-urlencoded");
  const auto form = query_params("?" + token_req.body);
  EXPECT_EQ(form.at("grant_type"), "authorization_code");
  EXPECT_EQ(form.at("code"), "code-1");
  EXPECT_EQ(form.at("redirect_uri"), form_urlencode(kRedirect));
  EXPECT_EQ(form.at("code_verifier"), last_pending_.code_verifier.reveal());
  EXPECT_EQ(form.at("client_id"), kClientId);
  EXPECT_EQ(form.at("client_secret"), kClientSecret);
  EXPECT_EQ(token_req.headers.count("authorization"), 0U);
  EXPECT_EQ(token_req.headers.at("accept"), "application/json");
  EXPECT_THAT(token_req.headers.at("user-agent"), HasSubstr("Latchkey"));

  // Discovery and JWKS are cached: a second sign-in fetches neither.
  ASSERT_TRUE(run().has_value());
  EXPECT_EQ(idp_.server().count("/.well-known/openid-configuration"), 1);
  EXPECT_EQ(idp_.server().count("/jwks"), 1);
}

TEST_F(OAuthFlow, AuthorizationRequestCarriesPkceS256StateAndNonce) {
  make_google();
  auto req = service_->begin("oauth_google", kRedirect);
  ASSERT_TRUE(req.has_value()) << req.error().internal;
  EXPECT_TRUE(req->authorization_url.starts_with(idp_.base() + "/authorize?"));
  const auto q = query_params(req->authorization_url);
  EXPECT_EQ(q.at("response_type"), "code");
  EXPECT_EQ(q.at("client_id"), kClientId);
  EXPECT_EQ(q.at("redirect_uri"), form_urlencode(kRedirect));
  EXPECT_EQ(q.at("scope"), "openid+email+profile");
  const auto pending = opened(*req);
  EXPECT_EQ(q.at("state"), req->state.reveal());
  EXPECT_TRUE(pending.state.equals(req->state.reveal()));
  EXPECT_EQ(q.at("nonce"), pending.nonce.reveal());
  EXPECT_EQ(q.at("code_challenge_method"), "S256");
  // RFC 7636 §4.2, computed independently of the code under test.
  EXPECT_EQ(q.at("code_challenge"),
            core::base64url_encode(crypto::sha256(pending.code_verifier.reveal())));
  EXPECT_EQ(req->state.reveal().size(), 43U);  // 32 bytes
  EXPECT_GE(pending.code_verifier.reveal().size(), 43U);
  EXPECT_LE(pending.code_verifier.reveal().size(), 128U);
  EXPECT_EQ(pending.redirect_uri, kRedirect);
  // What the caller stores is sealed: none of the request's secrets shows in it.
  const std::string& sealed = req->pending.sealed();
  EXPECT_TRUE(sealed.starts_with("v1.")) << sealed;
  for (const auto* secret : {&pending.state, &pending.code_verifier, &pending.nonce}) {
    EXPECT_EQ(sealed.find(secret->reveal()), std::string::npos);
  }
  auto again = service_->begin("oauth_google", kRedirect);
  ASSERT_TRUE(again.has_value());
  const auto again_pending = opened(*again);
  EXPECT_NE(again->state.reveal(), req->state.reveal());
  EXPECT_NE(again_pending.nonce.reveal(), pending.nonce.reveal());
  EXPECT_NE(again_pending.code_verifier.reveal(), pending.code_verifier.reveal());
}

// The pending authorization completes only the request it was made for: its own state, its own
// strategy, sealed under this key and unaltered. None of these reaches the provider.
TEST_F(OAuthFlow, PendingAuthorizationCompletesOnlyItsOwnRequest) {
  make_service({provider_config("oauth_google", idp_.base()), github_config(idp_.base())});
  auto req = service_->begin("oauth_google", kRedirect);
  ASSERT_TRUE(req.has_value()) << req.error().internal;
  idp_.authorize(req->authorization_url, oidc_user());
  auto other = service_->begin("oauth_google", kRedirect);
  ASSERT_TRUE(other.has_value());

  // Another request's state (a pending value copied to another state's row).
  auto r = service_->complete("oauth_google", cb("code-1"), other->state.reveal(), req->pending);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::Code::kOAuthStateInvalid) << r.error().internal;
  EXPECT_EQ(service_->failure_counts()["state"], 1U);
  r = service_->complete("oauth_google", cb("code-1"), "", req->pending);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::Code::kOAuthStateInvalid);

  // Another strategy, a tampered or truncated value, another key: it does not open (a fault of
  // ours, not the provider's: kInternal, and not counted as a provider failure).
  std::string tampered = req->pending.sealed();
  tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
  const crypto::Sealer other_key(core::Secret(std::string(crypto::Sealer::kKeyBytes, 'o')));
  const std::vector<std::pair<std::string, PendingAuthorization>> cases = {
      {"oauth_github", req->pending},
      {"oauth_google", PendingAuthorization(tampered)},
      {"oauth_google", PendingAuthorization(req->pending.sealed().substr(0, 20))},
      {"oauth_google", PendingAuthorization("{}")},
      {"oauth_google", PendingAuthorization()},
      {"oauth_google", detail::seal_pending(other_key, opened(*req))},
  };
  for (const auto& [strategy, pending] : cases) {
    SCOPED_TRACE(strategy + " " + pending.sealed());
    r = service_->complete(strategy, cb("code-1"), req->state.reveal(), pending);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, core::Code::kInternal) << r.error().internal;
  }
  auto counts = service_->failure_counts();
  EXPECT_EQ(counts.size(), 1U);
  EXPECT_EQ(idp_.server().count("/token"), 0);

  // The value as sealed, with its own state: completes.
  r = service_->complete("oauth_google", cb("code-1"), req->state.reveal(), req->pending);
  ASSERT_TRUE(r.has_value()) << r.error().internal;
  EXPECT_EQ(idp_.server().count("/token"), 1);
}

TEST(OAuthPkce, ChallengeMatchesRfc7636AppendixB) {
  EXPECT_EQ(pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

TEST(OAuthClientAuth, BasicFormEncodesBeforeBase64) {
  // RFC 6749 §2.3.1: both parts are application/x-www-form-urlencoded first.
  EXPECT_EQ(basic_authorization("my client", "s3:cr+t/"),
            "Basic " + core::base64_encode("my+client:s3%3Acr%2Bt%2F"));
}

TEST_F(OAuthFlow, ClientSecretBasicSendsAuthorizationHeaderAndNoSecretInBody) {
  auto cfg = provider_config("oauth_google", idp_.base());
  cfg.token_auth_method = "client_secret_basic";
  cfg.client_id = "my client";
  cfg.client_secret = core::Secret(std::string("s3:cr+t/"));
  make_service({cfg});
  with_idp([](FakeIdp& i) { i.claims_hook = [](json::object& c) { c["aud"] = "my client"; }; });
  auto r = run();
  ASSERT_TRUE(r.has_value()) << r.error().internal;
  const auto token_req = idp_.server().last("/token");
  EXPECT_EQ(token_req.headers.at("authorization"),
            "Basic " + core::base64_encode("my+client:s3%3Acr%2Bt%2F"));
  EXPECT_THAT(token_req.body, ::testing::Not(HasSubstr("client_secret")));
}

TEST_F(OAuthFlow, RejectsBadSignature) {
  make_google();
  with_idp([](FakeIdp& i) {
    i.id_token_transform = [](std::string t) {
      const auto dot = t.rfind('.');
      t[dot + 5] = t[dot + 5] == 'A' ? 'B' : 'A';  // flip a signature character
      return t;
    };
  });
  expect_id_token_rejected("signature");
}

TEST_F(OAuthFlow, RejectsTokenSignedByUnpublishedKeyWithKnownKid) {
  make_google();
  with_idp([](FakeIdp& i) { i.sign_with({rsa_key(2).key, "k1", crypto::Alg::kRS256}); });
  expect_id_token_rejected("signature");
}

TEST_F(OAuthFlow, RejectsAlgNone) {
  make_google();
  with_idp([](FakeIdp& i) {
    i.id_token_transform = [](const std::string& t) {
      return b64(R"({"alg":"none","typ":"JWT"})") + "." + claims_part(t) + "." + b64("x");
    };
  });
  expect_id_token_rejected("alg");
  EXPECT_EQ(idp_.server().count("/jwks"), 0);  // rejected before any key is looked at
}

TEST_F(OAuthFlow, RejectsHs256WithPublicKeyAsSecret) {
  make_google();
  with_idp([](FakeIdp& i) {
    i.id_token_transform = [](const std::string& t) {
      // The classic alg confusion: HMAC keyed with the IdP's public key (which anyone can fetch).
      const std::string secret = rsa_key(1).key->public_key().to_pem();
      const std::string input = b64(R"({"alg":"HS256","kid":"k1"})") + "." + claims_part(t);
      unsigned char mac[32];
      unsigned int len = 0;
      HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
      return input + "." + b64(std::string_view(reinterpret_cast<const char*>(mac), len));
    };
  });
  expect_id_token_rejected("alg");
}

TEST_F(OAuthFlow, RejectsAlgNotAdvertisedByProvider) {
  make_google();
  with_idp([](FakeIdp& i) {
    i.signing_algs_ = {"RS256"};
    i.keys_ = {rsa_key(1), ec_key()};
    i.sign_with(ec_key());
  });
  expect_id_token_rejected("alg");
}

TEST_F(OAuthFlow, AcceptsEs256WithoutKidWhenSingleKey) {
  make_google();
  with_idp([](FakeIdp& i) {
    const IdpKey no_kid{ec_key().key, "", crypto::Alg::kES256};
    i.keys_ = {no_kid};
    i.sign_with(no_kid);
  });
  auto r = run();
  ASSERT_TRUE(r.has_value()) << r.error().internal;
}

TEST_F(OAuthFlow, UnknownKidRefreshesJwksOnceAndAcceptsRotatedKey) {
  make_google();
  ASSERT_TRUE(run().has_value());
  EXPECT_EQ(idp_.server().count("/jwks"), 1);
  // The IdP rotates: k1 is gone, k2 signs.
  with_idp([](FakeIdp& i) {
    i.keys_ = {rsa_key(2)};
    i.sign_with(rsa_key(2));
  });
  auto r = run();
  ASSERT_TRUE(r.has_value()) << r.error().internal;
  EXPECT_EQ(idp_.server().count("/jwks"), 2);

  // An attacker-chosen unknown kid cannot make us hammer the JWKS URI: the forced refresh is
  // rate-limited (one per cooldown), so these fail without further fetches.
  with_idp([](FakeIdp& i) { i.sign_with({rsa_key(1).key, "nope", crypto::Alg::kRS256}); });
  for (int n = 0; n < 3; ++n) {
    expect_id_token_rejected("kid");
  }
  EXPECT_EQ(service_->failure_counts()["id_token.kid"], 3U);
  EXPECT_EQ(idp_.server().count("/jwks"), 2);
  // After the cooldown one more refresh is allowed.
  clock_.advance(std::chrono::seconds(31));
  expect_id_token_rejected("kid");
  EXPECT_EQ(idp_.server().count("/jwks"), 3);
}

TEST_F(OAuthFlow, RejectsWrongIssuer) {
  make_google();
  with_idp([](FakeIdp& i) {
    i.claims_hook = [](json::object& c) { c["iss"] = "https://evil.example.com"; };
  });
  expect_id_token_rejected("iss");
}

TEST_F(OAuthFlow, RejectsIssuerWithTrailingSlash) {
  make_google();
  const std::string slashed = idp_.base() + "/";
  with_idp([&](FakeIdp& i) { i.claims_hook = [slashed](json::object& c) { c["iss"] = slashed; }; });
  expect_id_token_rejected("iss");
}

TEST_F(OAuthFlow, RejectsWrongAudience) {
  make_google();
  with_idp([](FakeIdp& i) { i.claims_hook = [](json::object& c) { c["aud"] = "someone-else"; }; });
  expect_id_token_rejected("aud");
}

TEST_F(OAuthFlow, RejectsMissingAudience) {
  make_google();
  with_idp([](FakeIdp& i) { i.claims_hook = [](json::object& c) { c.erase("aud"); }; });
  expect_id_token_rejected("aud");
}

TEST_F(OAuthFlow, AcceptsAudienceAsOneElementArray) {
  make_google();
  with_idp([](FakeIdp& i) {
    i.claims_hook = [](json::object& c) { c["aud"] = json::array{std::string(kClientId)}; };
  });
  EXPECT_TRUE(run().has_value());
}

TEST_F(OAuthFlow, RejectsMultipleAudiencesWithoutMatchingAzp) {
  make_google();
  with_idp([](FakeIdp& i) {
    i.claims_hook = [](json::object& c) {
      c["aud"] = json::array{std::string(kClientId), "other"};
      c["azp"] = "other";
    };
  });
  expect_id_token_rejected("azp");
  with_idp([](FakeIdp& i) {
    i.claims_hook = [](json::object& c) {
      c["aud"] = json::array{std::string(kClientId), "other"};
    };
  });
  expect_id_token_rejected("azp");
  with_idp([](FakeIdp& i) {
    i.claims_hook = [](json::object& c) {
      c["aud"] = json::array{std::string(kClientId), "other"};
      c["azp"] = std::string(kClientId);
    };
  });
  EXPECT_TRUE(run().has_value());
}

TEST_F(OAuthFlow, RejectsExpiredToken) {
  make_google();
  const auto now = clock_.now_s();
  with_idp([now](FakeIdp& i) {
    i.claims_hook = [now](json::object& c) {
      c["exp"] = now - 600;
      c["iat"] = now - 1200;
    };
  });
  expect_id_token_rejected("exp");
  with_idp([](FakeIdp& i) { i.claims_hook = [](json::object& c) { c.erase("exp"); }; });
  expect_id_token_rejected("exp");
}

TEST_F(OAuthFlow, IatBeyondLeewayRejectedWithinLeewayAccepted) {
  make_google();
  const auto now = clock_.now_s();
  with_idp([now](FakeIdp& i) { i.claims_hook = [now](json::object& c) { c["iat"] = now + 90; }; });
  expect_id_token_rejected("iat");
  with_idp([now](FakeIdp& i) { i.claims_hook = [now](json::object& c) { c["iat"] = now + 20; }; });
  EXPECT_TRUE(run().has_value());
  with_idp([](FakeIdp& i) { i.claims_hook = [](json::object& c) { c.erase("iat"); }; });
  expect_id_token_rejected("iat");
}

TEST_F(OAuthFlow, RejectsNotYetValidToken) {
  make_google();
  const auto now = clock_.now_s();
  with_idp([now](FakeIdp& i) { i.claims_hook = [now](json::object& c) { c["nbf"] = now + 300; }; });
  expect_id_token_rejected("nbf");
}

TEST_F(OAuthFlow, RejectsNonceMismatchOrAbsence) {
  make_google();
  with_idp(
      [](FakeIdp& i) { i.claims_hook = [](json::object& c) { c["nonce"] = "attacker-nonce"; }; });
  expect_id_token_rejected("nonce");
  with_idp([](FakeIdp& i) { i.claims_hook = [](json::object& c) { c.erase("nonce"); }; });
  expect_id_token_rejected("nonce");
}

TEST_F(OAuthFlow, RejectsMissingEmptyOrOverlongSub) {
  make_google();
  with_idp([](FakeIdp& i) { i.claims_hook = [](json::object& c) { c.erase("sub"); }; });
  expect_id_token_rejected("sub");
  with_idp([](FakeIdp& i) { i.claims_hook = [](json::object& c) { c["sub"] = ""; }; });
  expect_id_token_rejected("sub");
  with_idp([](FakeIdp& i) {
    i.claims_hook = [](json::object& c) { c["sub"] = std::string(256, 'a'); };
  });
  expect_id_token_rejected("sub");
}

TEST_F(OAuthFlow, RejectsOversizedToken) {
  make_google();
  with_idp([](FakeIdp& i) {
    i.claims_hook = [](json::object& c) { c["pad"] = std::string(20'000, 'x'); };
  });
  expect_id_token_rejected("malformed");
}

TEST_F(OAuthFlow, EmailVerifiedOnlyForTrueOrStringTrue) {
  make_google();
  const std::vector<std::pair<json::value, bool>> cases = {
      {json::value(true), true},     {json::value("true"), true}, {json::value(false), false},
      {json::value("false"), false}, {json::value(1), false},     {json::value("yes"), false}};
  for (const auto& [v, expected] : cases) {
    with_idp(
        [v = v](FakeIdp& i) { i.claims_hook = [v](json::object& c) { c["email_verified"] = v; }; });
    auto r = run();
    ASSERT_TRUE(r.has_value()) << r.error().internal;
    EXPECT_EQ(r->email_verified, expected) << json::serialize(v);
  }
  with_idp([](FakeIdp& i) { i.claims_hook = [](json::object& c) { c.erase("email_verified"); }; });
  auto r = run();
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->email_verified);
}

TEST_F(OAuthFlow, UserinfoFillsEmailWhenIdTokenHasNone) {
  make_google();
  with_idp([](FakeIdp& i) {
    i.claims_hook = [](json::object& c) {
      c.erase("email");
      c.erase("email_verified");
    };
    i.userinfo_hook = [](json::object& info) {
      info = {{"sub", "user-123"}, {"email", "ada@userinfo.example.com"}, {"email_verified", true}};
    };
  });
  auto r = run();
  ASSERT_TRUE(r.has_value()) << r.error().internal;
  EXPECT_EQ(r->email, "ada@userinfo.example.com");
  EXPECT_TRUE(r->email_verified);
  EXPECT_EQ(idp_.server().last("/userinfo").headers.at("authorization"), "Bearer at-1");
}

TEST_F(OAuthFlow, UserinfoWithDifferentSubIsRejected) {
  make_google();
  with_idp([](FakeIdp& i) {
    i.claims_hook = [](json::object& c) { c.erase("email"); };
    i.userinfo_hook = [](json::object& info) {
      info = {{"sub", "someone-else"}, {"email", "victim@example.com"}, {"email_verified", true}};
    };
  });
  auto r = run();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::Code::kOAuthIdTokenInvalid);
  EXPECT_THAT(r.error().internal, HasSubstr("userinfo_sub"));
}

TEST_F(OAuthFlow, AccessDeniedNeverCallsTokenEndpoint) {
  make_google();
  auto r = run("oauth_google", cb("code-1", "access_denied", "<script>alert(1)</script>\r\nX"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::Code::kOAuthAccessDenied);
  EXPECT_THAT(r.error().internal, ::testing::Not(HasSubstr("\r\n")));
  r = run("oauth_google", cb("code-1", "server_error"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::Code::kOAuthTokenExchangeFailed);
  EXPECT_EQ(idp_.server().count("/token"), 0);
}

TEST_F(OAuthFlow, MissingCodeNeverCallsTokenEndpoint) {
  make_google();
  auto r = run("oauth_google", cb(""));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::Code::kOAuthTokenExchangeFailed);
  EXPECT_EQ(idp_.server().count("/token"), 0);
}

TEST_F(OAuthFlow, CallbackIssMismatchRejectedBeforeTokenRequest) {
  make_google();
  auto r = run("oauth_google", cb("code-1", "", "", "https://evil.example.com"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::Code::kOAuthTokenExchangeFailed);
  EXPECT_THAT(r.error().internal, HasSubstr("issuer_mismatch"));
  EXPECT_EQ(idp_.server().count("/token"), 0);
  // The matching iss is accepted.
  EXPECT_TRUE(run("oauth_google", cb("code-1", "", "", idp_.base())).has_value());
}

TEST_F(OAuthFlow, CallbackWithoutIssRejectedWhenProviderAdvertisesIt) {
  make_google();
  with_idp([](FakeIdp& i) {
    i.discovery_hook = [](json::object& d) {
      d["authorization_response_iss_parameter_supported"] = true;
    };
  });
  auto r = run();
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().internal, HasSubstr("issuer_missing"));
  EXPECT_EQ(idp_.server().count("/token"), 0);
  EXPECT_TRUE(run("oauth_google", cb("code-1", "", "", idp_.base())).has_value());
}

TEST_F(OAuthFlow, TokenEndpointErrorsFailTheExchange) {
  make_google();
  const std::vector<Fault> bad = {
      Fault::raw(500, "application/json", R"({"error":"server_error"})"),
      Fault::raw(400, "application/json",
                 R"({"error":"invalid_grant","error_description":"code_verifier mismatch"})"),
      Fault::raw(200, "text/html", "<html>hello</html>"),
      Fault::raw(200, "application/json", R"(["array"])"),
      Fault::raw(200, "application/json",
                 R"({"access_token":"at","token_type":"Bearer"})"),  // no id_token
      Fault::raw(200, "application/json",
                 R"({"token_type":"Bearer","id_token":"x.y.z"})"),  // no access_token
      Fault::raw(200, "application/json",
                 R"({"access_token":"at","token_type":"mac","id_token":"x.y.z"})"),
  };
  for (const auto& resp : bad) {
    with_idp([resp](FakeIdp& i) { i.faults_["/token"] = resp; });
    auto r = run();
    ASSERT_FALSE(r.has_value()) << resp.body;
    EXPECT_EQ(r.error().code, core::Code::kOAuthTokenExchangeFailed) << resp.body;
  }
  EXPECT_EQ(idp_.server().count("/jwks"), 0);
}

TEST_F(OAuthFlow, SlowTokenEndpointTimesOut) {
  make_service({provider_config("oauth_google", idp_.base())}, std::chrono::milliseconds(300));
  with_idp([](FakeIdp& i) {
    i.faults_["/token"] =
        Fault::raw(200, "application/json", "{}", std::chrono::milliseconds(3000));
  });
  const auto start = std::chrono::steady_clock::now();
  auto r = run();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::Code::kOAuthProviderUnavailable);
  EXPECT_THAT(r.error().internal, HasSubstr("timeout"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(2000));
}

TEST_F(OAuthFlow, OversizedTokenResponseIsAbortedAtTheCap) {
  make_service({provider_config("oauth_google", idp_.base())}, std::chrono::milliseconds(3000),
               16 * 1024);
  with_idp([](FakeIdp& i) {
    i.faults_["/token"] = Fault::raw(200, "application/json",
                                     R"({"pad":")" + std::string(2 * 1024 * 1024, 'x') + R"("})");
  });
  auto r = run();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::Code::kOAuthProviderUnavailable);
  EXPECT_THAT(r.error().internal, HasSubstr("too large"));
}

TEST_F(OAuthFlow, DiscoveryIssuerMismatchRejectsTheConfiguration) {
  make_google();
  with_idp([](FakeIdp& i) {
    i.discovery_hook = [](json::object& d) { d["issuer"] = "https://accounts.evil.example.com"; };
  });
  auto r = service_->begin("oauth_google", kRedirect);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::Code::kOAuthProviderUnavailable);
  EXPECT_THAT(r.error().internal, HasSubstr("issuer mismatch"));
}

TEST_F(OAuthFlow, UnknownStrategyIsAParamError) {
  make_google();
  auto r = service_->begin("oauth_facebook", kRedirect);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::Code::kFormParamInvalid);
  EXPECT_EQ(service_->enabled_strategies(), std::vector<std::string>{"oauth_google"});
}

TEST_F(OAuthFlow, MicrosoftIssuerUsesTheTokensOwnTenant) {
  const std::string tid = "9188040d-6c67-4c5b-b112-36a304b66dad";
  make_service({provider_config("oauth_microsoft", idp_.base() + "/common/v2.0")});
  with_idp([&](FakeIdp& i) {
    i.discovery_hook = [tmpl = idp_.base() + "/{tenantid}/v2.0"](json::object& d) {
      d["issuer"] = tmpl;
    };
    i.token_issuer_ = idp_.base() + "/" + tid + "/v2.0";
    i.claims_hook = [tid](json::object& c) { c["tid"] = tid; };
  });
  auto r = run("oauth_microsoft");
  ASSERT_TRUE(r.has_value()) << r.error().internal;
  EXPECT_EQ(r->issuer, idp_.base() + "/" + tid + "/v2.0");
  EXPECT_EQ(r->provider, "microsoft");
  // nOAuth (catalog D6): an Entra tenant controls `email`, so it is never treated as verified.
  EXPECT_FALSE(r->email_verified);
  EXPECT_EQ(idp_.server().count("/common/v2.0/.well-known/openid-configuration"), 1);

  // Another tenant's issuer with this tid, or no tid at all: rejected.
  with_idp([&](FakeIdp& i) {
    i.token_issuer_ = idp_.base() + "/00000000-0000-0000-0000-000000000001/v2.0";
  });
  auto wrong = run("oauth_microsoft");
  ASSERT_FALSE(wrong.has_value());
  EXPECT_EQ(id_token_failure_reason(wrong.error()), "iss");
  with_idp([&](FakeIdp& i) { i.claims_hook = [](json::object& c) { c.erase("tid"); }; });
  auto no_tid = run("oauth_microsoft");
  ASSERT_FALSE(no_tid.has_value());
  EXPECT_EQ(id_token_failure_reason(no_tid.error()), "tid");
  // A literal template in iss is not a tenant.
  with_idp([&](FakeIdp& i) {
    i.token_issuer_ = idp_.base() + "/{tenantid}/v2.0";
    i.claims_hook = [](json::object& c) { c["tid"] = "{tenantid}"; };
  });
  EXPECT_FALSE(run("oauth_microsoft").has_value());
}

TEST_F(OAuthFlow, GithubHappyPathUsesPrimaryVerifiedEmail) {
  make_service({github_config(idp_.base())});
  auto req = service_->begin("oauth_github", kRedirect);
  ASSERT_TRUE(req.has_value());
  EXPECT_TRUE(opened(*req, "oauth_github").nonce.empty());
  EXPECT_EQ(query_params(req->authorization_url).at("scope"), "read%3Auser+user%3Aemail");
  auto r = run("oauth_github");
  ASSERT_TRUE(r.has_value()) << r.error().internal;
  EXPECT_EQ(r->provider, "github");
  EXPECT_EQ(r->provider_user_id, "583231");
  EXPECT_EQ(r->username, "octocat");
  EXPECT_EQ(r->email, "octo@example.com");
  EXPECT_TRUE(r->email_verified);
  EXPECT_EQ(r->first_name, "The");
  EXPECT_EQ(r->last_name, "Octocat");
  EXPECT_EQ(r->image_url, "https://avatars.example.com/u/583231");
  EXPECT_EQ(r->approved_scopes, "read:user user:email");
  EXPECT_EQ(r->access_token.reveal(), "gho_abc");
  EXPECT_EQ(idp_.server().last("/api/user").headers.at("authorization"), "Bearer gho_abc");
  const auto form = query_params("?" + idp_.server().last("/login/oauth/access_token").body);
  EXPECT_EQ(form.at("code_verifier"), last_pending_.code_verifier.reveal());
}

TEST_F(OAuthFlow, GithubEmailUnverifiedUnlessPrimaryAndVerified) {
  make_service({github_config(idp_.base())});
  const std::vector<std::string> unverified = {
      R"([{"email":"octo@example.com","primary":true,"verified":false}])",
      R"([{"email":"other@example.com","primary":false,"verified":true},)"
      R"({"email":"octo@example.com","primary":true,"verified":false}])",
      R"([{"email":"other@example.com","primary":false,"verified":true}])",
      R"([])",
  };
  for (const auto& emails : unverified) {
    with_idp([&](FakeIdp& i) {
      i.github_emails = [emails](const IdpUser&) { return json::parse(emails); };
    });
    auto r = run("oauth_github");
    ASSERT_TRUE(r.has_value()) << r.error().internal;
    EXPECT_FALSE(r->email_verified) << emails;
    EXPECT_NE(r->email, "other@example.com") << emails;
  }
}

TEST_F(OAuthFlow, GithubEmailsFailureFailsClosed) {
  make_service({github_config(idp_.base())});
  with_idp([](FakeIdp& i) {
    i.faults_["/api/user/emails"] = Fault::raw(500, "application/json", "[]");
  });
  auto r = run("oauth_github");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::Code::kOAuthProviderUnavailable);
}

TEST_F(OAuthFlow, GithubTokenErrorWith200IsAFailure) {
  make_service({github_config(idp_.base())});
  with_idp([](FakeIdp& i) {
    i.faults_["/login/oauth/access_token"] =
        Fault::raw(200, "application/json", R"({"error":"bad_verification_code"})");
  });
  auto r = run("oauth_github");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::Code::kOAuthTokenExchangeFailed);
  EXPECT_EQ(idp_.server().count("/api/user"), 0);
}

TEST(OAuthProviderCatalog, DefaultsAndValidation) {
  ProviderSettings c;
  c.strategy = "oauth_google";
  c.client_id = "id";
  auto g = make_provider(c);
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->issuer, "https://accounts.google.com");
  EXPECT_EQ(g->provider, "google");
  EXPECT_EQ(g->scopes, (std::vector<std::string>{"openid", "email", "profile"}));

  c.strategy = "oauth_microsoft";
  auto m = make_provider(c);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->issuer_template, "https://login.microsoftonline.com/{tenantid}/v2.0");

  c.strategy = "oauth_github";
  auto gh = make_provider(c);
  ASSERT_TRUE(gh.has_value());
  EXPECT_EQ(gh->kind, ProviderKind::kGithub);
  EXPECT_EQ(gh->api_base, "https://api.github.com");

  c.strategy = "oauth_custom_acme";
  EXPECT_FALSE(make_provider(c).has_value());  // custom needs an issuer
  c.issuer = "https://idp.acme.example";
  auto custom = make_provider(c);
  ASSERT_TRUE(custom.has_value());
  EXPECT_EQ(custom->provider, "custom_acme");

  c.issuer = "http://idp.acme.example";  // plain http off-box
  EXPECT_FALSE(make_provider(c).has_value());
  c.issuer = "https://idp.acme.example";
  c.token_auth_method = "private_key_jwt";
  EXPECT_FALSE(make_provider(c).has_value());
  c.token_auth_method = "client_secret_post";
  c.strategy = "oauth_facebook";
  EXPECT_FALSE(make_provider(c).has_value());
  c.strategy = "oauth_custom_Bad/Name";
  EXPECT_FALSE(make_provider(c).has_value());
  c.strategy = "oauth_google";
  c.client_id.clear();
  EXPECT_FALSE(make_provider(c).has_value());
}

TEST(OAuthProviderCatalog, EndpointRules) {
  EXPECT_TRUE(is_acceptable_endpoint("https://accounts.google.com/o/oauth2/v2/auth"));
  EXPECT_TRUE(is_acceptable_endpoint("http://127.0.0.1:8080/token"));
  EXPECT_TRUE(is_acceptable_endpoint("http://localhost/token"));
  EXPECT_TRUE(is_acceptable_endpoint("http://[::1]:9/token"));
  EXPECT_FALSE(is_acceptable_endpoint("http://example.com/token"));
  EXPECT_FALSE(is_acceptable_endpoint("https://user:pw@example.com/token"));
  EXPECT_FALSE(is_acceptable_endpoint("https://example.com/token#frag"));
  EXPECT_FALSE(is_acceptable_endpoint("/relative"));
  EXPECT_FALSE(is_acceptable_endpoint("file:///etc/passwd"));
  EXPECT_FALSE(is_acceptable_endpoint("javascript:alert(1)"));
}

TEST(OAuthFormEncoding, EncodesReservedCharacters) {
  EXPECT_EQ(form_urlencode("a b+c/d:e~f_g.h-i%"), "a+b%2Bc%2Fd%3Ae~f_g.h-i%25");
  EXPECT_EQ(form_encode({{"a", "1"}, {"b c", "&="}}), "a=1&b+c=%26%3D");
}

TEST(OAuthHttpClient, ConnectionRefusedIsProviderUnavailable) {
  // Bind then close a port so nothing listens there.
  std::string url;
  {
    FakeHttpServer s([](const FakeRequest&) { return FakeResponse{}; });
    url = s.base_url() + "/token";
  }
  auto http = make_curl_http_client();
  HttpRequest req;
  req.url = url;
  req.timeout = std::chrono::milliseconds(1000);
  auto r = http->send(req);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::Code::kOAuthProviderUnavailable);
}

TEST(OAuthHttpClient, DoesNotFollowRedirectsOrSpeakOtherProtocols) {
  FakeHttpServer s([](const FakeRequest& r) {
    if (r.path == "/redirect") {
      return FakeResponse{302, "text/plain", "moved", std::chrono::milliseconds(0),
                          "Location: /elsewhere\r\n"};
    }
    return FakeResponse{200, "application/json", "{}"};
  });
  auto http = make_curl_http_client();
  HttpRequest req;
  req.url = s.base_url() + "/redirect";
  auto r = http->send(req);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 302);
  EXPECT_EQ(s.count("/elsewhere"), 0);
  req.url = "file:///etc/passwd";
  EXPECT_FALSE(http->send(req).has_value());
  req.url = "ftp://127.0.0.1/";
  EXPECT_FALSE(http->send(req).has_value());
}

}  // namespace
}  // namespace latchkey::oauth
