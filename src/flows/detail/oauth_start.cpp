// Starting an OAuth verification (sign-in, sign-up, signUp.sso's PATCH) and sealing what the
// provider returns.
#include "flows/detail/attempt.hpp"
#include "flows/policy.hpp"
#include "sessions/clients.hpp"

namespace latchkey::flows::detail {

using core::Code;
using core::fail;
using core::Result;
using core::Status;

Result<std::string> resolve_redirect(const FlowDeps& d, const std::optional<std::string>& url,
                                     const Caller& caller, std::string_view param, bool required) {
  if (!url || url->empty()) {
    if (required) {
      return core::param_error(Code::kFormParamMissing, std::string(param), "is missing",
                               std::string(param) + " is required.");
    }
    return std::string();
  }
  const std::string& base = caller.origin.empty() ? d.settings.public_origin : caller.origin;
  return resolve_redirect_url(*url, base, d.settings.allowed_origins, param);
}

Result<OAuthStart> start_oauth(FlowDeps& d, const Caller& caller, const std::string& strategy,
                               const std::optional<std::string>& redirect_url,
                               const std::optional<std::string>& action_url,
                               std::string_view login_hint) {
  if (!is_oauth_strategy(strategy) || d.oauth.find(strategy) == nullptr) {
    return core::param_error(
        Code::kStrategyNotAllowed, "strategy", "is invalid",
        "The strategy '" + strategy + "' is not enabled for this application.");
  }
  OAuthStart out;
  auto r = resolve_redirect(d, redirect_url, caller, "redirect_url", true);
  if (!r) {
    return fail(std::move(r.error()));
  }
  out.redirect_url = std::move(*r);
  auto a = resolve_redirect(d, action_url, caller, "action_complete_redirect_url", false);
  if (!a) {
    return fail(std::move(a.error()));
  }
  out.action_complete_redirect_url = std::move(*a);
  auto req = d.oauth.begin(strategy, d.settings.callback_url, login_hint);
  if (!req) {
    return fail(std::move(req.error()));
  }
  out.request = std::move(*req);
  return out;
}

Status save_oauth_state(store::Tx& tx, FlowDeps& d, const store::Client& client,
                        std::string_view attempt_type, const std::string& attempt_id,
                        const std::string& strategy, const oauth::AuthorizationRequest& req,
                        std::int64_t now) {
  store::OAuthState st;
  st.state_hash = sessions::Clients::hash_token(req.state.reveal());
  st.client_id = client.id;
  st.attempt_type = std::string(attempt_type);
  st.attempt_id = attempt_id;
  st.strategy = strategy;
  // What oauth/ needs back at the callback, sealed by it: stored as-is with this single-use state.
  st.data = req.pending.sealed();
  st.expire_at_ms = now + d.settings.oauth_state_lifetime.count();
  st.created_at_ms = now;
  return tx.insert_oauth_state(st);
}

PendingIdentity seal_identity(const FlowDeps& d, const oauth::ExternalIdentity& id) {
  PendingIdentity p;
  p.strategy = id.strategy;
  p.provider = id.provider;
  p.provider_user_id = id.provider_user_id;
  p.email = lower_ascii(id.email);
  p.email_verified = id.email_verified;
  p.first_name = id.first_name;
  p.last_name = id.last_name;
  p.image_url = id.image_url;
  p.username = id.username;
  p.approved_scopes = id.approved_scopes;
  const std::string aad = "provider-token:" + id.strategy + ":" + id.provider_user_id;
  if (!id.access_token.empty()) {
    p.access_token_enc = d.sealer.seal(id.access_token.reveal(), aad);
  }
  if (!id.refresh_token.empty()) {
    p.refresh_token_enc = d.sealer.seal(id.refresh_token.reveal(), aad);
  }
  return p;
}

}  // namespace latchkey::flows::detail
