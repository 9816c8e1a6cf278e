#pragma once
// The sign-up attempt as an explicit state machine: sign_up_transition(state, event) returns the
// next state and the effects to carry out, or the error the request fails with. It reproduces
// what frontend_service.cpp does today (create_sign_up incl. transfer, update_sign_up with and
// without a strategy, apply_sign_up_identity, try_complete_sign_up, oauth_callback's
// fail_attempt and step 3) and makes its implicit guards explicit: every combination of state and
// event not listed below is illegal (Code::kInvalidState).
//
// Rows (F = the fresh state {}, MR = missing_requirements, "ea" = verifications.external_account,
// W = awaiting the provider: MR with an unverified OAuth ea and no identity held):
//   F  Started{""}                         -> MR, no ea
//   F  Started{oauth_*}                    -> MR, ea unverified  {BeginRedirect}
//   F  Started{other}                      -> refused: strategy_for_user_invalid (strategy)
//   F  TransferredFromSignIn{oauth_*, ..}  -> as IdentityResolved
//   MR, ea transferable (OAuth), identity held
//      TransferredToSignIn                 -> unchanged  {ConsumeAttempt}
//      (any other state refuses it with the current "Nothing to transfer" error)
//   OAuthStarted{s} (PATCH with a strategy), checked in update_sign_up's order:
//      s not oauth_*                       -> refused: strategy_for_user_invalid (strategy)
//      status not MR                       -> refused: "Sign up is not in progress"
//      identity held                       -> refused: "Already verified"
//      otherwise (any ea)                  -> MR, ea unverified (replaced)  {BeginRedirect}
//   FieldsUpdated{missing_fields_empty} (PATCH without a strategy):
//      status not MR                       -> refused: "Sign up is not in progress"
//      ea present and not verified         -> unchanged (only the fields are saved)
//      identity held and nothing missing   -> complete  {CreateUser, CreateSession, DropIdentity}
//      otherwise                           -> unchanged
//   W  ProviderFailed{oauth_*, code}       -> MR, ea failed(code)
//   W  StateRejected{code}                 -> MR, ea failed(code)
//   W  IdentityResolved{oauth_*, match, missing_fields_empty} -> by match, all {ClearExpiry}:
//        kLinkRefused                      -> MR, ea failed (external_account_email_unverified)
//        kExternalAccount / kVerifiedEmail -> MR, ea transferable (external_account_exists)
//                                             {TakeEmail, KeepIdentity}
//        kNoMatch, something missing       -> MR, ea verified
//                                             {TakeEmail, TakeProfile, KeepIdentity}
//        kNoMatch, nothing missing         -> complete, ea verified  {TakeEmail, TakeProfile,
//                                             KeepIdentity, CreateUser, CreateSession,
//                                             DropIdentity}
// Sign-ups without a provider ("P" = MR, no identity held, no external account;
// "ev" = verifications.email_address):
//   F  Started{password}                   -> as Started{""} (the SDK's signUp.password() sends it)
//   P  VerificationPrepared{email_code | email_link, has_email} (ev of that family):
//        no email                          -> refused: form_param_missing (email_address)
//        ev verified                       -> refused: verification_already_verified
//        otherwise                         -> P, ev unverified(that family)  {SendCode}
//      (status not MR: "Sign up is not in progress"; another strategy: not enabled)
//   P, ev unverified VerificationAttempted{email_code | email_link, o, missing_fields_empty}:
//        kVerified, nothing missing        -> complete, ev verified  {CreateUser, CreateSession}
//        kVerified, something missing      -> P, ev verified
//        kIncorrect                        -> unchanged  {RejectAttempt}
//        kTooManyAttempts / kExpired       -> ev failed / expired  {RejectAttempt}
//   P, ev verified FieldsUpdated{nothing missing} -> complete  {CreateUser, CreateSession}
// Social sign-ups whose address a code verifies ("S" = MR, identity held, ea verified: the
// provider verified the account but not the address, or gave none and the user added one):
//   S  VerificationPrepared{email_code, has_email} -> as for P  {SendCode}
//   S, ev unverified VerificationAttempted{email_code, o, missing_fields_empty}:
//        kVerified, nothing missing        -> complete, ev verified  {CreateUser, CreateSession,
//                                             DropIdentity}
//        otherwise                         -> as for P
// "missing_fields_empty" everywhere means nothing is left (flows' nothing_left): no required
// field missing, and, with email addresses enabled, no address unverified - a provider's
// email_verified false (GitHub's unverified primary, an OIDC false claim) leaves the sign-up in
// missing_requirements with unverified_fields ["email_address"], as Clerk does.
// `abandoned` has no rows: nothing writes it today.
//
// A new sign-up strategy (email_code, phone_code, web3, ...) plugs in as for sign-in (see
// sign_in_machine.hpp): a StrategyFamily, its own event alternatives and handlers, its rows in
// the test's table; the OAuth rows guard on an OAuth external account and do not change.
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "core/error.hpp"
#include "flows/attempts.hpp"
#include "flows/machine.hpp"
#include "flows/status.hpp"

