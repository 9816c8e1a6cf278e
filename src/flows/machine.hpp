#pragma once
// What the sign-in and sign-up state machines share (sign_in_machine.hpp, sign_up_machine.hpp):
// the verification sub-state, strategy families, the identity lookup result, the effect set and
// the Transition result. Pure: no I/O, no clock, no store types; the caller loads the state from
// the attempt row, feeds an event, and carries out the returned effects in its transaction.
#include <array>
#include <cstdint>
#include <expected>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "flows/attempts.hpp"
#include "flows/status.hpp"

namespace latchkey::flows {

// The family a strategy name belongs to. Machine rows are written per family, so a new strategy
// family gets its own rows without touching the others' (see sign_in_machine.hpp).
enum class StrategyFamily : std::uint8_t {
  kNone,         // "": no strategy
  kOAuth,        // oauth_<provider>: the catalog's shape (frontend_service.cpp is_oauth_strategy)
  kPassword,     // password: checked at once, nothing to prepare
  kEmailCode,    // email_code: a one-time code sent to an email address (sign-in or sign-up)
  kResetCode,    // reset_password_email_code: a code that leads to needs_new_password
  kUnsupported,  // any other name: no row accepts it until its family is added
  kEmailLink,    // email_link: a signed, single-use link sent to an email address (GET /v1/verify)
  kTotp,         // totp: a second factor, the code of the user's authenticator app
  kBackupCode,   // backup_code: a second factor, one of the user's single-use backup codes
};
inline constexpr std::array kAllStrategyFamilies = {
    StrategyFamily::kNone,      StrategyFamily::kOAuth,     StrategyFamily::kPassword,
    StrategyFamily::kEmailCode, StrategyFamily::kResetCode, StrategyFamily::kUnsupported,
    StrategyFamily::kEmailLink, StrategyFamily::kTotp,      StrategyFamily::kBackupCode,
};

// What checking a password or a one-time code found (the services decide it; the machines say
// what it leads to).
enum class FactorOutcome : std::uint8_t {
  kVerified,         // right password / code
  kIncorrect,        // wrong; attempts remain (a code) or the lockout has not started (a password)
  kTooManyAttempts,  // a code's attempts are used up: the verification fails
  kExpired,          // a code past its lifetime
  kMustReset,        // right password, but it must be replaced (needs_new_password)
};
inline constexpr std::array kAllFactorOutcomes = {
    FactorOutcome::kVerified, FactorOutcome::kIncorrect, FactorOutcome::kTooManyAttempts,
    FactorOutcome::kExpired,  FactorOutcome::kMustReset,
};
StrategyFamily strategy_family(std::string_view strategy);

// The part of a verification (sign-in first_factor_verification, sign-up
// verifications.external_account) the machines decide. The rest of attempts.hpp's Verification
// (strategy name, external_verification_redirect_url, expire_at, the error's message and meta)
// is data the caller keeps; in particular the redirect URL survives the callback (SignInFuture.sso
// restarts only an attempt that still carries it; see finish_sign_in).
struct VerificationState {
  VerificationStatus status = VerificationStatus::kUnverified;
  StrategyFamily strategy = StrategyFamily::kNone;
  // The code of verification.error (nullopt: none). Where a row takes it from an event (a
  // provider failure, a rejected state) the caller records its full error of that code; for
  // kIdentifierAlreadySignedIn it adds meta session_id (the SDK's signIn.existingSession).
  std::optional<core::Code> error;

