// The Frontend API of the running binary, driven the way the Clerk SDK drives it (issue 3;
// shared/fapi/README.md §2): form bodies, `_method` overrides, the __client cookie, a real
// OpenID round trip against an in-test provider, and hostile or malformed input that must be
// refused without changing anything.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "core/base64.hpp"
#include "crypto/jwk.hpp"
#include "crypto/jws.hpp"
#include "support/harness.hpp"

namespace latchkey::it {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using Form = std::vector<std::pair<std::string, std::string>>;

constexpr const char* kSignIns = "/__clerk/v1/client/sign_ins";
constexpr const char* kSignUps = "/__clerk/v1/client/sign_ups";

std::string session_path(const std::string& id, const std::string& action) {
  return "/__clerk/v1/client/sessions/" + id + "/" + action;
}

std::vector<std::string> session_ids(const json::value& client) {
  std::vector<std::string> out;
  if (const auto& ss = at(client, "sessions"); ss.is_array()) {
    for (const auto& s : ss.as_array()) {
      out.push_back(str(s, "id"));
    }
  }
  return out;
}

class Fapi : public ::testing::Test {
 protected:
  // fast_keys: ES256 session keys (no RSA generation at start); tests about the token itself keep
  // the default RS256.
  void start(EnvVars extra = {}, bool fast_keys = true) {
    EnvVars env = idp.google_env();
    env.emplace_back("LATCHKEY_LOGGING_ACCESS_LOG", "true");
    env.insert(env.end(), extra.begin(), extra.end());
    server = std::make_unique<Server>(
        ServerOptions{.env = env, .fixed_port = true, .fast_keys = fast_keys});
  }

  [[nodiscard]] std::string origin() const { return server->origin(); }
  [[nodiscard]] std::string callback_uri() const { return origin() + "/__clerk/v1/oauth_callback"; }
  Browser browser() { return Browser(*server); }

  // signIn.sso(): POST /client/sign_ins as the SDK sends it (README §2.A).
  HttpResponse start_sign_in(Browser& b, const std::string& redirect_url = "/sso-callback") {
    return b.post(kSignIns, {{"strategy", "oauth_google"},
                             {"redirect_url", redirect_url},
                             {"action_complete_redirect_url", origin() + "/sign-in/tasks"},
                             {"locale", "en-US"},
                             {"timezone", "UTC"}});
  }

  // The provider round trip of the sign-in just started: the user approves, the browser follows
  // the redirect back to the callback with its cookie.
  HttpResponse round_trip(Browser& b, const HttpResponse& started, const IdpUser& user) {
    const std::string url = str(
        started.json(), "response.first_factor_verification.external_verification_redirect_url");
    auto grant = idp.authorize(url, user, callback_uri());
    return b.get("/__clerk/v1/oauth_callback?" +
                 form_encode({{"code", grant.code}, {"state", grant.state}}));
  }

  HttpResponse round_trip_url(Browser& b, const std::string& url, const IdpUser& user) {
    auto grant = idp.authorize(url, user, callback_uri());
    return b.get("/__clerk/v1/oauth_callback?" +
                 form_encode({{"code", grant.code}, {"state", grant.state}}));
  }

  struct SignedIn {
    std::string session_id;
    std::string user_id;
  };

  // A new user: sign-in → transferable → signUp.create({transfer:true}) → complete.
  SignedIn sign_up_new_user(Browser& b, const IdpUser& user) {
    auto started = start_sign_in(b);
    EXPECT_EQ(started.status, 200) << started.body;
    auto cb = round_trip(b, started, user);
    EXPECT_EQ(cb.status, 303) << cb.raw;
    auto su = b.post(kSignUps, {{"transfer", "true"}, {"locale", "en-US"}, {"timezone", "UTC"}});
    EXPECT_EQ(su.status, 200) << su.body;
    auto j = su.json();
    EXPECT_EQ(str(j, "response.status"), "complete") << su.body;
    return {str(j, "response.created_session_id"), str(j, "response.created_user_id")};
  }

