#pragma once
// The identity provider's redirect back to us (/v1/oauth_callback), in three steps: consume the
// single-use state and check that it belongs to an attempt of THIS browser; redeem the code with
// the provider outside any transaction; record the outcome on the attempt - and whatever it leads
// to (user, external account, session, rotated credential) - in one transaction.
#include <optional>
#include <string>

#include "core/error.hpp"
#include "flows/flow_types.hpp"
#include "oauth/service.hpp"

namespace latchkey::flows {

class OAuthCallback {
 public:
  explicit OAuthCallback(FlowDeps& deps) : d_(deps) {}

  // Errors (400 envelope) only when no attempt of this caller can carry the failure; otherwise
  // the failure is recorded on the attempt and the browser goes back to the app like on success.
  core::Result<CallbackOutcome> handle(const Caller& caller, const oauth::CallbackParams& params,
                                       const std::string& state);

 private:
  FlowDeps& d_;
};

}  // namespace latchkey::flows
