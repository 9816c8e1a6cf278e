// A sign-up's email-code verification: prepare_verification sends a code to the sign-up's
// address, attempt_verification checks it and - once nothing else is missing - creates the user
// and signs it in (sign_up_machine.hpp's VerificationPrepared / VerificationAttempted rows).
#include "flows/detail/attempt.hpp"
#include "flows/policy.hpp"
#include "flows/sign_up_service.hpp"

namespace latchkey::flows {

using core::Code;
using core::Error;
using core::fail;
using core::Result;
using core::Status;
using namespace detail;

Result<Mutation> SignUpService::prepare_verification(const Caller& caller, const std::string& id,
                                                     const VerificationParams& params) {
  const std::int64_t now = d_.clock.now_ms();
  // An email link goes back to an allowed URL only, checked before anything is written.
  std::string link_redirect;
  if (strategy_family(params.strategy) == StrategyFamily::kEmailLink) {
    if (!d_.settings.identifiers.email_link) {
      return fail(machine_internal::strategy_not_enabled(params.strategy));
    }
    auto r = resolve_redirect(d_, params.redirect_url, caller, "redirect_url", true);
    if (!r) {
      return fail(std::move(r.error()));
    }
    link_redirect = std::move(*r);
  }
  Mutation out;
  auto st = d_.store.transaction([&](store::Tx& tx) -> Status {
    out = Mutation{};
    auto cur = open_current<store::SignUp>(tx, d_, caller, id, now);
    if (!cur) {
      return fail(std::move(cur.error()));
    }
    store::Client* client = &cur->client;
    Loaded<store::SignUp>* a = &cur->attempt;
    const SignUpState* state = &cur->state;
    const CodeTarget target{a->data.email_address.value_or(""), std::nullopt,
                            CodePurpose::kVerification, caller.remote_ip, link_redirect};
    SignUpInput in;
    in.code = &target;
    LK_TRY(run_sign_up(
        tx, d_, *client, a->row, a->data, *state,
        sign_up_events::VerificationPrepared{params.strategy, a->data.email_address.has_value()},
        in, now, out.new_client_token));
    return finish_mutation(tx, d_, *client, id, now, out);
  });
  if (!st) {
    return fail(std::move(st.error()));
  }
  d_.codes.committed();
  attach_tokens(d_, out.client, caller);
  return out;
}

Result<Mutation> SignUpService::attempt_verification(const Caller& caller, const std::string& id,
                                                     const VerificationParams& params) {
  const std::int64_t now = d_.clock.now_ms();
  if (!params.code) {
    return fail(Error(Code::kFormParamMissing).with_meta("param_name", "code"));
  }
  Mutation out;
  std::optional<Error> rejected;
  auto st = d_.store.transaction([&](store::Tx& tx) -> Status {
    out = Mutation{};
    rejected.reset();
    auto cur = open_current<store::SignUp>(tx, d_, caller, id, now);
    if (!cur) {
      return fail(std::move(cur.error()));
    }
    store::Client* client = &cur->client;
    Loaded<store::SignUp>* a = &cur->attempt;
    const SignUpState* state = &cur->state;
    if (strategy_family(params.strategy) != StrategyFamily::kEmailCode ||
        !machine_internal::awaits_code(state->email_address, StrategyFamily::kEmailCode) ||
        !a->data.email_verification) {
      if (state->email_address) {
        switch (state->email_address->status) {
          case VerificationStatus::kVerified:
            return fail(Error(Code::kVerificationAlreadyVerified));
          case VerificationStatus::kFailed:
            return fail(Error(Code::kVerificationFailed));
          case VerificationStatus::kExpired:
            return fail(Error(Code::kVerificationExpired));
          default:
            break;
        }
      }
      return fail(Error(Code::kInvalidState, "Not prepared",
                        "Ask for a code (prepare_verification) before entering one.")
                      .with_meta("param_name", "strategy"));
    }
    const FactorOutcome outcome =
        check_code(d_, *a->data.email_verification, id, *params.code, now);
    // What would be missing once the address is verified.
    SignUpData preview = a->data;
    preview.email_verified = true;
    const bool nothing_missing = nothing_left(d_, preview);
    const sign_up_events::VerificationAttempted event{params.strategy, outcome, nothing_missing};
    auto step = sign_up_transition(*state, event);
    LK_TRY(run_sign_up(tx, d_, *client, a->row, a->data, *state, event, {}, now,
                       out.new_client_token));
    if (step && step->effects.has(Effect::kRejectAttempt)) {
      rejected = machine_internal::factor_error(StrategyFamily::kEmailCode, outcome);
    }
    return finish_mutation(tx, d_, *client, id, now, out);
  });
  if (!st) {
    return fail(std::move(st.error()));
  }
  if (rejected) {
    return fail(std::move(*rejected));
  }
  attach_tokens(d_, out.client, caller);
  return out;
}

}  // namespace latchkey::flows