  FakeIdp idp;
  std::unique_ptr<Server> server;
};

std::optional<std::string> client_cookie_header(const HttpResponse& r) {
  for (const auto& c : r.all("set-cookie")) {
    if (c.starts_with("__client=")) {
      return c;
    }
  }
  return std::nullopt;
}

// ---- the happy paths ----------------------------------------------------------------------------

// The shared objects a process has mapped (/proc/<pid>/maps), by file name.
std::set<std::string> mapped_libraries(pid_t pid) {
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  std::set<std::string> out;
  std::string line;
  while (std::getline(maps, line)) {
    const auto slash = line.rfind('/');
    if (slash != std::string::npos && line.find(".so", slash) != std::string::npos) {
      out.insert(line.substr(slash + 1));
    }
  }
  return out;
}

bool maps_library(const std::set<std::string>& libs, std::string_view prefix) {
  return std::any_of(libs.begin(), libs.end(),
                     [&](const std::string& l) { return l.starts_with(prefix); });
}

// libcurl and libpq are loaded on first use (core/shared_library.hpp, docs/deployment.md): a node
// on SQLite never maps libpq, and maps libcurl (with GnuTLS, Kerberos, LDAP, ...) only once a
// provider is called; the flow then works as before.
TEST_F(Fapi, LibcurlIsLoadedOnFirstProviderCallAndLibpqNeverOnSqlite) {
  start({}, /*fast_keys=*/true);
  Browser b = browser();
  ASSERT_TRUE(b.client().is_null());
  const auto idle = mapped_libraries(server->child().pid());
  ASSERT_TRUE(maps_library(idle, "libc.so")) << "reading /proc/<pid>/maps failed";
  EXPECT_FALSE(maps_library(idle, "libcurl")) << "libcurl mapped before any provider call";
  EXPECT_FALSE(maps_library(idle, "libgnutls"));
  EXPECT_FALSE(maps_library(idle, "libpq"));

  auto started = start_sign_in(b);
  ASSERT_EQ(started.status, 200) << started.body;
  auto cb = round_trip(b, started, IdpUser{});
  ASSERT_EQ(cb.status, 303) << cb.raw;
  EXPECT_EQ(idp.token_calls(), 1);
  const auto after = mapped_libraries(server->child().pid());
  EXPECT_TRUE(maps_library(after, "libcurl")) << "the token exchange ran without libcurl?";
  EXPECT_FALSE(maps_library(after, "libpq"));
  EXPECT_EQ(str(b.client(), "sign_in.first_factor_verification.status"), "transferable");
}

TEST_F(Fapi, NewUserSignInTransfersToSignUpAndGetsAVerifiableSessionToken) {
  start({}, /*fast_keys=*/false);
  Browser b = browser();
  EXPECT_TRUE(b.client().is_null());

  auto started = start_sign_in(b);
  ASSERT_EQ(started.status, 200) << started.body;
  auto sj = started.json();
  EXPECT_EQ(str(sj, "response.object"), "sign_in");
  EXPECT_EQ(str(sj, "response.status"), "needs_first_factor");
  EXPECT_EQ(str(sj, "response.first_factor_verification.status"), "unverified");
  EXPECT_EQ(str(sj, "response.first_factor_verification.strategy"), "oauth_google");
  const std::string auth_url =
      str(sj, "response.first_factor_verification.external_verification_redirect_url");
  EXPECT_THAT(auth_url, StartsWith(idp.issuer() + "/authorize?"));
  EXPECT_EQ(str(sj, "client.sign_in.id"), str(sj, "response.id"));
  // The first mutation creates the client and sets its cookie (README §2.A, design.md §4).
  auto cookie = client_cookie_header(started);
  ASSERT_TRUE(cookie.has_value());
  EXPECT_THAT(*cookie, HasSubstr("HttpOnly"));
  EXPECT_THAT(*cookie, HasSubstr("SameSite=Lax"));
  EXPECT_THAT(*cookie, HasSubstr("Path=/"));
  EXPECT_THAT(*cookie, Not(HasSubstr("Secure")));  // public URL is http

  auto cb = round_trip(b, started, IdpUser{});
  ASSERT_EQ(cb.status, 303) << cb.raw;
  // The relative redirect_url, made absolute against the request's origin.
  EXPECT_EQ(cb.header("location"), origin() + "/sso-callback");
  EXPECT_EQ(idp.token_calls(), 1);
  EXPECT_THAT(idp.violations(), ::testing::IsEmpty());

  auto client = b.client();
  EXPECT_EQ(str(client, "sign_in.first_factor_verification.status"), "transferable");
  EXPECT_EQ(str(client, "sign_in.first_factor_verification.error.code"),
            "external_account_not_found");
  EXPECT_TRUE(session_ids(client).empty());

  auto su = b.post(kSignUps, {{"transfer", "true"}, {"locale", "en-US"}, {"timezone", "UTC"}});
  ASSERT_EQ(su.status, 200) << su.body;
  auto suj = su.json();
  EXPECT_EQ(str(suj, "response.object"), "sign_up");
  EXPECT_EQ(str(suj, "response.status"), "complete");
  const std::string sid = str(suj, "response.created_session_id");
  const std::string uid = str(suj, "response.created_user_id");
  ASSERT_FALSE(sid.empty()) << su.body;
  ASSERT_FALSE(uid.empty()) << su.body;
  ASSERT_EQ(session_ids(at(suj, "client")), std::vector<std::string>{sid});
  EXPECT_EQ(str(suj, "client.sessions.0.user.id"), uid);
  EXPECT_EQ(str(suj, "client.sessions.0.user.first_name"), "Ada");
  EXPECT_EQ(str(suj, "client.sessions.0.user.last_name"), "Lovelace");
  EXPECT_EQ(str(suj, "client.sessions.0.user.email_addresses.0.email_address"), "ada@example.com");
  EXPECT_EQ(str(suj, "client.sessions.0.status"), "active");

  auto touch = b.post(session_path(sid, "touch"),
                      {{"active_organization_id", ""}, {"intent", "select_session"}});
  ASSERT_EQ(touch.status, 200) << touch.body;
  EXPECT_EQ(str(touch.json(), "response.id"), sid);
  EXPECT_EQ(str(touch.json(), "client.last_active_session_id"), sid);
  EXPECT_EQ(str(b.client(), "last_active_session_id"), sid);

  auto tok =
      b.post(session_path(sid, "tokens"), {{"organization_id", ""}, {"tab_state", "focused"}});
  ASSERT_EQ(tok.status, 200) << tok.body;
  EXPECT_EQ(str(tok.json(), "object"), "token");
  const std::string jwt = str(tok.json(), "jwt");
  ASSERT_FALSE(jwt.empty());

  // The backend's view (README §3.7): RS256 by a key of the served JWKS.
  auto jwks = crypto::parse_jwks(http_get(server->port(), "/v1/jwks").body);
  ASSERT_TRUE(jwks.has_value());
  auto jws = crypto::decode_jws(jwt);
  ASSERT_TRUE(jws.has_value()) << jwt;
  EXPECT_EQ(jws->alg, crypto::Alg::kRS256);
  EXPECT_EQ(str(json::value(jws->header), "typ"), "JWT");
  ASSERT_TRUE(jws->kid.has_value());
  bool verified = false;
  for (const auto& k : *jwks) {
    if (k.kid == *jws->kid) {
      verified = crypto::verify_signature(k.key, jws->alg, jws->signing_input, jws->signature);
    }
  }
  EXPECT_TRUE(verified) << "token not verifiable with the served JWKS";
  auto claims = json::parse(jws->payload);
  EXPECT_EQ(str(claims, "sid"), sid);
  EXPECT_EQ(str(claims, "sub"), uid);
  EXPECT_EQ(str(claims, "iss"), origin() + "/__clerk");
  EXPECT_EQ(str(claims, "azp"), origin());
  EXPECT_EQ(num(claims, "exp") - num(claims, "iat"), 60);
  EXPECT_TRUE(at(claims, "nbf").is_number());
  EXPECT_LE(num(claims, "nbf"), num(claims, "iat"));
  EXPECT_EQ(num(claims, "v"), 2);
  EXPECT_TRUE(at(claims, "fva").is_array());
  const auto now = static_cast<std::int64_t>(std::time(nullptr));
  EXPECT_NEAR(static_cast<double>(num(claims, "iat")), static_cast<double>(now), 30.0);
}

TEST_F(Fapi, ReturningUserSignsInDirectlyAsTheSameUser) {
  start();
  Browser first = browser();
  auto created = sign_up_new_user(first, IdpUser{});
  ASSERT_FALSE(created.user_id.empty());

  Browser second = browser();
  auto started = start_sign_in(second);
  ASSERT_EQ(started.status, 200);
  auto cb = round_trip(second, started, IdpUser{});
  ASSERT_EQ(cb.status, 303) << cb.raw;
  auto client = second.client();
  EXPECT_EQ(str(client, "sign_in.status"), "complete") << json::serialize(client);
  EXPECT_EQ(str(client, "sign_in.first_factor_verification.status"), "verified");
  const std::string sid = str(client, "sign_in.created_session_id");
  ASSERT_FALSE(sid.empty());
  EXPECT_EQ(session_ids(client), std::vector<std::string>{sid});
  EXPECT_EQ(str(client, "sessions.0.user.id"), created.user_id);
  EXPECT_EQ(at(client, "sessions.0.user.email_addresses").as_array().size(), 1U);
  EXPECT_NE(sid, created.session_id);
  // The finalize step of the SDK.
  auto touch = second.post(session_path(sid, "touch"), {{"intent", "select_session"}});
  EXPECT_EQ(touch.status, 200) << touch.body;
  EXPECT_EQ(second.post(session_path(sid, "tokens")).status, 200);
}

TEST_F(Fapi, SignInWhileSignedInReportsIdentifierAlreadySignedIn) {
  start();
  Browser b = browser();
  auto created = sign_up_new_user(b, IdpUser{});
  auto started = start_sign_in(b);
  ASSERT_EQ(started.status, 200) << started.body;
  auto cb = round_trip(b, started, IdpUser{});
  ASSERT_EQ(cb.status, 303) << cb.raw;
  auto client = b.client();
  EXPECT_EQ(str(client, "sign_in.first_factor_verification.status"), "failed");
  EXPECT_EQ(str(client, "sign_in.first_factor_verification.error.code"),
            "identifier_already_signed_in");
  EXPECT_EQ(str(client, "sign_in.first_factor_verification.error.meta.session_id"),
            created.session_id);
  EXPECT_EQ(session_ids(client), std::vector<std::string>{created.session_id});
}

TEST_F(Fapi, MissingRequiredFieldsThenPatchCompletesTheSignUp) {
  start({{"LATCHKEY_FRONTEND_REQUIRED_FIELDS", "first_name,last_name"}});
  Browser b = browser();
  IdpUser nameless;
  nameless.sub = "nameless-1";
  nameless.email = "newbie@example.com";
  nameless.given_name.clear();
  nameless.family_name.clear();
  auto started = start_sign_in(b);
  ASSERT_EQ(round_trip(b, started, nameless).status, 303);
  auto su = b.post(kSignUps, {{"transfer", "true"}});
  ASSERT_EQ(su.status, 200) << su.body;
  auto j = su.json();
  EXPECT_EQ(str(j, "response.status"), "missing_requirements");
  std::set<std::string> missing;
  for (const auto& f : at(j, "response.missing_fields").as_array()) {
    missing.insert(std::string(f.as_string()));
  }
  EXPECT_EQ(missing, (std::set<std::string>{"first_name", "last_name"}));
  EXPECT_TRUE(at(j, "response.created_session_id").is_null());
  EXPECT_TRUE(session_ids(at(j, "client")).empty());
  const std::string sua = str(j, "response.id");
  EXPECT_EQ(str(b.client(), "sign_up.id"), sua);

  auto patch = b.post(std::string(kSignUps) + "/" + sua + "?_method=PATCH",
                      {{"first_name", "Grace"}, {"last_name", "Hopper"}});
  ASSERT_EQ(patch.status, 200) << patch.body;
  auto pj = patch.json();
  EXPECT_EQ(str(pj, "response.status"), "complete");
  const std::string sid = str(pj, "response.created_session_id");
  ASSERT_FALSE(sid.empty());
  EXPECT_EQ(session_ids(at(pj, "client")), std::vector<std::string>{sid});
  EXPECT_EQ(str(pj, "client.sessions.0.user.first_name"), "Grace");
  EXPECT_EQ(str(pj, "client.sessions.0.user.last_name"), "Hopper");
}

// ---- provider errors, replay, cross-client state ----------------------------------------------

TEST_F(Fapi, ProviderAccessDeniedFailsTheVerificationWithoutCallingTheTokenEndpoint) {
  start();
  Browser b = browser();
  auto started = start_sign_in(b);
  ASSERT_EQ(started.status, 200);
  const auto q = query_params(
      str(started.json(), "response.first_factor_verification.external_verification_redirect_url"));
  auto cb = b.get("/__clerk/v1/oauth_callback?" +
                  form_encode({{"error", "access_denied"},
                               {"error_description", "The user denied access"},
                               {"state", q.at("state")}}));
  EXPECT_EQ(cb.status, 303) << cb.raw;
  EXPECT_EQ(cb.header("location"), origin() + "/sso-callback");
  auto client = b.client();
  EXPECT_EQ(str(client, "sign_in.first_factor_verification.status"), "failed");
  EXPECT_EQ(str(client, "sign_in.first_factor_verification.error.code"), "oauth_access_denied");
  EXPECT_TRUE(session_ids(client).empty());
  EXPECT_EQ(idp.token_calls(), 0);
}

TEST_F(Fapi, ReplayedStateCreatesNoSecondSession) {
  start();
  Browser setup = browser();
  sign_up_new_user(setup, IdpUser{});
  const int calls_before = idp.token_calls();

  Browser b = browser();
  auto started = start_sign_in(b);
  const std::string url =
      str(started.json(), "response.first_factor_verification.external_verification_redirect_url");
  auto grant = idp.authorize(url, IdpUser{}, callback_uri());
  const std::string target =
      "/__clerk/v1/oauth_callback?" + form_encode({{"code", grant.code}, {"state", grant.state}});
  ASSERT_EQ(b.get(target).status, 303);
  auto after_first = b.client();
  ASSERT_EQ(session_ids(after_first).size(), 1U);
  EXPECT_EQ(idp.token_calls(), calls_before + 1);

  auto replay = b.get(target);
  EXPECT_LT(replay.status, 500) << replay.raw;
  EXPECT_NE(replay.status, 200);
  auto after_replay = b.client();
  EXPECT_EQ(session_ids(after_replay), session_ids(after_first));
  EXPECT_EQ(idp.token_calls(), calls_before + 1) << "a replayed state reached the provider";

  // A second, cookie-less browser replaying it gets nothing either.
  Browser other = browser();
  auto foreign = other.get(target);
  EXPECT_EQ(foreign.status, 400) << foreign.raw;
  error_of(foreign);
  EXPECT_TRUE(other.client().is_null());
}

TEST_F(Fapi, StateFromAnotherClientsCookieIsRefused) {
  start();
  Browser victim = browser();
  Browser attacker = browser();
  auto v_started = start_sign_in(victim);
  auto a_started = start_sign_in(attacker);
  ASSERT_EQ(v_started.status, 200);
  ASSERT_EQ(a_started.status, 200);
  // The victim approves at the provider; the attacker replays the victim's code+state with
  // its own cookie (login CSRF / session swap, RFC 9700 §4.7).
  const std::string v_url = str(
      v_started.json(), "response.first_factor_verification.external_verification_redirect_url");
  auto grant = idp.authorize(v_url, IdpUser{}, callback_uri());
  auto cb = attacker.get("/__clerk/v1/oauth_callback?" +
                         form_encode({{"code", grant.code}, {"state", grant.state}}));
  EXPECT_LT(cb.status, 500) << cb.raw;
  auto a_client = attacker.client();
  ASSERT_FALSE(a_client.is_null());
  EXPECT_TRUE(session_ids(a_client).empty()) << json::serialize(a_client);
  EXPECT_EQ(str(a_client, "sign_in.first_factor_verification.status"), "failed")
      << json::serialize(a_client);
  EXPECT_EQ(idp.token_calls(), 0) << "a foreign state reached the token endpoint";
  EXPECT_TRUE(session_ids(victim.client()).empty());
}

// ---- sign-out and client deletion --------------------------------------------------------------

TEST_F(Fapi, SignOutRemovesSessionsAndTheOldSessionGets401OnTokens) {
  start();
  Browser b = browser();
  auto s = sign_up_new_user(b, IdpUser{});
  ASSERT_EQ(b.post(session_path(s.session_id, "tokens")).status, 200);
  auto out = b.post("/__clerk/v1/client/sessions?_method=DELETE");
  ASSERT_EQ(out.status, 200) << out.body;
  EXPECT_TRUE(session_ids(at(out.json(), "client")).empty()) << out.body;
  auto client = b.client();
  ASSERT_FALSE(client.is_null()) << "sign-out keeps the client";
  EXPECT_TRUE(session_ids(client).empty());
  // ... but not the completed sign-up (or sign-in): the SDK would finalize its ended session.
  EXPECT_TRUE(at(client, "sign_up").is_null()) << client;
  EXPECT_TRUE(at(client, "sign_in").is_null()) << client;
  auto tok = b.post(session_path(s.session_id, "tokens"));
  EXPECT_EQ(tok.status, 401) << tok.body;
  error_of(tok);
}

TEST_F(Fapi, DeletingTheClientClearsTheCookieAndEndsEverything) {
  start();
  Browser b = browser();
  auto s = sign_up_new_user(b, IdpUser{});
  const std::string old_cookie = b.cookie("__client").value_or("");
  ASSERT_FALSE(old_cookie.empty());
  auto del = b.post("/__clerk/v1/client?_method=DELETE");
  ASSERT_EQ(del.status, 200) << del.body;
  EXPECT_EQ(at(del.json(), "response.deleted"), json::value(true)) << del.body;
  auto cookie = client_cookie_header(del);
  ASSERT_TRUE(cookie.has_value()) << del.raw;
  EXPECT_THAT(*cookie, HasSubstr("Max-Age=0"));
  EXPECT_FALSE(b.cookie("__client").has_value());
  EXPECT_TRUE(b.client().is_null());
  // A stale copy of the cookie no longer leads anywhere.
  Browser stale = browser();
  stale.set_cookie("__client", old_cookie);
  EXPECT_TRUE(stale.client().is_null());
  auto tok = stale.post(session_path(s.session_id, "tokens"));
  EXPECT_EQ(tok.status, 401) << tok.body;
}

TEST_F(Fapi, PreflightFromAnAllowedOriginIs204WithoutBody) {
  const std::string app = "http://localhost:4100";
  start({{"LATCHKEY_FRONTEND_ALLOWED_ORIGINS", app}});
  HttpRequest pre;
  pre.method = "OPTIONS";
  pre.target = "/__clerk/v1/client/sign_ins";
  pre.headers = {{"Origin", app}, {"Access-Control-Request-Method", "POST"}};
  auto r = http_request(server->port(), pre);
  EXPECT_EQ(r.status, 204) << r.raw;
  EXPECT_TRUE(r.body.empty());
  EXPECT_EQ(r.header("access-control-allow-origin"), app);
  pre.headers = {{"Origin", "http://evil.test"}, {"Access-Control-Request-Method", "POST"}};
  auto evil = http_request(server->port(), pre);
  EXPECT_FALSE(evil.header("access-control-allow-origin").has_value()) << evil.raw;
}

TEST_F(Fapi, EndingASessionRemovesItAndItsTokensAre401) {
  start();
  Browser b = browser();
  auto s = sign_up_new_user(b, IdpUser{});
  auto end = b.post(session_path(s.session_id, "end"));
  ASSERT_EQ(end.status, 200) << end.body;
  EXPECT_EQ(str(end.json(), "response.status"), "ended");
  EXPECT_TRUE(session_ids(at(end.json(), "client")).empty()) << end.body;
  EXPECT_TRUE(session_ids(b.client()).empty());
  EXPECT_EQ(b.post(session_path(s.session_id, "tokens")).status, 401);
  EXPECT_EQ(b.post(session_path(s.session_id, "touch")).status, 404);
}

TEST_F(Fapi, ACodeTheProviderRejectsFailsTheVerificationWithoutSession) {
  start();
  Browser b = browser();
  auto started = start_sign_in(b);
  const std::string url =
      str(started.json(), "response.first_factor_verification.external_verification_redirect_url");
  auto grant = idp.authorize(url, IdpUser{}, callback_uri());
  auto cb = b.get("/__clerk/v1/oauth_callback?" +
                  form_encode({{"code", "forged-code"}, {"state", grant.state}}));
  EXPECT_EQ(cb.status, 303) << cb.raw;
  auto client = b.client();
  EXPECT_EQ(str(client, "sign_in.first_factor_verification.status"), "failed");
  EXPECT_FALSE(str(client, "sign_in.first_factor_verification.error.code").empty());
  EXPECT_TRUE(session_ids(client).empty());
  EXPECT_EQ(idp.token_calls(), 1);
  EXPECT_THAT(idp.violations(), ::testing::ElementsAre("unknown or reused code"));
}

TEST_F(Fapi, ProviderDownWhenSigningInIsAnErrorAndCreatesNoClient) {
  const int dead_port = free_port();
  EnvVars env = {
      {"LATCHKEY_PROVIDERS_OAUTH_GOOGLE_ISSUER", "http://127.0.0.1:" + std::to_string(dead_port)},
      {"LATCHKEY_FRONTEND_OUTBOUND_TIMEOUT", "1s"}};
  start(env);
  Browser b = browser();
  auto r = start_sign_in(b);
  EXPECT_GE(r.status, 500) << r.raw;
  error_of(r);
  EXPECT_TRUE(r.all("set-cookie").empty()) << r.raw;
  EXPECT_TRUE(b.client().is_null());
}

TEST_F(Fapi, ASlowProviderDoesNotBlockOtherBrowsersWrites) {
  // flows/frontend.hpp: "Provider calls happen outside transactions (no lock is held across
  // the network)". The first sign-in fetches the provider's discovery document; another
  // browser's write meanwhile must not wait for it.
  start();
  idp.set_discovery_delay(std::chrono::milliseconds(2500));
  Browser slow = browser();
  HttpResponse slow_r;
  std::thread t([&] { slow_r = start_sign_in(slow); });
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  Browser other = browser();
  const auto t0 = std::chrono::steady_clock::now();
  auto w = other.post(kSignUps, {{"first_name", "Quick"}});
  const auto took = std::chrono::steady_clock::now() - t0;
  t.join();
  EXPECT_EQ(w.status, 200) << w.raw;
  EXPECT_EQ(slow_r.status, 200) << slow_r.raw;
  EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(took).count(), 1500)
      << "an unrelated write waited for the identity provider";
}

