// The OAuth callback: the browser comes back from the identity provider (a top-level navigation,
// or a form_post). Answers in its own style: 303s with navigation headers, errors as a page.
#include <string>

#include "api/handlers.hpp"

namespace latchkey::api {
using core::Code;
using core::Error;
using http::Method;
using http::Response;

Response oauth_callback(Call& call) {
  const http::Fields& params = call.req.method == Method::kPost ? call.form : call.query;
  if (call.req.method == Method::kPost) {
    // response_mode=form_post: a cross-site POST carries no SameSite=Lax cookie, so turn it
    // into a top-level GET navigation (which does) with the same parameters.
    Response r;
    r.status = 303;
    r.set("location", call.ctx.options.prefix + "/v1/oauth_callback?" + http::form_encode(params));
    r.set("cache-control", "no-store");
    return r;
  }
  oauth::CallbackParams cb;
  cb.code = field(params, "code").value_or("");
  cb.error = field(params, "error").value_or("");
  cb.error_description = field(params, "error_description").value_or("");
  cb.iss = field(params, "iss");
  const std::string state = field(params, "state").value_or("");
  auto out = call.ctx.flows.callback.handle(call.caller(), cb, state);
  if (!out) {
    return call.callback_error(out.error());
  }
  if (out->failure) {
    call.callback_failed(*out->failure);
  }
  Response r;
  r.status = 303;
  r.set("location", out->redirect_to);
  navigation_headers(r);
  if (out->new_client_token) {
    set_client_cookie(call.ctx, r, *out->new_client_token);  // a session was created: rotated
  }
  return r;
}

// An email link was opened (GET /v1/verify?token=...), in this browser or another: a 303 to the
// redirect_url given at prepare with __clerk_status (and __clerk_created_session), or, when the
// token names nothing we can trust, Clerk's error envelope (there is no URL to go back to).
Response verify_email_link(Call& call) {
  const std::string token = field(call.query, "token").value_or("");
  if (token.empty()) {
    return call.error(Error(Code::kFormParamMissing).with_meta("param_name", "token"));
  }
  auto out = call.ctx.flows.email_links.verify(call.caller(), token);
  if (!out) {
    return call.error(out.error());
  }
  if (out->failure) {
    call.callback_failed(*out->failure);
  }
  Response r;
  r.status = 303;
  r.set("location", out->redirect_to);
  navigation_headers(r);
  if (out->new_client_token) {
    set_client_cookie(call.ctx, r, *out->new_client_token);  // signed in here: rotated
  }
  return r;
}

}  // namespace latchkey::api
