// THE route table, and the pipeline that runs every row's policy before its handler.
#include "api/routes.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include "api/context.hpp"
#include "api/handlers.hpp"
#include "http/metrics_handler.hpp"
#include "sessions/events.hpp"

namespace latchkey::api {
namespace {

using core::Code;
using core::Error;
using http::Method;
using http::Request;
using http::Response;

constexpr std::uint8_t bit(Method m) {
  return static_cast<std::uint8_t>(1U << static_cast<unsigned>(m));
}
static_assert(http::kMethodCount <= 8, "method_overrides is a byte of method bits");

// The `_method` values a POST row accepts, each selecting the row of that method on its path.
template <typename... M>
constexpr std::uint8_t via(M... m) {
  return static_cast<std::uint8_t>((bit(m) | ...));
}

struct Row {
  Method method;
  Mount mount;
  std::string_view path;
  std::string_view name;
  Policy policy;
  HandlerFn handler;
  std::uint8_t method_overrides = 0;
};

using enum http::Method;
using enum Mount;
using enum Origin;
using enum Input;
using enum Limit;
using enum Auth;
using enum Style;
using enum Thread;

// Every route the server has, in registration order (which is also the order of the per-route
// series in /metrics). A row's policy runs in this order before its handler: origin (403) ->
// query and body (400/415) -> rate limit (429 + Retry-After) -> handler, which reads the caller
// the row's Auth names; every answer of a kClientCookie row, refusals included, deletes the
// variants of an ambiguous client cookie.
// clang-format off
constexpr Row kRows[] = {
    // Each row: {method, mount, path, name (the metrics and log label),
    //            {origin, input, limit, auth, style, thread},
    //            handler [, the `_method` values a POST row takes]}.
    // Operational endpoints: no caller, nothing read from the request.
    {kGet,    kRoot,               "/healthz",                         "healthz",
     {kAnyOrigin,      kUnread,  kNoLimit,            kNoAuth,        kJson,        kInline},
     &healthz},
    {kGet,    kRoot,               "/readyz",                          "readyz",
     {kAnyOrigin,      kUnread,  kNoLimit,            kNoAuth,        kJson,        kWorker},
     &readyz},
    {kGet,    kRoot,               "/metrics",                         "metrics",
     {kAnyOrigin,      kUnread,  kNoLimit,            kNoAuth,        kJson,        kInline},
     &prometheus_metrics},
    {kGet,    kRoot,               "/.well-known/jwks.json",           "jwks",
     {kAnyOrigin,      kUnread,  kNoLimit,            kNoAuth,        kJson,        kInline},
     &jwks_document},
    {kGet,    kRoot,               "/v1/jwks",                         "jwks",
     {kAnyOrigin,      kUnread,  kNoLimit,            kNoAuth,        kJson,        kInline},
     &jwks_document},
    {kGet,    kFrontendIfPrefixed, "/v1/jwks",                         "jwks",
     {kAnyOrigin,      kUnread,  kNoLimit,            kNoAuth,        kJson,        kInline},
     &jwks_document},

    // The Frontend API. POST and PATCH /v1/environment (the SDK's Environment.touch) change
    // nothing.
    {kGet,    kFrontend,           "/v1/environment",                  "fapi_environment",
     {kAnyOrigin,      kForm,    kNoLimit,            kClientCookie,  kJson,        kInline},
     &environment},
    {kPost,   kFrontend,           "/v1/environment",                  "fapi_environment",
     {kAnyOrigin,      kForm,    kNoLimit,            kClientCookie,  kJson,        kInline},
     &environment},
    {kPatch,  kFrontend,           "/v1/environment",                  "fapi_environment",
     {kAnyOrigin,      kForm,    kNoLimit,            kClientCookie,  kJson,        kInline},
     &environment},

    {kGet,    kFrontend,           "/v1/client",                       "fapi_client_get",
     {kAnyOrigin,      kForm,    kNoLimit,            kClientCookie,  kJson,        kWorker},
     &get_client},
    // Client.create: a client is created lazily by the first attempt, so this reports the
    // current one.
    {kPost,   kFrontend,           "/v1/client",                       "fapi_client_mutate",
     {kAllowedOrigin,  kForm,    kNoLimit,            kClientCookie,  kJson,        kWorker},
     &get_client, via(kPut, kDelete)},
    {kPut,    kFrontend,           "/v1/client",                       "fapi_client_mutate",
     {kAllowedOrigin,  kForm,    kNoLimit,            kClientCookie,  kJson,        kWorker},
     &get_client},
    {kDelete, kFrontend,           "/v1/client",                       "fapi_client_delete",
     {kAllowedOrigin,  kForm,    kNoLimit,            kClientCookie,  kJson,        kWorker},
     &destroy_client},

    // @clerk/backend's handshake: a top-level navigation from the app's server (no origin check,
    // nothing changes); the answer is a 307 to the allow-listed redirect_url.
    {kGet,    kFrontend,           "/v1/client/handshake",             "fapi_client_handshake",
     {kAnyOrigin,      kForm,    kTokenLimit,         kClientCookie,  kJson,        kWorker},
     &client_handshake},
    {kPost,   kFrontend,           "/v1/client/sign_ins",              "fapi_sign_in_create",
     {kAllowedOrigin,  kForm,    kSignInLimit,        kClientCookie,  kJson,        kOutboundIfExternal},
     &create_sign_in},
    {kGet,    kFrontend,           "/v1/client/sign_ins/{id}",         "fapi_sign_in_get",
     {kAnyOrigin,      kForm,    kNoLimit,            kClientCookie,  kJson,        kWorker},
     &get_sign_in},
    // First factors of a sign-in: a code is sent (prepare), a password or code checked
    // (attempt: the verification pair, against guessing), a new password set (reset).
    {kPost,   kFrontend,           "/v1/client/sign_ins/{id}/prepare_first_factor",
     "fapi_sign_in_prepare_first_factor",
     {kAllowedOrigin,  kForm,    kSignInLimit,        kClientCookie,  kJson,        kWorker},
     &prepare_first_factor},
    {kPost,   kFrontend,           "/v1/client/sign_ins/{id}/attempt_first_factor",
     "fapi_sign_in_attempt_first_factor",
     {kAllowedOrigin,  kForm,    kVerificationLimit,  kClientCookie,  kJson,        kWorker},
     &attempt_first_factor},
    // The second factor of a user who has one (needs_second_factor): guessed like a first.
    {kPost,   kFrontend,           "/v1/client/sign_ins/{id}/attempt_second_factor",
     "fapi_sign_in_attempt_second_factor",
     {kAllowedOrigin,  kForm,    kVerificationLimit,  kClientCookie,  kJson,        kWorker},
     &attempt_second_factor},
    {kPost,   kFrontend,           "/v1/client/sign_ins/{id}/reset_password",
     "fapi_sign_in_reset_password",
     {kAllowedOrigin,  kForm,    kSignInLimit,        kClientCookie,  kJson,        kWorker},
     &reset_password},
    {kPost,   kFrontend,           "/v1/client/sign_ups",              "fapi_sign_up_create",
     {kAllowedOrigin,  kForm,    kSignInLimit,        kClientCookie,  kJson,        kOutboundIfExternal},
     &create_sign_up},
    {kGet,    kFrontend,           "/v1/client/sign_ups/{id}",         "fapi_sign_up_get",
     {kAnyOrigin,      kForm,    kNoLimit,            kClientCookie,  kJson,        kWorker},
     &get_sign_up},
    {kPatch,  kFrontend,           "/v1/client/sign_ups/{id}",         "fapi_sign_up_update",
     {kAllowedOrigin,  kForm,    kSignInLimit,        kClientCookie,  kJson,        kOutboundIfExternal},
     &update_sign_up},
    {kPost,   kFrontend,           "/v1/client/sign_ups/{id}",         "fapi_sign_up_update",
     {kAllowedOrigin,  kForm,    kNoLimit,            kClientCookie,  kJson,        kOutboundIfExternal},
     &method_not_allowed, via(kPatch)},
    {kPost,   kFrontend,           "/v1/client/sign_ups/{id}/prepare_verification",
     "fapi_sign_up_prepare_verification",
     {kAllowedOrigin,  kForm,    kSignInLimit,        kClientCookie,  kJson,        kWorker},
     &prepare_verification},
    {kPost,   kFrontend,           "/v1/client/sign_ups/{id}/attempt_verification",
     "fapi_sign_up_attempt_verification",
     {kAllowedOrigin,  kForm,    kVerificationLimit,  kClientCookie,  kJson,        kWorker},
     &attempt_verification},

    // The IdP sends the browser here (a cross-site top-level navigation, or a form_post): no
    // origin check, the single-use state bound to the client is the CSRF defence (catalog §2.B).
    {kGet,    kFrontend,           "/v1/oauth_callback",               "fapi_oauth_callback",
     {kAnyOrigin,      kForm,    kVerificationLimit,  kClientCookie,  kNavigation,  kOutbound},
     &oauth_callback},
    {kPost,   kFrontend,           "/v1/oauth_callback",               "fapi_oauth_callback",
     {kAnyOrigin,      kForm,    kVerificationLimit,  kClientCookie,  kNavigation,  kWorker},
     &oauth_callback},

    // An email link opened in any browser (a top-level navigation from a mail client): no
    // origin check; the signed, single-use token bound to its attempt is the defence.
    {kGet,    kFrontend,           "/v1/verify",                       "fapi_verify",
     {kAnyOrigin,      kForm,    kVerificationLimit,  kClientCookie,  kJson,        kWorker},
     &verify_email_link},

    // The signed-in user (?_clerk_session_id=, pending sessions too): second factors.
    {kGet,    kFrontend,           "/v1/me",                           "fapi_me_get",
     {kAnyOrigin,      kForm,    kNoLimit,            kClientCookie,  kJson,        kWorker},
     &me_get},
    {kPost,   kFrontend,           "/v1/me/totp",                      "fapi_me_totp_create",
     {kAllowedOrigin,  kForm,    kSignInLimit,        kClientCookie,  kJson,        kWorker},
     &me_totp_create, via(kDelete)},
    {kDelete, kFrontend,           "/v1/me/totp",                      "fapi_me_totp_delete",
     {kAllowedOrigin,  kForm,    kSignInLimit,        kClientCookie,  kJson,        kWorker},
     &me_totp_delete},
    {kPost,   kFrontend,           "/v1/me/totp/attempt_verification",
     "fapi_me_totp_verify",
     {kAllowedOrigin,  kForm,    kVerificationLimit,  kClientCookie,  kJson,        kWorker},
     &me_totp_verify},
    {kPost,   kFrontend,           "/v1/me/backup_codes/",             "fapi_me_backup_codes_create",
     {kAllowedOrigin,  kForm,    kSignInLimit,        kClientCookie,  kJson,        kWorker},
     &me_backup_codes_create},
    // user.updatePassword (and the reset-password task): a password is checked, so guessed-at.
    {kPost,   kFrontend,           "/v1/me/change_password",           "fapi_me_change_password",
     {kAllowedOrigin,  kForm,    kVerificationLimit,  kClientCookie,  kJson,        kWorker},
     &me_change_password},

    {kPost,   kFrontend,           "/v1/client/sessions/{id}/touch",   "fapi_session_touch",
     {kAllowedOrigin,  kForm,    kNoLimit,            kClientCookie,  kJson,        kWorker},
     &touch_session},
    {kPost,   kFrontend,           "/v1/client/sessions/{id}/end",     "fapi_session_end",
     {kAllowedOrigin,  kForm,    kNoLimit,            kClientCookie,  kJson,        kWorker},
     &end_session},
    {kPost,   kFrontend,           "/v1/client/sessions/{id}/remove",  "fapi_session_remove",
     {kAllowedOrigin,  kForm,    kNoLimit,            kClientCookie,  kJson,        kWorker},
     &remove_session},
    {kPost,   kFrontend,           "/v1/client/sessions/{id}/tokens",  "fapi_session_tokens",
     {kAllowedOrigin,  kForm,    kTokenLimit,         kClientCookie,  kJson,        kWorker},
     &session_token},
    {kPost,   kFrontend,           "/v1/client/sessions",              "fapi_sessions_delete",
     {kAllowedOrigin,  kForm,    kNoLimit,            kClientCookie,  kJson,        kWorker},
     &method_not_allowed, via(kDelete)},
    {kDelete, kFrontend,           "/v1/client/sessions",              "fapi_sessions_delete",
     {kAllowedOrigin,  kForm,    kNoLimit,            kClientCookie,  kJson,        kWorker},
     &sign_out},

    // The Backend API (docs/backend-api.md): the application's server, with a secret key
    // (Authorization: Bearer sk_live_...); JSON in and out. One row per endpoint.
    {kGet,    kBackendIfPrefixed,  "/v1/jwks",                         "jwks",
     {kAnyOrigin,      kUnread,  kNoLimit,            kNoAuth,        kJson,        kInline},
     &jwks_document},
    {kGet,    kBackend,            "/v1/users",                        "bapi_users_list",
     {kAnyOrigin,      kJsonBody, kNoLimit,           kSecretKey,     kJson,        kWorker},
     &bapi_list_users},
    {kGet,    kBackend,            "/v1/users/count",                  "bapi_users_count",
     {kAnyOrigin,      kJsonBody, kNoLimit,           kSecretKey,     kJson,        kWorker},
     &bapi_count_users},
    {kPost,   kBackend,            "/v1/users",                        "bapi_users_create",
     {kAnyOrigin,      kJsonBody, kNoLimit,           kSecretKey,     kJson,        kWorker},
     &bapi_create_user},
    {kGet,    kBackend,            "/v1/users/{id}",                   "bapi_users_get",
     {kAnyOrigin,      kJsonBody, kNoLimit,           kSecretKey,     kJson,        kWorker},
     &bapi_get_user},
    {kPatch,  kBackend,            "/v1/users/{id}",                   "bapi_users_update",
     {kAnyOrigin,      kJsonBody, kNoLimit,           kSecretKey,     kJson,        kWorker},
     &bapi_update_user},
    {kDelete, kBackend,            "/v1/users/{id}",                   "bapi_users_delete",
     {kAnyOrigin,      kJsonBody, kNoLimit,           kSecretKey,     kJson,        kWorker},
     &bapi_delete_user},
    {kPatch,  kBackend,            "/v1/users/{id}/metadata",          "bapi_users_metadata_merge",
     {kAnyOrigin,      kJsonBody, kNoLimit,           kSecretKey,     kJson,        kWorker},
     &bapi_merge_user_metadata},
    {kPut,    kBackend,            "/v1/users/{id}/metadata",          "bapi_users_metadata_replace",
     {kAnyOrigin,      kJsonBody, kNoLimit,           kSecretKey,     kJson,        kWorker},
     &bapi_replace_user_metadata},
    {kPost,   kBackend,            "/v1/users/{id}/ban",               "bapi_users_ban",
     {kAnyOrigin,      kJsonBody, kNoLimit,           kSecretKey,     kJson,        kWorker},
     &bapi_ban_user},
    {kPost,   kBackend,            "/v1/users/{id}/unban",             "bapi_users_unban",
     {kAnyOrigin,      kJsonBody, kNoLimit,           kSecretKey,     kJson,        kWorker},
     &bapi_unban_user},
    {kPost,   kBackend,            "/v1/users/{id}/lock",              "bapi_users_lock",
     {kAnyOrigin,      kJsonBody, kNoLimit,           kSecretKey,     kJson,        kWorker},
     &bapi_lock_user},
    {kPost,   kBackend,            "/v1/users/{id}/unlock",            "bapi_users_unlock",
     {kAnyOrigin,      kJsonBody, kNoLimit,           kSecretKey,     kJson,        kWorker},
     &bapi_unlock_user},
    {kPost,   kBackend,            "/v1/users/{id}/password/set_compromised",
     "bapi_users_set_password_compromised",
     {kAnyOrigin,      kJsonBody, kNoLimit,           kSecretKey,     kJson,        kWorker},
     &bapi_set_password_compromised},
    {kPost,   kBackend,            "/v1/users/{id}/password/unset_compromised",
     "bapi_users_unset_password_compromised",
     {kAnyOrigin,      kJsonBody, kNoLimit,           kSecretKey,     kJson,        kWorker},
     &bapi_unset_password_compromised},
    {kPost,   kBackend,            "/v1/users/{id}/verify_password",   "bapi_users_verify_password",
     {kAnyOrigin,      kJsonBody, kNoLimit,           kSecretKey,     kJson,        kWorker},
     &bapi_verify_password},
    {kDelete, kBackend,            "/v1/users/{id}/mfa",               "bapi_users_disable_mfa",
     {kAnyOrigin,      kJsonBody, kNoLimit,           kSecretKey,     kJson,        kWorker},
     &bapi_disable_mfa},
    {kPost,   kBackend,            "/v1/email_addresses",               "bapi_email_addresses_create",
     {kAnyOrigin,      kJsonBody, kNoLimit,           kSecretKey,     kJson,        kWorker},
     &bapi_email_create},
    {kGet,    kBackend,            "/v1/email_addresses/{id}",          "bapi_email_addresses_get",
     {kAnyOrigin,      kJsonBody, kNoLimit,           kSecretKey,     kJson,        kWorker},
     &bapi_email_get},
    {kPatch,  kBackend,            "/v1/email_addresses/{id}",          "bapi_email_addresses_update",
     {kAnyOrigin,      kJsonBody, kNoLimit,           kSecretKey,     kJson,        kWorker},
     &bapi_email_update},
    {kDelete, kBackend,            "/v1/email_addresses/{id}",          "bapi_email_addresses_delete",
     {kAnyOrigin,      kJsonBody, kNoLimit,           kSecretKey,     kJson,        kWorker},
     &bapi_email_delete},
    {kGet,    kBackend,            "/v1/sessions",                     "bapi_sessions_list",
     {kAnyOrigin,      kJsonBody, kNoLimit,           kSecretKey,     kJson,        kWorker},
     &bapi_list_sessions},
    {kGet,    kBackend,            "/v1/sessions/{id}",                "bapi_sessions_get",
     {kAnyOrigin,      kJsonBody, kNoLimit,           kSecretKey,     kJson,        kWorker},
     &bapi_get_session},
    {kPost,   kBackend,            "/v1/sessions/{id}/revoke",         "bapi_sessions_revoke",
     {kAnyOrigin,      kJsonBody, kNoLimit,           kSecretKey,     kJson,        kWorker},
     &bapi_revoke_session},
    {kPost,   kBackend,            "/v1/sessions/{id}/tokens",         "bapi_sessions_token",
     {kAnyOrigin,      kJsonBody, kNoLimit,           kSecretKey,     kJson,        kWorker},
     &bapi_session_token},
    {kGet,    kBackend,            "/v1/clients",                      "bapi_clients_list",
     {kAnyOrigin,      kJsonBody, kNoLimit,           kSecretKey,     kJson,        kWorker},
     &bapi_list_clients},
    {kGet,    kBackend,            "/v1/clients/handshake_payload",    "bapi_clients_handshake_payload",
     {kAnyOrigin,      kJsonBody, kNoLimit,           kSecretKey,     kJson,        kWorker},
     &bapi_handshake_payload},
    {kPost,   kBackend,            "/v1/clients/verify",               "bapi_clients_verify",
     {kAnyOrigin,      kJsonBody, kNoLimit,           kSecretKey,     kJson,        kWorker},
     &bapi_verify_client},
    {kGet,    kBackend,            "/v1/clients/{id}",                 "bapi_clients_get",
     {kAnyOrigin,      kJsonBody, kNoLimit,           kSecretKey,     kJson,        kWorker},
     &bapi_get_client},
    {kPost,   kBackend,            "/v1/testing_tokens",               "bapi_testing_tokens_create",
     {kAnyOrigin,      kJsonBody, kNoLimit,           kSecretKey,     kJson,        kWorker},
     &bapi_create_testing_token},
};
// clang-format on

std::size_t index_of(const Row& row) { return static_cast<std::size_t>(&row - kRows); }

// For a POST row with method overrides: the row each `_method` selects (by Method), else null.
using Overrides = std::array<const Row*, http::kMethodCount>;

struct Rules {
  const ratelimit::Rule* ip = nullptr;
  const ratelimit::Rule* client = nullptr;
};

Rules rules_of(const FrontendRateLimits& l, Limit limit) {
  switch (limit) {
    case kNoLimit:
      return {};
    case kSignInLimit:
      return {&l.sign_in_ip, &l.sign_in_client};
    case kVerificationLimit:
      return {&l.verification_ip, &l.verification_client};
    case kTokenLimit:
      return {&l.token_ip, &l.token_client};
  }
  return {};
}

// Rate limits (catalog G2/G9): counted per IP and per client before any database or provider
// work, so refused requests stay cheap. 429 + Retry-After in the Clerk envelope.
std::optional<Response> rate_limited(const Call& call, const Rules& rules,
                                     const std::optional<std::string>& client_token) {
  const Context& ctx = call.ctx;
  if (ctx.options.limiter == nullptr) {
    return std::nullopt;
  }
  const Request& req = call.req;
  std::vector<ratelimit::Limiter::Check> checks;
  checks.push_back(
      {rules.ip, ratelimit::client_ip(req.remote_addr, req.header("x-forwarded-for").value_or(""),
                                      ctx.options.limits.trusted_proxies)});
  if (client_token && !client_token->empty()) {
    // Keyed on the hash: the limiter (and a shared counter store) never holds the cookie.
    checks.push_back({rules.client, sessions::Clients::hash_token(*client_token)});
  }
  const auto d = ctx.options.limiter->hit(checks);
  if (d.allowed) {
    return std::nullopt;
  }
  spdlog::warn("rate limited: rule={} path={} request_id={}", d.rule, req.path, req.request_id);
  return call.error(Error(Code::kTooManyRequests)
                        .with_meta("retry_after_seconds", std::to_string(d.retry_after.count()))
                        .with_reason(d.rule == rules.ip->name ? core::Reason::kRateLimitedIp
                                                              : core::Reason::kRateLimitedClient));
}

Response refuse(const Call& call, Style style, const Error& e) {
  return style == kNavigation ? call.callback_error(e) : call.error(e);
}

// The policy of `row`, then its handler (or, for a POST with `_method`, the selected row's).
Response answer(Call& call, const Row& row, const Overrides& overrides) {
  const Context& ctx = call.ctx;
  Request& req = call.req;
  const Style style = row.policy.style;
  if (row.policy.auth == kSecretKey) {
    if (auto ok = check_secret_key(call); !ok) {
      return call.error(ok.error());
    }
  }
  if (row.policy.origin == kAllowedOrigin) {
    if (auto ok = check_origin(ctx, req); !ok) {
      return refuse(call, style, ok.error());
    }
  }
  if (row.policy.input == kForm || row.policy.input == kJsonBody) {
    // One parameter, one value: a duplicated query or form parameter is refused (400
    // form_param_duplicate naming it), never resolved by order.
    auto query = http::parse_query(req.query);
    if (!query) {
      return refuse(call, style, query.error());
    }
    call.query = std::move(*query);
    if (row.policy.input == kJsonBody) {
      if (auto ok = check_json_body(req); !ok) {
        return refuse(call, style, ok.error());
      }
    } else {
      auto form = parse_form_body(req);
      if (!form) {
        return refuse(call, style, form.error());
      }
      call.form = std::move(*form);
    }
  }
  const Row* target = &row;
  if (row.method_overrides != 0) {
    if (auto m = method_override(req, call.query)) {
      target = overrides.at(static_cast<std::size_t>(*m));
      if (target == nullptr) {
        return call.error(Error(Code::kMethodNotAllowed));
      }
      call.route_index = index_of(*target);
      call.route = target->name;
    }
  }
  const Policy& policy = target->policy;
  if (policy.limit != kNoLimit) {
    const Rules rules = rules_of(ctx.options.limits, policy.limit);
    call.client_rule = rules.client;
    if (auto refused = rate_limited(call, rules, call.client_cookie.first)) {
      if (policy.style == kNavigation) {
        navigation_headers(*refused);
      }
      return std::move(*refused);
    }
  }
  return target->handler(call);
}

Response run(const Context& ctx, const Row& row, const Overrides& overrides, Request& req) {
  Call call(ctx, index_of(row), row.name, req);
  // Who asked, for the event_attributes of the webhook events this request causes.
  const sessions::RequestScope request_scope(
      {.client_ip =
           ratelimit::client_ip(req.remote_addr, req.header("x-forwarded-for").value_or(""),
                                ctx.options.limits.trusted_proxies),
       .user_agent = std::string(req.header("user-agent").value_or(""))});
  if (row.policy.auth == kClientCookie) {
    call.client_cookie = http::match_cookie(req, ctx.cookie_name);
  }
  Response r = answer(call, row, overrides);
  if (row.policy.auth == kClientCookie) {
    clear_ambiguous_cookies(call, r);
  }
  return r;
}

// Start-up checks of the table: a row the pipeline cannot honour fails the start, never a
// request.
Overrides overrides_of(const Row& row) {
  Overrides out{};
  if (row.policy.auth == kSessionToken) {
    // Declared for the routes to come (session-authenticated FAPI); until the
    // pipeline verifies them, a row that asks for them must not start unauthenticated.
    throw std::logic_error("route " + std::string(row.name) + ": authentication not implemented");
  }
  if (row.method_overrides == 0) {
    return out;
  }
  if (row.method != kPost) {
    throw std::logic_error("route " + std::string(row.name) + ": only POST takes _method");
  }
  for (const Row& other : kRows) {
    if (other.path != row.path || other.mount != row.mount ||
        (row.method_overrides & bit(other.method)) == 0) {
      continue;
    }
    // The POST row's origin check and parsing are what ran: the selected row must want the same.
    if (other.policy.origin != row.policy.origin || other.policy.input != row.policy.input ||
        other.policy.auth != row.policy.auth || other.policy.style != row.policy.style) {
      throw std::logic_error("route " + std::string(other.name) +
                             ": policy differs from the POST that overrides to it");
    }
    out.at(static_cast<std::size_t>(other.method)) = &other;
  }
  for (std::size_t m = 0; m < out.size(); ++m) {
    if ((row.method_overrides & bit(static_cast<Method>(m))) != 0 && out.at(m) == nullptr) {
      throw std::logic_error("route " + std::string(row.name) + ": _method without a row");
    }
  }
  return out;
}

}  // namespace

bool may_call_out(const Request& req) {
  auto calls_out = [](std::string_view text) {
    if (text.empty()) {
      return false;
    }
    // Only a routing hint: a body that does not parse goes to the worker pool, and the pipeline
    // refuses it there.
    auto fields = http::parse_query(text);
    if (!fields) {
      return false;
    }
    const auto strategy = http::find_field(*fields, "strategy");
    const auto captcha = http::find_field(*fields, "captcha_token");
    return (strategy &&
            (strategy->starts_with("oauth_") || strategy->starts_with("enterprise_sso") ||
             strategy->starts_with("saml"))) ||
           (captcha && !captcha->empty());
  };
  return calls_out(req.body) || calls_out(req.query);
}

Response method_not_allowed(Call& call) { return call.error(Error(Code::kMethodNotAllowed)); }

std::vector<RouteInfo> route_table() {
  std::vector<RouteInfo> out;
  out.reserve(std::size(kRows));
  for (const Row& row : kRows) {
    RouteInfo info{row.method, row.mount, row.path, row.name, row.policy, {}};
    for (std::size_t m = 0; m < http::kMethodCount; ++m) {
      if ((row.method_overrides & bit(static_cast<Method>(m))) != 0) {
        info.method_overrides.push_back(static_cast<Method>(m));
      }
    }
    out.push_back(std::move(info));
  }
  return out;
}

Context::Context(flows::Frontend& f, const http::Cors& c, FrontendApiOptions o, Operational ops,
                 core::Metrics& m)
    : flows(f),
      cors(c),
      options(std::move(o)),
      operational(std::move(ops)),
      metrics(m),
      render_metrics(http::metrics_handler(m)),
      failures(m),
      cookie_name(options.secure_cookies ? "__Host-__client" : "__client"),
      cookie_domains(parent_domains(options.public_origin)) {}

struct Routes::Impl : Context {
  using Context::Context;
};

Routes::Routes(flows::Frontend& flows, const http::Cors& cors, FrontendApiOptions options,
               Operational operational, core::Metrics& metrics)
    : impl_(std::make_shared<Impl>(flows, cors, std::move(options), std::move(operational),
                                   metrics)) {}

Routes::~Routes() = default;

void Routes::enable_backend(flows::Backend& backend, std::string prefix) {
  impl_->backend = &backend;
  impl_->backend_prefix = std::move(prefix);
}

void Routes::register_routes(http::Router& router) const {
  const std::shared_ptr<const Context> ctx = impl_;
  for (const Row& row : kRows) {
    const Overrides overrides = overrides_of(row);
    http::Handler handler = [ctx, &row, overrides](Request& req) {
      return run(*ctx, row, overrides, req);
    };
    http::RouteOptions options{
        std::string(row.name),
        row.policy.thread == kInline,
        row.policy.thread == kOutbound ? http::Pool::kOutbound : http::Pool::kWorkers,
        {}};
    if (row.policy.thread == kOutboundIfExternal) {
      options.choose_pool = [](const Request& req) {
        return may_call_out(req) ? http::Pool::kOutbound : http::Pool::kWorkers;
      };
    }
    switch (row.mount) {
      case kRoot:
        router.add(row.method, row.path, std::move(handler), std::move(options));
        break;
      case kBackendIfPrefixed:
        if (ctx->backend_prefix.empty()) {
          break;  // the kRoot row of the same path serves it
        }
        [[fallthrough]];
      case kBackend:
        if (ctx->backend == nullptr) {
          break;  // the Backend API is off
        }
        router.group(ctx->backend_prefix)
            .add(row.method, row.path, std::move(handler), std::move(options));
        break;
      case kFrontendIfPrefixed:
        if (ctx->options.prefix.empty()) {
          break;  // the kRoot row of the same path serves it
        }
        [[fallthrough]];
      case kFrontend:
        router.group(ctx->options.prefix)
            .add(row.method, row.path, std::move(handler), std::move(options));
        break;
    }
  }
  router.set_options_handler([ctx](Request& req) { return ctx->cors.preflight(req); });
}

}  // namespace latchkey::api