TEST_F(Fapi, AnUnknownOrGarbageCookieIsTreatedAsNoClient) {
  start();
  Browser b = browser();
  b.set_cookie("__client", "garbage-token-that-matches-nothing");
  EXPECT_TRUE(b.client().is_null());
  auto r = start_sign_in(b);
  ASSERT_EQ(r.status, 200) << r.body;
  auto c = client_cookie_header(r);
  ASSERT_TRUE(c.has_value()) << "a new client needs a new cookie";
  EXPECT_NE(b.cookie("__client"), "garbage-token-that-matches-nothing");
  b.set_cookie("__client", std::string(5000, 'A'));
  auto big = b.get("/__clerk/v1/client");
  EXPECT_LT(big.status, 500) << big.raw;
}

// ---- bad input changes nothing -----------------------------------------------------------------

// A browser with a client in a known state: a started (unverified) sign-in.
struct Prepared {
  Browser browser;
  std::string snapshot;
};

class FapiBadInput : public Fapi {
 protected:
  void SetUp() override { start(); }

  Prepared prepared() {
    Browser b = browser();
    EXPECT_EQ(start_sign_in(b).status, 200);
    std::string snap = client_snapshot(b.client());
    EXPECT_NE(snap, "null");
    return {std::move(b), std::move(snap)};
  }

