#include "flows/sign_up_machine.hpp"

namespace latchkey::flows {
namespace {

using core::Code;
using core::Error;
using machine_internal::awaits_provider;
using machine_internal::oauth_verification;
using VS = VerificationStatus;
using Result = Transition<SignUpState, Effects>;
using Next = Step<SignUpState, Effects>;
namespace ev = sign_up_events;

constexpr std::string_view kMachine = "sign_up";

Error illegal(const SignUpState& state, const SignUpEvent& event) {
  return machine_internal::illegal(kMachine, describe(event), describe(state));
}

bool is_fresh(const SignUpState& s) { return s == SignUpState{}; }

bool in_progress(const SignUpState& s) { return s.status == SignUpStatus::kMissingRequirements; }

// update_sign_up's refusal of a sign-up that is no longer in progress, word for word.
Error not_in_progress(const SignUpState& s, const SignUpEvent& e) {
  if (!s.status) {
    return illegal(s, e);  // no attempt: the caller answers sign-up not found before
  }
  return Error(Code::kInvalidState, "Sign up is not in progress",
               "This sign-up is already " + std::string(to_wire(*s.status)) + ".")
      .with_internal("sign_up: " + describe(e) + " is not allowed in " + describe(s));
}

// try_complete_sign_up: the user is created once the identity is there and nothing is missing.
// `s` keeps its external account (update_sign_up completes with a verified one, or none).
Next try_complete(SignUpState s, bool missing_fields_empty, Effects effects) {
  if (s.holds_identity && missing_fields_empty) {
    s.status = SignUpStatus::kComplete;
    s.holds_identity = false;
    effects = effects | Effects{Effect::kCreateUser, Effect::kCreateSession, Effect::kDropIdentity};
  } else if (!s.holds_identity && !s.external_account && s.email_address &&
             s.email_address->status == VS::kVerified && missing_fields_empty) {
    // A password sign-up whose address was verified by a code.
    s.status = SignUpStatus::kComplete;
    effects = effects | Effects{Effect::kCreateUser, Effect::kCreateSession};
  } else {
    s.status = SignUpStatus::kMissingRequirements;
  }
  return Next{s, effects};
}

Next failed(Code code) {
  return {SignUpState{SignUpStatus::kMissingRequirements, oauth_verification(VS::kFailed, code),
                      false, std::nullopt},
          {}};
}

// apply_sign_up_identity: every match clears the verification's expire_at (keeping its
// external_verification_redirect_url).
Next apply_identity(IdentityMatch match, bool missing_fields_empty) {
  switch (match) {
    case IdentityMatch::kLinkRefused: {
      // The identity is not kept: the attempt cannot continue with it.
      Next n = failed(Code::kExternalAccountEmailUnverified);
      n.effects = {Effect::kClearExpiry};
      return n;
    }
    case IdentityMatch::kExternalAccount:
    case IdentityMatch::kVerifiedEmail:
      // signUp.isTransferable: the SDK creates a sign-in with transfer: true. email_verified is
      // not taken (the email is the existing user's).
      return Next{SignUpState{SignUpStatus::kMissingRequirements,
                              oauth_verification(VS::kTransferable, Code::kExternalAccountExists),
                              true, std::nullopt},
                  {Effect::kClearExpiry, Effect::kTakeEmail, Effect::kKeepIdentity}};
    case IdentityMatch::kNoMatch:
      break;
  }
  return try_complete(
      SignUpState{SignUpStatus::kMissingRequirements, oauth_verification(VS::kVerified), true,
                  std::nullopt},
      missing_fields_empty,
      {Effect::kClearExpiry, Effect::kTakeEmail, Effect::kTakeProfile, Effect::kKeepIdentity});
}

Result on(const SignUpState& s, const SignUpEvent& e, const ev::Started& started) {
  if (!is_fresh(s)) {
    return std::unexpected(illegal(s, e));  // a new sign-up is a new attempt (a new row)
  }
  switch (strategy_family(started.strategy)) {
    case StrategyFamily::kNone:
    case StrategyFamily::kPassword:
      // Nothing to complete with: a sign-up without an identity waits in missing_requirements.
      return Next{
          SignUpState{SignUpStatus::kMissingRequirements, std::nullopt, false, std::nullopt}, {}};
    case StrategyFamily::kOAuth:
      return Next{SignUpState{SignUpStatus::kMissingRequirements,
                              oauth_verification(VS::kUnverified), false, std::nullopt},
                  {Effect::kBeginRedirect}};
    case StrategyFamily::kEmailCode:
    case StrategyFamily::kResetCode:
    case StrategyFamily::kUnsupported:
    case StrategyFamily::kEmailLink:
    case StrategyFamily::kTotp:
    case StrategyFamily::kBackupCode:
      break;
  }
  return std::unexpected(machine_internal::strategy_not_enabled(started.strategy));
}

Result on(const SignUpState& s, const SignUpEvent& e, const ev::TransferredFromSignIn& t) {
  if (!is_fresh(s) || strategy_family(t.strategy) != StrategyFamily::kOAuth) {
    return std::unexpected(illegal(s, e));
  }
  // create_sign_up(transfer) never refuses the identity: a refusal fails the new sign-up's
  // verification, and the sign-in is consumed either way.
  return apply_identity(t.match, t.missing_fields_empty);
}

Result on(const SignUpState& s, const SignUpEvent&, const ev::TransferredToSignIn&) {
  // create_sign_in(transfer) checks identity + external account transferable; a transferable
  // sign-up is always missing_requirements with an OAuth account (apply_sign_up_identity).
  if (in_progress(s) && s.holds_identity && !s.email_address && s.external_account &&
      s.external_account->status == VS::kTransferable &&
      s.external_account->strategy == StrategyFamily::kOAuth) {
    return Next{s, {Effect::kConsumeAttempt}};
  }
  return std::unexpected(
      Error(Code::kInvalidState, "Nothing to transfer",
            !s.status ? "There is no sign-up on this client that can be transferred."
                      : "The current sign-up is not transferable.")
          .with_meta("param_name", "transfer")
          .with_internal("sign_up: TransferredToSignIn is not allowed in " + describe(s)));
}

Result on(const SignUpState& s, const SignUpEvent& e, const ev::OAuthStarted& o) {
  // update_sign_up's order: start_oauth, then the status, then (after the fields) the identity.
  if (strategy_family(o.strategy) != StrategyFamily::kOAuth) {
    return std::unexpected(machine_internal::strategy_not_enabled(o.strategy));
  }
  if (!in_progress(s)) {
    return std::unexpected(not_in_progress(s, e));
  }
  if (s.holds_identity) {
    return std::unexpected(
        Error(Code::kInvalidState, "Already verified",
              "This sign-up already has a verified external account.")
            .with_internal("sign_up: " + describe(e) + " is not allowed in " + describe(s)));
  }
  // Whatever external account verification there was (failed, expired, a superseded unverified
  // one) is replaced by a fresh one.
  return Next{SignUpState{SignUpStatus::kMissingRequirements, oauth_verification(VS::kUnverified),
                          false, std::nullopt},
              {Effect::kBeginRedirect}};
}

Result on(const SignUpState& s, const SignUpEvent& e, const ev::FieldsUpdated& f) {
  if (!in_progress(s)) {
    return std::unexpected(not_in_progress(s, e));
  }
  if (s.external_account && s.external_account->status != VS::kVerified) {
    return Next{s, {}};  // fields may be collected; nothing completes before the provider verified
  }
  return try_complete(s, f.missing_fields_empty, {});
}

Result on(const SignUpState& s, const SignUpEvent& e, const ev::ProviderFailed& f) {
  if (!awaits_callback(s) || strategy_family(f.strategy) != StrategyFamily::kOAuth) {
    return std::unexpected(illegal(s, e));
  }
  return failed(f.error);  // step 3 without an identity: expire_at untouched
}

Result on(const SignUpState& s, const SignUpEvent& e, const ev::StateRejected& r) {
  if (!awaits_callback(s)) {
    return std::unexpected(illegal(s, e));
  }
  return failed(r.error);  // fail_attempt: expire_at untouched
}

Result on(const SignUpState& s, const SignUpEvent& e, const ev::IdentityResolved& r) {
  if (!awaits_callback(s) || strategy_family(r.strategy) != StrategyFamily::kOAuth) {
    return std::unexpected(illegal(s, e));
  }
  return apply_identity(r.match, r.missing_fields_empty);
}

// A sign-up verified by codes rather than by a provider.
bool without_provider(const SignUpState& s) {
  return in_progress(s) && !s.holds_identity && !s.external_account;
}

// A sign-up whose email address a code or a link verifies: one without a provider, or a social
// one whose provider verified the account but not the address (email_verified false, or no
// address given and one added by the user).
bool verifies_by_code(const SignUpState& s) {
  return without_provider(s) || (in_progress(s) && s.holds_identity && s.external_account &&
                                 s.external_account->status == VS::kVerified &&
                                 s.external_account->strategy == StrategyFamily::kOAuth);
}

// verifications.email_address, by a code (email_code) or a link (email_link).
VerificationState email_code(VS status, std::optional<Code> error = std::nullopt,
                             StrategyFamily family = StrategyFamily::kEmailCode) {
  return VerificationState{status, family, error};
}

Result on(const SignUpState& s, const SignUpEvent& e, const ev::VerificationPrepared& p) {
  if (!in_progress(s)) {
    return std::unexpected(not_in_progress(s, e));
  }
  const StrategyFamily family = strategy_family(p.strategy);
  if (family != StrategyFamily::kEmailCode && family != StrategyFamily::kEmailLink) {
    return std::unexpected(machine_internal::strategy_not_enabled(p.strategy));
  }
  if (!verifies_by_code(s)) {
    return std::unexpected(illegal(s, e));
  }
  if (!p.has_email) {
    return std::unexpected(Error(Code::kFormParamMissing).with_meta("param_name", "email_address"));
  }
  if (s.email_address && s.email_address->status == VS::kVerified) {
    return std::unexpected(Error(Code::kVerificationAlreadyVerified));
  }
  SignUpState next = s;
  next.email_address = email_code(VS::kUnverified, std::nullopt, family);
  return Next{next, {Effect::kSendCode}};
}

Result on(const SignUpState& s, const SignUpEvent& e, const ev::VerificationAttempted& a) {
  const StrategyFamily family = strategy_family(a.strategy);
  if (!verifies_by_code(s) ||
      (family != StrategyFamily::kEmailCode && family != StrategyFamily::kEmailLink) ||
      !machine_internal::awaits_code(s.email_address, family)) {
    return std::unexpected(illegal(s, e));
  }
  SignUpState next = s;
  switch (a.outcome) {
    case FactorOutcome::kVerified:
      next.email_address = email_code(VS::kVerified, std::nullopt, family);
      return try_complete(next, a.missing_fields_empty, {});
    case FactorOutcome::kIncorrect:
      return Next{s, {Effect::kRejectAttempt}};
    case FactorOutcome::kTooManyAttempts:
      next.email_address = email_code(VS::kFailed, Code::kVerificationFailed, family);
      return Next{next, {Effect::kRejectAttempt}};
    case FactorOutcome::kExpired:
      next.email_address = email_code(VS::kExpired, Code::kVerificationExpired, family);
      return Next{next, {Effect::kRejectAttempt}};
    case FactorOutcome::kMustReset:
      break;
  }
  return std::unexpected(illegal(s, e));
}

}  // namespace

// Only create_sign_up's and update_sign_up's OAuth branches leave an external account
// `unverified`, and update_sign_up refuses them while an identity is held (see sign-in's).
bool awaits_callback(const SignUpState& s) {
  return in_progress(s) && !s.holds_identity && !s.email_address &&
         awaits_provider(s.external_account);
}

Transition<SignUpState, Effects> sign_up_transition(const SignUpState& state,
                                                    const SignUpEvent& event) {
  return std::visit([&](const auto& e) { return on(state, event, e); }, event);
}

core::Result<SignUpState> load_sign_up_state(std::string_view row_status, const SignUpData& data) {
  SignUpState s;
  s.status = parse_sign_up_status(row_status);
  if (!s.status) {
    return core::fail(
        Error(Code::kInternal)
            .with_internal("sign_up: unknown status '" + std::string(row_status) + "'"));
  }
  auto v = load_verification(data.external_account, "sign_up: external account");
  if (!v) {
    return core::fail(std::move(v.error()));
  }
  s.external_account = *v;
  s.holds_identity = data.identity.has_value();
  auto ev = load_verification(data.email_verification, "sign_up: email address");
  if (!ev) {
    return core::fail(std::move(ev.error()));
  }
  s.email_address = *ev;
  return s;
}

void save_sign_up_state(const SignUpState& state, std::string& row_status, SignUpData& data) {
  if (state.status) {
    row_status = std::string(to_wire(*state.status));
  }
  save_verification(state.external_account, data.external_account);
  save_verification(state.email_address, data.email_verification);
  if (data.email_verification) {
    data.email_verification->strategy =
        state.email_address && state.email_address->strategy == StrategyFamily::kEmailLink
            ? "email_link"
            : "email_code";
  }
}

std::string describe(const SignUpState& state) {
  std::string out = "status ";
  out += state.status ? to_wire(*state.status) : std::string_view("(no attempt)");
  out += " (external_account ";
  out += describe(state.external_account);
  out += state.holds_identity ? ", identity held" : ", no identity";
  if (state.email_address) {
    out += ", email_address " + describe(state.email_address);
  }
  out += ")";
  return out;
}

namespace {
std::string_view tail(bool missing_fields_empty) {
  return missing_fields_empty ? ", nothing missing}" : ", fields missing}";
}
}  // namespace

std::string describe(const SignUpEvent& event) {
  struct Describe {
    std::string operator()(const ev::Started& e) const {
      return "Started{strategy=" + std::string(e.strategy) + "}";
    }
    std::string operator()(const ev::TransferredFromSignIn& e) const {
      return "TransferredFromSignIn{strategy=" + std::string(e.strategy) +
             ", match=" + std::string(to_string(e.match)) +
             std::string(tail(e.missing_fields_empty));
    }
    std::string operator()(const ev::TransferredToSignIn&) const { return "TransferredToSignIn{}"; }
    std::string operator()(const ev::OAuthStarted& e) const {
      return "OAuthStarted{strategy=" + std::string(e.strategy) + "}";
    }
    std::string operator()(const ev::FieldsUpdated& e) const {
      return std::string("FieldsUpdated{") + (e.missing_fields_empty ? "nothing" : "fields") +
             " missing}";
    }
    std::string operator()(const ev::ProviderFailed& e) const {
      return "ProviderFailed{strategy=" + std::string(e.strategy) +
             ", error=" + std::to_string(static_cast<int>(e.error)) + "}";
    }
    std::string operator()(const ev::StateRejected& e) const {
      return "StateRejected{error=" + std::to_string(static_cast<int>(e.error)) + "}";
    }
    std::string operator()(const ev::IdentityResolved& e) const {
      return "IdentityResolved{strategy=" + std::string(e.strategy) +
             ", match=" + std::string(to_string(e.match)) +
             std::string(tail(e.missing_fields_empty));
    }
    std::string operator()(const ev::VerificationPrepared& e) const {
      return "VerificationPrepared{strategy=" + std::string(e.strategy) +
             (e.has_email ? ", email}" : ", no email}");
    }
    std::string operator()(const ev::VerificationAttempted& e) const {
      return "VerificationAttempted{strategy=" + std::string(e.strategy) +
             ", outcome=" + std::string(to_string(e.outcome)) +
             std::string(tail(e.missing_fields_empty));
    }
  };
  return std::visit(Describe{}, event);
}

}  // namespace latchkey::flows
