// The bulkheads (issue 15 item 1), against the real binary: an identity provider that does not
// answer holds only the outbound pool's threads (server.outbound_workers) and at most
// oauth.max_concurrent_per_provider of them; everything else keeps being served. And one deadline
// per callback (oauth.callback_deadline) covers the token, JWKS and userinfo calls together.
// Assertions are on ordering and outcomes, never on durations.
#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/harness.hpp"

namespace latchkey::it {
namespace {

namespace json = boost::json;
using Form = std::vector<std::pair<std::string, std::string>>;
using namespace std::chrono_literals;

constexpr const char* kSignIns = "/__clerk/v1/client/sign_ins";
constexpr const char* kSignUps = "/__clerk/v1/client/sign_ups";
constexpr const char* kCallback = "/__clerk/v1/oauth_callback";

class Bulkhead : public ::testing::Test {
 protected:
  void TearDown() override {
    if (server) {
      server->stop();
    }
    slow.stop();
    other.stop();
  }

  // Google points at `slow`, GitHub at `other`.
  void start(EnvVars extra) {
    EnvVars env = slow.google_env();
    for (auto& kv : other.github_env()) {
      env.push_back(kv);
    }
    env.emplace_back("LATCHKEY_LOGGING_ACCESS_LOG", "false");
    env.emplace_back("LATCHKEY_RATELIMIT_ENABLED", "false");
    env.insert(env.end(), extra.begin(), extra.end());
    server =
        std::make_unique<Server>(ServerOptions{.env = env, .fixed_port = true, .fast_keys = true});
  }

  Browser browser() { return Browser(*server); }

  static std::string auth_url(const HttpResponse& started) {
    return str(started.json(),
               "response.first_factor_verification.external_verification_redirect_url");
  }

  // A started sign-in at `idp`, approved there: the callback parameters it yields.
  Form approved_sign_in(Browser& b, FakeIdp& idp, const std::string& strategy,
                        const IdpUser& user = IdpUser{}) {
    auto started = b.post(kSignIns, {{"strategy", strategy}, {"redirect_url", "/sso-callback"}});
    EXPECT_EQ(started.status, 200) << started.body;
    auto g = idp.authorize(auth_url(started), user);
    return {{"code", g.code}, {"state", g.state}};
  }

  // The callback through the browser (its cookies kept: a session rotates the credential).
  static HttpResponse callback(Browser& b, const Form& params) {
    return b.get(std::string(kCallback) + "?" + form_encode(params));
  }

  // The callback as the browser sends it, on its own connection with a client timeout long
  // enough to outlive the test's hanging provider (a failing callback rotates nothing).
  HttpResponse hanging_callback(Browser& b, const Form& params) {
    HttpRequest req{"GET", std::string(kCallback) + "?" + form_encode(params), {}, ""};
    if (auto c = b.cookie("__client")) {
      req.headers.emplace_back("Cookie", "__client=" + *c);
    }
    return http_request(server->port(), req, std::chrono::seconds(120));
  }

