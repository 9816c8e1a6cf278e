#include "flows/sign_in_service.hpp"

#include "flows/detail/attempt.hpp"

namespace latchkey::flows {

using core::Code;
using core::Error;
using core::fail;
using core::Result;
using core::Status;
using namespace detail;

Result<Mutation> SignInService::create(const Caller& caller, const SignInParams& params) {
  const std::int64_t now = d_.clock.now_ms();
  const std::string strategy = params.strategy.value_or("");
  const StrategyFamily family = strategy_family(strategy);
  if (!params.transfer && family != StrategyFamily::kOAuth &&
      (family != StrategyFamily::kNone || params.password || params.identifier)) {
    return create_with_identifier(caller, params);
  }
  const sign_in_events::Started started{strategy, params.identifier.has_value(),
                                        IdentifierLookup::kNotEnabled};
  // Validate everything that needs no database first: bad input changes nothing.
  std::optional<OAuthStart> start;
  if (!params.transfer) {
    if (!strategy.empty()) {
      auto s = start_oauth(d_, caller, strategy, params.redirect_url,
                           params.action_complete_redirect_url, params.identifier.value_or(""));
      if (!s) {
        return fail(std::move(s.error()));
      }
      start = std::move(*s);
    }
    // The machine refuses what no enabled strategy accepts (an identifier: only OAuth is on).
    if (auto t = sign_in_transition({}, started); !t) {
      return fail(std::move(t.error()));
    }
  }

  Mutation out;
  auto st = d_.store.transaction([&](store::Tx& tx) -> Status {
    out = Mutation{};
    auto client = params.transfer
                      ? d_.clients().require(tx, caller, now)
                      : d_.clients().find_or_create(tx, caller, now, out.new_client_token);
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

    if (params.transfer) {
      // signIn.create({transfer:true}) after signUp.isTransferable: the sign-up found an
      // external account that already exists.
      auto su = transferable_sign_up(tx, *client);
      if (!su) {
        return fail(std::move(su.error()));
      }
      const PendingIdentity& identity = *su->data.identity;
      auto facts = sign_in_facts(tx, d_, *client, identity, now);
      if (!facts) {
        return fail(std::move(facts.error()));
      }
      data.strategy = identity.strategy;
      data.redirect_url = su->data.redirect_url;
      data.action_complete_redirect_url = su->data.action_complete_redirect_url;
      LK_TRY(tx.insert_sign_in(row));
      LK_TRY(run_sign_in(tx, d_, *client, row, data, {},
                         sign_in_events::TransferredFromSignUp{identity.strategy, facts->outcome},
                         {.identity = &identity, .facts = &*facts}, now, out.new_client_token));
      client->sign_up_id.reset();
      LK_TRY(tx.delete_sign_up(su->row.id));
    } else {
      data.strategy = strategy;
      data.identifier = params.identifier;
      LK_TRY(tx.insert_sign_in(row));  // the state row references the attempt
      LK_TRY(run_sign_in(tx, d_, *client, row, data, {}, started,
                         {.redirect = {strategy, start ? &*start : nullptr}}, now,
                         out.new_client_token));
    }
    // The previous attempt is replaced (SDK: a sign_in with a new id replaces the old one).
    if (client->sign_in_id && *client->sign_in_id != row.id) {
      LK_TRY(tx.delete_sign_in(*client->sign_in_id));
    }
    client->sign_in_id = row.id;
    return finish_mutation(tx, d_, *client, row.id, now, out);
  });
  if (!st) {
    return fail(std::move(st.error()));
  }
  attach_tokens(d_, out.client, caller);
  return out;
}

}  // namespace latchkey::flows
