#include "flows/sign_up_service.hpp"

#include "flows/detail/attempt.hpp"

namespace latchkey::flows {

using core::Code;
using core::Error;
using core::fail;
using core::Result;
using core::Status;
using namespace detail;

Result<Mutation> SignUpService::create(const Caller& caller, const SignUpParams& params) {
  const std::int64_t now = d_.clock.now_ms();
  std::string redirect_url;
  std::string action_url;
  oauth::AuthorizationRequest auth_request;
  const bool oauth = params.strategy && is_oauth_strategy(*params.strategy);
  if (params.strategy && !params.strategy->empty() && !params.transfer) {
    auto start = start_oauth(d_, caller, *params.strategy, params.redirect_url,
                             params.action_complete_redirect_url,
                             params.email_address.value_or(""));
    if (!start) {
      return fail(std::move(start.error()));
    }
    redirect_url = std::move(start->redirect_url);
    action_url = std::move(start->action_complete_redirect_url);
    auth_request = std::move(start->request);
  }
  SignUpParams fields = params;
  fields.email_address.reset();  // with an OAuth strategy it is only a login hint
  SignUpData data;
  if (auto s = apply_sign_up_fields(data, oauth ? fields : params, now); !s) {
    return fail(std::move(s.error()));
  }

  Mutation out;
  auto st = d_.store.transaction([&](store::Tx& tx) -> Status {
    out = Mutation{};
    SignUpData d = data;
    auto client = params.transfer ? d_.clients().require(tx, caller, now)
                                  : d_.clients().find_or_create(tx, caller, now, out.new_client_token);
    if (!client) {
      return fail(std::move(client.error()));
    }
    store::SignUp row;
    row.id = d_.random.id("sua");
    row.client_id = client->id;
    row.status = std::string(kMissingRequirements);
    row.abandon_at_ms = now + d_.settings.attempt_lifetime.count();
    row.created_at_ms = now;
    row.updated_at_ms = now;
    std::optional<std::string> consumed_sign_in;

    if (params.transfer) {
      // signUp.create({transfer:true}) after signIn.isTransferable.
      if (!client->sign_in_id) {
        return fail(Error(Code::kInvalidState, "Nothing to transfer",
                          "There is no sign-in on this client that can be transferred.")
                        .with_meta("param_name", "transfer"));
      }
      auto si = require(tx.get_sign_in(*client->sign_in_id), Code::kSignInNotFound);
      if (!si) {
        return fail(std::move(si.error()));
      }
      auto sid = parse_sign_in_data(si->data);
      if (!sid) {
        return fail(std::move(sid.error()));
      }
      if (!sid->identity || !sid->first_factor || sid->first_factor->status != kTransferable) {
        return fail(Error(Code::kInvalidState, "Nothing to transfer",
                          "The current sign-in is not transferable.")
                        .with_meta("param_name", "transfer"));
      }
      d.redirect_url = sid->redirect_url;
      d.action_complete_redirect_url = sid->action_complete_redirect_url;
      d.external_account = Verification{std::string(kUnverified), sid->identity->strategy, {}, {}, {}};
      LK_TRY(tx.insert_sign_up(row));
      LK_TRY(apply_sign_up_identity(tx, d_, *client, row, d, *sid->identity, now,
                                    out.new_client_token));
      consumed_sign_in = si->id;
    } else if (oauth) {
      d.redirect_url = redirect_url;
      d.action_complete_redirect_url = action_url;
      LK_TRY(tx.insert_sign_up(row));
      LK_TRY(save_oauth_state(tx, d_, *client, kSignUpType, row.id, *params.strategy, auth_request, now));
      d.external_account = Verification{std::string(kUnverified), *params.strategy,
                                        auth_request.authorization_url, {},
                                        now + d_.settings.oauth_state_lifetime.count()};
      row.data = to_json(d);
      LK_TRY(tx.update_sign_up(row));
    } else {
      row.data = to_json(d);
      LK_TRY(tx.insert_sign_up(row));
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

Result<Mutation> SignUpService::update(const Caller& caller, const std::string& id,
                                       const SignUpParams& params) {
  const std::int64_t now = d_.clock.now_ms();
  if (params.transfer) {
    return core::param_error(Code::kFormParamUnknown, "transfer", "is not allowed here",
                             "This parameter is only accepted when creating a sign-up.");
  }
  // signUp.sso() on an existing sign-up PATCHes it with the strategy (SignUpFuture.sso).
  std::string redirect_url;
  std::string action_url;
  oauth::AuthorizationRequest auth_request;
  if (params.strategy) {
    auto start = start_oauth(d_, caller, *params.strategy, params.redirect_url,
                             params.action_complete_redirect_url, {});
    if (!start) {
      return fail(std::move(start.error()));
    }
    redirect_url = std::move(start->redirect_url);
    action_url = std::move(start->action_complete_redirect_url);
    auth_request = std::move(start->request);
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
    auto row = require(tx.get_sign_up(id), Code::kSignUpNotFound);
    if (!row) {
      return fail(std::move(row.error()));
    }
    if (row->abandon_at_ms <= now) {
      return fail(Error(Code::kSignUpNotFound).with_meta("param_name", "id"));
    }
    if (row->status != kMissingRequirements) {
      return fail(Error(Code::kInvalidState, "Sign up is not in progress",
                        "This sign-up is already " + row->status + "."));
    }
    auto data = parse_sign_up_data(row->data);
    if (!data) {
      return fail(std::move(data.error()));
    }
    if (auto s = apply_sign_up_fields(*data, params, now); !s) {
      return s;
    }
    if (params.strategy) {
      if (data->identity) {
        return fail(Error(Code::kInvalidState, "Already verified",
                          "This sign-up already has a verified external account."));
      }
      LK_TRY(save_oauth_state(tx, d_, *client, kSignUpType, row->id, *params.strategy, auth_request,
                              now));
      data->redirect_url = redirect_url;
      data->action_complete_redirect_url = action_url;
      data->external_account = Verification{std::string(kUnverified), *params.strategy,
                                            auth_request.authorization_url, {},
                                            now + d_.settings.oauth_state_lifetime.count()};
      row->data = to_json(*data);
      row->updated_at_ms = now;
      LK_TRY(tx.update_sign_up(*row));
    } else if (data->external_account && data->external_account->status != kVerified) {
      // Fields may be collected, but nothing completes before the provider verified.
      row->data = to_json(*data);
      row->updated_at_ms = now;
      LK_TRY(tx.update_sign_up(*row));
    } else {
      LK_TRY(try_complete_sign_up(tx, d_, *client, *row, *data, now, out.new_client_token));
    }
    client->updated_at_ms = now;
    LK_TRY(tx.update_client(*client));
    auto view = load_view(tx, d_, *client, now);
    if (!view) {
      return fail(std::move(view.error()));
    }
    out.client = std::move(*view);
    out.resource_id = id;
    return {};
  });
  if (!st) {
    return fail(std::move(st.error()));
  }
  attach_tokens(d_, out.client, caller);
  return out;
}

}  // namespace latchkey::flows
