#pragma once
// The typed contents of a sign-in / sign-up attempt (persisted as store::SignIn::data and
// store::SignUp::data JSON). Explicit statuses plus transition functions (design.md §3.7); the
// FAPI encoders read these structs, never raw JSON.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace latchkey::flows {

// A verification error as it appears inside sign_in/sign_up JSON.
struct VerificationError {
  core::Code code = core::Code::kInternal;
  std::string message;       // "" = the table's default
  std::string long_message;  // "" = the table's default
  std::vector<std::pair<std::string, std::string>> meta;

  static VerificationError from(const core::Error& e) {
    return {e.code, e.message, e.long_message, e.meta};
  }
  [[nodiscard]] core::Error to_error() const {
    core::Error e(code, message, long_message);
    e.meta = meta;
    return e;
  }
};

struct Verification {
  std::string status{"unverified"};  // a VerificationStatus as its wire string (status.hpp)
  std::string strategy;
  std::optional<std::string> external_verification_redirect_url;
  std::optional<VerificationError> error;
  std::optional<std::int64_t> expire_at_ms;
  // One-time codes (email_code, reset_password_email_code): the code's MAC (never the code),
  // wrong attempts so far, when it was sent (the resend cooldown) and the email address it went
  // to (idn_...; sign-in factors only). Never written to the wire but `attempts`.
  std::optional<std::string> code_mac;
  int attempts = 0;
  std::optional<std::int64_t> sent_at_ms;
  std::optional<std::string> email_address_id;
  // An email link (email_link): where GET /v1/verify sends the browser (absolute, allow-listed
  // at prepare). The link's token is not kept; code_mac holds the MAC of its nonce.
  std::optional<std::string> link_redirect_url;
};

// A first factor a sign-in offers (supported_first_factors): `password`, or a code / reset code
// sent to one of the user's email addresses (safe_identifier is the masked address).
struct Factor {
  std::string strategy;
  std::string safe_identifier;
  std::string email_address_id;
  std::string email;  // where a code goes; never written to the wire
  bool primary = false;
};

// The signing-in user's public profile (sign_in.user_data), once the identifier is known.
struct UserData {
  std::string first_name;
  std::string last_name;
  std::string image_url;
};

// What an identity provider told us, kept between the callback and a transfer. Provider tokens
// are sealed (encrypted at rest) before they get here.
struct PendingIdentity {
  std::string strategy;  // oauth_google
  std::string provider;  // google
  std::string provider_user_id;
  std::string email;
  bool email_verified = false;
  std::string first_name;
  std::string last_name;
  std::string image_url;
  std::string username;
  std::string approved_scopes;
  std::string access_token_enc;
  std::string refresh_token_enc;
};

struct SignInData {
  std::string strategy;
  std::optional<std::string> identifier;
  std::string redirect_url;                  // absolute, validated
  std::string action_complete_redirect_url;  // absolute, validated ("" if absent)
  std::optional<Verification> first_factor;
  std::optional<PendingIdentity> identity;  // set when transferable
  std::optional<std::string> user_id;
  std::optional<std::string> created_session_id;
  std::vector<Factor> factors;  // supported_first_factors (identifier sign-ins)
  // needs_second_factor: the strategies the user can pass (supported_second_factors), and the
  // second factor's verification (wrong attempts counted in it).
  std::vector<std::string> second_factors;
  std::optional<Verification> second_factor;
  std::optional<UserData> user_data;  // the identified user's profile
};

struct SignUpData {
  std::optional<std::string> email_address;
  bool email_verified = false;
  std::optional<std::string> first_name;
  std::optional<std::string> last_name;
  std::optional<std::string> username;
  std::optional<std::int64_t> legal_accepted_at_ms;
  std::string unsafe_metadata = "{}";
  std::string redirect_url;  // for OAuth sign-ups
  std::string action_complete_redirect_url;
  std::optional<PendingIdentity> identity;       // the external account this sign-up will create
  std::optional<Verification> external_account;  // verifications.external_account
  std::optional<std::string> created_session_id;
  std::optional<std::string> created_user_id;
  // A password sign-up: the digest (hashed before the transaction; never the password) and the
  // email_code verification of email_address (verifications.email_address).
  std::optional<std::string> password_digest;
  std::optional<Verification> email_verification;
};

std::string to_json(const SignInData& d);
std::string to_json(const SignUpData& d);
// Errors are kInternal: the data was written by us, so a parse failure is a bug or corruption.
core::Result<SignInData> parse_sign_in_data(std::string_view json);
core::Result<SignUpData> parse_sign_up_data(std::string_view json);

}  // namespace latchkey::flows
