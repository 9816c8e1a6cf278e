#pragma once
// What the Frontend API's flows take and give: settings, request parameters, the client as the SDK
// sees it, and the result of a mutation. HTTP-free (design.md §3.4).
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/random.hpp"
#include "core/secret.hpp"
#include "crypto/sealer.hpp"
#include "flows/attempts.hpp"
#include "flows/captcha.hpp"
#include "flows/first_factors.hpp"
#include "flows/testing_token.hpp"
#include "oauth/service.hpp"
#include "sessions/clients.hpp"
#include "sessions/session_service.hpp"
#include "sessions/views.hpp"
#include "store/store.hpp"

namespace latchkey::flows {

using sessions::Caller;
using sessions::SessionView;
using sessions::UserView;

// Second factors users may enroll (config [mfa]).
struct MfaSettings {
  bool authenticator_app = true;
  bool backup_codes = true;
  int max_attempts = 5;             // wrong codes before a sign-in's second factor fails
  std::string issuer = "Latchkey";  // the otpauth issuer: the application's name
  unsigned totp_window = 1;         // steps accepted either side of now (clock drift)
  bool required = false;            // users without a second factor get the setup-mfa task
  static constexpr int kBackupCodeCount = 10;
};

struct FrontendSettings {
  std::string public_origin;  // "http://localhost:5173"
  std::string callback_url;   // <public_url><prefix>/v1/oauth_callback (exact redirect_uri)
  std::string verify_url;     // <public_url><prefix>/v1/verify (what email links point at)
  std::vector<std::string> allowed_origins;  // normalised; includes public_origin
  std::vector<std::string> required_fields;  // configured (first_name, last_name, ...)
  std::chrono::milliseconds attempt_lifetime{std::chrono::hours(24)};
  std::chrono::milliseconds oauth_state_lifetime{std::chrono::minutes(10)};
  bool single_session_mode = true;
  IdentifierSettings identifiers{};
  CaptchaSettings captcha{};
  MfaSettings mfa{};
};

// A client as the SDK sees it: only live (active/pending, unexpired) sessions are listed, each
// with the token minted for the caller.
struct ClientView {
  store::Client client;
  std::vector<SessionView> sessions;
  std::optional<store::SignIn> sign_in;
  std::optional<SignInData> sign_in_data;
  std::optional<store::SignUp> sign_up;
  std::optional<SignUpData> sign_up_data;

  [[nodiscard]] const SessionView* find_session(std::string_view id) const;
};

struct SignInParams {
  std::optional<std::string> strategy;
  std::optional<std::string> identifier;
  std::optional<std::string> redirect_url;
  std::optional<std::string> action_complete_redirect_url;
  std::optional<core::Secret> password;  // signIn.password() / create({identifier, password})
  bool transfer = false;
};

// prepare_first_factor / attempt_first_factor.
struct FactorParams {
  std::string strategy;
  std::optional<std::string> email_address_id;
  std::optional<std::string> code;
  std::optional<core::Secret> password;
  std::optional<std::string> redirect_url;  // email_link
};

// reset_password.
struct ResetPasswordParams {
  core::Secret password;
  bool sign_out_of_other_sessions = true;  // the SDK always sends it, default true
};

// prepare_verification / attempt_verification of a sign-up.
struct VerificationParams {
  std::string strategy;
  std::optional<std::string> code;
  std::optional<std::string> redirect_url;  // email_link
};

struct SignUpParams {
  std::optional<std::string> strategy;
  std::optional<std::string> redirect_url;
  std::optional<std::string> action_complete_redirect_url;
  std::optional<std::string> first_name;
  std::optional<std::string> last_name;
  std::optional<std::string> username;
  std::optional<std::string> email_address;
  std::optional<bool> legal_accepted;
  std::optional<std::string> unsafe_metadata;  // JSON object text
  std::optional<core::Secret> password;
  bool transfer = false;
  // Bot protection (part2 §8): the widget's token, or the widget's error codes (a failure).
  std::optional<std::string> captcha_token;
  std::optional<std::string> captcha_error;
  // Test mode (issue 11 item 9): @clerk/testing's `__clerk_testing_token` query parameter.
  std::optional<std::string> testing_token;
};

struct Mutation {
  ClientView client;  // state after the change, tokens minted
  // The client's credential was issued (a client was created) or rotated (who is signed in
  // changed): set this cookie. The previous value no longer reveals a session or mints a token.
  std::optional<std::string> new_client_token;
  std::string resource_id;  // the sign-in / sign-up / session acted on
  // session.end()/remove(): the session as it is now (no longer in client.sessions, no token).
  std::optional<SessionView> session;
};

struct CallbackOutcome {
  std::string redirect_to;  // absolute URL to send the browser to (303)
  // Why the provider round trip failed (recorded on the attempt too); nullopt on success. The
  // handler logs it as the audit event (design.md §3.13: log once, at the boundary).
  std::optional<core::Error> failure;
  // A session was created: the client credential rotated; set this cookie on the redirect.
  std::optional<std::string> new_client_token;
};

// What every flow works with; owned by the composition root, shared by the services.
struct FlowDeps {
  FrontendSettings settings;
  store::Store& store;
  oauth::Service& oauth;
  const crypto::Sealer& sealer;
  const core::Clock& clock;
  core::Random& random;
  sessions::SessionService& sessions;
  PasswordHasher& passwords;
  CodeSender& codes;
  // Required when settings.captcha.enabled; unused otherwise.
  CaptchaVerifier* captcha = nullptr;
  // Set only with [testing] enabled: a valid testing token stands in for the captcha.
  const TestingTokens* testing_tokens = nullptr;

  [[nodiscard]] sessions::Clients& clients() const { return sessions.clients(); }
  // The authorized party of the caller's tokens: its allowed origin, else the public origin.
  [[nodiscard]] std::string_view azp(const Caller& c) const {
    return c.origin.empty() ? std::string_view(settings.public_origin) : std::string_view(c.origin);
  }
};

}  // namespace latchkey::flows
