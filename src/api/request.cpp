// The request side of the pipeline: who the caller is, whether the origin may change state, the
// body as a form, the `_method` override and typed fields.
#include <string>
#include <utility>

#include "api/context.hpp"

namespace latchkey::api {
using core::Code;
using core::Error;
using http::Method;
using http::Request;

std::vector<std::string> parent_domains(std::string_view origin) {
  std::vector<std::string> out;
  if (auto p = origin.find("://"); p != std::string_view::npos) {
    origin.remove_prefix(p + 3);
  }
  if (origin.starts_with('[')) {
    return out;  // IPv6 literal
  }
  std::string_view host = origin.substr(0, origin.find(':'));
  if (host.empty() || host.find_first_not_of("0123456789.") == std::string_view::npos) {
    return out;  // IPv4 literal (a browser refuses a Domain= on a public suffix anyway)
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

flows::Caller make_caller(const Context& ctx, const Request& req, const http::CookieMatch& cookie) {
  flows::Caller c;
  if (cookie.count > 1) {
    // Never resolved by order (a planted Domain= or Path= variant may come first): no client.
    c.ambiguous_client_cookie = true;
  } else {
    c.client_token = cookie.first;
  }
  if (auto origin = req.header("origin"); origin && ctx.cors.origin_allowed(*origin)) {
    c.origin = http::normalize_origin(*origin);
  }
  c.remote_ip = req.remote_addr;
  return c;
}

const flows::Caller& Call::caller() {
  if (!caller_) {
    caller_ = make_caller(ctx, req, client_cookie);
  }
  return *caller_;
}

namespace {

// The origin of an absolute http(s) URL such as a Referer ("https://app.example.com/x?y" ->
// "https://app.example.com"), normalised; empty when there is none (userinfo included).
std::string referer_origin(std::string_view url) {
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    return {};
  }
  return http::normalize_origin(url.substr(0, url.find_first_of("/?#", scheme_end + 3)));
}

}  // namespace

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
core::Status check_origin(const Context& ctx, const Request& req) {
  using core::Reason;
  auto refuse = [](Reason reason, std::string why) {
    return core::fail(
        Error(Code::kOriginNotAllowed).with_reason(reason).with_internal(std::move(why)));
  };
  if (auto origin = req.header("origin")) {
    if (!ctx.cors.origin_allowed(*origin)) {
      return refuse(Reason::kOriginNotAllowed, "origin not allowed");
    }
    return {};
  }
  const auto referer = req.header("referer");
  const bool referer_allowed = referer && ctx.cors.origin_allowed(referer_origin(*referer));
  if (referer && !referer_allowed) {
    return refuse(Reason::kRefererNotAllowed, "no Origin; Referer origin not allowed");
  }
  if (auto site = req.header("sec-fetch-site")) {
    if (*site == "same-origin" || *site == "none") {
      return {};
    }
    if (*site == "same-site" && referer_allowed) {
      return {};
    }
    const bool known = *site == "same-site" || *site == "cross-site";
    return refuse(!known                 ? Reason::kFetchSiteInvalid
                  : *site == "same-site" ? Reason::kFetchSiteSameSite
                                         : Reason::kFetchSiteCrossSite,
                  "no Origin; Sec-Fetch-Site " + std::string(known ? *site : "invalid"));
  }
  return {};
}

// A body is read only as a form, and only when it says so (issue 9, finding 5): the exact media
// type application/x-www-form-urlencoded (parameters such as charset=utf-8 allowed, see
// http::is_form_media_type). Anything else, or a body without a Content-Type, is 415: RFC 9110
// §8.3 (the sender names the media type; we do not guess it from the bytes). Empty bodies are
// fine whatever their Content-Type (the SDK sends some POSTs without a body).
core::Result<http::Fields> parse_form_body(const Request& req) {
  if (req.body.empty()) {
    return http::Fields{};
  }
  std::optional<std::string_view> ct;
  for (const auto& h : req.headers) {
    if (h.name == "content-type") {
      if (ct) {
        // RFC 9110 §5.3: Content-Type is a singleton field; two are not one media type.
        return core::fail(Error(Code::kMalformedRequest, "Content-Type is given more than once")
                              .with_reason(core::Reason::kContentTypeRepeated));
      }
      ct = h.value;
    }
  }
  if (!ct || !http::is_form_media_type(*ct)) {
    const char* why = ct ? "body is not a form" : "body without Content-Type";
    return core::fail(
        Error(Code::kUnsupportedMediaType)
            .with_reason(ct ? core::Reason::kBodyNotForm : core::Reason::kBodyWithoutContentType)
            .with_internal(why));
  }
  return http::parse_form(req.body);
}

core::Status check_secret_key(const Call& call) {
  // One answer for a missing, malformed, unknown and revoked key: nothing about which it was.
  auto refused = [&](std::string why) {
    return core::fail(Error(Code::kAuthenticationInvalid, "Unauthorized request",
                            "The request could not be authenticated: supply an active secret "
                            "key as Authorization: Bearer <key>.")
                          .with_internal("backend api: " + std::move(why)));
  };
  const auto header = call.req.header("authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (!header || header->size() <= kBearer.size() ||
      !(header->starts_with(kBearer) || header->starts_with("bearer "))) {
    return refused("no bearer secret key");
  }
  if (call.ctx.backend == nullptr) {
    return refused("backend api off");
  }
  auto ok = call.ctx.backend->keys.verify(header->substr(kBearer.size()));
  if (!ok) {
    return core::fail(std::move(ok.error()));
  }
  if (!*ok) {
    return refused("unknown or revoked secret key");
  }
  return {};
}

core::Status check_json_body(const Request& req) {
  if (req.body.empty()) {
    return {};
  }
  const auto ct = req.header("content-type");
  std::string_view media = ct.value_or("");
  media = media.substr(0, media.find(';'));
  while (!media.empty() && media.back() == ' ') {
    media.remove_suffix(1);
  }
  if (media != "application/json") {
    return core::fail(Error(Code::kUnsupportedMediaType)
                          .with_reason(core::Reason::kBodyNotForm)
                          .with_internal("body is not application/json"));
  }
  return {};
}

std::optional<Method> method_override(const Request& req, const http::Fields& query) {
  if (req.method != Method::kPost) {
    return std::nullopt;
  }
  auto m = http::find_field(query, "_method");
  if (!m) {
    return std::nullopt;
  }
  if (*m == "PATCH") {
    return Method::kPatch;
  }
  if (*m == "PUT") {
    return Method::kPut;
  }
  if (*m == "DELETE") {
    return Method::kDelete;
  }
  return Method::kOther;
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

}  // namespace latchkey::api
