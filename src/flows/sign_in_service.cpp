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
  // Validate everything that needs no database first: bad input changes nothing.
  std::string redirect_url;
  std::string action_url;
  oauth::AuthorizationRequest auth_request;
  const bool oauth = params.strategy && is_oauth_strategy(*params.strategy);
  if (!params.transfer) {
    if (params.strategy && !params.strategy->empty()) {
      auto start = start_oauth(d_, caller, *params.strategy, params.redirect_url,
                               params.action_complete_redirect_url,
                               params.identifier.value_or(""));
      if (!start) {
        return fail(std::move(start.error()));
      }
      redirect_url = std::move(start->redirect_url);
      action_url = std::move(start->action_complete_redirect_url);
      auth_request = std::move(start->request);
    } else if (params.identifier) {
      // Only OAuth strategies are enabled: identifiers (email/password, codes) are not.
      return core::param_error(Code::kStrategyNotAllowed, "identifier", "is invalid",
                               "Signing in with an identifier is not enabled for this "
                               "application. Use one of the enabled social connections.");
    }
  }

  Mutation out;
  auto st = d_.store.transaction([&](store::Tx& tx) -> Status {
    out = Mutation{};
    auto client = params.transfer ? d_.clients().require(tx, caller, now)
                                  : d_.clients().find_or_create(tx, caller, now, out.new_client_token);
    if (!client) {
      return fail(std::move(client.error()));
    }
    store::SignIn row;
    row.id = d_.random.id("sia");
    row.client_id = client->id;
    row.abandon_at_ms = now + d_.settings.attempt_lifetime.count();
    row.created_at_ms = now;
    row.updated_at_ms = now;
    SignInData data;

    if (params.transfer) {
      // signIn.create({transfer:true}) after signUp.isTransferable: the sign-up found an
      // external account that already exists.
      if (!client->sign_up_id) {
        return fail(Error(Code::kInvalidState, "Nothing to transfer",
                          "There is no sign-up on this client that can be transferred.")
                        .with_meta("param_name", "transfer"));
      }
      auto su = require(tx.get_sign_up(*client->sign_up_id), Code::kSignUpNotFound);
      if (!su) {
        return fail(std::move(su.error()));
      }
      auto sud = parse_sign_up_data(su->data);
      if (!sud) {
        return fail(std::move(sud.error()));
      }
      if (!sud->identity || !sud->external_account ||
          sud->external_account->status != kTransferable) {
        return fail(Error(Code::kInvalidState, "Nothing to transfer",
                          "The current sign-up is not transferable.")
                        .with_meta("param_name", "transfer"));
      }
      auto resolution = resolve_identity(tx, d_, *sud->identity);
      if (!resolution) {
        return fail(std::move(resolution.error()));
      }
      if (resolution->refusal || !resolution->user_id) {
        return fail(resolution->refusal.value_or(Error(Code::kExternalAccountNotFound)));
      }
      data.strategy = sud->identity->strategy;
      data.redirect_url = sud->redirect_url;
      data.action_complete_redirect_url = sud->action_complete_redirect_url;
      data.first_factor = Verification{std::string(kUnverified), sud->identity->strategy, {}, {}, {}};
      row.status = std::string(kNeedsFirstFactor);
      LK_TRY(tx.insert_sign_in(row));
      auto done = finish_sign_in(tx, d_, *client, row, data, *sud->identity, *resolution, now,
                                 out.new_client_token);
      if (!done) {
        return fail(std::move(done.error()));
      }
      client->sign_up_id.reset();
      LK_TRY(tx.delete_sign_up(su->id));
    } else if (oauth) {
      data.strategy = *params.strategy;
      data.identifier = params.identifier;
      data.redirect_url = redirect_url;
      data.action_complete_redirect_url = action_url;
      row.status = std::string(kNeedsFirstFactor);
      LK_TRY(tx.insert_sign_in(row));  // the state row references the attempt
      LK_TRY(save_oauth_state(tx, d_, *client, kSignInType, row.id, *params.strategy, auth_request, now));
      data.first_factor = Verification{std::string(kUnverified), *params.strategy,
                                       auth_request.authorization_url, {},
                                       now + d_.settings.oauth_state_lifetime.count()};
    } else {
      row.status = std::string(kNeedsIdentifier);
      LK_TRY(tx.insert_sign_in(row));
    }
    row.data = to_json(data);
    row.updated_at_ms = now;
    LK_TRY(tx.update_sign_in(row));
    // The previous attempt is replaced (SDK: a sign_in with a new id replaces the old one).
    if (client->sign_in_id && *client->sign_in_id != row.id) {
      LK_TRY(tx.delete_sign_in(*client->sign_in_id));
    }
    client->sign_in_id = row.id;
    client->updated_at_ms = now;
    LK_TRY(tx.update_client(*client));
    auto view = load_view(tx, d_, *client, now);
    if (!view) {
      return fail(std::move(view.error()));
    }
    out.client = std::move(*view);
    out.resource_id = row.id;
    return {};
  });
  if (!st) {
    return fail(std::move(st.error()));
  }
  attach_tokens(d_, out.client, caller);
  return out;
}

}  // namespace latchkey::flows
