// Sign-in with an identifier: create (looking the identifier up, maybe checking its password or
// sending a code), prepare_first_factor, attempt_first_factor and reset_password. The machine
// (sign_in_machine.hpp) decides every transition; passwords are checked outside transactions.
#include <algorithm>

#include "flows/detail/attempt.hpp"
#include "flows/second_factors.hpp"
#include "flows/sign_in_service.hpp"

namespace latchkey::flows {

using core::Code;
using core::Error;
using core::fail;
using core::Result;
using core::Status;
using namespace detail;

namespace {

bool identifiers_enabled(const IdentifierSettings& ids) {
  return ids.email_address && (ids.password || ids.email_code || ids.email_link);
}

bool family_enabled(const IdentifierSettings& ids, StrategyFamily family) {
  switch (family) {
    case StrategyFamily::kNone:
      return true;
    case StrategyFamily::kPassword:
      return ids.password;
    case StrategyFamily::kEmailLink:
      return ids.email_link;
    default:
      return ids.email_code;
  }
}

bool sends_code(StrategyFamily f) {
  return f == StrategyFamily::kEmailCode || f == StrategyFamily::kResetCode ||
         f == StrategyFamily::kEmailLink;
}

CodePurpose purpose_of(StrategyFamily f) {
  return f == StrategyFamily::kResetCode ? CodePurpose::kResetPassword : CodePurpose::kSignIn;
}

// The factor of `strategy` a prepare asks for: by email_address_id, else the primary one.
const Factor* pick_factor(const SignInData& data, std::string_view strategy,
                          const std::optional<std::string>& email_address_id) {
  const Factor* first = nullptr;
  for (const auto& f : data.factors) {
    if (f.strategy != strategy) {
      continue;
    }
    if (email_address_id) {
      if (f.email_address_id == *email_address_id) {
        return &f;
      }
      continue;
    }
    if (f.primary) {
      return &f;
    }
    if (first == nullptr) {
      first = &f;
    }
  }
  return first;
}

Error factor_not_offered(std::string_view strategy) {
  return Error(Code::kStrategyNotAllowed, "is invalid",
               "The strategy '" + std::string(strategy) +
                   "' is not available for this sign-in. Use one of its supported first factors.")
      .with_meta("param_name", "strategy");
}

}  // namespace

Result<Mutation> SignInService::create_with_identifier(const Caller& caller,
                                                       const SignInParams& params) {
  const std::int64_t now = d_.clock.now_ms();
  const IdentifierSettings& ids = d_.settings.identifiers;
  // signIn.password() sends no strategy: a password means the password strategy.
  std::string strategy = params.strategy.value_or("");
  if (strategy.empty() && params.password) {
    strategy = "password";
  }
  const StrategyFamily family = strategy_family(strategy);
  const bool enabled = identifiers_enabled(ids) && family_enabled(ids, family);
  // An email link goes back to an allowed URL only, checked before anything is written.
  std::string link_redirect;
  if (family == StrategyFamily::kEmailLink && enabled) {
    auto r = resolve_redirect(d_, params.redirect_url, caller, "redirect_url", true);
    if (!r) {
      return fail(std::move(r.error()));
    }
    link_redirect = std::move(*r);
  }
  std::string identifier;
  if (params.identifier && enabled) {
    if (params.identifier->find('@') != std::string::npos) {
      auto email = canonical_email(*params.identifier, "identifier");
      if (!email) {
        return fail(std::move(email.error()));
      }
      identifier = std::move(*email);
    } else {
      identifier = lower_ascii(std::string(*params.identifier));
    }
  }
  // Who the identifier names, read before anything is written.
  std::optional<Identified> who;
  if (enabled && !identifier.empty()) {
    auto st = d_.store.read([&](store::Tx& tx) -> Status {
      auto found = identify(tx, d_, identifier);
      if (!found) {
        return fail(std::move(found.error()));
      }
      who = std::move(*found);
      return {};
    });
    if (!st) {
      return fail(std::move(st.error()));
    }
  }
  // With enumeration protection an unknown address gets factors like anyone's (and fails only at
  // them): the answer does not tell whether the address has an account.
  const bool decoy =
      enabled && !who && ids.enumeration_protection && identifier.find('@') != std::string::npos;
  const IdentifierLookup lookup = !enabled         ? IdentifierLookup::kNotEnabled
                                  : (who || decoy) ? IdentifierLookup::kFound
                                                   : IdentifierLookup::kNotFound;
  const sign_in_events::Started started{strategy, params.identifier.has_value(), lookup};
  if (auto t = sign_in_transition({}, started); !t) {
    if (family == StrategyFamily::kPassword && params.password) {
      d_.passwords.verify_dummy(*params.password);  // unknown identifier: the same cost
    }
    return fail(std::move(t.error()));
  }
  std::vector<Factor> factors;
  if (who) {
    factors = factors_for(d_, *who);
  } else if (decoy) {
    Identified nobody;
    nobody.user.id = "";
    nobody.user.password_digest = "";  // offered as if set; never verified against
    const std::string idn = d_.random.id("idn");
    nobody.user.primary_email_address_id = idn;
    store::EmailAddress e;
    e.id = idn;
    e.verified = true;
    nobody.emails.push_back(e);  // no address: a code for it goes nowhere
    factors = factors_for(d_, nobody);
    for (auto& f : factors) {
      f.safe_identifier = f.email_address_id.empty() ? "" : mask_email(identifier);
    }
  }
  // The password, checked before the transaction.
  std::optional<PasswordResult> password;
  if (family == StrategyFamily::kPassword) {
    if (!params.password) {
      return fail(Error(Code::kFormParamMissing).with_meta("param_name", "password"));
    }
    if (who) {
      if (auto locked = check_not_locked(who->user, now); !locked) {
        return fail(std::move(locked.error()));
      }
    }
    const bool offered = std::any_of(factors.begin(), factors.end(),
                                     [](const Factor& f) { return f.strategy == "password"; });
    password = check_password(d_, offered ? who : std::nullopt, *params.password);
  }

  Mutation out;
  std::optional<Error> rejected;
  auto st = d_.store.transaction([&](store::Tx& tx) -> Status {
    out = Mutation{};
    rejected.reset();
    if (password && password->outcome == FactorOutcome::kIncorrect) {
      // A wrong password at create: only the lockout count is written; no attempt is left for
      // the SDK, which receives the error without a client.
      if (who) {
        LK_TRY(record_password_outcome(tx, d_, who->user.id, password->outcome, {}, now));
      }
      rejected = machine_internal::factor_error(family, FactorOutcome::kIncorrect);
      return {};
    }
    auto client = d_.clients().find_or_create(tx, caller, now, out.new_client_token);
    if (!client) {
      return fail(std::move(client.error()));
    }
    store::SignIn row;
    row.id = d_.random.id("sia");
    row.client_id = client->id;
    row.status = std::string(to_wire(SignInStatus::kNeedsIdentifier));  // set by the machine
    row.abandon_at_ms = now + d_.settings.attempt_lifetime.count();
    row.created_at_ms = now;
    row.updated_at_ms = now;
    SignInData data;
    data.strategy = strategy;
    data.identifier = params.identifier ? std::optional<std::string>(identifier) : std::nullopt;
    if (who) {
      data.user_id = who->user.id;
      data.factors = factors;
      data.user_data = user_data_of(who->user);
    } else if (decoy) {
      data.factors = factors;  // a sign-in of nobody: the same shape, no user behind it
      data.user_data = UserData{};
    }
    LK_TRY(tx.insert_sign_in(row));
    LK_TRY(run_sign_in(tx, d_, *client, row, data, {}, started, {}, now, out.new_client_token));
    if (password) {
      auto state = load_sign_in_state(row.status, data);
      if (!state) {
        return fail(std::move(state.error()));
      }
      SignInInput in;
      in.factor_strategy = "password";
      LK_TRY(run_sign_in(tx, d_, *client, row, data, *state,
                         sign_in_events::FirstFactorAttempted{"password", password->outcome}, in,
                         now, out.new_client_token));
      LK_TRY(
          record_password_outcome(tx, d_, who->user.id, password->outcome, password->rehash, now));
    } else if (sends_code(family)) {
      const Factor* f = pick_factor(data, strategy, std::nullopt);
      if (f == nullptr) {
        return fail(factor_not_offered(strategy));
      }
      auto state = load_sign_in_state(row.status, data);
      if (!state) {
        return fail(std::move(state.error()));
      }
      const CodeTarget target{f->email, f->email_address_id, purpose_of(family), caller.remote_ip,
                              link_redirect};
      SignInInput in;
      in.factor_strategy = strategy;
      in.code = &target;
      LK_TRY(run_sign_in(tx, d_, *client, row, data, *state,
                         sign_in_events::FirstFactorPrepared{strategy}, in, now,
                         out.new_client_token));
    }
    if (client->sign_in_id && *client->sign_in_id != row.id) {
      LK_TRY(tx.delete_sign_in(*client->sign_in_id));
    }
    client->sign_in_id = row.id;
    return finish_mutation(tx, d_, *client, row.id, now, out);
  });
  if (!st) {
    return fail(std::move(st.error()));
  }
  d_.codes.committed();
  if (rejected) {
    return fail(std::move(*rejected));
  }
  attach_tokens(d_, out.client, caller);
  return out;
}

Result<Mutation> SignInService::prepare_first_factor(const Caller& caller, const std::string& id,
                                                     const FactorParams& params) {
  const std::int64_t now = d_.clock.now_ms();
  const StrategyFamily family = strategy_family(params.strategy);
  if (!sends_code(family) || !family_enabled(d_.settings.identifiers, family)) {
    return fail(factor_not_offered(params.strategy));
  }
  // An email link goes back to an allowed URL only (like every redirect), checked before the
  // transaction: a refused URL sends nothing and changes nothing.
  std::string link_redirect;
  if (family == StrategyFamily::kEmailLink) {
    auto r = resolve_redirect(d_, params.redirect_url, caller, "redirect_url", true);
    if (!r) {
      return fail(std::move(r.error()));
    }
    link_redirect = std::move(*r);
  }
  Mutation out;
  auto st = d_.store.transaction([&](store::Tx& tx) -> Status {
    out = Mutation{};
    auto cur = open_current<store::SignIn>(tx, d_, caller, id, now);
    if (!cur) {
      return fail(std::move(cur.error()));
    }
    store::Client* client = &cur->client;
    Loaded<store::SignIn>* a = &cur->attempt;
    const Factor* f = pick_factor(a->data, params.strategy, params.email_address_id);
    if (f == nullptr) {
      return fail(factor_not_offered(params.strategy));
    }
    const SignInState* state = &cur->state;
    const CodeTarget target{f->email, f->email_address_id, purpose_of(family), caller.remote_ip,
                            link_redirect};
    SignInInput in;
    in.factor_strategy = params.strategy;
    in.code = &target;
    LK_TRY(run_sign_in(tx, d_, *client, a->row, a->data, *state,
                       sign_in_events::FirstFactorPrepared{params.strategy}, in, now,
                       out.new_client_token));
    return finish_mutation(tx, d_, *client, id, now, out);
  });
  if (!st) {
    return fail(std::move(st.error()));
  }
  d_.codes.committed();
  attach_tokens(d_, out.client, caller);
  return out;
}

Result<Mutation> SignInService::attempt_first_factor(const Caller& caller, const std::string& id,
                                                     const FactorParams& params) {
  const std::int64_t now = d_.clock.now_ms();
  const StrategyFamily family = strategy_family(params.strategy);
  if (family != StrategyFamily::kPassword && family != StrategyFamily::kEmailCode &&
      family != StrategyFamily::kResetCode) {
    return fail(factor_not_offered(params.strategy));
  }
  if (family == StrategyFamily::kPassword ? !params.password : !params.code) {
    return fail(
        Error(Code::kFormParamMissing)
            .with_meta("param_name", family == StrategyFamily::kPassword ? "password" : "code"));
  }
  // A password is checked outside the transaction: read who the attempt is for first.
  std::optional<PasswordResult> password;
  std::string user_id;
  if (family == StrategyFamily::kPassword) {
    std::optional<Identified> who;
    bool offered = false;
    auto st = d_.store.read([&](store::Tx& tx) -> Status {
      auto cur = open_current<store::SignIn>(tx, d_, caller, id, now);
      if (!cur) {
        return fail(std::move(cur.error()));
      }
      const Loaded<store::SignIn>* a = &cur->attempt;
      offered = std::any_of(a->data.factors.begin(), a->data.factors.end(),
                            [](const Factor& f) { return f.strategy == "password"; });
      if (!a->data.user_id) {
        return {};
      }
      auto u = tx.get_user(*a->data.user_id);
      if (!u) {
        return fail(std::move(u.error()));
      }
      if (*u) {
        who = Identified{std::move(**u), {}};
      }
      return {};
    });
    if (!st) {
      return fail(std::move(st.error()));
    }
    if (!offered) {
      return fail(factor_not_offered(params.strategy));
    }
    if (!who) {
      // A decoy sign-in (enumeration protection): as costly and as wrong as a wrong password.
      d_.passwords.verify_dummy(*params.password);
      return fail(
          machine_internal::factor_error(StrategyFamily::kPassword, FactorOutcome::kIncorrect));
    }
    if (auto locked = check_not_locked(who->user, now); !locked) {
      return fail(std::move(locked.error()));
    }
    user_id = who->user.id;
    password = check_password(d_, who, *params.password);
  }

  Mutation out;
  std::optional<Error> rejected;
  auto st = d_.store.transaction([&](store::Tx& tx) -> Status {
    out = Mutation{};
    rejected.reset();
    auto cur = open_current<store::SignIn>(tx, d_, caller, id, now);
    if (!cur) {
      return fail(std::move(cur.error()));
    }
    store::Client* client = &cur->client;
    Loaded<store::SignIn>* a = &cur->attempt;
    const SignInState* state = &cur->state;
    FactorOutcome outcome = FactorOutcome::kIncorrect;
    if (password) {
      outcome = password->outcome;
    } else {
      if (!machine_internal::awaits_code(state->first_factor, family) || !a->data.first_factor) {
        // A spent code keeps answering what ended it, until a new one is prepared.
        if (state->first_factor && state->first_factor->strategy == family) {
          if (state->first_factor->status == VerificationStatus::kFailed) {
            return fail(Error(Code::kVerificationFailed));
          }
          if (state->first_factor->status == VerificationStatus::kExpired) {
            return fail(Error(Code::kVerificationExpired));
          }
        }
        return fail(Error(Code::kInvalidState, "Not prepared",
                          "Ask for a code (prepare_first_factor) before entering one.")
                        .with_meta("param_name", "strategy"));
      }
      outcome = check_code(d_, *a->data.first_factor, id, *params.code, now);
    }
    SignInInput in;
    in.factor_strategy = params.strategy;
    auto step =
        sign_in_transition(*state, sign_in_events::FirstFactorAttempted{params.strategy, outcome});
    LK_TRY(run_sign_in(tx, d_, *client, a->row, a->data, *state,
                       sign_in_events::FirstFactorAttempted{params.strategy, outcome}, in, now,
                       out.new_client_token));
    if (password) {
      LK_TRY(record_password_outcome(tx, d_, user_id, outcome, password->rehash, now));
    }
    if (step && step->effects.has(Effect::kRejectAttempt)) {
      rejected = machine_internal::factor_error(family, outcome);
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

Result<Mutation> SignInService::attempt_second_factor(const Caller& caller, const std::string& id,
                                                      const FactorParams& params) {
  const std::int64_t now = d_.clock.now_ms();
  const StrategyFamily family = strategy_family(params.strategy);
  if (family != StrategyFamily::kTotp && family != StrategyFamily::kBackupCode) {
    return fail(Error(Code::kStrategyNotAllowed, "is invalid",
                      "The strategy '" + params.strategy +
                          "' is not available for this sign-in. Use one of its supported second "
                          "factors.")
                    .with_meta("param_name", "strategy"));
  }
  if (!params.code) {
    return fail(Error(Code::kFormParamMissing).with_meta("param_name", "code"));
  }
  Mutation out;
  std::optional<Error> rejected;
  auto st = d_.store.transaction([&](store::Tx& tx) -> Status {
    out = Mutation{};
    rejected.reset();
    auto cur = open_current<store::SignIn>(tx, d_, caller, id, now);
    if (!cur) {
      return fail(std::move(cur.error()));
    }
    store::Client* client = &cur->client;
    Loaded<store::SignIn>* a = &cur->attempt;
    const SignInState* state = &cur->state;
    if (state->status != SignInStatus::kNeedsSecondFactor || !a->data.user_id) {
      return fail(Error(Code::kInvalidState, "No second factor needed",
                        "This sign-in is not waiting for a second factor.")
                      .with_meta("param_name", "strategy"));
    }
    if (state->second_factor && state->second_factor->status == VerificationStatus::kFailed) {
      return fail(Error(Code::kVerificationFailed));  // start a new sign-in
    }
    if (std::find(a->data.second_factors.begin(), a->data.second_factors.end(), params.strategy) ==
        a->data.second_factors.end()) {
      return fail(Error(Code::kStrategyNotAllowed, "is invalid",
                        "The strategy '" + params.strategy +
                            "' is not one of this account's second factors.")
                      .with_meta("param_name", "strategy"));
    }
    auto checked =
        check_second_factor(tx, d_, *a->data.user_id, params.strategy, *params.code, now);
    if (!checked) {
      return fail(std::move(checked.error()));
    }
    FactorOutcome outcome = *checked;
    // Wrong codes are counted on the attempt across strategies; the last one fails it.
    auto& v = a->data.second_factor;
    if (!v) {
      v.emplace();
    }
    if (outcome == FactorOutcome::kIncorrect && ++v->attempts >= d_.settings.mfa.max_attempts) {
      outcome = FactorOutcome::kTooManyAttempts;
    }
    SignInInput in;
    in.factor_strategy = params.strategy;
    const sign_in_events::SecondFactorAttempted event{params.strategy, outcome};
    auto step = sign_in_transition(*state, event);
    LK_TRY(run_sign_in(tx, d_, *client, a->row, a->data, *state, event, in, now,
                       out.new_client_token));
    if (step && step->effects.has(Effect::kRejectAttempt)) {
      rejected = outcome == FactorOutcome::kTooManyAttempts
                     ? Error(Code::kVerificationFailed)
                     : Error(Code::kFormCodeIncorrect).with_meta("param_name", "code");
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

Result<Mutation> SignInService::reset_password(const Caller& caller, const std::string& id,
                                               const ResetPasswordParams& params) {
  const std::int64_t now = d_.clock.now_ms();
  // The policy and the hash need no database: a refused password changes nothing.
  std::optional<std::string> digest;
  std::string email_hint;
  {
    std::optional<std::string> user_id;
    auto st = d_.store.read([&](store::Tx& tx) -> Status {
      auto cur = open_current<store::SignIn>(tx, d_, caller, id, now);
      if (!cur) {
        return fail(std::move(cur.error()));
      }
      const Loaded<store::SignIn>* a = &cur->attempt;
      email_hint = a->data.identifier.value_or("");
      return {};
    });
    if (!st) {
      return fail(std::move(st.error()));
    }
    const std::string_view inputs[] = {email_hint};
    if (auto ok = d_.passwords.check_policy(params.password, inputs); !ok) {
      return fail(std::move(ok.error()));
    }
    auto h = d_.passwords.hash(params.password);
    if (!h) {
      return fail(std::move(h.error()));
    }
    digest = std::move(*h);
  }
  Mutation out;
  auto st = d_.store.transaction([&](store::Tx& tx) -> Status {
    out = Mutation{};
    auto cur = open_current<store::SignIn>(tx, d_, caller, id, now);
    if (!cur) {
      return fail(std::move(cur.error()));
    }
    store::Client* client = &cur->client;
    Loaded<store::SignIn>* a = &cur->attempt;
    const SignInState* state = &cur->state;
    SignInInput in;
    in.new_password_digest = &*digest;
    LK_TRY(run_sign_in(tx, d_, *client, a->row, a->data, *state, sign_in_events::PasswordReset{},
                       in, now, out.new_client_token));
    if (params.sign_out_of_other_sessions && a->data.user_id) {
      auto n = d_.sessions.revoke_user_sessions(tx, *a->data.user_id,
                                                a->data.created_session_id.value_or(""), now);
      if (!n) {
        return fail(std::move(n.error()));
      }
    }
    return finish_mutation(tx, d_, *client, id, now, out);
  });
  if (!st) {
    return fail(std::move(st.error()));
  }
  attach_tokens(d_, out.client, caller);
  return out;
}

}  // namespace latchkey::flows
