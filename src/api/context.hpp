#pragma once
// Internal to api/: what a handler works with. The Context lives as long as the routes; the Call
// is one request, filled in by the route table's pipeline (api/routes.cpp) before the handler
// runs, so a handler never parses, limits or checks an origin itself.
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/dto/encode.hpp"
#include "api/dto/json_writer.hpp"
#include "api/frontend/options.hpp"
#include "api/routes.hpp"
#include "core/error.hpp"
#include "core/metrics.hpp"
#include "flows/backend.hpp"
#include "flows/frontend.hpp"
#include "http/cookies.hpp"
#include "http/cors.hpp"
#include "http/form.hpp"
#include "http/message.hpp"

namespace latchkey::api {

// latchkey_request_failures_total{route,code,reason}. A series is created in the registry once
// (under its mutex, with label strings) and found here afterwards without a lock, as the server
// does for latchkey_http_requests_total: a flood of refusals stays cheap.
class FailureCounters {
 public:
  explicit FailureCounters(core::Metrics& metrics) : metrics_(metrics) {}
  // `route_index` identifies `route` (its row in the table).
  void inc(std::size_t route_index, std::string_view route, const core::Error& e);

 private:
  core::Counter& series(std::string_view route, const core::Error& e);

  static constexpr std::size_t kSlots = 256;  // distinct (route, code, reason) seen: a few dozen
  core::Metrics& metrics_;
  std::array<std::atomic<std::uint32_t>, kSlots> keys_{};
  std::array<std::atomic<core::Counter*>, kSlots> counters_{};
};

struct Context {
  Context(flows::Frontend& f, const http::Cors& c, FrontendApiOptions o, Operational ops,
          core::Metrics& m);

  flows::Frontend& flows;
  const http::Cors& cors;
  FrontendApiOptions options;
  Operational operational;
  core::Metrics& metrics;
  http::Handler render_metrics;
  mutable FailureCounters failures;
  std::string_view cookie_name;  // __client, or __Host-__client on https
  // Where a planted variant of the client cookie may live: the FAPI host and its parent domains.
  std::vector<std::string> cookie_domains;
  // The Backend API (Routes::enable_backend); null = its rows are not registered.
  flows::Backend* backend = nullptr;
  std::string backend_prefix;
};

struct Call {
  Call(const Context& c, std::size_t index, std::string_view name, http::Request& q)
      : ctx(c), route_index(index), route(name), req(q) {}

  const Context& ctx;
  std::size_t route_index;  // the table's row whose handler runs
  std::string_view route;   // and its name
  http::Request& req;
  http::Fields query;               // Input::kForm: the parsed query string
  http::Fields form;                // Input::kForm: the parsed body
  http::CookieMatch client_cookie;  // Auth::kClientCookie: the client cookies it carries
  const ratelimit::Rule* client_rule = nullptr;  // the row's per-client rule (Limit), if any

  // Auth::kClientCookie: who the client cookie makes the caller. Built on first use: a handler
  // that needs no client (the environment) pays nothing for it.
  [[nodiscard]] const flows::Caller& caller();

  // Every error answer of a route is built here: Clerk's envelope, the audit line of a refused
  // credential, and one count in latchkey_request_failures_total{route,code,reason}.
  [[nodiscard]] http::Response error(const core::Error& e) const;
  // The callback's errors: a static page on our own origin for a browser, the envelope for
  // anything else (Style::kNavigation). Audited and counted like a failed callback.
  [[nodiscard]] http::Response callback_error(const core::Error& e) const;
  // A callback that failed at the provider yet answers with its redirect (the attempt records
  // the failure): the audit line and the count an error answer would have had.
  void callback_failed(const core::Error& e) const;

  // Storage for a response body: the connection's spare buffer (http::Request::body_buffer), so
  // a keep-alive connection does not allocate a body per request.
  [[nodiscard]] std::string body_storage();

 private:
  void audit_callback_failure(const core::Error& e) const;
  void count_failure(const core::Error& e) const;

  std::optional<flows::Caller> caller_;
};

// ---- request side (api/request.cpp) ------------------------------------------------------------

// "http://auth.example.com:8443" -> {"example.com"}: the proper parent domains of the host with
// at least two labels. None for an IP address or a single-label host.
[[nodiscard]] std::vector<std::string> parent_domains(std::string_view origin);
[[nodiscard]] flows::Caller make_caller(const Context& ctx, const http::Request& req,
                                        const http::CookieMatch& cookie);
// CSRF: whether a state-changing request comes from an allowed origin (Origin::kAllowedOrigin).
[[nodiscard]] core::Status check_origin(const Context& ctx, const http::Request& req);
// The body as a form, only when it says it is one (Input::kForm).
[[nodiscard]] core::Result<http::Fields> parse_form_body(const http::Request& req);
// The Backend API's secret key (Auth::kSecretKey): `Authorization: Bearer <key>`, valid and not
// revoked. Every refusal is the same 401, whatever was wrong.
[[nodiscard]] core::Status check_secret_key(const Call& call);
// Input::kJson: a body, if any, says it is application/json (415 otherwise).
[[nodiscard]] core::Status check_json_body(const http::Request& req);
// The `_method` of a POST (README §1.5): nullopt when there is none, kOther for any value that
// is not PATCH, PUT or DELETE.
[[nodiscard]] std::optional<http::Method> method_override(const http::Request& req,
                                                          const http::Fields& query);

[[nodiscard]] std::optional<std::string> field(const http::Fields& f, std::string_view key);
[[nodiscard]] core::Result<bool> bool_field(const http::Fields& f, std::string_view key,
                                            bool fallback);

// ---- response side (api/respond.cpp) -----------------------------------------------------------

[[nodiscard]] http::Response json_response(int status, std::string body);
// Browser-navigated responses (the callback).
void navigation_headers(http::Response& r);
void set_client_cookie(const Context& ctx, http::Response& r, const std::string& token);
void clear_client_cookie(const Context& ctx, http::Response& r);
// A request with more than one client cookie: deletes every variant we can name (Auth::
// kClientCookie routes, on every answer).
void clear_ambiguous_cookies(const Call& call, http::Response& r);

// {"response": <resource>, "client": <full client>} (README §1.6: always the full client).
// `write_resource(JsonWriter&)` writes the resource.
template <typename WriteResource>
http::Response envelope(Call& call, const flows::Mutation& m, WriteResource&& write_resource) {
  std::string body = call.body_storage();
  dto::JsonWriter w(body);
  w.begin_object();
  w.key("response");
  std::forward<WriteResource>(write_resource)(w);
  w.key("client");
  dto::write_client(w, m.client, call.ctx.options.required_fields);
  w.end_object();
  http::Response r = json_response(200, std::move(body));
  if (m.new_client_token) {
    set_client_cookie(call.ctx, r, *m.new_client_token);
  }
  return r;
}

}  // namespace latchkey::api
