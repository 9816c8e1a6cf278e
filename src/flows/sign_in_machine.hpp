#pragma once
// The sign-in attempt as an explicit state machine: sign_in_transition(state, event) returns the
// next state and the effects to carry out, or the error the request fails with. It reproduces
// what frontend_service.cpp does today (create_sign_in incl. transfer, finish_sign_in,
// oauth_callback's fail_attempt and step 3) and makes its implicit guards explicit: every
// combination of state and event not listed below is illegal (Code::kInvalidState).
//
// Rows (F = the fresh state {}, W = awaiting the provider: needs_first_factor with an unverified
// OAuth first factor and no identity held; "ff" = first factor):
//   F  Started{"", no identifier}          -> needs_identifier, no ff
//   F  Started{"", identifier}             -> refused: strategy_for_user_invalid (identifier)
//   F  Started{oauth_*}                    -> needs_first_factor, ff unverified  {BeginRedirect}
//   F  Started{other}                      -> refused: strategy_for_user_invalid (strategy)
//   F  TransferredFromSignUp{oauth_*, o}   -> as IdentityResolved, except that kUnknownAccount
//                                             and kLinkRefused refuse the request with
//                                             external_account_not_found / _email_unverified
//   needs_identifier, ff transferable (OAuth), identity held
//      TransferredToSignUp                 -> unchanged  {ConsumeAttempt}
//      (any other state refuses it with the current "Nothing to transfer" error)
//   W  ProviderFailed{oauth_*, code}       -> needs_first_factor, ff failed(code)
//   W  StateRejected{code}                 -> needs_first_factor, ff failed(code)
//   W  IdentityResolved{oauth_*, o}        -> by o, all with {TakeEmail, ClearExpiry}:
//        kExistingAccount / kLinkedByEmail -> complete, ff verified
//                                             {Refresh|LinkExternalAccount, CreateSession,
//                                              DropIdentity}
//        kUnknownAccount                   -> needs_identifier, ff transferable
//                                             (external_account_not_found) {KeepIdentity}
//        kLinkRefused                      -> needs_first_factor, ff failed
//                                             (external_account_email_unverified)
//        kAlreadySignedIn                  -> needs_first_factor, ff failed
//                                             (identifier_already_signed_in + meta session_id)
//        kOtherUserSignedIn                -> needs_first_factor, ff failed (session_exists)
// First factors other than OAuth ("N" = needs_first_factor with no identity held; "fam" = the
// event's strategy family):
//   F  Started{"" | password | email_code | reset, identifier, lookup}:
//        lookup kNotEnabled                -> refused as before (identifier / strategy invalid)
//        lookup kNotFound                  -> refused: form_identifier_not_found
//        lookup kFound                     -> needs_first_factor, no ff
//      (no identifier with a first-factor strategy: form_param_missing identifier)
//   N  FirstFactorPrepared{email_code | reset | email_link}  -> N, ff unverified(fam)  {SendCode}
//   N  FirstFactorAttempted{password, o}:
//        kVerified                         -> complete, ff verified(password)  {CreateSession}
//        kMustReset                        -> needs_new_password, ff verified(password)
//        kIncorrect                        -> unchanged  {RejectAttempt}
//   N, ff unverified(fam) FirstFactorAttempted{email_code | reset | email_link, o}:
//        kVerified                         -> email_code, email_link (GET /v1/verify): complete,
//                                             ff verified {CreateSession};
//                                             reset: needs_new_password, ff verified
//        kIncorrect                        -> unchanged  {RejectAttempt}
//        kTooManyAttempts                  -> ff failed(verification_failed)  {RejectAttempt}
//        kExpired                          -> ff expired(verification_expired)  {RejectAttempt}
//   needs_new_password PasswordReset       -> complete  {SetPassword, CreateSession}
// Second factors (issue 12; "2f" = second_factor_verification):
//   any row above that creates a session, with second_factor_required (the user has one):
//                                          -> needs_second_factor instead, the same effects but
//                                             kCreateSession, plus {RequireSecondFactor}
//   needs_second_factor, no identity, 2f not failed, SecondFactorAttempted{totp | backup_code, o}:
//        kVerified                         -> complete, 2f verified  {CreateSession}
//        kIncorrect                        -> 2f unverified  {RejectAttempt}
//        kTooManyAttempts                  -> 2f failed(verification_failed)  {RejectAttempt}
// needs_client_trust and needs_protect_check have no rows yet: no strategy reaches them.
//
// How a first-factor strategy plugs in (password, email_code, email_link, passkey, ...):
//  1. Give it a family: an enumerator of StrategyFamily and its names in strategy_family(). Until
//     then its names are kUnsupported, which no row accepts (Started refuses it like today).
//  2. Add its events as new alternatives of SignInEvent, each carrying the strategy name and an
//     outcome enum of its own (e.g. FirstFactorPrepared{strategy}, FirstFactorAttempted{strategy,
//     outcome: verified | incorrect | expired | too_many_attempts}), and one handler for each in
//     sign_in_machine.cpp. The visitor dispatches by alternative and every existing row guards on
//     its own family (the callback rows require an OAuth first factor), so no other row changes.
//  3. If the strategy starts from an identifier, Started's identifier row becomes its row
//     (needs_first_factor instead of strategy_for_user_invalid).
//  4. Add its rows to the table in sign_in_machine_test.cpp; the exhaustive loop proves that every
//     other status x event stays illegal.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "core/error.hpp"
#include "flows/attempts.hpp"
#include "flows/machine.hpp"
#include "flows/status.hpp"