  // The request is refused with `status`/`code`, no cookie is set for a browser that had none,
  // and neither a fresh nor an existing client changes.
  void expect_refused(const std::function<HttpResponse(Browser&)>& request, int status,
                      const std::string& code, const std::string& param = "") {
    Browser fresh = browser();
    auto r = request(fresh);
    EXPECT_EQ(r.status, status) << r.raw;
    auto e = error_of(r);
    EXPECT_EQ(str(e, "code"), code) << r.body;
    if (!param.empty()) {
      EXPECT_EQ(str(e, "meta.param_name"), param) << r.body;
    }
    EXPECT_TRUE(r.all("set-cookie").empty()) << "cookie issued on an error: " << r.raw;
    EXPECT_TRUE(fresh.client().is_null());

    auto p = prepared();
    auto r2 = request(p.browser);
    EXPECT_EQ(r2.status, status) << r2.raw;
    EXPECT_EQ(str(error_of(r2), "code"), code) << r2.body;
    EXPECT_EQ(client_snapshot(p.browser.client()), p.snapshot);
  }
};

TEST_F(FapiBadInput, UnknownStrategyIs422StrategyForUserInvalid) {
  for (const char* strategy :
       {"oauth_nope", "web3_metamask_signature", "phone_code", "oauth_github"}) {
    expect_refused(
        [&](Browser& b) {
          return b.post(kSignIns, {{"strategy", strategy}, {"redirect_url", "/sso-callback"}});
        },
        422, "strategy_for_user_invalid", "strategy");
  }
  // A first-factor strategy needs the identifier it is for.
  for (const char* strategy : {"email_code", "password", "reset_password_email_code"}) {
    expect_refused([&](Browser& b) { return b.post(kSignIns, {{"strategy", strategy}}); }, 422,
                   "form_param_missing", "identifier");
  }
}

