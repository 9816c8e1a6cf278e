#include "api/frontend/frontend_api.hpp"

#include <spdlog/spdlog.h>

#include <variant>

#include "api/dto/encode.hpp"
#include "api/errors.hpp"
#include "http/cookies.hpp"
#include "http/form.hpp"
#include "oauth/service.hpp"
#include "sessions/clients.hpp"
#include "sessions/session_service.hpp"

namespace latchkey::api {
using core::Code;
using core::Error;
using http::Method;
using http::Request;
using http::Response;

namespace {

// The client cookie. On https it carries the __Host- prefix (RFC 6265bis §4.1.3.2): the browser
// then accepts it only from this host, Secure, with Path=/ and no Domain, so a sibling subdomain
// cannot plant one (session fixation). The SDK never reads it (HttpOnly).
constexpr std::string_view kClientCookie = "__client";
constexpr std::string_view kHostClientCookie = "__Host-__client";
// A signed-in client with one session and its token is ~3 KB.
constexpr std::size_t kBodyReserve = 4096;

// Storage for a response body: the connection's spare buffer (http::Request::body_buffer), so a
// keep-alive connection does not allocate a body per request.
std::string body_storage(Request& req) {
  std::string body = std::move(req.body_buffer);
  body.clear();
  body.reserve(kBodyReserve);
  return body;
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

std::optional<std::string> field(const http::Fields& f, std::string_view key) {
  auto v = http::find_field(f, key);
  if (!v) {
    return std::nullopt;
  }
  return std::string(*v);
}

core::Result<bool> bool_field(const http::Fields& f, std::string_view key, bool fallback) {
  auto v = http::find_field(f, key);
  if (!v || v->empty()) {
    return fallback;
  }
  if (*v == "true") {
    return true;
  }
  if (*v == "false") {
    return false;
  }
  return core::param_error(Code::kFormParamInvalid, std::string(key), "must be true or false");
}

std::string html_escape(std::string_view s) {
  std::string out;
  for (const char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

// Browser-navigated responses (the callback): never framed (RFC 9700 §4.16, catalog F8), never
// cached, no Referer carrying code/state onwards (RFC 9700 §4.2.4).
void navigation_headers(Response& r) {
  r.set("cache-control", "no-store");
  r.set("referrer-policy", "no-referrer");
  r.set("content-security-policy", "default-src 'none'; frame-ancestors 'none'");
  r.set("x-frame-options", "DENY");
}

}  // namespace

struct FrontendApi::Impl {
  flows::Frontend& flows;
  const http::Cors& cors;
  FrontendApiOptions options;

  std::string_view cookie_name;
  // Where a planted variant of the client cookie may live: the FAPI host and its parent domains.
  std::vector<std::string> cookie_domains;

  Impl(flows::Frontend& f, const http::Cors& c, FrontendApiOptions o)
      : flows(f),
        cors(c),
        options(std::move(o)),
        cookie_name(options.secure_cookies ? kHostClientCookie : kClientCookie),
        cookie_domains(parent_domains(options.public_origin)) {}

  // "http://auth.example.com:8443" -> {"example.com"}: the proper parent domains of the host with
  // at least two labels (a browser refuses a Domain= on a public suffix anyway). None for an IP
  // address or a single-label host.
  static std::vector<std::string> parent_domains(std::string_view origin) {
    std::vector<std::string> out;
    if (auto p = origin.find("://"); p != std::string_view::npos) {
      origin.remove_prefix(p + 3);
    }
    if (origin.starts_with('[')) {
      return out;  // IPv6 literal
    }
    std::string_view host = origin.substr(0, origin.find(':'));
    if (host.empty() ||
        host.find_first_not_of("0123456789.") == std::string_view::npos) {
      return out;  // IPv4 literal
    }
    for (auto dot = host.find('.'); dot != std::string_view::npos; dot = host.find('.')) {
      host.remove_prefix(dot + 1);
      if (host.find('.') == std::string_view::npos) {
        break;  // a single label ("com")
      }
      out.emplace_back(host);
    }
    return out;
  }

  flows::Caller caller(const Request& req) const {
    flows::Caller c;
    auto match = http::match_cookie(req, cookie_name);
    if (match.count > 1) {
      // Never resolved by order (a planted Domain= or Path= variant may come first): no client.
      c.ambiguous_client_cookie = true;
    } else {
      c.client_token = std::move(match.first);
    }
    if (auto origin = req.header("origin"); origin && cors.origin_allowed(*origin)) {
      c.origin = http::normalize_origin(*origin);
    }
    return c;
  }

  // State-changing requests must come from an allowed origin (CSRF; security catalog §2.F),
  // failing closed for browsers (issue 9, finding 4):
  //  - Origin present (every cross-origin POST, and most same-origin ones): it must be allowed;
  //    "null" never is.
  //  - No Origin: the Fetch Metadata a browser sends decides (W3C Fetch Metadata §2.1
  //    Sec-Fetch-Site). cross-site is refused. same-site is refused unless Referer names an
  //    allowed origin: a sibling subdomain is same-site too. same-origin and none (a user
  //    action) pass; any other value is refused.
  //  - A Referer whose origin is not allowed (or that has no http(s) origin) is refused.
  // A request with none of Origin, Referer and Sec-Fetch-Site is not from a browser (curl, a
  // server, a native app): a forged cross-site request needs the victim's browser, which always
  // sends at least one of them, and the cookie is SameSite=Lax besides. docs/security.md.
  core::Status check_origin(const Request& req) const {
    auto refuse = [](std::string why) {
      return core::fail(Error(Code::kOriginNotAllowed).with_internal(std::move(why)));
    };
    if (auto origin = req.header("origin")) {
      if (!cors.origin_allowed(*origin)) {
        return refuse("origin not allowed");
      }
      return {};
    }
    const auto referer = req.header("referer");
    const bool referer_allowed = referer && cors.origin_allowed(referer_origin(*referer));
    if (referer && !referer_allowed) {
      return refuse("no Origin; Referer origin not allowed");
    }
    if (auto site = req.header("sec-fetch-site")) {
      if (*site == "same-origin" || *site == "none") {
        return {};
      }
      if (*site == "same-site" && referer_allowed) {
        return {};
      }
      return refuse("no Origin; Sec-Fetch-Site " +
                    std::string(*site == "same-site" || *site == "cross-site" ? *site : "invalid"));
    }
    return {};
  }

  // The origin of an absolute http(s) URL such as a Referer ("https://app.example.com/x?y" ->
  // "https://app.example.com"), normalised; empty when there is none (userinfo included).
  static std::string referer_origin(std::string_view url) {
    const std::size_t scheme_end = url.find("://");
    if (scheme_end == std::string_view::npos) {
      return {};
    }
    return http::normalize_origin(url.substr(0, url.find_first_of("/?#", scheme_end + 3)));
  }

  // A body is read only as a form, and only when it says so (issue 9, finding 5): the exact media
  // type application/x-www-form-urlencoded (parameters such as charset=utf-8 allowed, see
  // http::is_form_media_type). Anything else, or a body without a Content-Type, is 415: RFC 9110
  // §8.3 (the sender names the media type; we do not guess it from the bytes). Empty bodies are
  // fine whatever their Content-Type (the SDK sends some POSTs without a body).
  core::Result<http::Fields> form(const Request& req) const {
    if (req.body.empty()) {
      return http::Fields{};
    }
    std::optional<std::string_view> ct;
    for (const auto& h : req.headers) {
      if (h.name == "content-type") {
        if (ct) {
          // RFC 9110 §5.3: Content-Type is a singleton field; two are not one media type.
          return core::fail(Error(Code::kMalformedRequest, "Content-Type is given more than once"));
        }
        ct = h.value;
      }
    }
    if (!ct || !http::is_form_media_type(*ct)) {
      const char* why = ct ? "body is not a form" : "body without Content-Type";
      return core::fail(Error(Code::kUnsupportedMediaType).with_internal(why));
    }
    return http::parse_form(req.body);
  }

  // What every route checks before its handler, its rate limits or the store see the request
  // (issue 9, findings 4 and 5).
  enum class Guard {
    kRead,         // reads and idempotent no-ops: the query and the body must be unambiguous
    kStateChange,  // + the origin check above, first (a foreign origin gets 403, catalog F1)
    kNavigation,   // the OAuth callback: a top-level navigation from the IdP, so no origin check;
                   // errors in its own style (callback_error)
  };

  // One parameter, one value, on every route: a duplicated query or form parameter is refused
  // (400 form_param_duplicate naming it), never resolved by order; a body that is not a form is
  // 415. Handlers then parse what passed here.
  std::optional<Response> guard(Guard g, const Request& req) const {
    if (g == Guard::kStateChange) {
      if (auto ok = check_origin(req); !ok) {
        return error(ok.error(), req);
      }
    }
    core::Status input = [&]() -> core::Status {
      if (auto q = http::parse_query(req.query); !q) {
        return core::fail(std::move(q.error()));
      }
      if (auto f = form(req); !f) {
        return core::fail(std::move(f.error()));
      }
      return {};
    }();
    if (input) {
      return std::nullopt;
    }
    return g == Guard::kNavigation ? callback_error(input.error(), req) : error(input.error(), req);
  }

  void set_client_cookie(Response& r, const std::string& token) const {
    http::SetCookie c;
    c.name = std::string(cookie_name);
    c.value = token;
    c.path = "/";
    c.max_age = options.client_cookie_max_age;
    c.http_only = true;
    c.secure = options.secure_cookies;
    c.same_site = http::SameSite::kLax;
    if (auto v = c.to_string()) {
      r.set("set-cookie", *v);
    }
  }

  void clear_client_cookie(Response& r) const {
    auto c = http::SetCookie::removal(std::string(cookie_name));
    c.http_only = true;
    c.secure = options.secure_cookies;
    c.same_site = http::SameSite::kLax;
    if (auto v = c.to_string()) {
      r.set("set-cookie", *v);
    }
  }

  // A request with more than one client cookie: every variant we can name is deleted - host-only
  // and on each parent domain, on "/" and on the FAPI paths - before any cookie the response sets
  // itself, so afterwards the browser holds at most the one this response issues. The removals
  // go first: a removal on the host's own (domain, path) would otherwise delete the new cookie.
  void clear_ambiguous_cookies(const Request& req, Response& r) const {
    const auto count = http::match_cookie(req, cookie_name).count;
    if (count <= 1) {
      return;
    }
    spdlog::warn("ambiguous client cookie: {} {} cookies, none used, all cleared request_id={}",
                 count, cookie_name, req.request_id);
    std::vector<http::Header> removals;
    const std::string paths[] = {"/", options.prefix, options.prefix + "/v1"};
    for (const auto& path : paths) {
      if (path.empty() || (path != "/" && options.secure_cookies)) {
        continue;  // a __Host- cookie can only have Path=/
      }
      auto add = [&](const std::string& domain) {
        auto c = http::SetCookie::removal(std::string(cookie_name), path);
        c.domain = domain;
        c.http_only = true;
        c.secure = options.secure_cookies;
        c.same_site = http::SameSite::kLax;
        if (auto v = c.to_string()) {
          removals.push_back({"set-cookie", std::move(*v)});
        }
      };
      add("");
      if (!options.secure_cookies) {  // a __Host- cookie never has a Domain
        for (const auto& d : cookie_domains) {
          add(d);
        }
      }
    }
    r.headers.insert(r.headers.begin(), std::make_move_iterator(removals.begin()),
                     std::make_move_iterator(removals.end()));
  }

  Response error(const Error& e, const Request& req) const {
    if (e.code == Code::kAuthenticationInvalid && !e.internal.empty()) {
      // A refused credential (a stale copy of a rotated __client, no client): the audit event.
      spdlog::warn("authentication refused: {} path={} request_id={}", e.internal, req.path,
                   req.request_id);
    }
    return error_response(e, req.request_id);
  }

  // Rate limits (catalog G2/G9): counted per IP and per client before any database or provider
  // work, so refused requests stay cheap. 429 + Retry-After in the Clerk envelope.
  std::optional<Response> limited(const Request& req, const ratelimit::Rule& ip_rule,
                                  const ratelimit::Rule& client_rule) const {
    if (options.limiter == nullptr) {
      return std::nullopt;
    }
    std::vector<ratelimit::Limiter::Check> checks;
    checks.push_back({&ip_rule, ratelimit::client_ip(req.remote_addr,
                                                     req.header("x-forwarded-for").value_or(""),
                                                     options.limits.trusted_proxies)});
    if (auto token = http::find_cookie(req, cookie_name); token && !token->empty()) {
      // Keyed on the hash: the limiter (and a shared counter store) never holds the cookie.
      checks.push_back({&client_rule, sessions::Clients::hash_token(*token)});
    }
    const auto d = options.limiter->hit(checks);
    if (d.allowed) {
      return std::nullopt;
    }
    spdlog::warn("rate limited: rule={} path={} request_id={}", d.rule, req.path, req.request_id);
    return error(Error(Code::kTooManyRequests)
                     .with_meta("retry_after_seconds", std::to_string(d.retry_after.count())),
                 req);
  }

  // A request without a cookie that created a client is that client's first hit: counted, so the
  // per-client budget covers the request that made it.
  void charge_new_client(const flows::Mutation& m, const ratelimit::Rule& rule) const {
    if (options.limiter != nullptr && m.new_client_token) {
      options.limiter->hit({{&rule, sessions::Clients::hash_token(*m.new_client_token)}});
    }
  }

  // The audit event of a failed provider round trip or a refused callback (catalog §2.0, ASVS
  // 16.3). Error::internal never holds a secret; provider text in it is already sanitised.
  static void audit_callback_failure(const Error& e, const Request& req) {
    spdlog::warn("oauth callback failed: code={} {} request_id={}", error_info(e.code).wire_code,
                 e.internal, req.request_id);
  }

  // A callback that cannot be tied to an attempt of this browser: a static page on our own origin
  // for a browser (with a link to the configured sign-in page, catalog B18), the JSON envelope for
  // anything else. Never a redirect to a URL taken from the request.
  Response callback_error(const Error& e, const Request& req) const {
    audit_callback_failure(e, req);
    Response r = error(e, req);
    const auto accept = req.header("accept").value_or("");
    if (accept.find("text/html") != std::string_view::npos) {
      const ErrorInfo& info = error_info(e.code);
      r.headers.clear();
      r.set("content-type", "text/html; charset=utf-8");
      r.body = "<!doctype html><html><head><meta charset=\"utf-8\"><title>Sign-in failed</title>"
               "</head><body><h1>Sign-in failed</h1><p>" +
               html_escape(info.long_message) + "</p><p>Error code: <code>" +
               html_escape(info.wire_code) + "</code></p><p><a href=\"" +
               html_escape(options.sign_in_url.empty() ? "/" : options.sign_in_url) +
               "\">Start again</a></p></body></html>";
    }
    navigation_headers(r);
    return r;
  }

  // {"response": <resource>, "client": <full client>} (README §1.6: always the full client).
  // `write_resource(JsonWriter&)` writes the resource.
  template <typename WriteResource>
  Response envelope(Request& req, const flows::Mutation& m,
                    WriteResource&& write_resource) {
    std::string body = body_storage(req);
    dto::JsonWriter w(body);
    w.begin_object();
    w.key("response");
    write_resource(w);
    w.key("client");
    dto::write_client(w, m.client, options.required_fields);
    w.end_object();
    Response r = json_response(200, std::move(body));
    if (m.new_client_token) {
      set_client_cookie(r, *m.new_client_token);
    }
    return r;
  }

  // The effective method: POST with ?_method=PATCH|PUT|DELETE (README §1.5) acts as that verb.
  static std::string_view override_method(const Request& req) {
    if (req.method != Method::kPost) {
      return {};
    }
    auto q = http::parse_query(req.query);
    if (!q) {
      return {};
    }
    auto m = http::find_field(*q, "_method");
    if (!m) {
      return {};
    }
    if (*m == "PATCH") {
      return "PATCH";
    }
    if (*m == "PUT") {
      return "PUT";
    }
    if (*m == "DELETE") {
      return "DELETE";
    }
    return "?";
  }

  // ---- handlers ---------------------------------------------------------------------------

  Response environment(Request&) const { return json_response(200, options.environment_json); }

  Response get_client(Request& req) {
    auto c = caller(req);
    auto view = flows.clients.get_client(c);
    if (!view) {
      return error(view.error(), req);
    }
    std::string body = body_storage(req);
    dto::JsonWriter w(body);
    w.begin_object();
    w.key("response");
    if (*view) {
      dto::write_client(w, **view, options.required_fields);
    } else {
      w.value(nullptr);
    }
    w.members(R"("client":null)");
    w.end_object();
    return json_response(200, std::move(body));
  }

  Response client_mutation(Request& req) {
    const auto m = override_method(req);
    if (m == "DELETE" || req.method == Method::kDelete) {
      return destroy_client(req);
    }
    if (m.empty() || m == "PUT" || req.method == Method::kPut) {
      // Client.create: an empty client now (the cookie is set on it).
      // A client is created lazily by the first attempt; PUT only reports the current one.
      return get_client(req);
    }
    return error(Error(Code::kMethodNotAllowed), req);
  }

  Response destroy_client(Request& req) {
    auto c = caller(req);
    auto id = flows.clients.destroy_client(c);
    if (!id) {
      return error(id.error(), req);
    }
    std::string body;
    dto::JsonWriter w(body);
    w.begin_object();
    w.key("response");
    w.begin_object();
    w.members(R"("object":"client")");
    w.field("id", *id);
    w.members(R"("deleted":true)");
    w.end_object();
    w.members(R"("client":null)");
    w.end_object();
    Response r = json_response(200, std::move(body));
    clear_client_cookie(r);
    return r;
  }

  Response create_sign_in(Request& req) {
    if (auto l = limited(req, options.limits.sign_in_ip, options.limits.sign_in_client)) {
      return std::move(*l);
    }
    auto f = form(req);
    if (!f) {
      return error(f.error(), req);
    }
    flows::SignInParams p;
    p.strategy = field(*f, "strategy");
    p.identifier = field(*f, "identifier");
    p.redirect_url = field(*f, "redirect_url");
    p.action_complete_redirect_url = field(*f, "action_complete_redirect_url");
    auto transfer = bool_field(*f, "transfer", false);
    if (!transfer) {
      return error(transfer.error(), req);
    }
    p.transfer = *transfer;
    if (field(*f, "password")) {
      return error(Error(Code::kStrategyNotAllowed, "Password sign-in is not enabled",
                         "Signing in with a password is not enabled for this application.")
                       .with_meta("param_name", "password"),
                   req);
    }
    auto c = caller(req);
    auto m = flows.sign_ins.create(c, p);
    if (!m) {
      return error(m.error(), req);
    }
    charge_new_client(*m, options.limits.sign_in_client);
    const auto& v = m->client;
    return envelope(req, *m, [&](dto::JsonWriter& w) {
      dto::write_sign_in(w, *v.sign_in, *v.sign_in_data);
    });
  }

  Response get_sign_in(Request& req) {
    auto c = caller(req);
    auto m = flows.clients.get_sign_in(c, std::string(req.param("id")));
    if (!m) {
      return error(m.error(), req);
    }
    const auto& v = m->client;
    return envelope(req, *m, [&](dto::JsonWriter& w) {
      dto::write_sign_in(w, *v.sign_in, *v.sign_in_data);
    });
  }

  core::Result<flows::SignUpParams> sign_up_params(const http::Fields& f) const {
    flows::SignUpParams p;
    p.strategy = field(f, "strategy");
    p.redirect_url = field(f, "redirect_url");
    p.action_complete_redirect_url = field(f, "action_complete_redirect_url");
    p.first_name = field(f, "first_name");
    p.last_name = field(f, "last_name");
    p.username = field(f, "username");
    p.email_address = field(f, "email_address");
    p.unsafe_metadata = field(f, "unsafe_metadata");
    if (http::find_field(f, "legal_accepted")) {
      auto la = bool_field(f, "legal_accepted", false);
      if (!la) {
        return core::fail(la.error());
      }
      p.legal_accepted = *la;
    }
    auto transfer = bool_field(f, "transfer", false);
    if (!transfer) {
      return core::fail(transfer.error());
    }
    p.transfer = *transfer;
    if (field(f, "password")) {
      return core::param_error(Code::kStrategyNotAllowed, "password", "is not supported",
                               "Signing up with a password is not enabled for this application.");
    }
    return p;
  }

  // The common start of sign-up create/update: rate limit, origin, form, parameters. Either the
  // parameters or the response to send instead.
  std::variant<flows::SignUpParams, Response> sign_up_request(Request& req) {
    if (auto l = limited(req, options.limits.sign_in_ip, options.limits.sign_in_client)) {
      return std::move(*l);
    }
    auto f = form(req);
    if (!f) {
      return error(f.error(), req);
    }
    auto p = sign_up_params(*f);
    if (!p) {
      return error(p.error(), req);
    }
    return std::move(*p);
  }

  Response sign_up_envelope(Request& req, const flows::Mutation& m) {
    const auto& v = m.client;
    return envelope(req, m, [&](dto::JsonWriter& w) {
      dto::write_sign_up(w, *v.sign_up, *v.sign_up_data, options.required_fields);
    });
  }

  Response create_sign_up(Request& req) {
    auto parsed = sign_up_request(req);
    if (auto* r = std::get_if<Response>(&parsed)) {
      return std::move(*r);
    }
    auto p = std::get_if<flows::SignUpParams>(&parsed);
    auto c = caller(req);
    auto m = flows.sign_ups.create(c, *p);
    if (!m) {
      return error(m.error(), req);
    }
    charge_new_client(*m, options.limits.sign_in_client);
    return sign_up_envelope(req, *m);
  }

  Response sign_up_by_id(Request& req) {
    const auto m = override_method(req);
    if (req.method == Method::kPatch || m == "PATCH") {
      return update_sign_up(req);
    }
    if (req.method == Method::kGet) {
      auto c = caller(req);
      auto r = flows.clients.get_sign_up(c, std::string(req.param("id")));
      if (!r) {
        return error(r.error(), req);
      }
      return sign_up_envelope(req, *r);
    }
    return error(Error(Code::kMethodNotAllowed), req);
  }

  Response update_sign_up(Request& req) {
    auto parsed = sign_up_request(req);
    if (auto* r = std::get_if<Response>(&parsed)) {
      return std::move(*r);
    }
    auto p = std::get_if<flows::SignUpParams>(&parsed);
    auto c = caller(req);
    auto m = flows.sign_ups.update(c, std::string(req.param("id")), *p);
    if (!m) {
      return error(m.error(), req);
    }
    return sign_up_envelope(req, *m);
  }

  Response oauth_callback(Request& req) {
    if (auto l = limited(req, options.limits.verification_ip, options.limits.verification_client)) {
      navigation_headers(*l);
      return std::move(*l);
    }
    core::Result<http::Fields> params = req.method == Method::kPost ? form(req)
                                                                    : http::parse_query(req.query);
    if (!params) {
      return callback_error(params.error(), req);
    }
    if (req.method == Method::kPost) {
      // response_mode=form_post: a cross-site POST carries no SameSite=Lax cookie, so turn it
      // into a top-level GET navigation (which does) with the same parameters.
      Response r;
      r.status = 303;
      r.set("location", options.prefix + "/v1/oauth_callback?" + http::form_encode(*params));
      r.set("cache-control", "no-store");
      return r;
    }
    oauth::CallbackParams cb;
    cb.code = field(*params, "code").value_or("");
    cb.error = field(*params, "error").value_or("");
    cb.error_description = field(*params, "error_description").value_or("");
    cb.iss = field(*params, "iss");
    const std::string state = field(*params, "state").value_or("");
    auto c = caller(req);
    auto out = flows.callback.handle(c, cb, state);
    if (!out) {
      return callback_error(out.error(), req);
    }
    if (out->failure) {
      audit_callback_failure(*out->failure, req);
    }
    Response r;
    r.status = 303;
    r.set("location", out->redirect_to);
    navigation_headers(r);
    if (out->new_client_token) {
      set_client_cookie(r, *out->new_client_token);  // a session was created: rotated credential
    }
    return r;
  }

  enum class SessionAction { kTouch, kEnd, kRemove };

  Response session_action(Request& req, SessionAction action) {
    if (auto f = form(req); !f) {
      return error(f.error(), req);
    }
    auto c = caller(req);
    const std::string id(req.param("id"));
    auto m = action == SessionAction::kTouch ? flows.clients.touch_session(c, id)
             : action == SessionAction::kEnd
                 ? flows.clients.end_session(c, id, sessions::SessionEnd::kEnded)
                 : flows.clients.end_session(c, id, sessions::SessionEnd::kRemoved);
    if (!m) {
      return error(m.error(), req);
    }
    // touch: the session as listed in the client, with its token; end/remove: the stopped
    // session, listed only in `response`.
    const flows::SessionView* s = m->session ? &*m->session : m->client.find_session(id);
    if (s == nullptr) {
      return error(Error(Code::kSessionNotFound), req);
    }
    return envelope(req, *m, [&](dto::JsonWriter& w) { dto::write_session(w, *s); });
  }

  Response tokens_handler(Request& req) {
    if (auto l = limited(req, options.limits.token_ip, options.limits.token_client)) {
      return std::move(*l);
    }
    if (auto f = form(req); !f) {
      return error(f.error(), req);
    }
    auto c = caller(req);
    auto jwt = flows.clients.session_token(c, std::string(req.param("id")));
    if (!jwt) {
      return error(jwt.error(), req);
    }
    std::string body;
    body.reserve(jwt->size() + 32);
    body.append(R"({"object":"token","jwt":")").append(*jwt).append("\"}");
    return json_response(200, std::move(body));
  }

  Response sessions_collection(Request& req) {
    const auto m = override_method(req);
    if (req.method != Method::kDelete && m != "DELETE") {
      return error(Error(Code::kMethodNotAllowed), req);
    }
    auto c = caller(req);
    auto r = flows.clients.sign_out(c);
    if (!r) {
      return error(r.error(), req);
    }
    const std::string client = dto::client_json(r->client, options.required_fields);
    std::string body;
    body.reserve(2 * client.size() + 32);
    body.append(R"({"response":)").append(client);
    body.append(R"(,"client":)").append(client).append("}");
    Response resp = json_response(200, std::move(body));
    if (r->new_client_token) {
      set_client_cookie(resp, *r->new_client_token);
    }
    return resp;
  }
};

FrontendApi::FrontendApi(flows::Frontend& flows, const http::Cors& cors,
                         FrontendApiOptions options)
    : impl_(std::make_shared<Impl>(flows, cors, std::move(options))) {}

void FrontendApi::register_routes(http::Router& router) {
  auto g = router.group(impl_->options.prefix);
  auto self = impl_;
  using Guard = Impl::Guard;
  // Every route runs behind Impl::guard; the Guard of a registration says which checks apply.
  // Every answer, refusals included, deletes the variants of an ambiguous client cookie.
  auto guarded = [self](Guard guard, auto handler) {
    return [self, guard, handler](Request& r) {
      Response resp = [&] {
        if (auto refused = self->guard(guard, r)) {
          return std::move(*refused);
        }
        return handler(r);
      }();
      self->clear_ambiguous_cookies(r, resp);
      return resp;
    };
  };
  auto bind = [self, guarded](Guard guard, Response (Impl::*fn)(Request&)) {
    return guarded(guard, [self, fn](Request& r) { return ((*self).*fn)(r); });
  };
  using Action = Impl::SessionAction;
  auto session = [self, guarded](Action action) {
    return guarded(Guard::kStateChange,
                   [self, action](Request& r) { return self->session_action(r, action); });
  };
  // POST and PATCH /v1/environment (the SDK's Environment.touch) change nothing.
  auto env = guarded(Guard::kRead, [self](Request& r) { return self->environment(r); });
  g.add(Method::kGet, "/v1/environment", env, {"fapi_environment", true});
  g.add(Method::kPost, "/v1/environment", env, {"fapi_environment", true});
  g.add(Method::kPatch, "/v1/environment", env, {"fapi_environment", true});

  g.add(Method::kGet, "/v1/client", bind(Guard::kRead, &Impl::get_client), {"fapi_client_get"});
  g.add(Method::kPost, "/v1/client", bind(Guard::kStateChange, &Impl::client_mutation),
        {"fapi_client_mutate"});
  g.add(Method::kPut, "/v1/client", bind(Guard::kStateChange, &Impl::client_mutation),
        {"fapi_client_mutate"});
  g.add(Method::kDelete, "/v1/client", bind(Guard::kStateChange, &Impl::destroy_client),
        {"fapi_client_delete"});

  g.add(Method::kPost, "/v1/client/sign_ins", bind(Guard::kStateChange, &Impl::create_sign_in),
        {"fapi_sign_in_create"});
  g.add(Method::kGet, "/v1/client/sign_ins/{id}", bind(Guard::kRead, &Impl::get_sign_in),
        {"fapi_sign_in_get"});
  g.add(Method::kPost, "/v1/client/sign_ups", bind(Guard::kStateChange, &Impl::create_sign_up),
        {"fapi_sign_up_create"});
  g.add(Method::kGet, "/v1/client/sign_ups/{id}", bind(Guard::kRead, &Impl::sign_up_by_id),
        {"fapi_sign_up_get"});
  g.add(Method::kPatch, "/v1/client/sign_ups/{id}", bind(Guard::kStateChange, &Impl::sign_up_by_id),
        {"fapi_sign_up_update"});
  g.add(Method::kPost, "/v1/client/sign_ups/{id}", bind(Guard::kStateChange, &Impl::sign_up_by_id),
        {"fapi_sign_up_update"});

  // The IdP sends the browser here (a cross-site top-level navigation, or a form_post): no origin
  // check, the single-use state bound to the client is the CSRF defence (catalog §2.B).
  g.add(Method::kGet, "/v1/oauth_callback", bind(Guard::kNavigation, &Impl::oauth_callback),
        {"fapi_oauth_callback"});
  g.add(Method::kPost, "/v1/oauth_callback", bind(Guard::kNavigation, &Impl::oauth_callback),
        {"fapi_oauth_callback"});

  g.add(Method::kPost, "/v1/client/sessions/{id}/touch", session(Action::kTouch), {"fapi_session_touch"});
  g.add(Method::kPost, "/v1/client/sessions/{id}/end", session(Action::kEnd), {"fapi_session_end"});
  g.add(Method::kPost, "/v1/client/sessions/{id}/remove", session(Action::kRemove),
        {"fapi_session_remove"});
  g.add(Method::kPost, "/v1/client/sessions/{id}/tokens",
        bind(Guard::kStateChange, &Impl::tokens_handler), {"fapi_session_tokens"});
  g.add(Method::kPost, "/v1/client/sessions", bind(Guard::kStateChange, &Impl::sessions_collection),
        {"fapi_sessions_delete"});
  g.add(Method::kDelete, "/v1/client/sessions",
        bind(Guard::kStateChange, &Impl::sessions_collection), {"fapi_sessions_delete"});
}

}  // namespace latchkey::api
