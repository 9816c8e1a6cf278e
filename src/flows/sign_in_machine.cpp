#include "flows/sign_in_machine.hpp"

namespace latchkey::flows {
namespace {

using core::Code;
using core::Error;
using machine_internal::awaits_provider;
using machine_internal::oauth_verification;
using VS = VerificationStatus;
using Result = Transition<SignInState, Effects>;
using Next = Step<SignInState, Effects>;
namespace ev = sign_in_events;

constexpr std::string_view kMachine = "sign_in";

Error illegal(const SignInState& state, const SignInEvent& event) {
  return machine_internal::illegal(kMachine, describe(event), describe(state));
}

bool is_fresh(const SignInState& s) { return s == SignInState{}; }

// The first factor failed; the attempt stays in needs_first_factor (the SDK shows the error and
// offers the strategies again).
Next failed(Code code) {
  return {SignInState{SignInStatus::kNeedsFirstFactor, oauth_verification(VS::kFailed, code), false,
                      std::nullopt},
          {}};
}

// finish_sign_in: every outcome takes the identity's email as identifier and clears the
// verification's expire_at (keeping its external_verification_redirect_url).
Next finish(SignInOutcome outcome) {
  const Effects resolved{Effect::kTakeEmail, Effect::kClearExpiry};
  auto signed_in = [&](Effect account) {
    return Next{SignInState{SignInStatus::kComplete, oauth_verification(VS::kVerified), false,
                            std::nullopt},
                resolved | Effects{account, Effect::kCreateSession, Effect::kDropIdentity}};
  };
  auto failed_resolved = [&](Code code) {
    Next n = failed(code);
    n.effects = resolved;
    return n;
  };
  switch (outcome) {
    case SignInOutcome::kExistingAccount:
      return signed_in(Effect::kRefreshExternalAccount);
    case SignInOutcome::kLinkedByEmail:
      return signed_in(Effect::kLinkExternalAccount);
    case SignInOutcome::kUnknownAccount:
      // signIn.isTransferable: the SDK creates a sign-up with transfer: true.
      return Next{SignInState{SignInStatus::kNeedsIdentifier,
                              oauth_verification(VS::kTransferable, Code::kExternalAccountNotFound),
                              true, std::nullopt},
                  resolved | Effects{Effect::kKeepIdentity}};
    case SignInOutcome::kLinkRefused:
      return failed_resolved(Code::kExternalAccountEmailUnverified);
    case SignInOutcome::kAlreadySignedIn:
      return failed_resolved(Code::kIdentifierAlreadySignedIn);
    case SignInOutcome::kOtherUserSignedIn:
      return failed_resolved(Code::kSessionExists);
  }
  return failed_resolved(Code::kInternal);
}

Result on(const SignInState& s, const SignInEvent& e, const ev::Started& started) {
  if (!is_fresh(s)) {
    return std::unexpected(illegal(s, e));  // a new sign-in is a new attempt (a new row)
  }
  const StrategyFamily family = strategy_family(started.strategy);
  switch (family) {
    case StrategyFamily::kNone:
    case StrategyFamily::kPassword:
    case StrategyFamily::kEmailCode:
    case StrategyFamily::kResetCode:
    case StrategyFamily::kEmailLink:
      if (started.lookup == IdentifierLookup::kNotEnabled) {
        if (family != StrategyFamily::kNone) {
          break;  // the strategy is not enabled
        }
        if (started.has_identifier) {
          // An OAuth-only instance: no identifier can sign in.
          return std::unexpected(
              Error(Code::kStrategyNotAllowed, "is invalid",
                    "Signing in with an identifier is not enabled for this application. Use one "
                    "of the enabled social connections.")
                  .with_meta("param_name", "identifier"));
        }
        return Next{SignInState{SignInStatus::kNeedsIdentifier, std::nullopt, false, std::nullopt},
                    {}};
      }
      if (!started.has_identifier) {
        if (family == StrategyFamily::kNone) {
          return Next{
              SignInState{SignInStatus::kNeedsIdentifier, std::nullopt, false, std::nullopt}, {}};
        }
        return std::unexpected(
            Error(Code::kFormParamMissing).with_meta("param_name", "identifier"));
      }
      if (started.lookup == IdentifierLookup::kNotFound) {
        return std::unexpected(
            Error(Code::kFormIdentifierNotFound).with_meta("param_name", "identifier"));
      }
      return Next{SignInState{SignInStatus::kNeedsFirstFactor, std::nullopt, false, std::nullopt},
                  {}};
    case StrategyFamily::kOAuth:
      return Next{SignInState{SignInStatus::kNeedsFirstFactor, oauth_verification(VS::kUnverified),
                              false, std::nullopt},
                  {Effect::kBeginRedirect}};
    case StrategyFamily::kUnsupported:
    case StrategyFamily::kTotp:  // second factors: never a way to start a sign-in
    case StrategyFamily::kBackupCode:
      break;
  }
  return std::unexpected(machine_internal::strategy_not_enabled(started.strategy));
}

Result on(const SignInState& s, const SignInEvent& e, const ev::TransferredFromSignUp& t) {
  if (!is_fresh(s) || strategy_family(t.strategy) != StrategyFamily::kOAuth) {
    return std::unexpected(illegal(s, e));
  }
  // create_sign_in(transfer): an identity that leads to nobody, or that may not be linked, fails
  // the request and nothing is written (the sign-up stays transferable).
  if (t.outcome == SignInOutcome::kUnknownAccount) {
    return std::unexpected(Error(Code::kExternalAccountNotFound));
  }
  if (t.outcome == SignInOutcome::kLinkRefused) {
    return std::unexpected(Error(Code::kExternalAccountEmailUnverified));
  }
  return finish(t.outcome);
}

Result on(const SignInState& s, const SignInEvent&, const ev::TransferredToSignUp&) {
  // create_sign_up(transfer) checks identity + first factor transferable; a transferable sign-in
  // is always needs_identifier with an OAuth first factor (finish_sign_in), now checked too.
  if (s.status == SignInStatus::kNeedsIdentifier && s.holds_identity && s.first_factor &&
      s.first_factor->status == VS::kTransferable &&
      s.first_factor->strategy == StrategyFamily::kOAuth) {
    return Next{s, {Effect::kConsumeAttempt}};
  }
  return std::unexpected(
      Error(Code::kInvalidState, "Nothing to transfer",
            !s.status ? "There is no sign-in on this client that can be transferred."
                      : "The current sign-in is not transferable.")
          .with_meta("param_name", "transfer")
          .with_internal("sign_in: TransferredToSignUp is not allowed in " + describe(s)));
}

Result on(const SignInState& s, const SignInEvent& e, const ev::ProviderFailed& f) {
  if (!awaits_callback(s) || strategy_family(f.strategy) != StrategyFamily::kOAuth) {
    return std::unexpected(illegal(s, e));
  }
  return failed(f.error);  // step 3 without an identity: expire_at and identifier untouched
}

Result on(const SignInState& s, const SignInEvent& e, const ev::StateRejected& r) {
  if (!awaits_callback(s)) {
    return std::unexpected(illegal(s, e));
  }
  return failed(r.error);  // fail_attempt: expire_at and identifier untouched
}

Result on(const SignInState& s, const SignInEvent& e, const ev::IdentityResolved& r) {
  if (!awaits_callback(s) || strategy_family(r.strategy) != StrategyFamily::kOAuth) {
    return std::unexpected(illegal(s, e));
  }
  return finish(r.outcome);
}

// A first factor may be chosen, prepared and attempted while the attempt needs one and holds no
// provider identity (a transferable sign-in is needs_identifier anyway).
bool choosing_first_factor(const SignInState& s) {
  return s.status == SignInStatus::kNeedsFirstFactor && !s.holds_identity;
}

VerificationState factor(StrategyFamily family, VS status, std::optional<Code> error = {}) {
  return VerificationState{status, family, error};
}

Result on(const SignInState& s, const SignInEvent& e, const ev::FirstFactorPrepared& p) {
  const StrategyFamily family = strategy_family(p.strategy);
  if (!choosing_first_factor(s) ||
      (family != StrategyFamily::kEmailCode && family != StrategyFamily::kResetCode &&
       family != StrategyFamily::kEmailLink)) {
    return std::unexpected(illegal(s, e));
  }
  return Next{SignInState{SignInStatus::kNeedsFirstFactor, factor(family, VS::kUnverified), false,
                          std::nullopt},
              {Effect::kSendCode}};
}

Result on(const SignInState& s, const SignInEvent& e, const ev::FirstFactorAttempted& a) {
  const StrategyFamily family = strategy_family(a.strategy);
  if (!choosing_first_factor(s)) {
    return std::unexpected(illegal(s, e));
  }
  if (family == StrategyFamily::kPassword) {
    switch (a.outcome) {
      case FactorOutcome::kVerified:
        return Next{SignInState{SignInStatus::kComplete, factor(family, VS::kVerified), false,
                                std::nullopt},
                    {Effect::kCreateSession}};
      case FactorOutcome::kMustReset:
        return Next{SignInState{SignInStatus::kNeedsNewPassword, factor(family, VS::kVerified),
                                false, std::nullopt},
                    {}};
      case FactorOutcome::kIncorrect:
        return Next{s, {Effect::kRejectAttempt}};
      case FactorOutcome::kTooManyAttempts:
      case FactorOutcome::kExpired:
        break;
    }
    return std::unexpected(illegal(s, e));
  }
  if (!machine_internal::awaits_code(s.first_factor, family)) {
    return std::unexpected(illegal(s, e));  // nothing prepared for this strategy
  }
  switch (a.outcome) {
    case FactorOutcome::kVerified:
      if (family == StrategyFamily::kResetCode) {
        return Next{SignInState{SignInStatus::kNeedsNewPassword, factor(family, VS::kVerified),
                                false, std::nullopt},
                    {}};
      }
      return Next{
          SignInState{SignInStatus::kComplete, factor(family, VS::kVerified), false, std::nullopt},
          {Effect::kCreateSession}};
    case FactorOutcome::kIncorrect:
      return Next{s, {Effect::kRejectAttempt}};
    case FactorOutcome::kTooManyAttempts:
      return Next{
          SignInState{SignInStatus::kNeedsFirstFactor,
                      factor(family, VS::kFailed, Code::kVerificationFailed), false, std::nullopt},
          {Effect::kRejectAttempt}};
    case FactorOutcome::kExpired:
      return Next{SignInState{SignInStatus::kNeedsFirstFactor,
                              factor(family, VS::kExpired, Code::kVerificationExpired), false,
                              std::nullopt},
                  {Effect::kRejectAttempt}};
    case FactorOutcome::kMustReset:
      break;
  }
  return std::unexpected(illegal(s, e));
}

Result on(const SignInState& s, const SignInEvent& e, const ev::PasswordReset&) {
  if (s.status != SignInStatus::kNeedsNewPassword || s.holds_identity) {
    return std::unexpected(illegal(s, e));
  }
  SignInState next = s;
  next.status = SignInStatus::kComplete;
  return Next{next, {Effect::kSetPassword, Effect::kCreateSession}};
}

Result on(const SignInState& s, const SignInEvent& e, const ev::SecondFactorAttempted& a) {
  const StrategyFamily family = strategy_family(a.strategy);
  if (s.status != SignInStatus::kNeedsSecondFactor || s.holds_identity ||
      (family != StrategyFamily::kTotp && family != StrategyFamily::kBackupCode) ||
      (s.second_factor && s.second_factor->status == VS::kFailed)) {
    return std::unexpected(illegal(s, e));
  }
  SignInState next = s;
  switch (a.outcome) {
    case FactorOutcome::kVerified:
      next.status = SignInStatus::kComplete;
      next.second_factor = factor(family, VS::kVerified);
      return Next{next, {Effect::kCreateSession}};
    case FactorOutcome::kIncorrect:
      next.second_factor = factor(family, VS::kUnverified);
      return Next{next, {Effect::kRejectAttempt}};
    case FactorOutcome::kTooManyAttempts:
      next.second_factor = factor(family, VS::kFailed, Code::kVerificationFailed);
      return Next{next, {Effect::kRejectAttempt}};
    case FactorOutcome::kExpired:
    case FactorOutcome::kMustReset:
      break;
  }
  return std::unexpected(illegal(s, e));
}

}  // namespace

// Today only create_sign_in's OAuth branch leaves a first factor `unverified`, so the callback's
// checks (steps 1 and 3: unverified; fail_attempt: and an OAuth strategy) only ever see this
// state; the status and identity are checked too so that no other state can be completed by a
// callback.
bool awaits_callback(const SignInState& s) {
  return s.status == SignInStatus::kNeedsFirstFactor && !s.holds_identity &&
         awaits_provider(s.first_factor);
}

SignInOutcome sign_in_outcome(IdentityMatch match, bool same_user_signed_in, bool any_session_live,
                              bool single_session_mode) {
  switch (match) {
    case IdentityMatch::kLinkRefused:
      return SignInOutcome::kLinkRefused;
    case IdentityMatch::kNoMatch:
      return SignInOutcome::kUnknownAccount;
    case IdentityMatch::kExternalAccount:
    case IdentityMatch::kVerifiedEmail:
      break;
  }
  if (same_user_signed_in) {
    return SignInOutcome::kAlreadySignedIn;
  }
  if (single_session_mode && any_session_live) {
    return SignInOutcome::kOtherUserSignedIn;
  }
  return match == IdentityMatch::kExternalAccount ? SignInOutcome::kExistingAccount
                                                  : SignInOutcome::kLinkedByEmail;
}

Transition<SignInState, Effects> sign_in_transition(const SignInState& state,
                                                    const SignInEvent& event,
                                                    bool second_factor_required) {
  auto t = std::visit([&](const auto& e) { return on(state, event, e); }, event);
  if (t && second_factor_required && t->effects.has(Effect::kCreateSession) &&
      !std::holds_alternative<ev::SecondFactorAttempted>(event)) {
    // A first factor passed (a password, a code, a reset, a provider): the second comes first.
    t->state.status = SignInStatus::kNeedsSecondFactor;
    t->state.second_factor.reset();
    t->effects.remove(Effect::kCreateSession).add(Effect::kRequireSecondFactor);
  }
  return t;
}

core::Result<SignInState> load_sign_in_state(std::string_view row_status, const SignInData& data) {
  SignInState s;
  s.status = parse_sign_in_status(row_status);
  if (!s.status) {
    return core::fail(
        Error(Code::kInternal)
            .with_internal("sign_in: unknown status '" + std::string(row_status) + "'"));
  }
  auto v = load_verification(data.first_factor, "sign_in: first factor");
  if (!v) {
    return core::fail(std::move(v.error()));
  }
  s.first_factor = *v;
  s.holds_identity = data.identity.has_value();
  auto v2 = load_verification(data.second_factor, "sign_in: second factor");
  if (!v2) {
    return core::fail(std::move(v2.error()));
  }
  s.second_factor = *v2;
  return s;
}

void save_sign_in_state(const SignInState& state, std::string& row_status, SignInData& data) {
  if (state.status) {
    row_status = std::string(to_wire(*state.status));
  }
  save_verification(state.first_factor, data.first_factor);
  save_verification(state.second_factor, data.second_factor);
}

std::string_view to_string(SignInOutcome outcome) {
  switch (outcome) {
    case SignInOutcome::kExistingAccount:
      return "existing_account";
    case SignInOutcome::kLinkedByEmail:
      return "linked_by_email";
    case SignInOutcome::kUnknownAccount:
      return "unknown_account";
    case SignInOutcome::kLinkRefused:
      return "link_refused";
    case SignInOutcome::kAlreadySignedIn:
      return "already_signed_in";
    case SignInOutcome::kOtherUserSignedIn:
      return "other_user_signed_in";
  }
  return "?";
}

std::string_view to_string(IdentifierLookup lookup) {
  switch (lookup) {
    case IdentifierLookup::kNotEnabled:
      return "not_enabled";
    case IdentifierLookup::kNotFound:
      return "not_found";
    case IdentifierLookup::kFound:
      return "found";
  }
  return "?";
}

std::string describe(const SignInState& state) {
  std::string out = "status ";
  out += state.status ? to_wire(*state.status) : std::string_view("(no attempt)");
  out += " (first_factor ";
  out += describe(state.first_factor);
  out += state.holds_identity ? ", identity held" : ", no identity";
  if (state.second_factor) {
    out += ", second_factor ";
    out += describe(state.second_factor);
  }
  out += ")";
  return out;
}

std::string describe(const SignInEvent& event) {
  struct Describe {
    std::string operator()(const ev::Started& e) const {
      return "Started{strategy=" + std::string(e.strategy) +
             (e.has_identifier ? ", identifier" : "") +
             ", lookup=" + std::string(to_string(e.lookup)) + "}";
    }
    std::string operator()(const ev::FirstFactorPrepared& e) const {
      return "FirstFactorPrepared{strategy=" + std::string(e.strategy) + "}";
    }
    std::string operator()(const ev::FirstFactorAttempted& e) const {
      return "FirstFactorAttempted{strategy=" + std::string(e.strategy) +
             ", outcome=" + std::string(to_string(e.outcome)) + "}";
    }
    std::string operator()(const ev::PasswordReset&) const { return "PasswordReset{}"; }
    std::string operator()(const ev::SecondFactorAttempted& e) const {
      return "SecondFactorAttempted{strategy=" + std::string(e.strategy) +
             ", outcome=" + std::string(to_string(e.outcome)) + "}";
    }
    std::string operator()(const ev::TransferredFromSignUp& e) const {
      return "TransferredFromSignUp{strategy=" + std::string(e.strategy) +
             ", outcome=" + std::string(to_string(e.outcome)) + "}";
    }
    std::string operator()(const ev::TransferredToSignUp&) const { return "TransferredToSignUp{}"; }
    std::string operator()(const ev::ProviderFailed& e) const {
      return "ProviderFailed{strategy=" + std::string(e.strategy) +
             ", error=" + std::to_string(static_cast<int>(e.error)) + "}";
    }
    std::string operator()(const ev::StateRejected& e) const {
      return "StateRejected{error=" + std::to_string(static_cast<int>(e.error)) + "}";
    }
    std::string operator()(const ev::IdentityResolved& e) const {
      return "IdentityResolved{strategy=" + std::string(e.strategy) +
             ", outcome=" + std::string(to_string(e.outcome)) + "}";
    }
  };
  return std::visit(Describe{}, event);
}

}  // namespace latchkey::flows
