#include "core/error.hpp"

namespace latchkey::core {

std::string_view code_id(Code code) {
  // No default: -Wswitch (an error here) names a Code added without a name.
  switch (code) {
    case Code::kMalformedRequest:
      return "malformed_request";
    case Code::kFormParamMissing:
      return "form_param_missing";
    case Code::kFormParamInvalid:
      return "form_param_invalid";
    case Code::kFormParamUnknown:
      return "form_param_unknown";
    case Code::kFormParamDuplicate:
      return "form_param_duplicate";
    case Code::kRequestBodyTooLarge:
      return "request_body_too_large";
    case Code::kRequestHeadersTooLarge:
      return "request_headers_too_large";
    case Code::kRequestLineTooLong:
      return "request_line_too_long";
    case Code::kUnsupportedMediaType:
      return "unsupported_media_type";
    case Code::kResourceNotFound:
      return "resource_not_found";
    case Code::kMethodNotAllowed:
      return "method_not_allowed";
    case Code::kAuthenticationInvalid:
      return "authentication_invalid";
    case Code::kClientNotFound:
      return "client_not_found";
    case Code::kSessionNotFound:
      return "session_not_found";
    case Code::kSignInNotFound:
      return "sign_in_not_found";
    case Code::kSignUpNotFound:
      return "sign_up_not_found";
    case Code::kSessionEnded:
      return "session_ended";
    case Code::kConflict:
      return "conflict";
    case Code::kInvalidState:
      return "invalid_state";
    case Code::kStrategyNotAllowed:
      return "strategy_not_allowed";
    case Code::kRedirectUrlInvalid:
      return "redirect_url_invalid";
    case Code::kOriginNotAllowed:
      return "origin_not_allowed";
    case Code::kOAuthAccessDenied:
      return "oauth_access_denied";
    case Code::kOAuthStateInvalid:
      return "oauth_state_invalid";
    case Code::kOAuthTokenExchangeFailed:
      return "oauth_token_exchange_failed";
    case Code::kOAuthIdTokenInvalid:
      return "oauth_id_token_invalid";
    case Code::kOAuthProviderUnavailable:
      return "oauth_provider_unavailable";
    case Code::kExternalAccountNotFound:
      return "external_account_not_found";
    case Code::kExternalAccountExists:
      return "external_account_exists";
    case Code::kExternalAccountEmailUnverified:
      return "external_account_email_unverified";
    case Code::kIdentifierAlreadySignedIn:
      return "identifier_already_signed_in";
    case Code::kSessionExists:
      return "session_exists";
    case Code::kTooManyRequests:
      return "too_many_requests";
    case Code::kServiceUnavailable:
      return "service_unavailable";
    case Code::kInternal:
      return "internal";
  }
  return "internal";
}

std::optional<Code> code_from_id(std::string_view name) {
  for (int i = 0; i <= static_cast<int>(Code::kInternal); ++i) {
    if (code_id(static_cast<Code>(i)) == name) {
      return static_cast<Code>(i);
    }
  }
  return std::nullopt;
}

}  // namespace latchkey::core