TEST_F(FapiBadInput, MissingRedirectUrlIs422FormParamMissing) {
  expect_refused([&](Browser& b) { return b.post(kSignIns, {{"strategy", "oauth_google"}}); }, 422,
                 "form_param_missing", "redirect_url");
}

TEST_F(FapiBadInput, ForeignRedirectUrlsAre422InvalidRedirectUrl) {
  const std::string other_port = "http://127.0.0.1:" + std::to_string(server->port() + 1) + "/cb";
  for (const std::string& url :
       {std::string("http://evil.test/sso-callback"), std::string("//evil.test"),
        std::string("javascript:alert(1)"), std::string("/\\evil.test"),
        std::string("https://127.0.0.1:") + std::to_string(server->port()) + "/x", other_port,
        std::string("http://user@127.0.0.1:") + std::to_string(server->port()) + "/x",
        std::string("data:text/html,hi")}) {
    SCOPED_TRACE(url);
    expect_refused(
        [&](Browser& b) {
          return b.post(kSignIns, {{"strategy", "oauth_google"}, {"redirect_url", url}});
        },
        422, "invalid_redirect_url", "redirect_url");
  }
  expect_refused(
      [&](Browser& b) {
        return b.post(kSignIns, {{"strategy", "oauth_google"},
                                 {"redirect_url", "/sso-callback"},
                                 {"action_complete_redirect_url", "https://evil.test/x"}});
      },
      422, "invalid_redirect_url", "action_complete_redirect_url");
}

TEST_F(FapiBadInput, MalformedFormBodyIs400) {
  Browser fresh = browser();
  for (const char* body : {"strategy=oauth_google&redirect_url=%zz", "strategy=%", "a=%4"}) {
    auto r = fresh.post_raw_body(kSignIns, body);
    EXPECT_EQ(r.status, 400) << body << " " << r.raw;
    error_of(r);
    EXPECT_TRUE(r.all("set-cookie").empty());
  }
  EXPECT_TRUE(fresh.client().is_null());
  auto p = prepared();
  auto r = p.browser.post_raw_body(kSignIns, "strategy=oauth_google&redirect_url=%zz");
  EXPECT_EQ(r.status, 400) << r.raw;
  EXPECT_EQ(client_snapshot(p.browser.client()), p.snapshot);
}

