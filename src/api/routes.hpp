#pragma once
// The server's routes: one table (api/routes.cpp) that declares, for every route, where it lives
// and the policy it runs under, and one pipeline that applies the policy in a fixed order before
// the handler (origin -> query and body -> rate limit -> handler, the caller taken from the
// row's authentication). Handlers only decode what the pipeline parsed, call a service, and
// encode the answer.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/frontend/options.hpp"
#include "core/error.hpp"
#include "core/metrics.hpp"
#include "flows/backend.hpp"
#include "flows/frontend.hpp"
#include "http/cors.hpp"
#include "http/message.hpp"
#include "http/router.hpp"

namespace latchkey::api {

// Where a row's path is mounted.
enum class Mount : std::uint8_t {
  kRoot,                // as written
  kFrontend,            // under FrontendApiOptions::prefix
  kFrontendIfPrefixed,  // under the prefix too, when there is one (else the kRoot row serves it)
  kBackend,             // under the Backend API's prefix; only when the Backend API is enabled
  kBackendIfPrefixed,   // the same, when that prefix is not empty (else the kRoot row serves it)
};

// CSRF (security catalog §2.F): whether the request must come from an allowed origin.
enum class Origin : std::uint8_t {
  kAnyOrigin,      // reads, the OAuth callback (a cross-site navigation by design), operations
  kAllowedOrigin,  // state changes: a foreign origin gets 403 origin_invalid first (catalog F1)
};

// What of the request the pipeline parses before the handler (issue 9, finding 5).
enum class Input : std::uint8_t {
  kUnread,    // neither query nor body is looked at (operational endpoints)
  kForm,      // the query and the body, strictly: a duplicated parameter is 400, a body that is
              // not application/x-www-form-urlencoded is 415; the handler gets both parsed
  kJsonBody,  // the Backend API: the query as kForm; a body, when there is one, must say it is
              // application/json (else 415) and is left for the handler to decode
};

// Which pair of rules (per IP, per client) a request counts against (catalog G2/G9).
enum class Limit : std::uint8_t {
  kNoLimit,
  kSignInLimit,        // sign_in_ip / sign_in_client: sign-in and sign-up attempts
  kVerificationLimit,  // verification_ip / verification_client: OAuth callbacks
  kTokenLimit,         // token_ip / token_client: session token minting
};

// Who the caller is, and from what.
enum class Auth : std::uint8_t {
  kNoAuth,        // nobody in particular
  kClientCookie,  // the browser's client cookie (__client, __Host-__client on https); a request
                  // with more than one has no client, and every answer deletes the variants
  kSessionToken,  // a session token (Authorization: Bearer, or the __session cookie)
  kSecretKey,     // the instance's secret key (the Backend API's Authorization: Bearer sk_...)
};

// How the route answers errors.
enum class Style : std::uint8_t {
  kJson,        // Clerk's error envelope
  kNavigation,  // a browser navigation (the OAuth callback): never framed or cached, no Referer,
                // and errors as a page on our own origin for a browser
};

// Which thread runs the handler (http::RouteOptions): the bulkhead keeps every wait on an
// identity provider off the worker pool the other routes share (docs/architecture.md).
enum class Thread : std::uint8_t {
  kWorker,    // may block (store, argon2id): the worker pool (server.workers)
  kInline,    // cheap and non-blocking: the I/O thread
  kOutbound,  // waits on an identity provider: the outbound pool (server.outbound_workers)
  kOutboundIfExternal,  // the outbound pool when the request names an OAuth strategy (discovery)
                        // or carries a captcha token (siteverify), else the worker pool
};

struct Policy {
  Origin origin = Origin::kAnyOrigin;
  Input input = Input::kUnread;
  Limit limit = Limit::kNoLimit;
  Auth auth = Auth::kNoAuth;
  Style style = Style::kJson;
  Thread thread = Thread::kWorker;
};

// Thread::kOutboundIfExternal's test: whether the request's form body or query names an OAuth
// strategy or carries a captcha token, i.e. whether its handler may call out.
[[nodiscard]] bool may_call_out(const http::Request& request);

// One row of the table, as data (the handler left out): for tests and documentation.
struct RouteInfo {
  http::Method method;
  Mount mount;
  std::string_view path;
  std::string_view name;  // metrics label and log name; a bounded set
  Policy policy;
  // POST rows: the methods a `_method=` query parameter may turn the request into (README §1.5),
  // each the row of that method on the same path. Any other `_method` value is 405.
  std::vector<http::Method> method_overrides;
};
[[nodiscard]] std::vector<RouteInfo> route_table();

// What the operational endpoints (readiness, JWKS) read.
struct Operational {
  std::function<core::Status()> ready;                       // the store answers
  std::function<std::shared_ptr<const std::string>()> jwks;  // the current JWKS document
};

class Routes {
 public:
  // Everything passed by reference must outlive the router the routes are registered with.
  Routes(flows::Frontend& flows, const http::Cors& cors, FrontendApiOptions options,
         Operational operational, core::Metrics& metrics);
  ~Routes();
  Routes(const Routes&) = delete;
  Routes& operator=(const Routes&) = delete;

  // Turns the Backend API's rows (Mount::kBackend) on, under `prefix` ("" = /v1/... at the
  // root), answered by `backend`. Call before register_routes.
  void enable_backend(flows::Backend& backend, std::string prefix);

  // Adds every row of the table, and the CORS preflight for OPTIONS on any known path.
  void register_routes(http::Router& router) const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace latchkey::api
