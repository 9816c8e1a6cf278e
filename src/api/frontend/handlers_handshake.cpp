// GET /v1/client/handshake: the server-side handshake of @clerk/backend (flows/handshake.hpp).
#include <string>

#include "api/handlers.hpp"
#include "flows/handshake.hpp"
#include "flows/policy.hpp"

namespace latchkey::api {
using core::Code;
using core::Error;
using http::Response;

namespace {

// "https://app.example.com:3000/x?y" -> "https://app.example.com:3000" (the URL is already
// resolved and allow-listed, so it is absolute http(s)).
std::string origin_of(const std::string& url) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) {
    return {};
  }
  const auto end = url.find_first_of("/?#", scheme + 3);
  return url.substr(0, end);
}

// `url` with `name=value` appended to its query (before any fragment).
std::string with_param(const std::string& url, const std::string& name, const std::string& value) {
  const auto hash = url.find('#');
  std::string base = url.substr(0, hash);
  base += base.find('?') == std::string::npos ? '?' : '&';
  base += name;
  base += '=';
  base += value;  // a JWT or a sealed nonce is base64url and dots: nothing to escape
  if (hash != std::string::npos) {
    base += url.substr(hash);
  }
  return base;
}

}  // namespace

// Query: redirect_url (required, allow-listed like every redirect), format (token, or nonce: what
// @clerk/backend sends; the app's server redeems the nonce with the Backend API), suffixed_cookies,
// __clerk_db_jwt (ignored: no dev browser).
Response client_handshake(Call& call) {
  const auto redirect = field(call.query, "redirect_url");
  if (!redirect || redirect->empty()) {
    return call.error(Error(Code::kFormParamMissing).with_meta("param_name", "redirect_url"));
  }
  const auto& settings = call.ctx.flows.deps.settings;
  auto url = flows::resolve_redirect_url(*redirect, settings.public_origin,
                                         settings.allowed_origins, "redirect_url");
  if (!url) {
    return call.error(url.error());
  }
  const std::string format = field(call.query, "format").value_or("token");
  if (format != "token" && format != "nonce") {
    return call.error(core::param_error(Code::kFormParamInvalid, "format", "is invalid",
                                        "format must be token or nonce.")
                          .error());
  }
  flows::Caller caller = call.caller();
  caller.origin = origin_of(*url);  // the token's azp: the app the browser goes back to
  auto directives = flows::handshake_directives(call.ctx.flows.clients, caller);
  if (!directives) {
    return call.error(directives.error());
  }
  Response r;
  r.status = 307;
  if (format == "nonce") {
    r.set("location", with_param(*url, "__clerk_handshake_nonce",
                                 flows::seal_handshake_nonce(call.ctx.flows.deps, *directives)));
  } else {
    auto jwt = flows::sign_handshake(call.ctx.flows.deps, *directives);
    if (!jwt) {
      return call.error(jwt.error());
    }
    r.set("location", with_param(*url, "__clerk_handshake", *jwt));
  }
  navigation_headers(r);
  return r;
}

}  // namespace latchkey::api
