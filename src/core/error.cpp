#include "core/error.hpp"

#include <array>
#include <cstddef>

namespace latchkey::core {
namespace {

struct Row {
  Code code;
  // The stable name (code_id): persisted data holds it, so it never changes once shipped.
  std::string_view id;
  ErrorInfo info;
};

// Keep in the order of core::Code; the static_asserts below check the row count and the order.
constexpr std::array kTable = {
    Row{Code::kMalformedRequest,
        "malformed_request",
        {400, "malformed_request", "Malformed request",
         "The request could not be parsed. Check its syntax, encoding and content type."}},
    Row{Code::kFormParamMissing,
        "form_param_missing",
        {422, "form_param_missing", "is missing", "A required parameter is missing."}},
    Row{Code::kFormParamInvalid,
        "form_param_invalid",
        {422, "form_param_format_invalid", "is invalid", "A parameter has an invalid value."}},
    Row{Code::kFormParamUnknown,
        "form_param_unknown",
        {422, "form_param_unknown", "is unknown", "A parameter is not recognised."}},
    Row{Code::kFormParamDuplicate,
        "form_param_duplicate",
        {400, "form_param_duplicate", "is given more than once",
         "A parameter appears more than once in the query string or the form body; send each "
         "parameter once."}},
    Row{Code::kRequestBodyTooLarge,
        "request_body_too_large",
        {413, "request_body_too_large", "Request body too large",
         "The request body exceeds the maximum size this server accepts."}},
    Row{Code::kRequestHeadersTooLarge,
        "request_headers_too_large",
        {431, "request_headers_too_large", "Request headers too large",
         "The request's header fields exceed the size or count this server accepts."}},
    Row{Code::kRequestLineTooLong,
        "request_line_too_long",
        {414, "request_line_too_long", "Request line too long",
         "The request line (method and target) exceeds the size this server accepts."}},
    Row{Code::kUnsupportedMediaType,
        "unsupported_media_type",
        {415, "unsupported_media_type", "Unsupported content type",
         "Send the request body as application/x-www-form-urlencoded (UTF-8)."}},
    Row{Code::kResourceNotFound,
        "resource_not_found",
        {404, "resource_not_found", "not found", "The requested resource was not found."}},
    Row{Code::kMethodNotAllowed,
        "method_not_allowed",
        {405, "method_not_allowed", "Method not allowed",
         "This HTTP method is not allowed on this resource."}},
    Row{Code::kAuthenticationInvalid,
        "authentication_invalid",
        {401, "authentication_invalid", "Invalid authentication",
         "The request could not be authenticated."}},
    Row{Code::kClientNotFound,
        "client_not_found",
        {404, "client_not_found", "Client not found",
         "No client is associated with this request. Start a sign-in or sign-up first."}},
    Row{Code::kSessionNotFound,
        "session_not_found",
        {404, "resource_not_found", "Session not found",
         "No session with this id exists on this client."}},
    Row{Code::kSignInNotFound,
        "sign_in_not_found",
        {404, "resource_not_found", "Sign in not found",
         "No sign-in attempt with this id exists on this client."}},
    Row{Code::kSignUpNotFound,
        "sign_up_not_found",
        {404, "resource_not_found", "Sign up not found",
         "No sign-up attempt with this id exists on this client."}},
    Row{Code::kSessionEnded,
        "session_ended",
        {401, "authentication_invalid", "Session is no longer active",
         "This session has ended and can no longer be used."}},
    Row{Code::kConflict,
        "conflict",
        {409, "conflict", "Conflict", "The request conflicts with the current state."}},
    Row{Code::kInvalidState,
        "invalid_state",
        {400, "invalid_state", "Invalid state",
         "This step is not allowed in the current state of the attempt."}},
    Row{Code::kStrategyNotAllowed,
        "strategy_not_allowed",
        {422, "strategy_for_user_invalid", "Strategy not allowed",
         "This verification strategy is not enabled for this application."}},
    Row{Code::kRedirectUrlInvalid,
        "redirect_url_invalid",
        {422, "invalid_redirect_url", "Invalid redirect URL",
         "The redirect URL is not allowed. It must be a relative path or an allowed origin."}},
    Row{Code::kOriginNotAllowed,
        "origin_not_allowed",
        {403, "origin_invalid", "Origin not allowed",
         "Requests that change state must come from an allowed origin."}},
    Row{Code::kOAuthAccessDenied,
        "oauth_access_denied",
        {400, "oauth_access_denied", "Access denied",
         "You did not grant access to your account with the identity provider."}},
    Row{Code::kOAuthStateInvalid,
        "oauth_state_invalid",
        {400, "oauth_state_invalid", "Invalid OAuth state",
         "The sign-in with the identity provider could not be matched to an attempt that is in "
         "progress on this browser, or it was already used. Please try again."}},
    Row{Code::kOAuthTokenExchangeFailed,
        "oauth_token_exchange_failed",
        {400, "oauth_token_exchange_error", "OAuth token exchange failed",
         "The identity provider did not accept the authorization code. Please try again."}},
    Row{Code::kOAuthIdTokenInvalid,
        "oauth_id_token_invalid",
        {400, "oauth_id_token_invalid", "Invalid ID token",
         "The identity provider's ID token failed validation."}},
    Row{Code::kOAuthProviderUnavailable,
        "oauth_provider_unavailable",
        {502, "oauth_provider_unavailable", "Identity provider unavailable",
         "The identity provider could not be reached. Please try again later."}},
    Row{Code::kExternalAccountNotFound,
        "external_account_not_found",
        {422, "external_account_not_found", "The External Account was not found.",
         "No account is linked to this external account. You can sign up with it instead."}},
    Row{Code::kExternalAccountExists,
        "external_account_exists",
        {422, "external_account_exists", "External account already exists",
         "This external account is already linked to a user. Sign in instead."}},
    Row{Code::kExternalAccountEmailUnverified,
        "external_account_email_unverified",
        {422, "external_account_email_unverified", "Email address not verified",
         "An account with this email address already exists, but the identity provider does not "
         "state that the address is verified, or the existing address is not verified. For your "
         "safety the accounts were not linked. Sign in with your existing method and connect "
         "this provider from your profile."}},
    Row{Code::kIdentifierAlreadySignedIn,
        "identifier_already_signed_in",
        {400, "identifier_already_signed_in", "You're already signed in.",
         "You're already signed in with this account."}},
    Row{Code::kSessionExists,
        "session_exists",
        {400, "session_exists", "You're already signed in.",
         "You're already signed in. Sign out before starting a new sign-in."}},
    Row{Code::kFormIdentifierNotFound,
        "form_identifier_not_found",
        {422, "form_identifier_not_found", "Couldn't find your account.",
         "No account matches this identifier."}},
    Row{Code::kFormIdentifierExists,
        "form_identifier_exists",
        {422, "form_identifier_exists", "That identifier is taken. Please try another.",
         "An account already uses this identifier."}},
    Row{Code::kFormPasswordIncorrect,
        "form_password_incorrect",
        {422, "form_password_incorrect", "Password is incorrect. Try again, or use another method.",
         "The password does not match."}},
    Row{Code::kFormPasswordLengthTooShort,
        "form_password_length_too_short",
        {422, "form_password_length_too_short", "Passwords must be 8 characters or more.",
         "The password is shorter than this application allows."}},
    Row{Code::kFormPasswordLengthTooLong,
        "form_password_length_too_long",
        {422, "form_password_length_too_long", "Password is too long.",
         "The password is longer than this application allows."}},
    Row{Code::kFormPasswordNotStrongEnough,
        "form_password_not_strong_enough",
        {422, "form_password_not_strong_enough", "Given password is not strong enough.",
         "This password is too easy to guess. Use a longer password or more unusual words."}},
    Row{Code::kFormPasswordPwned,
        "form_password_pwned",
        {422, "form_password_pwned",
         "Password has been found in an online data breach. For account safety, please use a "
         "different password.",
         "This password appears in a list of passwords exposed in data breaches."}},
    Row{Code::kFormPasswordValidationFailed,
        "form_password_validation_failed",
        {422, "form_password_validation_failed", "Password does not meet the requirements.",
         "The password does not meet this application's password rules."}},
    Row{Code::kFormCodeIncorrect,
        "form_code_incorrect",
        {422, "form_code_incorrect", "Incorrect code", "The verification code is incorrect."}},
    Row{Code::kVerificationExpired,
        "verification_expired",
        {400, "verification_expired", "This verification has expired.",
         "The verification has expired. Request a new code or link."}},
    Row{Code::kVerificationFailed,
        "verification_failed",
        {400, "verification_failed", "Too many failed attempts.",
         "The verification failed after too many attempts. Request a new code or link."}},
    Row{Code::kVerificationAlreadyVerified,
        "verification_already_verified",
        {400, "verification_already_verified", "This verification has already been verified.",
         "This verification is already complete."}},
    Row{Code::kUserLocked,
        "user_locked",
        {403, "user_locked", "Your account is locked. Please try again later.",
         "Your account is locked after too many failed attempts. Please try again later."}},
    Row{Code::kUserBanned,
        "user_banned",
        {403, "user_banned", "You are not allowed to access this application.",
         "This account is banned."}},
    Row{Code::kCaptchaInvalid,
        "captcha_invalid",
        {400, "captcha_invalid",
         "Sign up unsuccessful due to failed security validations. Please refresh the page to "
         "try again or reach out to support for more assistance.",
         "The bot-protection challenge was missing, failed, or was already used."}},
    Row{Code::kCaptchaUnavailable,
        "captcha_unavailable",
        {503, "captcha_unavailable", "Security validation is unavailable",
         "The bot-protection check could not be completed. Please try again."}},
    Row{Code::kDeliveryRefused,
        "delivery_refused",
        {422, "form_param_value_invalid", "Messages cannot be sent to this recipient.",
         "This application does not send messages to this address or number."}},
    Row{Code::kTooManyRequests,
        "too_many_requests",
        {429, "too_many_requests", "Too many requests",
         "Too many requests. Please wait before trying again."}},
    Row{Code::kServiceUnavailable,
        "service_unavailable",
        {503, "service_unavailable", "Service unavailable",
         "The service is temporarily unavailable. Please try again."}},
    Row{Code::kInternal,
        "internal",
        {500, "internal_clerk_error", "Something went wrong",
         "Something went wrong on our side. Please try again."}},
};
static_assert(kTable.size() == static_cast<std::size_t>(Code::kInternal) + 1,
              "every core::Code needs a row in core/error.cpp");

constexpr bool table_in_order() {
  for (std::size_t i = 0; i < kTable.size(); ++i) {
    if (static_cast<std::size_t>(kTable[i].code) != i) {
      return false;
    }
  }
  return true;
}
static_assert(table_in_order(), "rows must follow the order of core::Code");

}  // namespace

std::string_view code_id(Code code) { return kTable.at(static_cast<std::size_t>(code)).id; }

std::optional<Code> code_from_id(std::string_view name) {
  for (const auto& row : kTable) {
    if (row.id == name) {
      return row.code;
    }
  }
  return std::nullopt;
}

const ErrorInfo& error_info(Code code) { return kTable.at(static_cast<std::size_t>(code)).info; }

}  // namespace latchkey::core
