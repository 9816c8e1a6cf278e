#include "flows/sign_up_service.hpp"

#include <algorithm>

#include "flows/detail/attempt.hpp"
#include "flows/policy.hpp"

namespace latchkey::flows {

using core::Code;
using core::Error;
using core::fail;
using core::Result;
using core::Status;
using namespace detail;

namespace {

bool bypassed(const CaptchaSettings& c, std::string_view strategy) {
  return std::find(c.oauth_bypass.begin(), c.oauth_bypass.end(), strategy) != c.oauth_bypass.end();
}

Error captcha_refused(std::string why) {
  return Error(Code::kCaptchaInvalid).with_internal(std::move(why));
}

}  // namespace

// Bot protection (part2 §8), before anything is written: the widget's error is a failure; a token
// is verified (single-use) wherever it comes; without one, only a bypassed OAuth strategy passes
// (a transfer's strategy is known only in the transaction: *needs_transfer_check).
Status SignUpService::check_captcha(const Caller& caller, const SignUpParams& params,
                                    bool& needs_transfer_check) {
  needs_transfer_check = false;
  const CaptchaSettings& c = d_.settings.captcha;
  if (!c.enabled) {
    return {};
  }
  // Test mode: a valid testing token lifts bot protection for this request (Clerk's testing
  // tokens); an invalid one, or any with test mode off, is ignored and the captcha is required.
  if (params.testing_token && d_.testing_tokens != nullptr &&
      d_.testing_tokens->verify(*params.testing_token, d_.clock.now_ms())) {
    return {};
  }
  if (params.captcha_error) {
    return fail(Error(Code::kCaptchaInvalid)
                    .with_meta("captcha_error", *params.captcha_error)
                    .with_internal("the widget failed: " + *params.captcha_error));
  }
  if (params.captcha_token && !params.captcha_token->empty()) {
    if (d_.captcha == nullptr) {
      return fail(Error(Code::kInternal).with_internal("bot protection on, no verifier"));
    }
    return d_.captcha->verify(*params.captcha_token, caller.remote_ip);
  }
  if (params.transfer) {
    needs_transfer_check = true;
    return {};
  }
  if (params.strategy && is_oauth_strategy(*params.strategy) && bypassed(c, *params.strategy)) {
    return {};
  }
  return fail(captcha_refused("no captcha_token"));
}

Result<Mutation> SignUpService::create(const Caller& caller, const SignUpParams& params) {
  bool check_transfer_strategy = false;
  if (auto c = check_captcha(caller, params, check_transfer_strategy); !c) {
    return fail(std::move(c.error()));
  }
  const std::int64_t now = d_.clock.now_ms();
  const std::string strategy = params.transfer ? std::string() : params.strategy.value_or("");
  std::optional<OAuthStart> start;
  // signUp.password() sends strategy=password: no provider round trip (the machine's Started).
  const bool password = strategy == "password" && d_.settings.identifiers.password;
  if (!strategy.empty() && !password) {
    auto s = start_oauth(d_, caller, strategy, params.redirect_url,
                         params.action_complete_redirect_url, params.email_address.value_or(""));
    if (!s) {
      return fail(std::move(s.error()));
    }
    start = std::move(*s);
  }
  SignUpParams fields = params;
  fields.email_address.reset();  // with an OAuth strategy it is only a login hint
  SignUpData data;
  const bool oauth = params.strategy && is_oauth_strategy(*params.strategy);
  if (auto s = apply_sign_up_fields(data, oauth ? fields : params, d_.settings.identifiers, now);
      !s) {
    return fail(std::move(s.error()));
  }
  auto digest = hash_password(params, data, oauth || params.transfer);
  if (!digest) {
    return fail(std::move(digest.error()));
  }
  data.password_digest = std::move(*digest);

  Mutation out;
  auto st = d_.store.transaction([&](store::Tx& tx) -> Status {
    out = Mutation{};
    SignUpData d = data;
    auto client = params.transfer
                      ? d_.clients().require(tx, caller, now)
                      : d_.clients().find_or_create(tx, caller, now, out.new_client_token);
    if (!client) {
      return fail(std::move(client.error()));
    }
    store::SignUp row;
    row.id = d_.random.id("sua");
    row.client_id = client->id;
    row.status = std::string(to_wire(SignUpStatus::kMissingRequirements));  // set by the machine
    row.abandon_at_ms = now + d_.settings.attempt_lifetime.count();
    row.created_at_ms = now;
    row.updated_at_ms = now;
    std::optional<std::string> consumed_sign_in;

    if (params.transfer) {
      // signUp.create({transfer:true}) after signIn.isTransferable.
      auto si = transferable_sign_in(tx, *client);
      if (!si) {
        return fail(std::move(si.error()));
      }
      const PendingIdentity& identity = *si->data.identity;
      if (check_transfer_strategy && !bypassed(d_.settings.captcha, identity.strategy)) {
        return fail(captcha_refused("transfer from " + identity.strategy + " without a token"));
      }
      auto resolution = resolve_identity(tx, d_, identity);
      if (!resolution) {
        return fail(std::move(resolution.error()));
      }
      d.redirect_url = si->data.redirect_url;
      d.action_complete_redirect_url = si->data.action_complete_redirect_url;
      LK_TRY(tx.insert_sign_up(row));
      LK_TRY(run_sign_up(
          tx, d_, *client, row, d, {},
          sign_up_events::TransferredFromSignIn{identity.strategy, identity_match(*resolution),
                                                completes_with(d_, d, identity)},
          {.identity = &identity, .resolution = &*resolution}, now, out.new_client_token));
      consumed_sign_in = si->row.id;
    } else {
      if (d.email_address && !oauth && !d_.settings.identifiers.enumeration_protection) {
        // Taken already: say so now rather than after the code (Clerk's form_identifier_exists).
        auto taken = tx.find_email_address(*d.email_address);
        if (!taken) {
          return fail(std::move(taken.error()));
        }
        if (*taken) {
          return fail(Error(Code::kFormIdentifierExists).with_meta("param_name", "email_address"));
        }
      }
      LK_TRY(tx.insert_sign_up(row));  // the state row references the attempt
      LK_TRY(run_sign_up(tx, d_, *client, row, d, {}, sign_up_events::Started{strategy},
                         {.redirect = {strategy, start ? &*start : nullptr}}, now,
                         out.new_client_token));
    }
    if (client->sign_up_id && *client->sign_up_id != row.id) {
      LK_TRY(tx.delete_sign_up(*client->sign_up_id));
    }
    client->sign_up_id = row.id;
    if (consumed_sign_in) {
      // The identity moved to the sign-up; the transferable sign-in must not be reused.
      client->sign_in_id.reset();
      LK_TRY(tx.delete_sign_in(*consumed_sign_in));
    }
    return finish_mutation(tx, d_, *client, row.id, now, out);
  });
  if (!st) {
    return fail(std::move(st.error()));
  }
  attach_tokens(d_, out.client, caller);
  return out;
}

Result<Mutation> SignUpService::update(const Caller& caller, const std::string& id,
                                       const SignUpParams& params) {
  const std::int64_t now = d_.clock.now_ms();
  if (params.transfer) {
    return core::param_error(Code::kFormParamUnknown, "transfer", "is not allowed here",
                             "This parameter is only accepted when creating a sign-up.");
  }
  std::optional<std::string> digest;
  if (params.password) {
    auto h = hash_password(params, SignUpData{}, false);
    if (!h) {
      return fail(std::move(h.error()));
    }
    digest = std::move(*h);
  }
  // signUp.sso() on an existing sign-up PATCHes it with the strategy (SignUpFuture.sso).
  std::optional<OAuthStart> start;
  if (params.strategy) {
    auto s = start_oauth(d_, caller, *params.strategy, params.redirect_url,
                         params.action_complete_redirect_url, {});
    if (!s) {
      return fail(std::move(s.error()));
    }
    start = std::move(*s);
  }
  Mutation out;
  auto st = d_.store.transaction([&](store::Tx& tx) -> Status {
    out = Mutation{};
    auto client = d_.clients().require(tx, caller, now);
    if (!client) {
      return fail(std::move(client.error()));
    }
    if (!client->sign_up_id || *client->sign_up_id != id) {
      return fail(Error(Code::kSignUpNotFound).with_meta("param_name", "id"));
    }
    auto a = load_attempt<store::SignUp>(tx, id);
    if (!a) {
      return fail(std::move(a.error()));
    }
    if (a->row.abandon_at_ms <= now) {
      return fail(Error(Code::kSignUpNotFound).with_meta("param_name", "id"));
    }
    auto state = load_sign_up_state(a->row.status, a->data);
    if (!state) {
      return fail(std::move(state.error()));
    }
    // A sign-up no longer in progress is refused before its fields are looked at (the machine's
    // refusal is the same for both PATCH events; the call is pure).
    if (state->status != SignUpStatus::kMissingRequirements) {
      return fail(sign_up_transition(*state, sign_up_events::FieldsUpdated{}).error());
    }
    const std::optional<std::string> address_before = a->data.email_address;
    if (auto s = apply_sign_up_fields(a->data, params, d_.settings.identifiers, now); !s) {
      return s;
    }
    if (a->data.identity && a->data.email_address && a->data.email_address != address_before &&
        !d_.settings.identifiers.enumeration_protection) {
      // An address added to a social sign-up whose provider gave none: taken already is said
      // now, as at create (with enumeration protection its owner gets a notice instead).
      auto taken = tx.find_email_address(*a->data.email_address);
      if (!taken) {
        return fail(std::move(taken.error()));
      }
      if (*taken) {
        return fail(Error(Code::kFormIdentifierExists).with_meta("param_name", "email_address"));
      }
    }
    if (digest) {
      if (a->data.identity) {
        return core::param_error(Code::kFormParamUnknown, "password", "is not allowed here",
                                 "A sign-up with a social connection takes no password.");
      }
      a->data.password_digest = digest;
    }
    // The fields may have replaced the address (and with it its verification).
    state = load_sign_up_state(a->row.status, a->data);
    if (!state) {
      return fail(std::move(state.error()));
    }
    const SignUpEvent event =
        params.strategy ? SignUpEvent(sign_up_events::OAuthStarted{*params.strategy})
                        : SignUpEvent(sign_up_events::FieldsUpdated{nothing_left(d_, a->data)});
    SignUpInput in;
    if (params.strategy) {
      in.redirect = {*params.strategy, &*start};
    }
    LK_TRY(run_sign_up(tx, d_, *client, a->row, a->data, *state, event, in, now,
                       out.new_client_token));
    return finish_mutation(tx, d_, *client, id, now, out);
  });
  if (!st) {
    return fail(std::move(st.error()));
  }
  attach_tokens(d_, out.client, caller);
  return out;
}

Result<std::optional<std::string>> SignUpService::hash_password(const SignUpParams& params,
                                                                const SignUpData& data,
                                                                bool oauth) {
  if (!params.password) {
    return std::optional<std::string>();
  }
  if (!d_.settings.identifiers.password || oauth) {
    return core::param_error(Code::kFormParamUnknown, "password", "is not allowed here",
                             oauth ? "A sign-up with a social connection takes no password."
                                   : "Passwords are not enabled for this application.");
  }
  std::vector<std::string_view> inputs;
  for (const auto* v : {&data.email_address, &data.first_name, &data.last_name, &data.username}) {
    if (*v) {
      inputs.emplace_back(**v);
    }
  }
  if (auto ok = d_.passwords.check_policy(*params.password, inputs); !ok) {
    return fail(std::move(ok.error()));
  }
  auto h = d_.passwords.hash(*params.password);
  if (!h) {
    return fail(std::move(h.error()));
  }
  return std::optional<std::string>(std::move(*h));
}

}  // namespace latchkey::flows