namespace latchkey::flows {

struct SignUpState {
  // nullopt: the attempt does not exist yet (create_sign_up is about to insert it). Only the
  // Started and TransferredFromSignIn events apply to it, and only when the state is all default.
  std::optional<SignUpStatus> status;
  std::optional<VerificationState> external_account;  // verifications.external_account
  // SignUpData::identity: the provider identity this sign-up will create its user from (or hand
  // to a sign-in when the account exists).
  bool holds_identity = false;
  // verifications.email_address when it is verified by a code (a password sign-up); nullopt
  // when no code was prepared.
  std::optional<VerificationState> email_address;

  friend bool operator==(const SignUpState&, const SignUpState&) = default;
};

namespace sign_up_events {

// signUp.create() without transfer; `strategy` is the request's ("" when absent or empty). The
// caller still checks that an OAuth strategy is enabled (start_oauth) and applies the fields.
struct Started {
  std::string_view strategy;
  friend bool operator==(const Started&, const Started&) = default;
};
// signUp.create({transfer: true}): a new attempt for the transferable sign-in's identity.
// `strategy` is that identity's, `match` what resolve_identity found. `missing_fields_empty`:
// missing_fields() is empty for the data once the identity's email and names are taken
// (kTakeEmail, kTakeProfile); only read for kNoMatch.
struct TransferredFromSignIn {
  std::string_view strategy;
  IdentityMatch match = IdentityMatch::kNoMatch;
  bool missing_fields_empty = false;
  friend bool operator==(const TransferredFromSignIn&, const TransferredFromSignIn&) = default;
};
// signIn.create({transfer: true}) took this sign-up's identity: the source side of a transfer.
struct TransferredToSignIn {
  friend bool operator==(const TransferredToSignIn&, const TransferredToSignIn&) = default;
};
// update_sign_up with a strategy: signUp.sso() on an existing sign-up (SignUpFuture.sso). Sent
// whenever the PATCH has a strategy parameter, even an empty one (start_oauth refuses it).
struct OAuthStarted {
  std::string_view strategy;
  friend bool operator==(const OAuthStarted&, const OAuthStarted&) = default;
};
// update_sign_up without a strategy: fields were applied; `missing_fields_empty` is
// missing_fields() of the updated data.
struct FieldsUpdated {
  bool missing_fields_empty = false;
  friend bool operator==(const FieldsUpdated&, const FieldsUpdated&) = default;
};
// prepare_verification: a code is (re)sent to the sign-up's email address.
struct VerificationPrepared {
  std::string_view strategy;
  bool has_email = false;
  friend bool operator==(const VerificationPrepared&, const VerificationPrepared&) = default;
};
// attempt_verification: what checking the code found; `missing_fields_empty` as for
// FieldsUpdated.
struct VerificationAttempted {
  std::string_view strategy;
  FactorOutcome outcome = FactorOutcome::kIncorrect;
  bool missing_fields_empty = false;
  friend bool operator==(const VerificationAttempted&, const VerificationAttempted&) = default;
};
// The callback's provider round trip failed; `strategy` is the state row's.
struct ProviderFailed {
  std::string_view strategy;
  core::Code error = core::Code::kOAuthAccessDenied;
  friend bool operator==(const ProviderFailed&, const ProviderFailed&) = default;
};
// Login CSRF (oauth_callback's fail_attempt); `error` is kOAuthStateInvalid today.
struct StateRejected {
  core::Code error = core::Code::kOAuthStateInvalid;
  friend bool operator==(const StateRejected&, const StateRejected&) = default;
};
// The callback's identity was resolved (step 3). `missing_fields_empty` as for
// TransferredFromSignIn.
struct IdentityResolved {
  std::string_view strategy;
  IdentityMatch match = IdentityMatch::kNoMatch;
  bool missing_fields_empty = false;
  friend bool operator==(const IdentityResolved&, const IdentityResolved&) = default;
};

}  // namespace sign_up_events

using SignUpEvent =
    std::variant<sign_up_events::Started, sign_up_events::TransferredFromSignIn,
                 sign_up_events::TransferredToSignIn, sign_up_events::OAuthStarted,
                 sign_up_events::FieldsUpdated, sign_up_events::ProviderFailed,
                 sign_up_events::StateRejected, sign_up_events::IdentityResolved,
                 sign_up_events::VerificationPrepared, sign_up_events::VerificationAttempted>;

// Pure: no I/O, no clock; allocates only to describe a refused or illegal transition.
Transition<SignUpState, Effects> sign_up_transition(const SignUpState& state,
                                                    const SignUpEvent& event);

// The guard of the callback rows, as for sign-in.
bool awaits_callback(const SignUpState& state);

// As load_sign_in_state / save_sign_in_state, for store::SignUp::status and SignUpData's
// external_account verification.
core::Result<SignUpState> load_sign_up_state(std::string_view row_status, const SignUpData& data);
void save_sign_up_state(const SignUpState& state, std::string& row_status, SignUpData& data);

// For logs, internal reasons and test output.
std::string describe(const SignUpState& state);
std::string describe(const SignUpEvent& event);

}  // namespace latchkey::flows