  friend bool operator==(const VerificationState&, const VerificationState&) = default;
};

// What frontend_service.cpp resolve_identity found for a provider's identity; shared by both
// machines (a sign-in additionally learns who is signed in, SignInOutcome).
enum class IdentityMatch : std::uint8_t {
  kExternalAccount,  // an external account of this strategy and provider user id exists
  kVerifiedEmail,    // none, but a user's address matches and decide_link allows linking
  kLinkRefused,      // an address matches but linking is refused: external_account_email_unverified
  kNoMatch,          // nobody: a sign-in becomes transferable, a sign-up creates a new user
};
inline constexpr std::array kAllIdentityMatches = {
    IdentityMatch::kExternalAccount,
    IdentityMatch::kVerifiedEmail,
    IdentityMatch::kLinkRefused,
    IdentityMatch::kNoMatch,
};

// What the caller carries out after a transition, in this (declaration) order, inside the
// transaction that writes the attempt. Sign-in and sign-up share one vocabulary so the code that
// executes an effect exists once.
enum class Effect : std::uint8_t {
  // save_oauth_state (single-use state bound to this attempt); the new verification gets the
  // event's strategy, the provider's authorization URL as external_verification_redirect_url
  // and expire_at; the attempt takes the request's redirect URLs.
  kBeginRedirect,
  // The verification's expire_at is cleared; external_verification_redirect_url is kept.
  kClearExpiry,
  // Sign-in: identifier = the identity's email; sign-up: email_address = it, lowercased
  // (an empty email clears it).
  kTakeEmail,
  // Sign-up: email_verified from the identity; first and last name from it where still unset.
  kTakeProfile,
  // The attempt keeps the provider identity (for a transfer, or until its user is created).
  kKeepIdentity,
  // Sign-in: update the known external account from the identity (refresh_external_account).
  kRefreshExternalAccount,
  // Sign-in: link a new external account to the user whose email matched.
  kLinkExternalAccount,
  // Sign-up: create the user, its email address and external account (create_user).
  kCreateUser,
  // create_session (single-session mode replaces other live sessions; the client credential
  // rotates), the attempt records the user and created_session_id, the client its
  // last_authentication_strategy.
  kCreateSession,
  // The attempt forgets the identity: provider tokens now live (sealed) on the account only.
  kDropIdentity,
  // Transfer source: delete this attempt and clear the client's pointer to it.
  kConsumeAttempt,
  // A new one-time code for the verification (its MAC, lifetime, attempts reset) is queued for
  // delivery in this transaction.
  kSendCode,
  // The user's password becomes the one the request carried (reset_password).
  kSetPassword,
  // The attempt is written (a wrong attempt counted, a verification failed) and the request then
  // fails with the outcome's error: the count survives the refusal.
  kRejectAttempt,
  // Sign-in: the first factor passed but the user has a second factor: no session yet; the
  // attempt records the user and the second factors it offers (needs_second_factor).
  kRequireSecondFactor,
};
inline constexpr std::array kAllEffects = {
    Effect::kBeginRedirect,       Effect::kClearExpiry,    Effect::kTakeEmail,
    Effect::kTakeProfile,         Effect::kKeepIdentity,   Effect::kRefreshExternalAccount,
    Effect::kLinkExternalAccount, Effect::kCreateUser,     Effect::kCreateSession,
    Effect::kDropIdentity,        Effect::kConsumeAttempt, Effect::kSendCode,
    Effect::kSetPassword,         Effect::kRejectAttempt,  Effect::kRequireSecondFactor,
};

// A set of effects; iterate kAllEffects and ask has() to execute them in order.
class Effects {
 public:
  constexpr Effects() = default;
  constexpr Effects(std::initializer_list<Effect> effects) {
    for (Effect e : effects) {
      add(e);
    }
  }
  constexpr Effects& add(Effect e) {
    bits_ |= bit(e);
    return *this;
  }
  constexpr Effects& remove(Effect e) {
    bits_ &= ~bit(e);
    return *this;
  }
  [[nodiscard]] constexpr bool has(Effect e) const { return (bits_ & bit(e)) != 0; }
  [[nodiscard]] constexpr bool empty() const { return bits_ == 0; }
  [[nodiscard]] constexpr Effects operator|(Effects other) const {
    Effects out;
    out.bits_ = bits_ | other.bits_;
    return out;
  }
  friend constexpr bool operator==(Effects, Effects) = default;

 private:
  static constexpr std::uint32_t bit(Effect e) {
    return std::uint32_t{1} << static_cast<unsigned>(e);
  }
  std::uint32_t bits_ = 0;
};

// A legal transition: the attempt's next state and what to do to get there.
template <typename State, typename Fx>
struct Step {
  State state;
  Fx effects;

  friend bool operator==(const Step&, const Step&) = default;
};

// Either a Step, or the error the request fails with. Illegal transitions are
// Code::kInvalidState with an internal reason naming the machine, event and state; a few rows
// refuse with the exact error the current code answers (named per row).
template <typename State, typename Fx>
using Transition = std::expected<Step<State, Fx>, core::Error>;

// Names for logs, internal reasons and test output (not wire strings).
std::string_view to_string(StrategyFamily family);
std::string_view to_string(IdentityMatch match);
std::string_view to_string(FactorOutcome outcome);
std::string_view to_string(Effect effect);
std::string describe(Effects effects);                            // "{kTakeEmail, ...}"
std::string describe(const std::optional<VerificationState>& v);  // "failed/oauth/error=24"

// A persisted verification (attempts.hpp) as machine state and back, shared by both attempt
// kinds. Loading fails (kInternal, naming `what`) on a status we never write: corruption. Saving
// creates the verification when missing (the caller fills its strategy and URL), removes it when
// the state has none, and sets its error to the state's code unless it already holds an error of
// that code (the caller's full error: provider message, meta).
core::Result<std::optional<VerificationState>> load_verification(
    const std::optional<Verification>& v, std::string_view what);
void save_verification(const std::optional<VerificationState>& state,
                       std::optional<Verification>& v);

// Building blocks of both machines' rows; not for callers.
namespace machine_internal {

// The verification waits for the provider's callback: unverified and of an OAuth strategy
// (frontend_service.cpp oauth_callback's fail_attempt guard; steps 1 and 3 check `unverified`,
// which today only an OAuth verification can be).
bool awaits_provider(const std::optional<VerificationState>& v);
VerificationState oauth_verification(VerificationStatus status,
                                     std::optional<core::Code> error = std::nullopt);
// A one-time-code or password verification: the error a failed attempt answers with, and the
// state the verification is left in by each outcome (nullopt: unchanged).
core::Error factor_error(StrategyFamily family, FactorOutcome outcome);
// A prepared code verification that an attempt may still verify.
bool awaits_code(const std::optional<VerificationState>& v, StrategyFamily family);
// start_oauth's refusal of a strategy that is not an enabled OAuth strategy, word for word.
core::Error strategy_not_enabled(std::string_view strategy);
// Code::kInvalidState, internal "<machine>: <event> is not allowed in <state>".
core::Error illegal(std::string_view machine, const std::string& event, const std::string& state);

}  // namespace machine_internal
}  // namespace latchkey::flows