namespace latchkey::flows {

struct SignInState {
  // nullopt: the attempt does not exist yet (create_sign_in is about to insert it). Only the
  // Started and TransferredFromSignUp events apply to it, and only when the state is all default.
  std::optional<SignInStatus> status;
  std::optional<VerificationState> first_factor;  // first_factor_verification
  bool holds_identity = false;  // SignInData::identity: a provider identity kept for a transfer
  std::optional<VerificationState> second_factor;  // second_factor_verification

  friend bool operator==(const SignInState&, const SignInState&) = default;
};

// Where a provider identity leads a sign-in (finish_sign_in's branches).
enum class SignInOutcome : std::uint8_t {
  kExistingAccount,    // the external account is known: refresh it, sign its user in
  kLinkedByEmail,      // a user's address matches and linking is allowed: link, sign in
  kUnknownAccount,     // nobody: transferable to a sign-up (external_account_not_found)
  kLinkRefused,        // an address matches, linking refused (external_account_email_unverified)
  kAlreadySignedIn,    // that user has a live session on this client (identifier_already_signed_in)
  kOtherUserSignedIn,  // another user is signed in, single-session mode (session_exists)
};
inline constexpr std::array kAllSignInOutcomes = {
    SignInOutcome::kExistingAccount, SignInOutcome::kLinkedByEmail,
    SignInOutcome::kUnknownAccount,  SignInOutcome::kLinkRefused,
    SignInOutcome::kAlreadySignedIn, SignInOutcome::kOtherUserSignedIn,
};

// finish_sign_in's order of checks: a refusal, then an unknown identity, then a live session of
// the same user, then (single-session mode) any live session. `same_user_signed_in`: a live
// session of the matched user exists on this client; `any_session_live`: any live session does.
SignInOutcome sign_in_outcome(IdentityMatch match, bool same_user_signed_in, bool any_session_live,
                              bool single_session_mode);

// What looking the identifier up found (create_sign_in), when identifiers can sign in at all.
enum class IdentifierLookup : std::uint8_t {
  kNotEnabled,  // no identifier first factor is enabled (an OAuth-only instance)
  kNotFound,    // nobody has it
  kFound,       // a user has it: the attempt offers that user's factors
};
inline constexpr std::array kAllIdentifierLookups = {
    IdentifierLookup::kNotEnabled, IdentifierLookup::kNotFound, IdentifierLookup::kFound};

namespace sign_in_events {

// signIn.create() without transfer. `strategy` is the request's ("" when absent or empty);
// `has_identifier`: an identifier was sent, even an empty one (with an OAuth strategy it is only
// a login hint). The
// caller still checks that an OAuth strategy is enabled (start_oauth) before the transaction.
struct Started {
  std::string_view strategy;
  bool has_identifier = false;
  IdentifierLookup lookup = IdentifierLookup::kNotEnabled;
  friend bool operator==(const Started&, const Started&) = default;
};
// prepare_first_factor: a one-time code is (re)sent for `strategy`.
struct FirstFactorPrepared {
  std::string_view strategy;
  friend bool operator==(const FirstFactorPrepared&, const FirstFactorPrepared&) = default;
};
// attempt_first_factor (or create with a password): what checking it found.
struct FirstFactorAttempted {
  std::string_view strategy;
  FactorOutcome outcome = FactorOutcome::kIncorrect;
  friend bool operator==(const FirstFactorAttempted&, const FirstFactorAttempted&) = default;
};
// reset_password with a password that passed the policy.
struct PasswordReset {
  friend bool operator==(const PasswordReset&, const PasswordReset&) = default;
};
// signIn.create({transfer: true}): a new attempt for the transferable sign-up's identity.
// `strategy` is that identity's; `outcome` from sign_in_outcome().
struct TransferredFromSignUp {
  std::string_view strategy;
  SignInOutcome outcome = SignInOutcome::kExistingAccount;
  friend bool operator==(const TransferredFromSignUp&, const TransferredFromSignUp&) = default;
};
// signUp.create({transfer: true}) took this sign-in's identity: the source side of a transfer.
struct TransferredToSignUp {
  friend bool operator==(const TransferredToSignUp&, const TransferredToSignUp&) = default;
};
// The callback's provider round trip failed (oauth::Service::complete's error, e.g. access denied,
// token exchange); `strategy` is the state row's.
struct ProviderFailed {
  std::string_view strategy;
  core::Code error = core::Code::kOAuthAccessDenied;
  friend bool operator==(const ProviderFailed&, const ProviderFailed&) = default;
};
// Login CSRF: another browser's state was presented for this attempt, or this browser was sent
// another's (oauth_callback's fail_attempt). `error` is kOAuthStateInvalid today.
struct StateRejected {
  core::Code error = core::Code::kOAuthStateInvalid;
  friend bool operator==(const StateRejected&, const StateRejected&) = default;
};
// attempt_second_factor: what checking the code found.
struct SecondFactorAttempted {
  std::string_view strategy;
  FactorOutcome outcome = FactorOutcome::kIncorrect;
  friend bool operator==(const SecondFactorAttempted&, const SecondFactorAttempted&) = default;
};
// The callback's identity was resolved (step 3).
struct IdentityResolved {
  std::string_view strategy;
  SignInOutcome outcome = SignInOutcome::kExistingAccount;
  friend bool operator==(const IdentityResolved&, const IdentityResolved&) = default;
};

}  // namespace sign_in_events

using SignInEvent =
    std::variant<sign_in_events::Started, sign_in_events::TransferredFromSignUp,
                 sign_in_events::TransferredToSignUp, sign_in_events::ProviderFailed,
                 sign_in_events::StateRejected, sign_in_events::IdentityResolved,
                 sign_in_events::FirstFactorPrepared, sign_in_events::FirstFactorAttempted,
                 sign_in_events::PasswordReset, sign_in_events::SecondFactorAttempted>;

// Pure: no I/O, no clock; allocates only to describe an illegal transition.
// `second_factor_required`: the attempt's user (known once a first factor passed) has a second
// factor, so a row that would create a session stops at needs_second_factor.
Transition<SignInState, Effects> sign_in_transition(const SignInState& state,
                                                    const SignInEvent& event,
                                                    bool second_factor_required = false);

// The guard of the callback rows (ProviderFailed, StateRejected, IdentityResolved): the attempt
// still waits for its OAuth callback. oauth_callback's step 1 refuses a state whose attempt does
// not ("attempt_done"), step 3 and fail_attempt then leave it untouched.
bool awaits_callback(const SignInState& state);

// The state of a persisted attempt: store::SignIn::status and SignInData as the store holds them
// (wire strings). kInternal when a status is not one the SDK knows (we wrote it: corruption).
core::Result<SignInState> load_sign_in_state(std::string_view row_status, const SignInData& data);
// Writes a state's statuses back as wire strings. The first factor is created when missing (the
// caller sets its strategy, URL and expiry per the effects) and removed when the state has none;
// its error is cleared when the state has none, and set to the state's code unless it already
// holds an error of that code (the caller's full error: provider message, meta session_id).
void save_sign_in_state(const SignInState& state, std::string& row_status, SignInData& data);

// For logs, internal reasons and test output.
std::string_view to_string(SignInOutcome outcome);
std::string_view to_string(IdentifierLookup lookup);
std::string describe(const SignInState& state);
std::string describe(const SignInEvent& event);

}  // namespace latchkey::flows