TEST_F(FapiBadInput, TransferWithNothingTransferableIs400InvalidState) {
  // No client at all: refused, and no client is made for it.
  Browser fresh = browser();
  for (const char* path : {kSignUps, kSignIns}) {
    auto r = fresh.post(path, {{"transfer", "true"}});
    EXPECT_GE(r.status, 400) << r.raw;
    EXPECT_LT(r.status, 500) << r.raw;
    error_of(r);
    EXPECT_TRUE(r.all("set-cookie").empty());
  }
  EXPECT_TRUE(fresh.client().is_null());
  // A client whose sign-in is merely started (not transferable).
  auto p = prepared();
  for (const char* path : {kSignUps, kSignIns}) {
    auto r = p.browser.post(path, {{"transfer", "true"}});
    EXPECT_EQ(r.status, 400) << path << " " << r.raw;
    EXPECT_EQ(str(error_of(r), "code"), "invalid_state") << r.body;
    EXPECT_EQ(client_snapshot(p.browser.client()), p.snapshot) << path;
  }
}

TEST_F(FapiBadInput, PatchOfAnUnknownSignUpIs404) {
  Browser fresh = browser();
  auto r =
      fresh.post(std::string(kSignUps) + "/sua_doesnotexist?_method=PATCH", {{"first_name", "X"}});
  EXPECT_EQ(r.status, 404) << r.raw;
  error_of(r);
  EXPECT_TRUE(r.all("set-cookie").empty());
  auto p = prepared();
  auto r2 = p.browser.post(std::string(kSignUps) + "/sua_doesnotexist?_method=PATCH",
                           {{"first_name", "X"}});
  EXPECT_EQ(r2.status, 404) << r2.raw;
  error_of(r2);
  EXPECT_EQ(client_snapshot(p.browser.client()), p.snapshot);
}

TEST_F(Fapi, InvalidProfileFieldsOnPatchAre422AndChangeNothing) {
  start({{"LATCHKEY_FRONTEND_REQUIRED_FIELDS", "first_name,last_name"}});
  Browser b = browser();
  IdpUser nameless;
  nameless.sub = "nameless-2";
  nameless.given_name.clear();
  nameless.family_name.clear();
  auto started = start_sign_in(b);
  ASSERT_EQ(round_trip(b, started, nameless).status, 303);
  auto su = b.post(kSignUps, {{"transfer", "true"}});
  ASSERT_EQ(su.status, 200) << su.body;
  const std::string sua = str(su.json(), "response.id");
  const std::string snap = client_snapshot(b.client());
  const std::string target = std::string(kSignUps) + "/" + sua + "?_method=PATCH";
  for (const Form& form :
       {Form{{"first_name", std::string("A\x01"
                                        "B")}},
        Form{{"last_name", std::string(300, 'x')}}, Form{{"unsafe_metadata", "[1,2]"}},
        Form{{"legal_accepted", "maybe"}}, Form{{"email_address", "other@example.com"}},
        Form{{"strategy", "oauth_nope"}}}) {
    auto r = b.post(target, form);
    EXPECT_EQ(r.status, 422) << form[0].first << " " << r.raw;
    EXPECT_EQ(str(error_of(r), "meta.param_name"), form[0].first) << r.body;
  }
  EXPECT_EQ(client_snapshot(b.client()), snap);
}

TEST_F(FapiBadInput, TokensAndTouchOnUnknownOrForeignSessionsAre404) {
  Browser owner = browser();
  auto s = sign_up_new_user(owner, IdpUser{});
  ASSERT_FALSE(s.session_id.empty());
  const std::string owner_snap = client_snapshot(owner.client());
  auto p = prepared();
  for (const std::string& id : {s.session_id, std::string("sess_doesnotexist")}) {
    for (const char* action : {"tokens", "touch", "end", "remove"}) {
      auto r = p.browser.post(session_path(id, action));
      EXPECT_EQ(r.status, 404) << id << " " << action << " " << r.raw;
      error_of(r);
      EXPECT_THAT(r.body, Not(HasSubstr("\"jwt\"")));
    }
  }
  EXPECT_EQ(client_snapshot(p.browser.client()), p.snapshot);
  EXPECT_EQ(client_snapshot(owner.client()), owner_snap);
  // The owner still can.
  EXPECT_EQ(owner.post(session_path(s.session_id, "tokens")).status, 200);
}

TEST_F(FapiBadInput, ForeignOriginIs403OriginInvalid) {
  expect_refused(
      [&](Browser& b) {
        b.origin_header = "http://evil.test";
        auto r =
            b.post(kSignIns, {{"strategy", "oauth_google"}, {"redirect_url", "/sso-callback"}});
        b.origin_header = origin();
        return r;
      },
      403, "origin_invalid");
  // A signed-in browser: a cross-site sign-out or token request is refused too.
  Browser owner = browser();
  auto s = sign_up_new_user(owner, IdpUser{});
  const std::string snap = client_snapshot(owner.client());
  owner.origin_header = "http://evil.test";
  EXPECT_EQ(owner.post("/__clerk/v1/client/sessions?_method=DELETE").status, 403);
  EXPECT_EQ(owner.post("/__clerk/v1/client?_method=DELETE").status, 403);
  EXPECT_EQ(owner.post(session_path(s.session_id, "end")).status, 403);
  auto tok = owner.post(session_path(s.session_id, "tokens"));
  EXPECT_EQ(tok.status, 403) << tok.body;
  owner.origin_header = origin();
  EXPECT_EQ(client_snapshot(owner.client()), snap);
}

TEST_F(FapiBadInput, CallbackWithUnknownStateAndNoClientIs400) {
  Browser fresh = browser();
  for (const std::string& q :
       {std::string("code=abc&state=unknown-state-value"), std::string("code=abc"),
        std::string("error=access_denied"), std::string("state=") + std::string(600, 'x')}) {
    auto r = fresh.get("/__clerk/v1/oauth_callback?" + q);
    EXPECT_EQ(r.status, 400) << q << " " << r.raw;
    error_of(r);
    EXPECT_TRUE(r.all("set-cookie").empty());
  }
  EXPECT_TRUE(fresh.client().is_null());
  EXPECT_EQ(idp.token_calls(), 0);
}

// ---- more of the SDK's contract ----------------------------------------------------------------

TEST_F(Fapi, EnvironmentIsServedBareForGetAndForThePatchTouch) {
  start();
  auto g = http_get(server->port(), "/__clerk/v1/environment");
  ASSERT_EQ(g.status, 200) << g.raw;
  EXPECT_EQ(str(g.json(), "object"), "environment");
  EXPECT_TRUE(at(g.json(), "user_settings.social.oauth_google").is_object()) << g.body;
  // Captcha must stay off (README §3.1).
  EXPECT_TRUE(at(g.json(), "display_config.captcha_public_key").is_null());
  Browser b = browser();
  auto p = b.post("/__clerk/v1/environment?_method=PATCH");
  ASSERT_EQ(p.status, 200) << p.raw;
  EXPECT_EQ(p.json(), g.json());
  EXPECT_TRUE(p.all("set-cookie").empty());
}

