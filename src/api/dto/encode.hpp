#pragma once
// JSON shapes of the Frontend API resources, as the pinned SDK reads them (fapi README §3,
// samples/*.json). Timestamps are integers in milliseconds. The resources are streamed into a
// JsonWriter (no DOM): a response body is built in one std::string.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api/dto/json_writer.hpp"
#include "flows/flow_types.hpp"
#include "store/store.hpp"

namespace latchkey::api::dto {

// What only the Backend API's user shows (UserJSON of @clerk/backend): private_metadata, and
// banned/locked as they are at `now_ms`.
struct BackendUser {
  std::int64_t now_ms = 0;
};
void write_user(JsonWriter& w, const flows::UserView& user, const BackendUser* backend = nullptr);
// An email address as both APIs show it; linked_to names the accounts with the same address.
void write_email_address(JsonWriter& w, const store::EmailAddress& email,
                         const std::vector<store::ExternalAccount>& accounts);
// last_active_token is the token the service minted (SessionView::token), or null.
void write_session(JsonWriter& w, const flows::SessionView& session);
void write_sign_in(JsonWriter& w, const store::SignIn& row, const flows::SignInData& data);
void write_sign_up(JsonWriter& w, const store::SignUp& row, const flows::SignUpData& data,
                   const std::vector<std::string>& configured_required);
// Only live (active/pending) sessions are listed.
void write_client(JsonWriter& w, const flows::ClientView& client,
                  const std::vector<std::string>& configured_required);

// The Backend API's session, as @clerk/backend's Session.fromJSON reads it (also the data of the
// session.* webhook events).
void write_backend_session(JsonWriter& w, const store::Session& s);
// The Backend API's user (write_user with BackendUser{now_ms}) and session as strings: the data
// of the user.* and session.* webhook events.
std::string backend_user_json(const flows::UserView& user, std::int64_t now_ms);
std::string backend_session_json(const store::Session& session);

// The same resources as strings (tests, benchmarks, one-off bodies).
std::string user_json(const flows::UserView& user);
std::string session_json(const flows::SessionView& session);
std::string sign_in_json(const store::SignIn& row, const flows::SignInData& data);
std::string sign_up_json(const store::SignUp& row, const flows::SignUpData& data,
                         const std::vector<std::string>& configured_required);
std::string client_json(const flows::ClientView& client,
                        const std::vector<std::string>& configured_required);

struct SocialProvider {
  std::string strategy;  // oauth_google
  std::string name;      // Google
};

struct EnvironmentSettings {
  std::string application_name;
  std::string sign_in_url;  // absolute
  std::string sign_up_url;  // absolute
  std::string home_url;     // absolute
  std::vector<SocialProvider> social;
  std::vector<std::string> required_fields;  // configured
  bool single_session_mode = true;
  // First factors (flows::IdentifierSettings): what user_settings tells the SDK to offer.
  bool email_address = true;
  bool password = true;
  bool email_code = true;
  bool email_link = false;
  std::size_t password_min_length = 8;
  std::size_t password_max_length = 72;
  // Second factors users may enroll (part2 §6): authenticator_app and backup_code attributes.
  bool authenticator_app = true;
  bool backup_codes = true;
  bool second_factor_required = false;  // [mfa] required: user_settings.sign_in.second_factor
  // Bot protection (part2 §8): all of these reach the SDK only when captcha_enabled.
  bool captcha_enabled = false;
  std::string captcha_public_key;             // also sent as captcha_public_key_invisible
  std::string captcha_widget_type = "smart";  // smart | invisible
  std::string captcha_provider = "turnstile";
  std::vector<std::string> captcha_oauth_bypass;
};
// Built once at start-up; the environment handler serves the cached string.
std::string environment_json(const EnvironmentSettings& env);

}  // namespace latchkey::api::dto
