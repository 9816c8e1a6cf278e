#pragma once
// Why a request failed, finer than its Code, as a typed value (issue 10, item 5). The client never
// sees it: it gets the uniform answer of the Code. The reason goes to the audit log and labels
// latchkey_request_failures_total{route,code,reason} (and oauth's latchkey_oauth_failures_total),
// so its names are a bounded set and stable: dashboards and alerts key on them.
//
// A name is what the log line has always said after "reason=" (core::Error::internal still
// carries that text with its detail), so one vocabulary serves logs and metrics. The same name may
// serve several codes ("malformed" state, "malformed" ID token): the code tells them apart.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace latchkey::core {

enum class Reason : std::uint8_t {
  kUnspecified,  // nothing finer than the Code

  // The client credential (sessions/).
  kStaleClientCredential,  // a copy of a rotated-out __client value, within the grace period
  kNoClient,               // a credential was needed and the request names no live client

  // CSRF: the origin check of a state-changing route (api/).
  kOriginNotAllowed,    // Origin present and not allowed ("null" included)
  kRefererNotAllowed,   // no Origin; a Referer whose origin is not allowed
  kFetchSiteCrossSite,  // no Origin; Sec-Fetch-Site: cross-site
  kFetchSiteSameSite,   // no Origin; Sec-Fetch-Site: same-site without an allowed Referer
  kFetchSiteInvalid,    // no Origin; a Sec-Fetch-Site value that is none of the four

  // The request body (api/).
  kContentTypeRepeated,     // two Content-Type fields
  kBodyNotForm,             // a body that is not application/x-www-form-urlencoded
  kBodyWithoutContentType,  // a body without a Content-Type

  // Rate limits (api/, ratelimit/): which key of the route's pair refused.
  kRateLimitedIp,
  kRateLimitedClient,

  // Readiness: the store does not answer.
  kStoreUnavailable,

  // The OAuth callback's state and attempt (flows/).
  kMissing,          // no state parameter
  kMalformed,        // state too long; an ID token that is not a JWS, too large, not JSON
  kUnknown,          // unknown, expired or replayed state; no attempt for the callback
  kClientMismatch,   // a state bound to another browser's client (login CSRF, B6)
  kAttemptMismatch,  // the state of an attempt the client has since replaced
  kAttemptDone,      // the attempt moved on (completed or failed) before the callback
  kRedirectUrl,      // the attempt's stored redirect_url is no longer allowed

  // The provider round trip (oauth/).
  kIssuerMismatch,  // the authorization response's iss is not the provider's (RFC 9207)
  kIssuerMissing,   // the provider advertises iss in responses and this one has none
  kCodeMissing,     // no authorization code, or one too long
  kAtHash,          // at_hash does not match the access token
  kUserinfoSub,     // userinfo's sub differs from the ID token's
  kProviderBusy,    // oauth.max_concurrent_per_provider calls to the provider already in flight
  kDeadline,        // the operation's deadline (oauth.callback_deadline) passed before a call

  // ID token validation (oauth/id_token.hpp, OIDC Core §3.1.3.7): the claim or step that failed.
  kAlg,
  kKid,
  kSignature,
  kIss,
  kTid,
  kAud,
  kAzp,
  kExp,
  kIat,
  kNbf,
  kNonce,
  kSub,  // keep last: kReasonCount follows it
};

inline constexpr std::size_t kReasonCount = static_cast<std::size_t>(Reason::kSub) + 1;

// The stable snake_case name ("stale_client_credential", "client_mismatch", "kid").
constexpr std::string_view reason_name(Reason reason) {
  // No default: -Wswitch (an error here) names a Reason added without a name.
  switch (reason) {
    case Reason::kUnspecified:
      return "unspecified";
    case Reason::kStaleClientCredential:
      return "stale_client_credential";
    case Reason::kNoClient:
      return "no_client";
    case Reason::kOriginNotAllowed:
      return "origin_not_allowed";
    case Reason::kRefererNotAllowed:
      return "referer_not_allowed";
    case Reason::kFetchSiteCrossSite:
      return "fetch_site_cross_site";
    case Reason::kFetchSiteSameSite:
      return "fetch_site_same_site";
    case Reason::kFetchSiteInvalid:
      return "fetch_site_invalid";
    case Reason::kContentTypeRepeated:
      return "content_type_repeated";
    case Reason::kBodyNotForm:
      return "body_not_form";
    case Reason::kBodyWithoutContentType:
      return "body_without_content_type";
    case Reason::kRateLimitedIp:
      return "rate_limited_ip";
    case Reason::kRateLimitedClient:
      return "rate_limited_client";
    case Reason::kStoreUnavailable:
      return "store_unavailable";
    case Reason::kMissing:
      return "missing";
    case Reason::kMalformed:
      return "malformed";
    case Reason::kUnknown:
      return "unknown";
    case Reason::kClientMismatch:
      return "client_mismatch";
    case Reason::kAttemptMismatch:
      return "attempt_mismatch";
    case Reason::kAttemptDone:
      return "attempt_done";
    case Reason::kRedirectUrl:
      return "redirect_url";
    case Reason::kIssuerMismatch:
      return "issuer_mismatch";
    case Reason::kIssuerMissing:
      return "issuer_missing";
    case Reason::kCodeMissing:
      return "code_missing";
    case Reason::kAtHash:
      return "at_hash";
    case Reason::kUserinfoSub:
      return "userinfo_sub";
    case Reason::kProviderBusy:
      return "provider_busy";
    case Reason::kDeadline:
      return "deadline";
    case Reason::kAlg:
      return "alg";
    case Reason::kKid:
      return "kid";
    case Reason::kSignature:
      return "signature";
    case Reason::kIss:
      return "iss";
    case Reason::kTid:
      return "tid";
    case Reason::kAud:
      return "aud";
    case Reason::kAzp:
      return "azp";
    case Reason::kExp:
      return "exp";
    case Reason::kIat:
      return "iat";
    case Reason::kNbf:
      return "nbf";
    case Reason::kNonce:
      return "nonce";
    case Reason::kSub:
      return "sub";
  }
  return "unspecified";
}

constexpr std::optional<Reason> reason_from_name(std::string_view name) {
  for (std::size_t i = 0; i < kReasonCount; ++i) {
    if (reason_name(static_cast<Reason>(i)) == name) {
      return static_cast<Reason>(i);
    }
  }
  return std::nullopt;
}

}  // namespace latchkey::core
