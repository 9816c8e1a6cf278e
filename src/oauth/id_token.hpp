#pragma once
// ID token validation for the authorization code flow (OIDC Core 1.0 §3.1.3.7, RFC 8725).
// Every failure carries Code::kOAuthIdTokenInvalid (uniform external answer, design.md §3.3) and a
// precise core::Reason (kMalformed, kAlg, kKid, kSignature, kIss, kTid, kAud, kAzp, kExp, kIat,
// kNbf, kNonce, kSub) for metrics, named again in Error::internal ("reason=<name>: detail") for
// logs.
#include <boost/json/object.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "crypto/key.hpp"
#include "oauth/discovery.hpp"
#include "oauth/provider.hpp"

namespace latchkey::oauth {

struct IdTokenExpectations {
  // Exact expected `iss`, or (issuer_is_template) a template with "{tenantid}" replaced by the
  // token's own `tid` claim before the exact comparison.
  std::string issuer;
  bool issuer_is_template = false;
  std::vector<std::string> alternate_issuers;  // other exact values the provider documents
  std::string client_id;
  std::vector<crypto::Alg> allowed_algs;  // never empty in practice; empty rejects everything
  std::string nonce;                      // the nonce we sent; required and compared when non-empty
  std::chrono::seconds leeway{60};        // clock skew tolerance for exp, iat, nbf
  std::chrono::seconds max_age{3600};     // reject tokens issued longer ago than this
  std::size_t max_bytes = 16 * 1024;      // size cap before any decoding (catalog A32)
  std::size_t max_candidate_keys = 5;     // no kid: try at most this many matching keys (A20)
};

// Supplies the provider's keys. `force_refresh` is set once on an unknown kid (rotation); the
// source rate-limits it (OIDC Core §10.1.1).
using KeySource = std::function<core::Result<std::shared_ptr<const JwkSet>>(bool force_refresh)>;

struct ValidatedIdToken {
  boost::json::object claims;
  std::string issuer;  // the token's `iss` (verified)
  std::string subject;
};

core::Result<ValidatedIdToken> validate_id_token(std::string_view compact,
                                                 const IdTokenExpectations& expect,
                                                 const KeySource& keys, const core::Clock& clock);

// The reason's name of an ID token error ("" if none): for tests.
std::string_view id_token_failure_reason(const core::Error& error);

}  // namespace latchkey::oauth
