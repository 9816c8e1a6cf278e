#pragma once
// Internal to oauth/: what a pending authorization holds, and its sealed form. Only
// Service::begin seals one and only Service::complete opens one; callers see the opaque
// PendingAuthorization.
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "core/secret.hpp"
#include "crypto/sealer.hpp"
#include "oauth/service.hpp"

namespace latchkey::oauth::detail {

struct PendingFields {
  std::string strategy;        // bound through the sealer's associated data
  core::Secret state;          // the value the browser carries; checked again on completion
  core::Secret code_verifier;  // RFC 7636 §4.1; never leaves oauth/ but to the token endpoint
  core::Secret nonce;          // OIDC providers only (empty for GitHub)
  std::string redirect_uri;    // sent again with the code (RFC 6749 §4.1.3)
};

// Sealed with associated data "oauth-pending:<strategy>" (crypto::Sealer: XChaCha20-Poly1305).
PendingAuthorization seal_pending(const crypto::Sealer& sealer, const PendingFields& fields);

// Fails (kInternal, reason in Error::internal) when the value does not open for `strategy`
// (another master key, tampering, another strategy's value) or is not of the shape we seal.
core::Result<PendingFields> open_pending(const crypto::Sealer& sealer,
                                         const PendingAuthorization& pending,
                                         std::string_view strategy);

}  // namespace latchkey::oauth::detail
