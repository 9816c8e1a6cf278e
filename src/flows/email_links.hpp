#pragma once
// Email links (email_link, issue 11 item 3): the token a link carries and the service behind
// GET /v1/verify. A token names one verification of one attempt (a sign-in's first factor or a
// sign-up's email address), carries a random nonce and its expiry, and is MAC'd with the
// instance's key (crypto::Sealer::mac, the key kept sealed at rest like every other secret). The
// attempt keeps only the nonce's MAC: a new link replaces it, and a verified (or failed, expired)
// verification accepts none, so a token works once. Tokens are never logged.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "crypto/sealer.hpp"
#include "flows/flow_types.hpp"

namespace latchkey::flows {

enum class LinkAttempt : std::uint8_t { kSignIn, kSignUp };

struct LinkClaims {
  LinkAttempt attempt = LinkAttempt::kSignIn;
  std::string attempt_id;  // sia_... / sua_...
  std::string nonce;       // random; its MAC is on the verification
  std::int64_t expire_at_ms = 0;
};

// "<base64url(payload)>.<base64url(mac)>": URL-safe, no padding.
std::string seal_link_token(const crypto::Sealer& sealer, const LinkClaims& claims);
// The claims of an authentic token, whatever its expiry (the caller compares it with the clock
// so that an expired link can still say "expired"); kVerificationFailed for anything else
// (malformed, tampered, signed by another key).
core::Result<LinkClaims> open_link_token(const crypto::Sealer& sealer, std::string_view token);
// The context the nonce's MAC on the verification is bound to: the attempt and the strategy.
std::string link_nonce_context(std::string_view attempt_id);

// What GET /v1/verify answers: a redirect to the URL given at prepare with Clerk's
// __clerk_status (verified | expired | failed) and, when a session was created,
// __clerk_created_session; or, when the token names no attempt we can trust, an error (the FAPI
// envelope: there is no redirect URL to go to).
struct LinkOutcome {
  std::string redirect_to;
  std::string status;  // verified | expired | failed
  // A session was created on the caller's own client: its rotated credential (Set-Cookie).
  std::optional<std::string> new_client_token;
  // Why the link was refused (logged by the handler, never sent); nullopt when verified.
  std::optional<core::Error> failure;
};

class EmailLinks {
 public:
  explicit EmailLinks(FlowDeps& d) : d_(d) {}
  // The link was opened (in any browser): checks the token (signature, expiry, single use, the
  // attempt still waiting on that verification) and verifies it - a sign-in completes on the
  // client that asked; a sign-up's address is verified and the sign-up completes when nothing
  // else is missing. A refused token changes nothing.
  core::Result<LinkOutcome> verify(const Caller& caller, std::string_view token);

 private:
  FlowDeps& d_;
};

}  // namespace latchkey::flows
