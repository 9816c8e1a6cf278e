#include "flows/machine.hpp"

namespace latchkey::flows {

StrategyFamily strategy_family(std::string_view strategy) {
  if (strategy.empty()) {
    return StrategyFamily::kNone;
  }
  // Same test as frontend_service.cpp is_oauth_strategy; whether the provider is enabled is the
  // caller's check (oauth::Service::find), made before any transition.
  if (strategy.starts_with("oauth_")) {
    return StrategyFamily::kOAuth;
  }
  if (strategy == "password") {
    return StrategyFamily::kPassword;
  }
  if (strategy == "email_code") {
    return StrategyFamily::kEmailCode;
  }
  if (strategy == "reset_password_email_code") {
    return StrategyFamily::kResetCode;
  }
  if (strategy == "email_link") {
    return StrategyFamily::kEmailLink;
  }
  if (strategy == "totp") {
    return StrategyFamily::kTotp;
  }
  if (strategy == "backup_code") {
    return StrategyFamily::kBackupCode;
  }
  return StrategyFamily::kUnsupported;
}

std::string_view to_string(StrategyFamily family) {
  switch (family) {
    case StrategyFamily::kNone:
      return "none";
    case StrategyFamily::kOAuth:
      return "oauth";
    case StrategyFamily::kPassword:
      return "password";
    case StrategyFamily::kEmailCode:
      return "email_code";
    case StrategyFamily::kResetCode:
      return "reset_code";
    case StrategyFamily::kUnsupported:
      return "unsupported";
    case StrategyFamily::kEmailLink:
      return "email_link";
    case StrategyFamily::kTotp:
      return "totp";
    case StrategyFamily::kBackupCode:
      return "backup_code";
  }
  return "?";
}

std::string_view to_string(IdentityMatch match) {
  switch (match) {
    case IdentityMatch::kExternalAccount:
      return "external_account";
    case IdentityMatch::kVerifiedEmail:
      return "verified_email";
    case IdentityMatch::kLinkRefused:
      return "link_refused";
    case IdentityMatch::kNoMatch:
      return "no_match";
  }
  return "?";
}

std::string_view to_string(FactorOutcome outcome) {
  switch (outcome) {
    case FactorOutcome::kVerified:
      return "verified";
    case FactorOutcome::kIncorrect:
      return "incorrect";
    case FactorOutcome::kTooManyAttempts:
      return "too_many_attempts";
    case FactorOutcome::kExpired:
      return "expired";
    case FactorOutcome::kMustReset:
      return "must_reset";
  }
  return "?";
}

std::string_view to_string(Effect effect) {
  switch (effect) {
    case Effect::kBeginRedirect:
      return "kBeginRedirect";
    case Effect::kClearExpiry:
      return "kClearExpiry";
    case Effect::kTakeEmail:
      return "kTakeEmail";
    case Effect::kTakeProfile:
      return "kTakeProfile";
    case Effect::kKeepIdentity:
      return "kKeepIdentity";
    case Effect::kRefreshExternalAccount:
      return "kRefreshExternalAccount";
    case Effect::kLinkExternalAccount:
      return "kLinkExternalAccount";
    case Effect::kCreateUser:
      return "kCreateUser";
    case Effect::kCreateSession:
      return "kCreateSession";
    case Effect::kDropIdentity:
      return "kDropIdentity";
    case Effect::kConsumeAttempt:
      return "kConsumeAttempt";
    case Effect::kSendCode:
      return "kSendCode";
    case Effect::kSetPassword:
      return "kSetPassword";
    case Effect::kRejectAttempt:
      return "kRejectAttempt";
    case Effect::kRequireSecondFactor:
      return "kRequireSecondFactor";
  }
  return "?";
}

std::string describe(Effects effects) {
  std::string out = "{";
  for (Effect e : kAllEffects) {
    if (effects.has(e)) {
      if (out.size() > 1) {
        out += ", ";
      }
      out += to_string(e);
    }
  }
  out += "}";
  return out;
}

std::string describe(const std::optional<VerificationState>& v) {
  if (!v) {
    return "none";
  }
  std::string out(to_wire(v->status));
  out += "/";
  out += to_string(v->strategy);
  if (v->error) {
    out += "/error=" + std::to_string(static_cast<int>(*v->error));
  }
  return out;
}

core::Result<std::optional<VerificationState>> load_verification(
    const std::optional<Verification>& v, std::string_view what) {
  if (!v) {
    return std::optional<VerificationState>();
  }
  auto status = parse_verification_status(v->status);
  if (!status) {
    return core::fail(core::Error(core::Code::kInternal)
                          .with_internal(std::string(what) + ": unknown verification status '" +
                                         v->status + "'"));
  }
  VerificationState out{*status, strategy_family(v->strategy), std::nullopt};
  if (v->error) {
    out.error = v->error->code;
  }
  return std::optional<VerificationState>(out);
}

void save_verification(const std::optional<VerificationState>& state,
                       std::optional<Verification>& v) {
  if (!state) {
    v.reset();
    return;
  }
  if (!v) {
    v.emplace();
  }
  v->status = std::string(to_wire(state->status));
  if (!state->error) {
    v->error.reset();
  } else if (!v->error || v->error->code != *state->error) {
    v->error = VerificationError{*state->error, {}, {}, {}};
  }
}

namespace machine_internal {

bool awaits_provider(const std::optional<VerificationState>& v) {
  return v && v->status == VerificationStatus::kUnverified && v->strategy == StrategyFamily::kOAuth;
}

VerificationState oauth_verification(VerificationStatus status, std::optional<core::Code> error) {
  return VerificationState{status, StrategyFamily::kOAuth, error};
}

core::Error factor_error(StrategyFamily family, FactorOutcome outcome) {
  switch (outcome) {
    case FactorOutcome::kIncorrect:
      return family == StrategyFamily::kPassword
                 ? core::Error(core::Code::kFormPasswordIncorrect)
                       .with_meta("param_name", "password")
                 : core::Error(core::Code::kFormCodeIncorrect).with_meta("param_name", "code");
    case FactorOutcome::kTooManyAttempts:
      return core::Error(core::Code::kVerificationFailed);
    case FactorOutcome::kExpired:
      return core::Error(core::Code::kVerificationExpired);
    case FactorOutcome::kVerified:
    case FactorOutcome::kMustReset:
      break;
  }
  return core::Error(core::Code::kInternal).with_internal("factor_error: not a failure");
}

bool awaits_code(const std::optional<VerificationState>& v, StrategyFamily family) {
  return v && v->status == VerificationStatus::kUnverified && v->strategy == family &&
         (family == StrategyFamily::kEmailCode || family == StrategyFamily::kResetCode ||
          family == StrategyFamily::kEmailLink);
}

core::Error strategy_not_enabled(std::string_view strategy) {
  // frontend_service.cpp start_oauth.
  return core::Error(
             core::Code::kStrategyNotAllowed, "is invalid",
             "The strategy '" + std::string(strategy) + "' is not enabled for this application.")
      .with_meta("param_name", "strategy");
}

core::Error illegal(std::string_view machine, const std::string& event, const std::string& state) {
  return core::Error(core::Code::kInvalidState)
      .with_internal(std::string(machine) + ": " + event + " is not allowed in " + state);
}

}  // namespace machine_internal
}  // namespace latchkey::flows
