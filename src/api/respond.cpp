// The response side shared by every handler: errors (the one place they are built), the
// callback's page, JSON bodies, navigation headers and the client cookie.
#include <spdlog/spdlog.h>

#include <cstdint>
#include <iterator>
#include <string>
#include <utility>

#include "api/context.hpp"
#include "api/errors.hpp"
#include "core/html.hpp"

namespace latchkey::api {
using core::Code;
using core::Error;
using core::html_escape;
using http::Response;

namespace {

// A signed-in client with one session and its token is ~3 KB.
constexpr std::size_t kBodyReserve = 4096;

}  // namespace

std::string Call::body_storage() {
  std::string body = std::move(req.body_buffer);
  body.clear();
  body.reserve(kBodyReserve);
  return body;
}

// Bounded labels: route names come from the table, codes and reasons from their enums.
core::Counter& FailureCounters::series(std::string_view route, const Error& e) {
  return metrics_.counter(
      "latchkey_request_failures_total",
      "Requests answered with an error, and OAuth callbacks that failed at the provider, by "
      "route, error code and reason (the client sees only the code's answer).",
      {{"route", std::string(route)},
       {"code", std::string(core::code_id(e.code))},
       {"reason", std::string(core::reason_name(e.reason))}});
}

void FailureCounters::inc(std::size_t route_index, std::string_view route, const Error& e) {
  static_assert(static_cast<std::size_t>(Code::kInternal) < 256 && core::kReasonCount <= 256,
                "a code and a reason fit a byte each in the key");
  const auto key = static_cast<std::uint32_t>(((route_index + 1) << 16) |
                                              (static_cast<std::uint32_t>(e.code) << 8) |
                                              static_cast<std::uint32_t>(e.reason));
  const std::size_t h = (key * 2654435761U) % kSlots;
  for (std::size_t i = 0; i < kSlots; ++i) {
    const std::size_t slot = (h + i) % kSlots;
    std::uint32_t cur = keys_[slot].load(std::memory_order_acquire);
    if (cur == 0 && keys_[slot].compare_exchange_strong(cur, key, std::memory_order_acq_rel)) {
      core::Counter& c = series(route, e);
      counters_[slot].store(&c, std::memory_order_release);
      c.inc();
      return;
    }
    if (cur == key) {
      if (core::Counter* c = counters_[slot].load(std::memory_order_acquire); c != nullptr) {
        c->inc();
        return;
      }
      break;  // being published by another thread right now
    }
  }
  series(route, e).inc();
}

void Call::count_failure(const Error& e) const { ctx.failures.inc(route_index, route, e); }

Response Call::error(const Error& e) const {
  count_failure(e);
  if (e.code == Code::kAuthenticationInvalid && !e.internal.empty()) {
    // A refused credential (a stale copy of a rotated __client, no client): the audit event.
    spdlog::warn("authentication refused: {} path={} request_id={}", e.internal, req.path,
                 req.request_id);
  } else if (const int status = error_info(e.code).status; status >= 500) {
    // The client sees only the envelope; the operator needs the cause (a store failure, a full
    // disk, a bug). Error::internal never holds a secret.
    spdlog::log(status == 503 ? spdlog::level::warn : spdlog::level::err,
                "request failed: status={} {} path={} request_id={}", status, e.internal, req.path,
                req.request_id);
  }
  return error_response(e, req.request_id);
}

// Error::internal never holds a secret; provider text in it is already sanitised (ASVS 16.3).
void Call::audit_callback_failure(const Error& e) const {
  spdlog::warn("oauth callback failed: code={} {} request_id={}", error_info(e.code).wire_code,
               e.internal, req.request_id);
}

void Call::callback_failed(const Error& e) const {
  audit_callback_failure(e);
  count_failure(e);
}

// A callback that cannot be tied to an attempt of this browser: a static page on our own origin
// for a browser (with a link to the configured sign-in page, catalog B18), the JSON envelope for
// anything else. Never a redirect to a URL taken from the request.
Response Call::callback_error(const Error& e) const {
  audit_callback_failure(e);
  Response r = error(e);
  const auto accept = req.header("accept").value_or("");
  if (accept.find("text/html") != std::string_view::npos) {
    const ErrorInfo& info = error_info(e.code);
    const std::string& sign_in_url = ctx.options.sign_in_url;
    r.headers.clear();
    r.set("content-type", "text/html; charset=utf-8");
    r.body =
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Sign-in failed</title>"
        "</head><body><h1>Sign-in failed</h1><p>" +
        html_escape(info.long_message) + "</p><p>Error code: <code>" + html_escape(info.wire_code) +
        "</code></p><p><a href=\"" + html_escape(sign_in_url.empty() ? "/" : sign_in_url) +
        "\">Start again</a></p></body></html>";
  }
  navigation_headers(r);
  return r;
}

Response json_response(int status, std::string body) {
  Response r;
  r.status = status;
  r.headers.reserve(8);  // ours, the response hook's (CORS, nosniff), set-cookie
  r.set("content-type", "application/json");
  r.set("cache-control", "no-store");
  r.body = std::move(body);
  return r;
}

// Never framed (RFC 9700 §4.16, catalog F8), never cached, no Referer carrying code/state
// onwards (RFC 9700 §4.2.4).
void navigation_headers(Response& r) {
  r.set("cache-control", "no-store");
  r.set("referrer-policy", "no-referrer");
  r.set("content-security-policy", "default-src 'none'; frame-ancestors 'none'");
  r.set("x-frame-options", "DENY");
}

// On https the cookie carries the __Host- prefix (RFC 6265bis §4.1.3.2): the browser then accepts
// it only from this host, Secure, with Path=/ and no Domain, so a sibling subdomain cannot plant
// one (session fixation). The SDK never reads it (HttpOnly).
void set_client_cookie(const Context& ctx, Response& r, const std::string& token) {
  http::SetCookie c;
  c.name = std::string(ctx.cookie_name);
  c.value = token;
  c.path = "/";
  c.max_age = ctx.options.client_cookie_max_age;
  c.http_only = true;
  c.secure = ctx.options.secure_cookies;
  c.same_site = http::SameSite::kLax;
  if (auto v = c.to_string()) {
    r.set("set-cookie", *v);
  }
}

void clear_client_cookie(const Context& ctx, Response& r) {
  auto c = http::SetCookie::removal(std::string(ctx.cookie_name));
  c.http_only = true;
  c.secure = ctx.options.secure_cookies;
  c.same_site = http::SameSite::kLax;
  if (auto v = c.to_string()) {
    r.set("set-cookie", *v);
  }
}

// Every variant we can name is deleted - host-only and on each parent domain, on "/" and on the
// FAPI paths - before any cookie the response sets itself, so afterwards the browser holds at
// most the one this response issues. The removals go first: a removal on the host's own (domain,
// path) would otherwise delete the new cookie.
void clear_ambiguous_cookies(const Call& call, Response& r) {
  if (call.client_cookie.count <= 1) {
    return;
  }
  const Context& ctx = call.ctx;
  spdlog::warn("ambiguous client cookie: {} {} cookies, none used, all cleared request_id={}",
               call.client_cookie.count, ctx.cookie_name, call.req.request_id);
  std::vector<http::Header> removals;
  const std::string paths[] = {"/", ctx.options.prefix, ctx.options.prefix + "/v1"};
  for (const auto& path : paths) {
    if (path.empty() || (path != "/" && ctx.options.secure_cookies)) {
      continue;  // a __Host- cookie can only have Path=/
    }
    auto add = [&](const std::string& domain) {
      auto c = http::SetCookie::removal(std::string(ctx.cookie_name), path);
      c.domain = domain;
      c.http_only = true;
      c.secure = ctx.options.secure_cookies;
      c.same_site = http::SameSite::kLax;
      if (auto v = c.to_string()) {
        removals.push_back({"set-cookie", std::move(*v)});
      }
    };
    add("");
    if (!ctx.options.secure_cookies) {  // a __Host- cookie never has a Domain
      for (const auto& d : ctx.cookie_domains) {
        add(d);
      }
    }
  }
  r.headers.insert(r.headers.begin(), std::make_move_iterator(removals.begin()),
                   std::make_move_iterator(removals.end()));
}

}  // namespace latchkey::api