TEST_F(Fapi, CrossOriginAppGetsCorsAndItsOriginForRedirectsAndAzp) {
  const std::string app = "http://localhost:4100";
  start({{"LATCHKEY_FRONTEND_ALLOWED_ORIGINS", app}});
  Browser b(server->port(), app);
  auto started = start_sign_in(b);
  ASSERT_EQ(started.status, 200) << started.body;
  EXPECT_EQ(started.header("access-control-allow-origin"), app);
  EXPECT_EQ(started.header("access-control-allow-credentials"), "true");
  EXPECT_THAT(started.header("vary").value_or(""), HasSubstr("Origin"));
  auto cb = round_trip(b, started, IdpUser{});
  ASSERT_EQ(cb.status, 303);
  // README §1.4: a relative redirect_url resolves against the request's Origin.
  EXPECT_EQ(cb.header("location"), app + "/sso-callback");
  auto su = b.post(kSignUps, {{"transfer", "true"}});
  ASSERT_EQ(su.status, 200) << su.body;
  const std::string sid = str(su.json(), "response.created_session_id");
  auto tok = b.post(session_path(sid, "tokens"));
  ASSERT_EQ(tok.status, 200) << tok.body;
  auto jws = crypto::decode_jws(str(tok.json(), "jwt"));
  ASSERT_TRUE(jws.has_value());
  EXPECT_EQ(str(json::parse(jws->payload), "azp"), app);
  // A foreign origin gets no CORS grant.
  HttpRequest get;
  get.target = "/__clerk/v1/environment";
  get.headers = {{"Origin", "http://evil.test"}};
  auto evil = http_request(server->port(), get);
  EXPECT_EQ(evil.status, 200);
  EXPECT_FALSE(evil.header("access-control-allow-origin").has_value()) << evil.raw;
}

TEST_F(Fapi, SignUpWithANewAccountCompletesOnTheCallback) {
  start();
  Browser b = browser();
  auto su = b.post(kSignUps, {{"strategy", "oauth_google"}, {"redirect_url", "/sso-callback"}});
  ASSERT_EQ(su.status, 200) << su.body;
  EXPECT_EQ(str(su.json(), "response.verifications.external_account.status"), "unverified");
  const std::string url =
      str(su.json(), "response.verifications.external_account.external_verification_redirect_url");
  ASSERT_EQ(round_trip_url(b, url, IdpUser{}).status, 303);
  auto client = b.client();
  EXPECT_EQ(str(client, "sign_up.status"), "complete") << json::serialize(client);
  const std::string sid = str(client, "sign_up.created_session_id");
  ASSERT_FALSE(sid.empty());
  EXPECT_EQ(session_ids(client), std::vector<std::string>{sid});
}

TEST_F(Fapi, SignUpWithAnExistingAccountTransfersToSignIn) {
  start();
  Browser first = browser();
  auto created = sign_up_new_user(first, IdpUser{});
  Browser b = browser();
  auto su = b.post(kSignUps, {{"strategy", "oauth_google"}, {"redirect_url", "/sso-callback"}});
  ASSERT_EQ(su.status, 200) << su.body;
  const std::string url =
      str(su.json(), "response.verifications.external_account.external_verification_redirect_url");
  ASSERT_EQ(round_trip_url(b, url, IdpUser{}).status, 303);
  auto client = b.client();
  // README §4: signUp.isTransferable.
  EXPECT_EQ(str(client, "sign_up.verifications.external_account.status"), "transferable");
  EXPECT_EQ(str(client, "sign_up.verifications.external_account.error.code"),
            "external_account_exists");
  EXPECT_TRUE(session_ids(client).empty());
  auto si = b.post(kSignIns, {{"transfer", "true"}});
  ASSERT_EQ(si.status, 200) << si.body;
  EXPECT_EQ(str(si.json(), "response.status"), "complete") << si.body;
  const std::string sid = str(si.json(), "response.created_session_id");
  ASSERT_FALSE(sid.empty());
  EXPECT_EQ(session_ids(at(si.json(), "client")), std::vector<std::string>{sid});
  EXPECT_EQ(str(si.json(), "client.sessions.0.user.id"), created.user_id);
}

TEST_F(Fapi, AnotherAccountLinksByEmailOnlyWhenTheProviderVerifiedIt) {
  start();
  Browser first = browser();
  auto created = sign_up_new_user(first, IdpUser{});

  IdpUser unverified;
  unverified.sub = "second-account";
  unverified.email = "ADA@example.com";
  unverified.email_verified = false;
  Browser b = browser();
  ASSERT_EQ(round_trip(b, start_sign_in(b), unverified).status, 303);
  auto client = b.client();
  EXPECT_EQ(str(client, "sign_in.first_factor_verification.status"), "failed");
  EXPECT_EQ(str(client, "sign_in.first_factor_verification.error.code"),
            "external_account_email_unverified");
  EXPECT_TRUE(session_ids(client).empty());
  // Nor can it become a second account with the same address.
  auto su = b.post(kSignUps, {{"transfer", "true"}});
  EXPECT_EQ(su.status, 400) << su.body;
  EXPECT_TRUE(session_ids(b.client()).empty());

  IdpUser verified = unverified;
  verified.sub = "third-account";
  verified.email_verified = true;
  Browser c = browser();
  ASSERT_EQ(round_trip(c, start_sign_in(c), verified).status, 303);
  auto linked = c.client();
  EXPECT_EQ(str(linked, "sign_in.status"), "complete") << json::serialize(linked);
  EXPECT_EQ(str(linked, "sessions.0.user.id"), created.user_id);
}

TEST_F(Fapi, SignInAsAnotherUserWhileSignedInIsRefusedInSingleSessionMode) {
  start();
  Browser b = browser();
  auto created = sign_up_new_user(b, IdpUser{});
  Browser other = browser();
  IdpUser grace;
  grace.sub = "grace";
  grace.email = "grace@example.com";
  sign_up_new_user(other, grace);  // grace exists
  ASSERT_EQ(round_trip(b, start_sign_in(b), grace).status, 303);
  auto client = b.client();
  EXPECT_EQ(str(client, "sign_in.first_factor_verification.status"), "failed");
  EXPECT_EQ(str(client, "sign_in.first_factor_verification.error.code"), "session_exists");
  EXPECT_EQ(session_ids(client), std::vector<std::string>{created.session_id});
}

