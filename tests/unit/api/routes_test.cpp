// The route table as data: the policy every route runs under is declared, and consistent.
#include "api/routes.hpp"

#include <gtest/gtest.h>

#include "api/context.hpp"

#include <set>
#include <string>
#include <utility>

namespace latchkey::api {
namespace {

using http::Method;

const RouteInfo* find(const std::vector<RouteInfo>& table, Method method, std::string_view path) {
  for (const auto& r : table) {
    if (r.method == method && r.path == path && r.mount != Mount::kFrontendIfPrefixed) {
      return &r;
    }
  }
  return nullptr;
}

TEST(RouteTable, EveryRouteOnceWithABoundedName) {
  const auto table = route_table();
  ASSERT_FALSE(table.empty());
  std::set<std::pair<int, std::string>> seen;
  for (const auto& r : table) {
    const std::string where = std::string(r.path) + (r.mount == Mount::kRoot ? "" : " (prefixed)");
    EXPECT_TRUE(seen.insert({static_cast<int>(r.method) * 10 + static_cast<int>(r.mount),
                             std::string(r.path)})
                    .second)
        << "twice: " << where;
    EXPECT_FALSE(r.name.empty()) << where;
    EXPECT_EQ(r.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz_"), std::string_view::npos)
        << "metrics label: " << r.name;
  }
}

TEST(RouteTable, FrontendRoutesReadTheClientCookieAndOperationalOnesNothing) {
  int backend = 0;
  for (const auto& r : route_table()) {
    if (r.mount == Mount::kFrontend) {
      EXPECT_EQ(r.policy.auth, Auth::kClientCookie) << r.name;
      EXPECT_EQ(r.policy.input, Input::kForm) << r.name;
    } else if (r.mount == Mount::kBackend) {
      // The Backend API: a secret key on every row, JSON bodies, no browser rules.
      ++backend;
      EXPECT_EQ(r.policy.auth, Auth::kSecretKey) << r.name;
      EXPECT_EQ(r.policy.input, Input::kJsonBody) << r.name;
      EXPECT_EQ(r.policy.origin, Origin::kAnyOrigin) << r.name;
      EXPECT_TRUE(r.name.starts_with("bapi_")) << r.name;
      EXPECT_TRUE(r.path.starts_with("/v1/")) << r.name;
    } else {
      EXPECT_EQ(r.policy.auth, Auth::kNoAuth) << r.name;
      EXPECT_EQ(r.policy.input, Input::kUnread) << r.name;
      EXPECT_EQ(r.policy.origin, Origin::kAnyOrigin) << r.name;
      EXPECT_EQ(r.policy.limit, Limit::kNoLimit) << r.name;
    }
    // Declared for the routes to come; the pipeline refuses to start a row that asks for it.
    EXPECT_NE(r.policy.auth, Auth::kSessionToken) << r.name;
  }
  EXPECT_GE(backend, 18);
}

// CSRF (catalog §2.F): every state change checks the origin, except the two that by design
// cannot (the environment touch changes nothing; the callback is the IdP's navigation).
TEST(RouteTable, StateChangesCheckTheOrigin) {
  for (const auto& r : route_table()) {
    if (r.mount != Mount::kFrontend || r.method == Method::kGet) {
      EXPECT_EQ(r.policy.origin, Origin::kAnyOrigin) << r.name;
      continue;
    }
    if (r.path == "/v1/environment" || r.path == "/v1/oauth_callback") {
      EXPECT_EQ(r.policy.origin, Origin::kAnyOrigin) << r.name;
    } else {
      EXPECT_EQ(r.policy.origin, Origin::kAllowedOrigin) << r.name;
    }
  }
}

TEST(RouteTable, RateLimitsAndStyles) {
  const auto table = route_table();
  auto limit = [&](Method m, std::string_view path) {
    const RouteInfo* r = find(table, m, path);
    return r == nullptr ? static_cast<Limit>(255) : r->policy.limit;
  };
  EXPECT_EQ(limit(Method::kPost, "/v1/client/sign_ins"), Limit::kSignInLimit);
  EXPECT_EQ(limit(Method::kPost, "/v1/client/sign_ups"), Limit::kSignInLimit);
  EXPECT_EQ(limit(Method::kPatch, "/v1/client/sign_ups/{id}"), Limit::kSignInLimit);
  EXPECT_EQ(limit(Method::kGet, "/v1/oauth_callback"), Limit::kVerificationLimit);
  EXPECT_EQ(limit(Method::kPost, "/v1/oauth_callback"), Limit::kVerificationLimit);
  EXPECT_EQ(limit(Method::kPost, "/v1/client/sessions/{id}/tokens"), Limit::kTokenLimit);
  EXPECT_EQ(limit(Method::kGet, "/v1/client"), Limit::kNoLimit);
  for (const auto& r : table) {
    EXPECT_EQ(r.policy.style == Style::kNavigation, r.path == "/v1/oauth_callback") << r.name;
  }
}

// README §1.5: POST ?_method=X runs the X row of the same path, whose policy must match what the
// POST already checked.
TEST(RouteTable, MethodOverridesPointAtRowsOfTheSamePath) {
  const auto table = route_table();
  int overriding = 0;
  for (const auto& r : table) {
    if (r.method_overrides.empty()) {
      continue;
    }
    ++overriding;
    EXPECT_EQ(r.method, Method::kPost) << r.name;
    for (const Method m : r.method_overrides) {
      const RouteInfo* target = find(table, m, r.path);
      ASSERT_NE(target, nullptr) << r.name;
      EXPECT_EQ(target->policy.origin, r.policy.origin) << target->name;
      EXPECT_EQ(target->policy.input, r.policy.input) << target->name;
    }
  }
  // /v1/client, /v1/client/sign_ups/{id}, /v1/client/sessions, /v1/me/totp
  EXPECT_EQ(overriding, 4);
  const RouteInfo* client = find(table, Method::kPost, "/v1/client");
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(client->method_overrides, (std::vector<Method>{Method::kPut, Method::kDelete}));
}

// latchkey_request_failures_total: one series per (route, code, reason), counted without the
// registry's lock after the first hit, and still counted when the lock-free table is full.
TEST(FailureCounters, CountPerRouteCodeAndReason) {
  core::Metrics metrics(false);
  FailureCounters counters(metrics);
  const core::Error origin =
      core::Error(core::Code::kOriginNotAllowed).with_reason(core::Reason::kFetchSiteCrossSite);
  for (int i = 0; i < 3; ++i) {
    counters.inc(2, "fapi_client_mutate", origin);
  }
  counters.inc(5, "fapi_sign_in_create", core::Error(core::Code::kTooManyRequests));
  // More distinct series than the table has slots.
  for (std::size_t route = 0; route < 300; ++route) {
    counters.inc(100 + route, "r" + std::to_string(route), origin);
    counters.inc(100 + route, "r" + std::to_string(route), origin);
  }
  const std::string text = metrics.render();
  EXPECT_NE(text.find("# TYPE latchkey_request_failures_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("latchkey_request_failures_total{route=\"fapi_client_mutate\",code=\""
                      "origin_not_allowed\",reason=\"fetch_site_cross_site\"} 3\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("latchkey_request_failures_total{route=\"fapi_sign_in_create\",code=\""
                      "too_many_requests\",reason=\"unspecified\"} 1\n"),
            std::string::npos);
  for (const std::string route : {"r0", "r150", "r299"}) {
    EXPECT_NE(text.find("{route=\"" + route +
                        "\",code=\"origin_not_allowed\",reason=\""
                        "fetch_site_cross_site\"} 2\n"),
              std::string::npos)
        << route;
  }
}

}  // namespace
}  // namespace latchkey::api
