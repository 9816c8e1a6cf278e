// Catalog §2.E: session tokens and cookies. Latchkey issues session JWTs (apps verify them with our
// JWKS); it accepts only the __client cookie as proof, never a JWT, __session or __client_uat.
// E1-E7 therefore check (a) what we mint and publish, (b) that our JOSE layer - the one a
// verifier in this code base uses - refuses the forged shapes, (c) that FAPI ignores them.
#include "crypto/jws.hpp"
#include "sec_fixture.hpp"

namespace latchkey::sec {
namespace {

std::string jwt(const json::object& header, const json::object& claims, const std::string& sig) {
  return b64(json::serialize(header)) + "." + b64(json::serialize(claims)) + "." + b64(sig);
}

json::object claims_of(const std::string& token) {
  const auto a = token.find('.');
  const auto b = token.find('.', a + 1);
  return json::parse(*core::base64url_decode(token.substr(a + 1, b - a - 1))).as_object();
}

// Another instance: own data dir, own keys, own issuer.
struct Other {
  it::TempDir dir;
  std::unique_ptr<it::Server> server;
  explicit Other(const it::EnvVars& provider) {
    it::EnvVars env = provider;
    env.emplace_back("LATCHKEY_RATELIMIT_ENABLED", "false");
    server = std::make_unique<it::Server>(
        it::ServerOptions{.env = env, .fixed_port = true, .fast_keys = true, .data_dir = &dir});
  }
};

// A signed-in browser and one minted token.
struct SignedIn {
  std::string session;
  std::string token;
};
SignedIn sign_in(Sec& t, Browser& b) {
  SignedIn s;
  s.session = t.sign_up_user(b, User{});
  auto r = b.post("/__clerk/v1/client/sessions/" + s.session + "/tokens");
  EXPECT_EQ(r.status, 200) << r.body;
  s.token = it::str(r.json(), "jwt");
  return s;
}

// FAPI must not treat a forged JWT (as bearer or __session) as authentication.
void expect_fapi_ignores(int port, const std::string& origin, const std::string& token) {
  it::HttpRequest g;
  g.target = kClientPath;
  g.headers = {{"Authorization", "Bearer " + token}, {"Cookie", "__session=" + token}};
  auto r = it::http_request(port, g);
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(it::at(r.json(), "response").is_null()) << r.body;
  it::HttpRequest p;
  p.method = "POST";
  p.target = "/__clerk/v1/client/sessions/sess_x/tokens";
  p.headers = {
      {"Authorization", "Bearer " + token}, {"Cookie", "__session=" + token}, {"Origin", origin}};
  auto m = it::http_request(port, p);
  EXPECT_TRUE(m.status == 401 || m.status == 404) << m.raw;
  EXPECT_EQ(m.body.find("\"jwt\""), std::string::npos);
}

TEST_F(Sec, E1_alg_none_session_token) {
  start();
  const json::object claims{{"sub", "user_x"}, {"sid", "sess_x"}, {"exp", 4102444800}};
  for (const std::string& alg : std::vector<std::string>{"none", "None", "NONE"}) {
    const std::string t = jwt({{"alg", alg}, {"typ", "JWT"}}, claims, "");
    EXPECT_FALSE(crypto::decode_jws(t)) << alg;
    expect_fapi_ignores(server->port(), origin(), t);
  }
}

TEST_F(Sec, E2_hs256_with_our_public_key_as_secret) {
  start();
  auto jwks = it::http_get(server->port(), "/.well-known/jwks.json");
  ASSERT_EQ(jwks.status, 200);
  const auto keys = jwks.json();
  for (const auto& k : keys.at("keys").as_array()) {
    EXPECT_NE(it::str(k, "kty"), "oct") << "a symmetric key is published";
  }
  // HS256 keyed with the published JWK text: the alg is not even a value our JOSE layer knows.
  const std::string t = jwt({{"alg", "HS256"}, {"kid", it::str(jwks.json(), "keys.0.kid")}},
                            {{"sub", "user_x"}}, "mac-with-public-key");
  EXPECT_FALSE(crypto::decode_jws(t));
  expect_fapi_ignores(server->port(), origin(), t);
}

TEST_F(Sec, E3_minted_token_lifetime_and_leeway_claims) {
  start();
  Browser b = browser();
  auto s = sign_in(*this, b);
  auto c = claims_of(s.token);
  EXPECT_EQ(c.at("exp").to_number<std::int64_t>() - c.at("iat").to_number<std::int64_t>(), 60);
  ASSERT_TRUE(c.contains("nbf"));
  EXPECT_LE(c.at("nbf").to_number<std::int64_t>(), c.at("iat").to_number<std::int64_t>());
  // nbf = iat - 10 s: verifiers with a few seconds of skew accept a fresh token.
  EXPECT_GE(c.at("nbf").to_number<std::int64_t>(), c.at("iat").to_number<std::int64_t>() - 10);
  EXPECT_EQ(it::str(json::value(c), "sid"), s.session);
}

TEST_F(Sec, E4_hostile_kid_values) {
  start();
  for (const std::string& kid : std::vector<std::string>{"unknown", "../../etc/passwd",
                                                         "x' OR '1'='1", std::string("a\0b", 3)}) {
    const std::string t = jwt({{"alg", "RS256"}, {"kid", kid}}, {{"sub", "user_x"}}, "sig");
    expect_fapi_ignores(server->port(), origin(), t);
  }
  EXPECT_EQ(it::http_get(server->port(), "/healthz").status, 200);
}

TEST_F(Sec, E5_token_of_another_instance) {
  start();
  Browser b = browser();
  auto s = sign_in(*this, b);
  // A second instance (own data dir, own keys): our token's kid is not in its JWKS, iss differs.
  Other other(idp->google_env());
  const std::string kid = [&] {
    const auto h = json::parse(*core::base64url_decode(s.token.substr(0, s.token.find('.'))));
    return it::str(h, "kid");
  }();
  auto jwks = it::http_get(other.server->port(), "/.well-known/jwks.json");
  EXPECT_EQ(jwks.body.find(kid), std::string::npos);
  EXPECT_NE(it::str(json::value(claims_of(s.token)), "iss"), other.server->origin() + "/__clerk");
  expect_fapi_ignores(other.server->port(), other.server->origin(), s.token);
}

TEST_F(Sec, E6_azp_only_from_allowed_origins) {
  start();
  Browser b = browser();
  auto s = sign_in(*this, b);
  EXPECT_EQ(it::str(json::value(claims_of(s.token)), "azp"), origin());
  // A foreign origin cannot have a token minted with its azp.
  b.origin_header = "https://evil.example";
  auto r = b.post("/__clerk/v1/client/sessions/" + s.session + "/tokens");
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(r.body.find("\"jwt\""), std::string::npos);
}

TEST_F(Sec, E7_nbf_in_the_future_never_minted) {
  start();
  Browser b = browser();
  auto s = sign_in(*this, b);
  const auto now = static_cast<std::int64_t>(std::time(nullptr));
  EXPECT_LE(claims_of(s.token).at("nbf").to_number<std::int64_t>(), now + 1);
  const std::string t = jwt({{"alg", "RS256"}}, {{"sub", "u"}, {"nbf", now + 60}}, "sig");
  expect_fapi_ignores(server->port(), origin(), t);
}

TEST_F(Sec, E8_revoked_session_refresh_refused) {
  start();
  Browser b = browser();
  auto s = sign_in(*this, b);
  ASSERT_EQ(b.post("/__clerk/v1/client/sessions?_method=DELETE").status, 200);
  auto r = b.post("/__clerk/v1/client/sessions/" + s.session + "/tokens");
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_EQ(r.body.find("\"jwt\""), std::string::npos);
}

TEST_F(Sec, E9_tampered_client_cookie) {
  start();
  Browser b = browser();
  sign_in(*this, b);
  const std::string real = *b.cookie("__client");
  for (const std::string& bad : std::vector<std::string>{
           real.substr(0, real.size() - 1), real + "x", std::string("%%%garbage"),
           std::string(255, 'A'), std::string(300, 'B')}) {
    Browser t = browser();
    t.set_cookie("__client", bad);
    auto r = t.get(kClientPath);
    EXPECT_EQ(r.status, 200) << r.raw;
    EXPECT_TRUE(it::at(r.json(), "response").is_null()) << r.body;
  }
  // Control characters never get past the HTTP parser (400), and nothing about the client leaks.
  Browser t = browser();
  t.set_cookie("__client", std::string("\x01\x02"));
  auto r = t.get(kClientPath);
  EXPECT_EQ(r.status, 400) << r.raw;
  EXPECT_EQ(r.body.find(real), std::string::npos);
}

TEST_F(Sec, E10_cookie_of_another_instance_and_db_jwt) {
  start();
  Browser b = browser();
  sign_in(*this, b);
  Other other(idp->google_env());
  Browser o(*other.server);
  o.set_cookie("__client", *b.cookie("__client"));
  EXPECT_TRUE(o.client().is_null());
  auto r = o.get(std::string(kClientPath) + "?__clerk_db_jwt=" + *b.cookie("__client"));
  EXPECT_TRUE(it::at(r.json(), "response").is_null());
}

TEST_F(Sec, E13_forged_client_uat) {
  start();
  Browser b = browser();
  b.set_cookie("__client_uat", std::to_string(std::time(nullptr)));
  EXPECT_TRUE(b.client().is_null());
}

TEST_F(Sec, E14_handshake_redirect_to_foreign_origin) {
  start();
  // Both forms of the handshake (the JWT and the nonce @clerk/backend asks for) check the
  // redirect against the same allow-list as every redirect: no Location, no cookie, the envelope.
  for (const char* format : {"token", "nonce"}) {
    auto r = it::http_get(
        server->port(),
        "/__clerk/v1/client/handshake?" +
            it::form_encode({{"redirect_url", "https://evil.com/"}, {"format", format}}));
    EXPECT_EQ(r.status, 422) << r.raw;
    EXPECT_EQ(it::str(it::error_of(r), "meta.param_name"), "redirect_url") << r.raw;
    EXPECT_FALSE(r.header("location")) << "never an open redirect";
    EXPECT_TRUE(r.all("set-cookie").empty());
  }
}

TEST_F(Sec, E18_oversized_tokens) {
  start();
  it::HttpRequest req;
  req.target = kClientPath;
  req.headers = {{"Cookie", "__client=" + std::string(1024 * 1024, 'a')}};
  // Refused by the header cap before any parsing: 431 in Clerk's envelope (RFC 6585 §5).
  auto r = it::http_request(server->port(), req);
  EXPECT_EQ(r.status, 431) << r.raw.substr(0, 200);
  EXPECT_EQ(it::str(it::error_of(r), "code"), "request_headers_too_large");
  req.headers = {{"Authorization", "Bearer " + std::string(64 * 1024, 'a')}};
  const auto r2 = it::http_request(server->port(), req);
  EXPECT_EQ(r2.status, 431) << r2.raw.substr(0, 200);
  EXPECT_EQ(it::http_get(server->port(), "/healthz").status, 200);
}

TEST_F(Sec, E19_cookie_attributes) {
  // https public URL (TLS terminated in front of us): the cookie is Secure.
  const int port = it::free_port();
  start({{"LATCHKEY_SERVER_LISTEN", "127.0.0.1:" + std::to_string(port)},
         {"LATCHKEY_SERVER_PUBLIC_URL", "https://127.0.0.1:" + std::to_string(port)}});
  Browser b = browser();
  b.origin_header = "https://127.0.0.1:" + std::to_string(port);
  auto r = start_sign_in(b);
  ASSERT_EQ(r.status, 200) << r.body;
  // On https the name carries the __Host- prefix: the browser accepts it only from this host,
  // Secure, Path=/, without Domain, so a sibling subdomain cannot plant one (session fixation).
  EXPECT_FALSE(set_cookie_named(r, "__client"));
  const auto c = set_cookie_named(r, "__Host-__client");
  ASSERT_TRUE(c) << r.raw;
  std::string lc = *c;
  for (auto& ch : lc) {
    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  EXPECT_NE(lc.find("; httponly"), std::string::npos) << *c;
  EXPECT_NE(lc.find("; secure"), std::string::npos) << *c;
  EXPECT_NE(lc.find("; samesite=lax"), std::string::npos) << *c;
  EXPECT_NE(lc.find("; path=/"), std::string::npos) << *c;
  EXPECT_EQ(lc.find("domain="), std::string::npos) << "never Domain-widened: " << *c;
  EXPECT_LE(c->size(), 4096U);
  EXPECT_TRUE(set_cookie_named(r, "__session") == std::nullopt);
  // The session token never travels in a URL.
  EXPECT_EQ(auth_url_of(r).find("__session"), std::string::npos);
}

}  // namespace
}  // namespace latchkey::sec
