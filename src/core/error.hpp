#pragma once
// One error type for the whole request path (design.md §3.1-3). What the client sees (code,
// message, long_message, meta) is separate from what is logged (internal). The mapping of Code to
// an HTTP status, Clerk's wire code and the default texts is the one table in core/error.cpp
// (error_info); api/errors.cpp wraps it in Clerk's envelope.
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/reason.hpp"

namespace latchkey::core {

// Clerk wire codes we emit. Add new ones here and to the table in core/error.cpp.
enum class Code {
  kMalformedRequest,        // 400 malformed_request
  kFormParamMissing,        // 422 form_param_missing
  kFormParamInvalid,        // 422 form_param_format_invalid / form_param_value_invalid
  kFormParamUnknown,        // 422 form_param_unknown
  kFormParamDuplicate,      // 400 form_param_duplicate (a query or form parameter given twice)
  kRequestBodyTooLarge,     // 413 request_body_too_large
  kRequestHeadersTooLarge,  // 431 request_headers_too_large (RFC 6585 §5)
  kRequestLineTooLong,      // 414 request_line_too_long (RFC 9112 §3)
  kUnsupportedMediaType,    // 415 unsupported_media_type (a body that is not a form)
  kResourceNotFound,        // 404 resource_not_found
  kMethodNotAllowed,        // 405 method_not_allowed
  kAuthenticationInvalid,   // 401 authentication_invalid
  kClientNotFound,          // 404 client_not_found
  kSessionNotFound,         // 404 resource_not_found (session)
  kSignInNotFound,          // 404 resource_not_found (sign in)
  kSignUpNotFound,          // 404 resource_not_found (sign up)
  kSessionEnded,            // 401 session_ended / authentication_invalid (cannot mint)
  kConflict,                // 409 conflict
  kInvalidState,            // 400 invalid_state (out-of-order step)
  kStrategyNotAllowed,      // 422 strategy_for_user_invalid
  kRedirectUrlInvalid,      // 422 invalid_redirect_url / form_param_value_invalid
  kOriginNotAllowed,        // 403 origin_invalid (CSRF: a state change from a foreign origin)
  kOAuthAccessDenied,       // verification error oauth_access_denied
  kOAuthStateInvalid,       // verification error (bad/replayed/expired state)
  kOAuthTokenExchangeFailed,
  kOAuthIdTokenInvalid,
  kOAuthProviderUnavailable,
  kExternalAccountNotFound,
  kExternalAccountExists,
  kExternalAccountEmailUnverified,  // linking refused: email not verified on both sides
  kIdentifierAlreadySignedIn,
  kSessionExists,
  // First factors, verifications and bot protection (issue 11).
  kFormIdentifierNotFound,        // 422 form_identifier_not_found (param_name identifier)
  kFormIdentifierExists,          // 422 form_identifier_exists (an address/number/username taken)
  kFormPasswordIncorrect,         // 422 form_password_incorrect (param_name password)
  kFormPasswordLengthTooShort,    // 422 form_password_length_too_short
  kFormPasswordLengthTooLong,     // 422 form_password_length_too_long
  kFormPasswordNotStrongEnough,   // 422 form_password_not_strong_enough
  kFormPasswordPwned,             // 422 form_password_pwned (a known breached password)
  kFormPasswordValidationFailed,  // 422 form_password_validation_failed (other policy rules)
  kFormCodeIncorrect,             // 422 form_code_incorrect
  kVerificationExpired,           // 400 verification_expired
  kVerificationFailed,            // 400 verification_failed (too many attempts)
  kVerificationAlreadyVerified,   // 400 verification_already_verified
  kUserLocked,                    // 403 user_locked (meta lockout_expires_in_seconds)
  kUserBanned,                    // 403 user_banned (the Backend API's users.ban)
  kCaptchaInvalid,                // 400 captcha_invalid (absent, failed or replayed token)
  kCaptchaUnavailable,            // 503 captcha_unavailable (siteverify unreachable)
  kDeliveryRefused,               // 422 (a message may not be sent to this recipient)
  kTooManyRequests,               // 429 too_many_requests
  kServiceUnavailable,            // 503 service_unavailable
  kInternal,                      // 500 internal_clerk_error
};

// A stable name for each Code ("oauth_access_denied", "session_exists"): what persisted data (an
// attempt's verification error) stores, so adding or reordering codes never changes its meaning.
std::string_view code_id(Code code);
std::optional<Code> code_from_id(std::string_view name);

// What a client is told for a Code. The one Code -> HTTP mapping: api/errors.cpp builds Clerk's
// envelope from it, and the HTTP server's fallback answer (to a request it refuses before any route
// runs: 400, 413, 414, 431, 404, 405, 503) reads it too, so the two cannot drift apart.
struct ErrorInfo {
  int status;
  std::string_view wire_code;     // Clerk's `code`
  std::string_view message;       // default short message
  std::string_view long_message;  // default long message
};
const ErrorInfo& error_info(Code code);

struct Error {
  Code code = Code::kInternal;
  std::string message;       // short, safe for the client ("" -> default for the code)
  std::string long_message;  // longer, safe for the client ("" -> default for the code)
  std::vector<std::pair<std::string, std::string>> meta;  // snake_case keys, e.g. param_name
  std::string internal;                  // for logs only; never sent, never holds a secret
  Reason reason = Reason::kUnspecified;  // for logs and metrics only; never sent

  Error() = default;
  Error(Code c, std::string msg = {}, std::string long_msg = {})
      : code(c), message(std::move(msg)), long_message(std::move(long_msg)) {}

  Error&& with_meta(std::string key, std::string value) && {
    meta.emplace_back(std::move(key), std::move(value));
    return std::move(*this);
  }
  Error&& with_internal(std::string why) && {
    internal = std::move(why);
    return std::move(*this);
  }
  Error&& with_reason(Reason why) && {
    reason = why;
    return std::move(*this);
  }
  [[nodiscard]] const std::string* find_meta(std::string_view key) const {
    for (const auto& [k, v] : meta) {
      if (k == key) {
        return &v;
      }
    }
    return nullptr;
  }
};

template <typename T>
using Result = std::expected<T, Error>;
using Status = std::expected<void, Error>;

inline std::unexpected<Error> fail(Code code, std::string message = {},
                                   std::string long_message = {}) {
  return std::unexpected<Error>(Error(code, std::move(message), std::move(long_message)));
}
inline std::unexpected<Error> fail(Error e) { return std::unexpected<Error>(std::move(e)); }

// Convenience for form validation errors: meta.param_name is what the SDK keys field errors on.
inline std::unexpected<Error> param_error(Code code, std::string param, std::string message,
                                          std::string long_message = {}) {
  return fail(Error(code, std::move(message), std::move(long_message))
                  .with_meta("param_name", std::move(param)));
}

}  // namespace latchkey::core