  // Waits (bounded) until `idp` has received `n` requests on `path`.
  static bool wait_for_calls(FakeIdp& idp, const std::string& path, int n) {
    for (int i = 0; i < 1200; ++i) {
      if (idp.calls(path) >= n) {
        return true;
      }
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

  // A GitHub user signs up through `other`: the session the checks below use.
  std::string signed_in_at_other(Browser& b, const IdpUser& user) {
    auto cb = callback(b, approved_sign_in(b, other, "oauth_github", user));
    EXPECT_EQ(cb.status, 303) << cb.raw;
    auto su = b.post(kSignUps, {{"transfer", "true"}});
    EXPECT_EQ(su.status, 200) << su.body;
    EXPECT_EQ(str(su.json(), "response.status"), "complete") << su.body;
    return str(su.json(), "response.created_session_id");
  }

  FakeIdp slow;
  FakeIdp other;
  std::unique_ptr<Server> server;
};

std::string first_error_code(const json::value& client) {
  return str(client, "sign_in.first_factor_verification.error.code");
}

TEST_F(Bulkhead, FiftyCallbacksHangingOnOneProviderStallNobodyElse) {
  start({{"LATCHKEY_SERVER_OUTBOUND_WORKERS", "64"},
         {"LATCHKEY_OAUTH_MAX_CONCURRENT_PER_PROVIDER", "60"},
         {"LATCHKEY_FRONTEND_OUTBOUND_TIMEOUT", "2m"},
         {"LATCHKEY_OAUTH_CALLBACK_DEADLINE", "2m"}});
  const IdpUser grace{"4242", "grace@example.com", true, "Grace", "Hopper"};
  Browser signed_in = browser();
  const std::string session_id = signed_in_at_other(signed_in, grace);
  ASSERT_FALSE(session_id.empty());

  constexpr int kHanging = 50;
  std::vector<Browser> browsers;
  std::vector<Form> grants;
  for (int i = 0; i < kHanging; ++i) {
    browsers.push_back(browser());
    grants.push_back(approved_sign_in(browsers.back(), slow, "oauth_google"));
  }
  slow.script([](FakeIdp& i) { i.faults_["/token"] = Fault{Fault::kHang}; });
  std::vector<std::future<HttpResponse>> hanging;
  for (int i = 0; i < kHanging; ++i) {
    hanging.push_back(std::async(std::launch::async, [this, &browsers, &grants, i] {
      return hanging_callback(browsers[static_cast<std::size_t>(i)],
                              grants[static_cast<std::size_t>(i)]);
    }));
  }
  ASSERT_TRUE(wait_for_calls(slow, "/token", kHanging))
      << "only " << slow.calls("/token") << " callbacks reached the provider";

  // Meanwhile: session checks and token refreshes of the signed-in browser...
  for (int i = 0; i < 20; ++i) {
    auto client = signed_in.get("/__clerk/v1/client");
    ASSERT_EQ(client.status, 200) << client.raw;
    EXPECT_EQ(str(client.json(), "response.sessions.0.id"), session_id) << client.body;
    auto token = signed_in.post("/__clerk/v1/client/sessions/" + session_id + "/tokens");
    ASSERT_EQ(token.status, 200) << token.raw;
    EXPECT_FALSE(str(token.json(), "jwt").empty()) << token.body;
  }
  // ... and another provider's sign-in, start to session.
  Browser returning = browser();
  auto cb = callback(returning, approved_sign_in(returning, other, "oauth_github", grace));
  ASSERT_EQ(cb.status, 303) << cb.raw;
  auto client = returning.client();
  EXPECT_EQ(str(client, "sign_in.status"), "complete") << json::serialize(client);
  EXPECT_FALSE(str(client, "sessions.0.id").empty()) << json::serialize(client);

  // All of that happened while the fifty were still waiting on the provider.
  for (auto& f : hanging) {
    EXPECT_EQ(f.wait_for(0s), std::future_status::timeout) << "a hanging callback finished early";
  }
  EXPECT_EQ(slow.calls("/token"), kHanging);

  // The provider goes away: each of the fifty fails its own attempt and nothing else.
  slow.stop();
  for (std::size_t i = 0; i < hanging.size(); ++i) {
    auto r = hanging[i].get();
    EXPECT_EQ(r.status, 303) << r.raw;
    EXPECT_EQ(first_error_code(browsers[i].client()), "oauth_provider_unavailable");
  }
}

TEST_F(Bulkhead, BeyondThePerProviderCapCallbacksAndSignInsAreRefusedAtOnce) {
  start({{"LATCHKEY_SERVER_OUTBOUND_WORKERS", "8"},
         {"LATCHKEY_OAUTH_MAX_CONCURRENT_PER_PROVIDER", "4"},
         {"LATCHKEY_FRONTEND_OUTBOUND_TIMEOUT", "2m"},
         {"LATCHKEY_OAUTH_CALLBACK_DEADLINE", "2m"}});
  constexpr int kCap = 4;
  std::vector<Browser> browsers;
  std::vector<Form> grants;
  for (int i = 0; i < kCap + 1; ++i) {
    browsers.push_back(browser());
    grants.push_back(approved_sign_in(browsers.back(), slow, "oauth_google"));
  }
  slow.script([](FakeIdp& i) { i.faults_["/token"] = Fault{Fault::kHang}; });
  std::vector<std::future<HttpResponse>> hanging;
  for (int i = 0; i < kCap; ++i) {
    hanging.push_back(std::async(std::launch::async, [this, &browsers, &grants, i] {
      return hanging_callback(browsers[static_cast<std::size_t>(i)],
                              grants[static_cast<std::size_t>(i)]);
    }));
  }
  ASSERT_TRUE(wait_for_calls(slow, "/token", kCap));

  // One more callback for the same provider: refused, its attempt failed, the provider not asked.
  Browser& extra = browsers.back();
  auto refused = hanging_callback(extra, grants.back());
  EXPECT_EQ(refused.status, 303) << refused.raw;
  auto extra_client = extra.client();
  EXPECT_EQ(first_error_code(extra_client), "oauth_provider_unavailable")
      << json::serialize(extra_client);
  EXPECT_TRUE(at(extra_client, "sessions").as_array().empty());
  // A new sign-in with that provider: the Clerk envelope, nothing started.
  Browser fresh = browser();
  auto start_refused =
      fresh.post(kSignIns, {{"strategy", "oauth_google"}, {"redirect_url", "/sso-callback"}});
  EXPECT_EQ(start_refused.status, 502) << start_refused.raw;
  EXPECT_EQ(str(error_of(start_refused), "code"), "oauth_provider_unavailable");
  // The other provider is not affected by the first one's cap.
  Browser b = browser();
  auto cb =
      callback(b, approved_sign_in(b, other, "oauth_github", IdpUser{"77", "lin@example.com"}));
  EXPECT_EQ(cb.status, 303) << cb.raw;
  EXPECT_EQ(str(b.client(), "sign_in.first_factor_verification.status"), "transferable");

  for (auto& f : hanging) {
    EXPECT_EQ(f.wait_for(0s), std::future_status::timeout);
  }
  EXPECT_EQ(slow.calls("/token"), kCap) << "a call beyond the cap reached the provider";
  slow.stop();
  for (auto& f : hanging) {
    EXPECT_EQ(f.get().status, 303);
  }
}

// Token, JWKS and userinfo each answer after `delay`: their sum is above a 2 s deadline and well
// below a 30 s one (the positive control: the same provider, only the deadline differs).
class CallbackDeadline : public Bulkhead, public ::testing::WithParamInterface<bool> {};

TEST_P(CallbackDeadline, CoversTokenJwksAndUserinfoTogether) {
  const bool tight = GetParam();
  start({{"LATCHKEY_FRONTEND_OUTBOUND_TIMEOUT", "30s"},
         {"LATCHKEY_OAUTH_CALLBACK_DEADLINE", tight ? "2s" : "30s"}});
  // No email in the ID token: the relying party asks userinfo for it.
  slow.set_claims_hook([](json::object& claims) { claims.erase("email"); });
  Browser b = browser();
  const Form grant = approved_sign_in(b, slow, "oauth_google");
  for (const char* path : {"/token", "/jwks", "/userinfo"}) {
    slow.set_delay(path, 900ms);
  }
  auto cb = callback(b, grant);
  EXPECT_EQ(cb.status, 303) << cb.raw;
  auto client = b.client();
  EXPECT_EQ(slow.calls("/token"), 1);
  if (tight) {
    EXPECT_EQ(first_error_code(client), "oauth_provider_unavailable") << json::serialize(client);
    EXPECT_EQ(str(client, "sign_in.first_factor_verification.status"), "failed");
    EXPECT_TRUE(at(client, "sessions").as_array().empty()) << json::serialize(client);
    EXPECT_EQ(b.post(kSignUps, {{"transfer", "true"}}).status, 400) << "nothing to transfer";
  } else {
    EXPECT_EQ(slow.userinfo_calls(), 1);
    EXPECT_EQ(str(client, "sign_in.first_factor_verification.status"), "transferable")
        << json::serialize(client);
  }
}

INSTANTIATE_TEST_SUITE_P(Bulkhead, CallbackDeadline, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? "Tight" : "Roomy";
                         });

}  // namespace
}  // namespace latchkey::it