TEST_F(Fapi, IdTokenWithAWrongNonceOrAudienceFailsAndMakesNoSession) {
  start();
  for (const auto& [name, hook] :
       std::vector<std::pair<std::string, std::function<void(json::object&)>>>{
           {"nonce", [](json::object& c) { c["nonce"] = "not-the-nonce"; }},
           {"aud", [](json::object& c) { c["aud"] = "someone-else"; }},
           {"iss", [](json::object& c) { c["iss"] = "https://evil.test"; }},
           {"exp", [](json::object& c) { c["exp"] = c["iat"].as_int64() - 3600; }}}) {
    SCOPED_TRACE(name);
    idp.set_claims_hook(hook);
    Browser b = browser();
    ASSERT_EQ(round_trip(b, start_sign_in(b), IdpUser{}).status, 303);
    auto client = b.client();
    EXPECT_EQ(str(client, "sign_in.first_factor_verification.status"), "failed")
        << json::serialize(client);
    EXPECT_EQ(str(client, "sign_in.first_factor_verification.error.code"),
              "oauth_id_token_invalid");
    EXPECT_TRUE(session_ids(client).empty());
    EXPECT_EQ(b.post(kSignUps, {{"transfer", "true"}}).status, 400);
  }
}

TEST_F(Fapi, FormPostCallbackBecomesATopLevelGetThatCarriesTheCookie) {
  start();
  Browser b = browser();
  auto started = start_sign_in(b);
  const std::string url =
      str(started.json(), "response.first_factor_verification.external_verification_redirect_url");
  auto grant = idp.authorize(url, IdpUser{}, callback_uri());
  // response_mode=form_post: a cross-site POST from the provider, without the Lax cookie.
  HttpRequest post;
  post.method = "POST";
  post.target = "/__clerk/v1/oauth_callback";
  post.headers = {{"Content-Type", "application/x-www-form-urlencoded"}, {"Origin", idp.issuer()}};
  post.body = form_encode({{"code", grant.code}, {"state", grant.state}});
  auto r = http_request(server->port(), post);
  ASSERT_EQ(r.status, 303) << r.raw;
  const std::string location = r.header("location").value_or("");
  EXPECT_THAT(location, StartsWith("/__clerk/v1/oauth_callback?"));
  EXPECT_EQ(idp.token_calls(), 0) << "the POST itself must not complete the flow";
  auto cb = b.get(location);
  ASSERT_EQ(cb.status, 303) << cb.raw;
  EXPECT_EQ(cb.header("location"), origin() + "/sso-callback");
  EXPECT_EQ(str(b.client(), "sign_in.first_factor_verification.status"), "transferable");
}

// ---- shutdown and secrets
// ------------------------------------------------------------------------

TEST_F(Fapi, SigtermWhileACallbackIsInFlightFinishesItAndExitsZero) {
  start();
  idp.set_token_delay(std::chrono::milliseconds(1500));
  Browser b = browser();
  auto started = start_sign_in(b);
  ASSERT_EQ(started.status, 200);
  HttpResponse cb;
  std::thread t([&] { cb = round_trip(b, started, IdpUser{}); });
  // Wait until Latchkey is talking to the token endpoint, then ask it to stop.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (idp.token_calls() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  server->child().signal(SIGTERM);
  auto rc = server->child().wait(std::chrono::seconds(20));
  t.join();
  ASSERT_TRUE(rc.has_value()) << "still running after SIGTERM";
  EXPECT_EQ(*rc, 0) << server->logs();
  EXPECT_EQ(cb.status, 303) << "the in-flight request was not completed: " << cb.raw;
}

TEST_F(Fapi, NoSecretAppearsInAnyResponseOrLogLine) {
  start({}, /*fast_keys=*/false);
  Browser b = browser();
  auto s = sign_up_new_user(b, IdpUser{});
  const std::string client_token = b.cookie("__client").value_or("");
  ASSERT_FALSE(client_token.empty());
  ASSERT_EQ(b.post(session_path(s.session_id, "touch")).status, 200);
  ASSERT_EQ(b.post(session_path(s.session_id, "tokens")).status, 200);
  std::vector<std::string> bodies;
  for (const char* path : {"/v1/jwks", "/.well-known/jwks.json", "/__clerk/v1/environment",
                           "/metrics", "/healthz", "/nope"}) {
    bodies.push_back(http_get(server->port(), path).body);
  }
  ASSERT_EQ(b.post("/__clerk/v1/client/sessions?_method=DELETE").status, 200);
  ASSERT_EQ(b.post("/__clerk/v1/client?_method=DELETE").status, 200);
  bodies.insert(bodies.end(), b.bodies().begin(), b.bodies().end());
  EXPECT_EQ(server->stop(), 0);

  std::string master;
  {
    std::ifstream f(server->data_dir().path() / "master.key", std::ios::binary);
    ASSERT_TRUE(f.good()) << "expected a generated master.key in the data dir";
    std::stringstream ss;
    ss << f.rdbuf();
    master = ss.str();
    while (!master.empty() && (master.back() == '\n' || master.back() == '\r')) {
      master.pop_back();
    }
  }
  ASSERT_GE(master.size(), 16U);
  std::vector<std::string> secrets = {client_token, master, FakeIdp::kClientSecret};
  if (auto raw = core::base64_decode(master); raw && raw->size() >= 16) {
    secrets.push_back(core::base64url_encode(*raw));
  }
  const std::string logs = server->logs();
  auto check = [&](const std::string& text, const std::string& where) {
    for (const auto& secret : secrets) {
      EXPECT_THAT(text, Not(HasSubstr(secret))) << where << " leaks a secret";
    }
    EXPECT_THAT(text, Not(HasSubstr("PRIVATE KEY"))) << where;
    for (const char* member : {"\"d\":", "\"p\":", "\"q\":", "\"dp\":", "\"dq\":", "\"qi\":"}) {
      EXPECT_THAT(text, Not(HasSubstr(member))) << where << " has private JWK member " << member;
    }
    // The provider's tokens and the one-time code never come back out.
    EXPECT_THAT(text, Not(HasSubstr("at-code-"))) << where;
  };
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    check(bodies[i], "response body #" + std::to_string(i));
  }
  std::istringstream lines(logs);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    check(line, "log line " + std::to_string(++n));
    EXPECT_THAT(line, Not(HasSubstr("code=code-"))) << "authorization code logged: " << line;
  }
  EXPECT_GT(n, 5) << "expected access log lines";
}

}  // namespace
}  // namespace latchkey::it
