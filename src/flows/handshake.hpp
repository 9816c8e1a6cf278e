#pragma once
// The server-side handshake of the SSR SDKs (@clerk/backend authenticateRequest): when an app's
// server sees `__client_uat` say signed-in without a usable `__session`, it sends the browser to
// FAPI GET /v1/client/handshake, which answers with the Set-Cookie directives that bring the
// app's cookies in line with this browser's client, signed with the session-token key.
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "flows/client_service.hpp"
#include "flows/flow_types.hpp"

namespace latchkey::flows {

// Signed in (the client's last active session, else its newest, is live): `__session=<fresh token
// for caller.origin>` and `__client_uat=<client updated_at, unix s>`. Otherwise: `__session`
// cleared and
// `__client_uat=0`. Host-only cookies (no Domain): the app's server sets them on its own host.
core::Result<std::vector<std::string>> handshake_directives(ClientService& clients,
                                                            const Caller& caller);

// The handshake JWT: {"handshake":[directives...], iat, nbf, exp = iat + 60}.
core::Result<std::string> sign_handshake(const FlowDeps& d,
                                         const std::vector<std::string>& directives);

// The nonce form (what @clerk/backend asks for: format=nonce): the directives sealed with their
// expiry (60 s) under the instance key, an opaque base64url string the app's server redeems with
// the Backend API (GET /v1/clients/handshake_payload). Stateless, so a nonce can be redeemed more
// than once within its minute, as the token form's JWT can be read more than once.
std::string seal_handshake_nonce(const FlowDeps& d, const std::vector<std::string>& directives);
// The directives of a nonce that opens and has not expired; else 422 form_param_format_invalid
// naming `nonce`.
core::Result<std::vector<std::string>> open_handshake_nonce(const FlowDeps& d,
                                                            std::string_view nonce);

}  // namespace latchkey::flows
