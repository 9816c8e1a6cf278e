#pragma once
// First factors other than OAuth: which identifiers and factors the instance offers, and the two
// ports through which flows/ hashes passwords and sends one-time codes. flows/ owns the rules
// (when a code is sent, how many attempts, what a wrong password does); the composition root
// plugs in the implementations (passwords/ on libsodium, delivery/'s transactional outbox).
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "core/secret.hpp"
#include "store/store.hpp"

namespace latchkey::flows {

// What a new instance offers (Clerk's defaults): email address + password, the email verified
// with a code at sign-up, email codes as an alternative first factor, password reset by email
// code. OAuth strategies are configured apart (oauth::Settings).
struct IdentifierSettings {
  bool email_address = true;  // sign in and sign up with an email address
  bool password = true;       // password first factor; required at sign-up
  bool email_code = true;     // email_code first factor (and reset_password_email_code)
  std::chrono::milliseconds code_lifetime{std::chrono::minutes(10)};
  int code_max_attempts = 3;  // wrong codes before the verification fails
  std::chrono::milliseconds code_resend_cooldown{std::chrono::seconds(30)};
  // email_link first factor and sign-up verification (off by default, as in a new Clerk app).
  bool email_link = false;
  std::chrono::milliseconds email_link_lifetime{std::chrono::minutes(10)};
  // User enumeration protection (Clerk's setting, off by default): an unknown identifier gets a
  // sign-in that looks like any other and fails only at its factor; a sign-up with a taken
  // address proceeds, and the owner is told instead of sent a code.
  bool enumeration_protection = false;
  // Clerk's test mode ([testing] enabled): an address with the +clerk_test subaddress accepts
  // the code 424242 and is sent nothing.
  bool test_mode = false;
  std::string application_name = "Latchkey";
};

// ---- ports ----------------------------------------------------------------------------------

struct PasswordCheck {
  bool match = false;
  bool needs_rehash = false;  // an imported or weaker hash: store a fresh one after sign-in
};

class PasswordHasher {
 public:
  virtual ~PasswordHasher() = default;
  virtual core::Result<std::string> hash(const core::Secret& password) const = 0;
  virtual PasswordCheck verify(const core::Secret& password, std::string_view digest) const = 0;
  // The cost of a failed verify, for an identifier that has no password (timing tells nothing).
  virtual void verify_dummy(const core::Secret& password) const = 0;
  // The first broken rule as Clerk's form_password_* error (param_name password).
  virtual core::Status check_policy(const core::Secret& password,
                                    std::span<const std::string_view> user_inputs) const = 0;
  // After `failed_attempts` consecutive wrong passwords at `now_ms`: locked until, or nullopt.
  virtual std::optional<std::int64_t> lockout_until(int failed_attempts,
                                                    std::int64_t now_ms) const = 0;
};

// kSignUpAttempt: a notice to the owner of a taken address (no code is in it).
// kEmailLink: an email link (sign-in or sign-up verification); `link` is set instead of `code`.
enum class CodePurpose : std::uint8_t {
  kVerification,
  kSignIn,
  kResetPassword,
  kSignUpAttempt,
  kEmailLink,         // sign in
  kVerificationLink,  // a sign-up's email address
};

struct OutgoingCode {
  CodePurpose purpose = CodePurpose::kVerification;
  std::string to;  // an email address
  core::Secret code;
  core::Secret link;  // kEmailLink: the URL with its token
  int expires_in_minutes = 10;
  std::string remote_ip;
};

class CodeSender {
 public:
  virtual ~CodeSender() = default;
  // Queues the message in the caller's transaction (it is sent only if that commits), or refuses
  // it (sending limits) with the error the request fails with.
  virtual core::Status send(store::Tx& tx, const OutgoingCode& message, std::int64_t now_ms) = 0;
  // After the transaction that queued messages committed.
  virtual void committed() = 0;
};

}  // namespace latchkey::flows
