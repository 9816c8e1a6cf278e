#include "flows/frontend_service.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>

#include "crypto/jws.hpp"
#include "flows/policy.hpp"

namespace latchkey::flows {
namespace {

using core::Code;
using core::Error;
using core::fail;
using core::Result;
using core::Status;

constexpr std::string_view kSignInType = "sign_in";
constexpr std::string_view kSignUpType = "sign_up";

std::string to_hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xF]);
  }
  return out;
}

bool is_live(const store::Session& s, std::int64_t now) {
  return (s.status == "active" || s.status == "pending") && s.expire_at_ms > now &&
         s.abandon_at_ms > now;
}

std::optional<std::string> non_empty(const std::string& s) {
  if (s.empty()) {
    return std::nullopt;
  }
  return s;
}

std::string lower_ascii(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// A strategy is an OAuth strategy name of the catalog's shape.
bool is_oauth_strategy(std::string_view s) { return s.starts_with("oauth_"); }

Error attempt_not_found(Code code, std::string_view param) {
  return Error(code).with_meta("param_name", std::string(param));
}

// Propagate a store error or a missing row as `missing`.
template <typename T>
Result<T> require(Result<std::optional<T>> r, Code missing) {
  if (!r) {
    return fail(std::move(r.error()));
  }
  if (!r->has_value()) {
    return fail(Error(missing));
  }
  return std::move(**r);
}

#define LK_TRY(expr)                       \
  do {                                     \
    auto lk_status_ = (expr);              \
    if (!lk_status_) {                     \
      return fail(std::move(lk_status_.error())); \
    }                                      \
  } while (false)

}  // namespace

const SessionView* ClientView::find_session(std::string_view id) const {
  for (const auto& s : sessions) {
    if (s.session.id == id) {
      return &s;
    }
  }
  return nullptr;
}

FrontendService::FrontendService(FrontendSettings settings, store::Store& store,
                                 oauth::Service& oauth, const crypto::Sealer& sealer,
                                 const core::Clock& clock, core::Random& random)
    : settings_(std::move(settings)),
      store_(store),
      oauth_(oauth),
      sealer_(sealer),
      clock_(clock),
      random_(random) {}

std::string FrontendService::hash_client_token(std::string_view token) {
  return to_hex(crypto::sha256(token));
}

// ---- clients ---------------------------------------------------------------------------------

Result<std::optional<store::Client>> FrontendService::find_client(store::Tx& tx,
                                                                   const Caller& caller,
                                                                   std::int64_t now) {
  if (caller.ambiguous_client_cookie || !caller.client_token || caller.client_token->empty() ||
      caller.client_token->size() > 256) {
    return std::optional<store::Client>();
  }
  const std::string hash = hash_client_token(*caller.client_token);
  auto c = tx.find_client_by_cookie_hash(hash);
  if (!c) {
    return fail(std::move(c.error()));
  }
  if (*c) {
    if ((*c)->expire_at_ms <= now) {
      return std::optional<store::Client>();
    }
    return std::move(*c);
  }
  // A credential this client had before its last rotation (docs/security.md "Client
  // credential"). It reveals nothing and mints nothing, and the request must not create a client
  // either: its Set-Cookie would overwrite the new credential of a browser whose request merely
  // raced the rotation. The SDK answers a 401 by re-reading the client with the cookie it has now
  // (Clerk.handleUnauthenticated), which keeps the user signed in.
  auto stale = tx.find_client_by_previous_cookie_hash(hash);
  if (!stale) {
    return fail(std::move(stale.error()));
  }
  if (*stale && (*stale)->previous_cookie_valid_until_ms > now && (*stale)->expire_at_ms > now) {
    return fail(Error(Code::kAuthenticationInvalid, "Client credential replaced",
                      "This browser's client credential was replaced by a newer one. Retry the "
                      "request.")
                    .with_internal("reason=stale_client_credential: rotated-out __client value"));
  }
  return std::optional<store::Client>();
}

std::string FrontendService::rotate_credential(store::Client& client, std::int64_t now) {
  std::string token = random_.token(32);
  client.previous_cookie_token_hash = std::move(client.cookie_token_hash);
  client.previous_cookie_valid_until_ms = now + settings_.client_rotation_grace.count();
  client.cookie_token_hash = hash_client_token(token);
  client.updated_at_ms = now;
  return token;
}

Result<store::Client> FrontendService::require_client(store::Tx& tx, const Caller& caller,
                                                      std::int64_t now) {
  auto c = find_client(tx, caller, now);
  if (!c) {
    return fail(std::move(c.error()));
  }
  if (!*c) {
    return fail(Error(Code::kClientNotFound));
  }
  return std::move(**c);
}

Result<store::Client> FrontendService::find_or_create_client(store::Tx& tx, const Caller& caller,
                                                             std::int64_t now,
                                                             std::optional<std::string>& new_token) {
  auto found = find_client(tx, caller, now);
  if (!found) {
    return fail(std::move(found.error()));
  }
  if (*found) {
    return std::move(**found);
  }
  store::Client client;
  client.id = random_.id("client");
  std::string token = random_.token(32);
  client.cookie_token_hash = hash_client_token(token);
  client.expire_at_ms = now + settings_.client_lifetime.count();
  client.created_at_ms = now;
  client.updated_at_ms = now;
  LK_TRY(tx.insert_client(client));
  new_token = std::move(token);
  return client;
}

Result<std::vector<store::Session>> FrontendService::live_sessions(store::Tx& tx,
                                                                   const std::string& client_id,
                                                                   std::int64_t now) {
  auto all = tx.list_sessions_by_client(client_id);
  if (!all) {
    return fail(std::move(all.error()));
  }
  std::vector<store::Session> out;
  for (auto& s : *all) {
    if (is_live(s, now)) {
      out.push_back(std::move(s));
    }
  }
  return out;
}

Result<ClientView> FrontendService::load_view(store::Tx& tx, const store::Client& client,
                                              std::int64_t now) {
  ClientView view;
  view.client = client;
  auto sessions = live_sessions(tx, client.id, now);
  if (!sessions) {
    return fail(std::move(sessions.error()));
  }
  for (auto& s : *sessions) {
    SessionView sv;
    auto user = require(tx.get_user(s.user_id), Code::kInternal);
    if (!user) {
      return fail(std::move(user.error()));
    }
    sv.user.user = std::move(*user);
    auto emails = tx.list_email_addresses(s.user_id);
    if (!emails) {
      return fail(std::move(emails.error()));
    }
    sv.user.emails = std::move(*emails);
    auto accounts = tx.list_external_accounts(s.user_id);
    if (!accounts) {
      return fail(std::move(accounts.error()));
    }
    sv.user.accounts = std::move(*accounts);
    sv.session = std::move(s);
    view.sessions.push_back(std::move(sv));
  }
  if (view.client.last_active_session_id &&
      view.find_session(*view.client.last_active_session_id) == nullptr) {
    view.client.last_active_session_id.reset();
  }
  if (client.sign_in_id) {
    auto si = tx.get_sign_in(*client.sign_in_id);
    if (!si) {
      return fail(std::move(si.error()));
    }
    if (*si && (*si)->abandon_at_ms > now) {
      auto data = parse_sign_in_data((*si)->data);
      if (!data) {
        return fail(std::move(data.error()));
      }
      view.sign_in = std::move(**si);
      view.sign_in_data = std::move(*data);
    }
  }
  if (client.sign_up_id) {
    auto su = tx.get_sign_up(*client.sign_up_id);
    if (!su) {
      return fail(std::move(su.error()));
    }
    if (*su && (*su)->abandon_at_ms > now) {
      auto data = parse_sign_up_data((*su)->data);
      if (!data) {
        return fail(std::move(data.error()));
      }
      view.sign_up = std::move(**su);
      view.sign_up_data = std::move(*data);
    }
  }
  return view;
}

Result<std::optional<ClientView>> FrontendService::get_client(const Caller& caller) {
  const std::int64_t now = clock_.now_ms();
  std::optional<ClientView> out;
  auto st = store_.read([&](store::Tx& tx) -> Status {
    auto c = find_client(tx, caller, now);
    if (!c && c.error().code == Code::kAuthenticationInvalid) {
      // A stale copy reads as "no client" (nothing revealed, nothing created). Not a 401: the
      // SDK answers a 401 by reading the client again, which would loop for a browser that really
      // lost its new credential; "no client" signs it out locally instead. A tab that merely
      // raced the rotation reads the client with the new cookie, which its jar holds by then.
      return {};
    }
    if (!c) {
      return fail(std::move(c.error()));
    }
    if (!*c) {
      return {};
    }
    auto v = load_view(tx, **c, now);
    if (!v) {
      return fail(std::move(v.error()));
    }
    out = std::move(*v);
    return {};
  });
  if (!st) {
    return fail(std::move(st.error()));
  }
  return out;
}

// ---- redirects and OAuth start ----------------------------------------------------------------

Result<std::string> FrontendService::resolve_redirect(const std::optional<std::string>& url,
                                                      const Caller& caller,
                                                      std::string_view param, bool required) {
  if (!url || url->empty()) {
    if (required) {
      return core::param_error(Code::kFormParamMissing, std::string(param), "is missing",
                               std::string(param) + " is required.");
    }
    return std::string();
  }
  const std::string& base = caller.origin.empty() ? settings_.public_origin : caller.origin;
  return resolve_redirect_url(*url, base, settings_.allowed_origins, param);
}

Result<FrontendService::OAuthStart> FrontendService::start_oauth(
    const Caller& caller, const std::string& strategy,
    const std::optional<std::string>& redirect_url, const std::optional<std::string>& action_url,
    std::string_view login_hint) {
  if (!is_oauth_strategy(strategy) || oauth_.find(strategy) == nullptr) {
    return core::param_error(Code::kStrategyNotAllowed, "strategy", "is invalid",
                             "The strategy '" + strategy +
                                 "' is not enabled for this application.");
  }
  OAuthStart out;
  auto r = resolve_redirect(redirect_url, caller, "redirect_url", true);
  if (!r) {
    return fail(std::move(r.error()));
  }
  out.redirect_url = std::move(*r);
  auto a = resolve_redirect(action_url, caller, "action_complete_redirect_url", false);
  if (!a) {
    return fail(std::move(a.error()));
  }
  out.action_complete_redirect_url = std::move(*a);
  auto req = oauth_.begin(strategy, settings_.callback_url, login_hint);
  if (!req) {
    return fail(std::move(req.error()));
  }
  out.request = std::move(*req);
  return out;
}

Status FrontendService::save_oauth_state(store::Tx& tx, const store::Client& client,
                                         std::string_view attempt_type,
                                         const std::string& attempt_id,
                                         const std::string& strategy,
                                         const oauth::AuthorizationRequest& req,
                                         std::int64_t now) {
  store::OAuthState st;
  st.state_hash = hash_client_token(req.state);
  st.client_id = client.id;
  st.attempt_type = std::string(attempt_type);
  st.attempt_id = attempt_id;
  st.strategy = strategy;
  // The PKCE verifier is a credential for the code: sealed at rest, bound to this state row.
  boost::json::object data{
      {"code_verifier_enc", sealer_.seal(req.code_verifier, "pkce:" + st.state_hash)},
      {"nonce", req.nonce},
      {"redirect_uri", settings_.callback_url}};
  st.data = boost::json::serialize(data);
  st.expire_at_ms = now + settings_.oauth_state_lifetime.count();
  st.created_at_ms = now;
  return tx.insert_oauth_state(st);
}

// ---- sign-in ----------------------------------------------------------------------------------

Result<Mutation> FrontendService::create_sign_in(const Caller& caller, const SignInParams& params) {
  const std::int64_t now = clock_.now_ms();
  // Validate everything that needs no database first: bad input changes nothing.
  std::string redirect_url;
  std::string action_url;
  oauth::AuthorizationRequest auth_request;
  const bool oauth = params.strategy && is_oauth_strategy(*params.strategy);
  if (!params.transfer) {
    if (params.strategy && !params.strategy->empty()) {
      auto start = start_oauth(caller, *params.strategy, params.redirect_url,
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
  auto st = store_.transaction([&](store::Tx& tx) -> Status {
    out = Mutation{};
    auto client = params.transfer ? require_client(tx, caller, now)
                                  : find_or_create_client(tx, caller, now, out.new_client_token);
    if (!client) {
      return fail(std::move(client.error()));
    }
    store::SignIn row;
    row.id = random_.id("sia");
    row.client_id = client->id;
    row.abandon_at_ms = now + settings_.attempt_lifetime.count();
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
      auto resolution = resolve_identity(tx, *sud->identity);
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
      auto done = finish_sign_in(tx, *client, row, data, *sud->identity, *resolution, now,
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
      LK_TRY(save_oauth_state(tx, *client, kSignInType, row.id, *params.strategy, auth_request, now));
      data.first_factor = Verification{std::string(kUnverified), *params.strategy,
                                       auth_request.authorization_url, {},
                                       now + settings_.oauth_state_lifetime.count()};
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
    auto view = load_view(tx, *client, now);
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
  return out;
}

// GET of the client's current sign-in or sign-up (a reload): only the current attempt is visible.
Result<Mutation> FrontendService::get_attempt(const Caller& caller, const std::string& id,
                                              bool sign_up) {
  const std::int64_t now = clock_.now_ms();
  Mutation out;
  auto st = store_.read([&](store::Tx& tx) -> Status {
    auto client = require_client(tx, caller, now);
    if (!client) {
      return fail(std::move(client.error()));
    }
    auto view = load_view(tx, *client, now);
    if (!view) {
      return fail(std::move(view.error()));
    }
    const bool current = sign_up ? view->sign_up && view->sign_up->id == id
                                 : view->sign_in && view->sign_in->id == id;
    if (!current) {
      return fail(attempt_not_found(sign_up ? Code::kSignUpNotFound : Code::kSignInNotFound, "id"));
    }
    out.client = std::move(*view);
    out.resource_id = id;
    return {};
  });
  if (!st) {
    return fail(std::move(st.error()));
  }
  return out;
}

Result<Mutation> FrontendService::get_sign_in(const Caller& caller, const std::string& id) {
  return get_attempt(caller, id, false);
}

Result<Mutation> FrontendService::get_sign_up(const Caller& caller, const std::string& id) {
  return get_attempt(caller, id, true);
}

Result<FrontendService::Resolution> FrontendService::resolve_identity(
    store::Tx& tx, const PendingIdentity& identity) {
  Resolution r;
  auto account = tx.find_external_account(identity.strategy, identity.provider_user_id);
  if (!account) {
    return fail(std::move(account.error()));
  }
  if (*account) {
    r.user_id = (*account)->user_id;
    r.existing_account = std::move(**account);
    return r;
  }
  if (identity.email.empty()) {
    return r;  // unknown: transferable
  }
  auto address = tx.find_email_address(identity.email);
  if (!address) {
    return fail(std::move(address.error()));
  }
  if (!*address) {
    return r;  // unknown: transferable
  }
  const oauth::Provider* provider = oauth_.find(identity.strategy);
  const bool trusted = provider != nullptr && provider->trust_email_verified;
  if (decide_link(identity.email_verified, trusted, (*address)->verified) == LinkDecision::kLink) {
    r.user_id = (*address)->user_id;
    r.link_by_email = true;
  } else {
    r.refusal = Error(Code::kExternalAccountEmailUnverified);
  }
  return r;
}

Status FrontendService::refresh_external_account(store::Tx& tx, store::ExternalAccount account,
                                                 const PendingIdentity& identity,
                                                 std::int64_t now) {
  account.email = non_empty(identity.email);
  account.email_verified = identity.email_verified;
  account.first_name = non_empty(identity.first_name);
  account.last_name = non_empty(identity.last_name);
  account.image_url = non_empty(identity.image_url);
  account.username = non_empty(identity.username);
  account.approved_scopes = identity.approved_scopes;
  account.access_token_enc = non_empty(identity.access_token_enc);
  account.refresh_token_enc = non_empty(identity.refresh_token_enc);
  account.updated_at_ms = now;
  return tx.update_external_account(account);
}

Status FrontendService::link_external_account(store::Tx& tx, const std::string& user_id,
                                              const PendingIdentity& identity, std::int64_t now) {
  store::ExternalAccount a;
  a.id = random_.id("eac");
  a.user_id = user_id;
  a.provider = identity.strategy;
  a.provider_user_id = identity.provider_user_id;
  a.email = non_empty(identity.email);
  a.email_verified = identity.email_verified;
  a.first_name = non_empty(identity.first_name);
  a.last_name = non_empty(identity.last_name);
  a.image_url = non_empty(identity.image_url);
  a.username = non_empty(identity.username);
  a.approved_scopes = identity.approved_scopes;
  a.access_token_enc = non_empty(identity.access_token_enc);
  a.refresh_token_enc = non_empty(identity.refresh_token_enc);
  a.created_at_ms = now;
  a.updated_at_ms = now;
  return tx.insert_external_account(a);
}

Result<std::string> FrontendService::create_session(store::Tx& tx, store::Client& client,
                                                    const std::string& user_id, std::int64_t now,
                                                    std::optional<std::string>& issued_token) {
  if (settings_.single_session_mode) {
    // One signed-in session per client: any other live session is replaced.
    auto live = live_sessions(tx, client.id, now);
    if (!live) {
      return fail(std::move(live.error()));
    }
    for (auto& s : *live) {
      s.status = "replaced";
      s.updated_at_ms = now;
      LK_TRY(tx.update_session(s));
    }
  }
  store::Session s;
  s.id = random_.id("sess");
  s.client_id = client.id;
  s.user_id = user_id;
  s.status = "active";
  s.expire_at_ms = now + settings_.session_lifetime.count();
  s.abandon_at_ms = s.expire_at_ms;
  s.last_active_at_ms = now;
  s.created_at_ms = now;
  s.updated_at_ms = now;
  LK_TRY(tx.insert_session(s));
  auto user = require(tx.get_user(user_id), Code::kInternal);
  if (!user) {
    return fail(std::move(user.error()));
  }
  user->last_sign_in_at_ms = now;
  user->updated_at_ms = now;
  LK_TRY(tx.update_user(*user));
  // Who is signed in on this client changed: a copy of the old credential (planted before the
  // sign-in, or kept from before a sign-out) must not see this session (session fixation).
  issued_token = rotate_credential(client, now);
  return s.id;
}

Status FrontendService::finish_sign_in(store::Tx& tx, store::Client& client, store::SignIn& row,
                                       SignInData& data, const PendingIdentity& identity,
                                       const Resolution& resolution, std::int64_t now,
                                       std::optional<std::string>& issued_token) {
  Verification& v = *data.first_factor;
  // Keep external_verification_redirect_url: the SDK's signIn.sso() starts a fresh attempt only
  // when the current one still carries it (SignInFuture.sso); it navigates to it only while
  // the status is "unverified", so the spent URL is never followed.
  v.expire_at_ms.reset();
  data.identifier = non_empty(identity.email);
  if (resolution.refusal) {
    v.status = std::string(kFailed);
    v.error = VerificationError::from(*resolution.refusal);
    row.status = std::string(kNeedsFirstFactor);
  } else if (!resolution.user_id) {
    // Unknown external account: the SDK transfers it to a sign-up (signIn.isTransferable).
    v.status = std::string(kTransferable);
    v.error = VerificationError::from(Error(Code::kExternalAccountNotFound));
    data.identity = identity;
    row.status = std::string(kNeedsIdentifier);
  } else {
    const std::string& user_id = *resolution.user_id;
    auto live = live_sessions(tx, client.id, now);
    if (!live) {
      return fail(std::move(live.error()));
    }
    auto same_user = std::find_if(live->begin(), live->end(),
                                  [&](const store::Session& s) { return s.user_id == user_id; });
    if (same_user != live->end()) {
      // signIn.existingSession: the SDK calls setActive({session}) with meta.session_id.
      v.status = std::string(kFailed);
      v.error = VerificationError::from(
          Error(Code::kIdentifierAlreadySignedIn).with_meta("session_id", same_user->id));
      row.status = std::string(kNeedsFirstFactor);
    } else if (settings_.single_session_mode && !live->empty()) {
      v.status = std::string(kFailed);
      v.error = VerificationError::from(Error(Code::kSessionExists));
      row.status = std::string(kNeedsFirstFactor);
    } else {
      if (resolution.existing_account) {
        LK_TRY(refresh_external_account(tx, *resolution.existing_account, identity, now));
      } else {
        LK_TRY(link_external_account(tx, user_id, identity, now));
      }
      auto sid = create_session(tx, client, user_id, now, issued_token);
      if (!sid) {
        return fail(std::move(sid.error()));
      }
      v.status = std::string(kVerified);
      v.error.reset();
      data.identity.reset();
      data.user_id = user_id;
      data.created_session_id = *sid;
      row.status = std::string(kComplete);
      client.last_authentication_strategy = identity.strategy;
    }
  }
  row.data = to_json(data);
  row.updated_at_ms = now;
  return tx.update_sign_in(row);
}

// ---- sign-up ----------------------------------------------------------------------------------

namespace {

// Applies the profile fields of a create/update request; validation errors name the param.
Status apply_sign_up_fields(SignUpData& data, const SignUpParams& p, std::int64_t now) {
  auto set_name = [](std::optional<std::string>& field, const std::optional<std::string>& value,
                     std::string_view param) -> Status {
    if (!value) {
      return {};
    }
    auto ok = validate_name(*value, param);
    if (!ok) {
      return ok;
    }
    field = value->empty() ? std::nullopt : std::optional<std::string>(*value);
    return {};
  };
  if (auto s = set_name(data.first_name, p.first_name, "first_name"); !s) {
    return s;
  }
  if (auto s = set_name(data.last_name, p.last_name, "last_name"); !s) {
    return s;
  }
  if (p.username) {
    if (p.username->empty()) {
      data.username.reset();
    } else {
      if (auto s = validate_username(*p.username); !s) {
        return s;
      }
      data.username = *p.username;
    }
  }
  if (p.legal_accepted) {
    if (*p.legal_accepted) {
      data.legal_accepted_at_ms = now;
    } else {
      data.legal_accepted_at_ms.reset();
    }
  }
  if (p.unsafe_metadata) {
    boost::system::error_code ec;
    auto v = boost::json::parse(*p.unsafe_metadata, ec);
    if (ec || !v.is_object() || p.unsafe_metadata->size() > 8192) {
      return core::param_error(Code::kFormParamInvalid, "unsafe_metadata", "is invalid",
                               "unsafe_metadata must be a JSON object of at most 8 KB.");
    }
    data.unsafe_metadata = boost::json::serialize(v);
  }
  if (p.email_address) {
    // The email of an OAuth sign-up comes from the provider and cannot be replaced here.
    if (data.identity) {
      return core::param_error(Code::kFormParamInvalid, "email_address", "cannot be changed",
                               "The email address comes from the identity provider.");
    }
    return core::param_error(Code::kStrategyNotAllowed, "email_address", "is not supported",
                             "Signing up with an email address is not enabled for this "
                             "application. Use one of the enabled social connections.");
  }
  return {};
}

}  // namespace

Result<std::string> FrontendService::create_user(store::Tx& tx, const SignUpData& data,
                                                 const PendingIdentity& identity,
                                                 std::int64_t now) {
  store::User u;
  u.id = random_.id("user");
  u.first_name = data.first_name;
  u.last_name = data.last_name;
  u.username = data.username;
  u.image_url = non_empty(identity.image_url);
  u.unsafe_metadata = data.unsafe_metadata;
  u.legal_accepted_at_ms = data.legal_accepted_at_ms;
  u.created_at_ms = now;
  u.updated_at_ms = now;
  if (data.username) {
    auto taken = tx.find_user_by_username(*data.username);
    if (!taken) {
      return fail(std::move(taken.error()));
    }
    if (*taken) {
      return core::param_error(Code::kFormParamInvalid, "username", "is taken",
                               "That username is taken. Please try another.");
    }
  }
  if (data.email_address) {
    auto existing = tx.find_email_address(*data.email_address);
    if (!existing) {
      return fail(std::move(existing.error()));
    }
    if (*existing) {
      // Someone claimed the address between the callback and now: never link silently.
      return fail(Error(Code::kExternalAccountEmailUnverified));
    }
  }
  LK_TRY(tx.insert_user(u));
  if (data.email_address) {
    store::EmailAddress e;
    e.id = random_.id("idn");
    e.user_id = u.id;
    e.email = *data.email_address;
    e.verified = data.email_verified;
    e.verification_strategy = data.email_verified ? "from_" + identity.strategy : "email_code";
    e.created_at_ms = now;
    e.updated_at_ms = now;
    LK_TRY(tx.insert_email_address(e));
    u.primary_email_address_id = e.id;
    LK_TRY(tx.update_user(u));
  }
  LK_TRY(link_external_account(tx, u.id, identity, now));
  return u.id;
}

Status FrontendService::try_complete_sign_up(store::Tx& tx, store::Client& client,
                                             store::SignUp& row, SignUpData& data,
                                             std::int64_t now,
                                             std::optional<std::string>& issued_token) {
  if (data.identity && missing_fields(data, settings_.required_fields).empty()) {
    auto user_id = create_user(tx, data, *data.identity, now);
    if (!user_id) {
      return fail(std::move(user_id.error()));
    }
    auto sid = create_session(tx, client, *user_id, now, issued_token);
    if (!sid) {
      return fail(std::move(sid.error()));
    }
    client.last_authentication_strategy = data.identity->strategy;
    data.created_user_id = *user_id;
    data.created_session_id = *sid;
    data.identity.reset();  // provider tokens now live (sealed) on the external account only
    row.status = std::string(kComplete);
  } else {
    row.status = std::string(kMissingRequirements);
  }
  row.data = to_json(data);
  row.updated_at_ms = now;
  return tx.update_sign_up(row);
}

Status FrontendService::apply_sign_up_identity(store::Tx& tx, store::Client& client,
                                               store::SignUp& row, SignUpData& data,
                                               const PendingIdentity& identity,
                                               std::int64_t now,
                                               std::optional<std::string>& issued_token) {
  Verification& v = *data.external_account;
  // external_verification_redirect_url is kept (see finish_sign_in).
  v.expire_at_ms.reset();
  auto resolution = resolve_identity(tx, identity);
  if (!resolution) {
    return fail(std::move(resolution.error()));
  }
  if (resolution->refusal) {
    v.status = std::string(kFailed);
    v.error = VerificationError::from(*resolution->refusal);
  } else if (resolution->user_id) {
    // The account exists: the SDK transfers to a sign-in (signUp.isTransferable).
    v.status = std::string(kTransferable);
    v.error = VerificationError::from(Error(Code::kExternalAccountExists));
    data.identity = identity;
    data.email_address = non_empty(lower_ascii(identity.email));
  } else {
    v.status = std::string(kVerified);
    v.error.reset();
    data.identity = identity;
    data.email_address = non_empty(lower_ascii(identity.email));
    data.email_verified = identity.email_verified;
    if (!data.first_name && !identity.first_name.empty()) {
      data.first_name = identity.first_name;
    }
    if (!data.last_name && !identity.last_name.empty()) {
      data.last_name = identity.last_name;
    }
    return try_complete_sign_up(tx, client, row, data, now, issued_token);
  }
  row.status = std::string(kMissingRequirements);
  row.data = to_json(data);
  row.updated_at_ms = now;
  return tx.update_sign_up(row);
}

Result<Mutation> FrontendService::create_sign_up(const Caller& caller, const SignUpParams& params) {
  const std::int64_t now = clock_.now_ms();
  std::string redirect_url;
  std::string action_url;
  oauth::AuthorizationRequest auth_request;
  const bool oauth = params.strategy && is_oauth_strategy(*params.strategy);
  if (params.strategy && !params.strategy->empty() && !params.transfer) {
    auto start = start_oauth(caller, *params.strategy, params.redirect_url,
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
  auto st = store_.transaction([&](store::Tx& tx) -> Status {
    out = Mutation{};
    SignUpData d = data;
    auto client = params.transfer ? require_client(tx, caller, now)
                                  : find_or_create_client(tx, caller, now, out.new_client_token);
    if (!client) {
      return fail(std::move(client.error()));
    }
    store::SignUp row;
    row.id = random_.id("sua");
    row.client_id = client->id;
    row.status = std::string(kMissingRequirements);
    row.abandon_at_ms = now + settings_.attempt_lifetime.count();
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
      LK_TRY(apply_sign_up_identity(tx, *client, row, d, *sid->identity, now,
                                    out.new_client_token));
      consumed_sign_in = si->id;
    } else if (oauth) {
      d.redirect_url = redirect_url;
      d.action_complete_redirect_url = action_url;
      LK_TRY(tx.insert_sign_up(row));
      LK_TRY(save_oauth_state(tx, *client, kSignUpType, row.id, *params.strategy, auth_request, now));
      d.external_account = Verification{std::string(kUnverified), *params.strategy,
                                        auth_request.authorization_url, {},
                                        now + settings_.oauth_state_lifetime.count()};
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
    auto view = load_view(tx, *client, now);
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
  return out;
}

Result<Mutation> FrontendService::update_sign_up(const Caller& caller, const std::string& id,
                                                 const SignUpParams& params) {
  const std::int64_t now = clock_.now_ms();
  if (params.transfer) {
    return core::param_error(Code::kFormParamUnknown, "transfer", "is not allowed here",
                             "This parameter is only accepted when creating a sign-up.");
  }
  // signUp.sso() on an existing sign-up PATCHes it with the strategy (SignUpFuture.sso).
  std::string redirect_url;
  std::string action_url;
  oauth::AuthorizationRequest auth_request;
  if (params.strategy) {
    auto start = start_oauth(caller, *params.strategy, params.redirect_url,
                             params.action_complete_redirect_url, {});
    if (!start) {
      return fail(std::move(start.error()));
    }
    redirect_url = std::move(start->redirect_url);
    action_url = std::move(start->action_complete_redirect_url);
    auth_request = std::move(start->request);
  }
  Mutation out;
  auto st = store_.transaction([&](store::Tx& tx) -> Status {
    out = Mutation{};
    auto client = require_client(tx, caller, now);
    if (!client) {
      return fail(std::move(client.error()));
    }
    if (!client->sign_up_id || *client->sign_up_id != id) {
      return fail(attempt_not_found(Code::kSignUpNotFound, "id"));
    }
    auto row = require(tx.get_sign_up(id), Code::kSignUpNotFound);
    if (!row) {
      return fail(std::move(row.error()));
    }
    if (row->abandon_at_ms <= now) {
      return fail(attempt_not_found(Code::kSignUpNotFound, "id"));
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
      LK_TRY(save_oauth_state(tx, *client, kSignUpType, row->id, *params.strategy, auth_request,
                              now));
      data->redirect_url = redirect_url;
      data->action_complete_redirect_url = action_url;
      data->external_account = Verification{std::string(kUnverified), *params.strategy,
                                            auth_request.authorization_url, {},
                                            now + settings_.oauth_state_lifetime.count()};
      row->data = to_json(*data);
      row->updated_at_ms = now;
      LK_TRY(tx.update_sign_up(*row));
    } else if (data->external_account && data->external_account->status != kVerified) {
      // Fields may be collected, but nothing completes before the provider verified.
      row->data = to_json(*data);
      row->updated_at_ms = now;
      LK_TRY(tx.update_sign_up(*row));
    } else {
      LK_TRY(try_complete_sign_up(tx, *client, *row, *data, now, out.new_client_token));
    }
    client->updated_at_ms = now;
    LK_TRY(tx.update_client(*client));
    auto view = load_view(tx, *client, now);
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
  return out;
}

// ---- OAuth callback ---------------------------------------------------------------------------

PendingIdentity FrontendService::seal_identity(const oauth::ExternalIdentity& id) const {
  PendingIdentity p;
  p.strategy = id.strategy;
  p.provider = id.provider;
  p.provider_user_id = id.provider_user_id;
  p.email = lower_ascii(id.email);
  p.email_verified = id.email_verified;
  p.first_name = id.first_name;
  p.last_name = id.last_name;
  p.image_url = id.image_url;
  p.username = id.username;
  p.approved_scopes = id.approved_scopes;
  const std::string aad = "provider-token:" + id.strategy + ":" + id.provider_user_id;
  if (!id.access_token.empty()) {
    p.access_token_enc = sealer_.seal(id.access_token.reveal(), aad);
  }
  if (!id.refresh_token.empty()) {
    p.refresh_token_enc = sealer_.seal(id.refresh_token.reveal(), aad);
  }
  return p;
}

Result<CallbackOutcome> FrontendService::oauth_callback(const Caller& caller,
                                                        const oauth::CallbackParams& params,
                                                        const std::string& state) {
  const std::int64_t now = clock_.now_ms();
  struct Pending {
    std::string attempt_type;
    std::string attempt_id;
    std::string strategy;
    std::string redirect_url;
    oauth::PendingAuth auth;
  };
  std::optional<Pending> pending;

  // Step 1: consume the state (single use) and check its binding to this browser's client and
  // attempt. A state that does not resolve to a pending attempt of THIS browser ends with a 400
  // on the FAPI origin, never a redirect (security catalog §2.0, B1-B6): no URL is taken from
  // the request.
  auto fail_attempt = [&](store::Tx& tx, std::string_view type, const std::string& id,
                          const Error& why) -> Status {
    if (type == kSignInType) {
      auto si = tx.get_sign_in(id);
      if (!si) {
        return fail(std::move(si.error()));
      }
      if (*si) {
        auto d = parse_sign_in_data((*si)->data);
        if (d && d->first_factor && d->first_factor->status == kUnverified &&
            is_oauth_strategy(d->first_factor->strategy)) {
          d->first_factor->status = std::string(kFailed);
          d->first_factor->error = VerificationError::from(why);
          (*si)->data = to_json(*d);
          (*si)->updated_at_ms = now;
          LK_TRY(tx.update_sign_in(**si));
        }
      }
      return {};
    }
    auto su = tx.get_sign_up(id);
    if (!su) {
      return fail(std::move(su.error()));
    }
    if (*su) {
      auto d = parse_sign_up_data((*su)->data);
      if (d && d->external_account && d->external_account->status == kUnverified &&
          is_oauth_strategy(d->external_account->strategy)) {
        d->external_account->status = std::string(kFailed);
        d->external_account->error = VerificationError::from(why);
        (*su)->data = to_json(*d);
        (*su)->updated_at_ms = now;
        LK_TRY(tx.update_sign_up(**su));
      }
    }
    return {};
  };
  auto fail_current_attempt = [&](store::Tx& tx, const store::Client& client,
                                  const Error& why) -> Status {
    if (client.sign_in_id) {
      LK_TRY(fail_attempt(tx, kSignInType, *client.sign_in_id, why));
    }
    if (client.sign_up_id) {
      LK_TRY(fail_attempt(tx, kSignUpType, *client.sign_up_id, why));
    }
    return {};
  };
  std::optional<Error> refusal;

  auto st = store_.transaction([&](store::Tx& tx) -> Status {
    pending.reset();
    refusal.reset();
    auto client = find_client(tx, caller, now);
    if (!client && client.error().code == Code::kAuthenticationInvalid) {
      // A stale copy of a rotated credential (e.g. the loser of a double-submitted callback whose
      // winner just signed the browser in): nothing of this browser's can complete with it, and
      // nothing is consumed or failed.
      refusal = Error(Code::kOAuthStateInvalid).with_internal(std::move(client.error().internal));
      return {};
    }
    if (!client) {
      return fail(std::move(client.error()));
    }
    std::optional<store::OAuthState> row;
    if (!state.empty() && state.size() <= 512) {
      auto consumed = tx.consume_oauth_state(hash_client_token(state), now);
      if (!consumed) {
        return fail(std::move(consumed.error()));
      }
      row = std::move(*consumed);
    }
    const bool same_client = row && *client && row->client_id == (*client)->id;
    const bool bound =
        same_client &&
        ((row->attempt_type == kSignInType && (*client)->sign_in_id == row->attempt_id) ||
         (row->attempt_type == kSignUpType && (*client)->sign_up_id == row->attempt_id));
    if (!bound) {
      std::string reason = state.empty()          ? "reason=missing: no state"
                           : state.size() > 512   ? "reason=malformed: state too long"
                           : !row                 ? "reason=unknown: unknown, expired or replayed state"
                           : !same_client         ? "reason=client_mismatch: state bound to another browser"
                                                  : "reason=attempt_mismatch: state of a replaced attempt";
      Error why = Error(Code::kOAuthStateInvalid).with_internal(reason);
      if (row && !same_client) {
        // Another browser's state (login CSRF / session swap, B6): the owner's attempt can never
        // complete now (its single-use state is spent), and the presenting browser's own OAuth
        // attempt is failed too - it was sent somebody else's authorization response.
        LK_TRY(fail_attempt(tx, row->attempt_type, row->attempt_id, why));
        if (*client) {
          LK_TRY(fail_current_attempt(tx, **client, why));
        }
      }
      // An unknown, expired or replayed state leaves this browser's attempt untouched: it may be
      // the duplicate of a callback that is completing right now (B19 double submit), and a
      // forged link must not be able to cancel somebody's sign-in.
      refusal = std::move(why);
      return {};
    }
    boost::system::error_code ec;
    auto data = boost::json::parse(row->data, ec);
    if (ec || !data.is_object()) {
      return fail(Error(Code::kInternal).with_internal("oauth state data corrupt"));
    }
    const auto& o = data.as_object();
    auto str = [&](std::string_view k) -> std::string {
      const auto* v = o.if_contains(k);
      return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
    };
    auto verifier = sealer_.open(str("code_verifier_enc"), "pkce:" + row->state_hash);
    if (!verifier) {
      return fail(std::move(verifier.error()));
    }
    Pending p;
    p.attempt_type = row->attempt_type;
    p.attempt_id = row->attempt_id;
    p.strategy = row->strategy;
    p.auth = oauth::PendingAuth{std::move(*verifier), str("nonce"), str("redirect_uri")};
    if (row->attempt_type == kSignInType) {
      auto si = require(tx.get_sign_in(row->attempt_id), Code::kSignInNotFound);
      if (!si) {
        return fail(std::move(si.error()));
      }
      auto d = parse_sign_in_data(si->data);
      if (!d) {
        return fail(std::move(d.error()));
      }
      if (!d->first_factor || d->first_factor->status != kUnverified) {
        refusal = Error(Code::kOAuthStateInvalid).with_internal("reason=attempt_done: attempt moved on");
        return {};  // the attempt moved on; nothing to complete
      }
      p.redirect_url = d->redirect_url;
    } else {
      auto su = require(tx.get_sign_up(row->attempt_id), Code::kSignUpNotFound);
      if (!su) {
        return fail(std::move(su.error()));
      }
      auto d = parse_sign_up_data(su->data);
      if (!d) {
        return fail(std::move(d.error()));
      }
      if (!d->external_account || d->external_account->status != kUnverified) {
        refusal = Error(Code::kOAuthStateInvalid).with_internal("reason=attempt_done: attempt moved on");
        return {};
      }
      p.redirect_url = d->redirect_url;
    }
    pending = std::move(p);
    return {};
  });
  if (!st) {
    return fail(std::move(st.error()));
  }
  if (!pending) {
    return fail(refusal.value_or(
        Error(Code::kOAuthStateInvalid).with_internal("reason=unknown: no attempt for this callback")));
  }
  // Validated when the attempt was created, and again at use (security catalog §2.C): the
  // allowlist may have changed since. Checked before the code is redeemed.
  if (auto ok = resolve_redirect_url(pending->redirect_url, settings_.public_origin,
                                     settings_.allowed_origins, "redirect_url");
      !ok) {
    return fail(Error(Code::kRedirectUrlInvalid)
                    .with_internal("reason=redirect_url: stored redirect_url no longer allowed"));
  }

  // Step 2: talk to the provider, outside any transaction.
  auto identity = oauth_.complete(pending->strategy, params, pending->auth);
  std::optional<PendingIdentity> sealed;
  if (identity) {
    sealed = seal_identity(*identity);
  }

  // Step 3: record the outcome on the attempt, creating what it leads to in one transaction.
  std::optional<std::string> issued_token;
  st = store_.transaction([&](store::Tx& tx) -> Status {
    issued_token.reset();
    auto client = require_client(tx, caller, now);
    if (!client) {
      return fail(std::move(client.error()));
    }
    if (pending->attempt_type == kSignInType) {
      auto row = require(tx.get_sign_in(pending->attempt_id), Code::kSignInNotFound);
      if (!row) {
        return fail(std::move(row.error()));
      }
      auto data = parse_sign_in_data(row->data);
      if (!data) {
        return fail(std::move(data.error()));
      }
      if (!data->first_factor || data->first_factor->status != kUnverified) {
        return {};
      }
      if (!identity) {
        data->first_factor->status = std::string(kFailed);
        data->first_factor->error = VerificationError::from(identity.error());
        row->data = to_json(*data);
        row->updated_at_ms = now;
        return tx.update_sign_in(*row);
      }
      auto resolution = resolve_identity(tx, *sealed);
      if (!resolution) {
        return fail(std::move(resolution.error()));
      }
      LK_TRY(finish_sign_in(tx, *client, *row, *data, *sealed, *resolution, now, issued_token));
    } else {
      auto row = require(tx.get_sign_up(pending->attempt_id), Code::kSignUpNotFound);
      if (!row) {
        return fail(std::move(row.error()));
      }
      auto data = parse_sign_up_data(row->data);
      if (!data) {
        return fail(std::move(data.error()));
      }
      if (!data->external_account || data->external_account->status != kUnverified) {
        return {};
      }
      if (!identity) {
        data->external_account->status = std::string(kFailed);
        data->external_account->error = VerificationError::from(identity.error());
        row->data = to_json(*data);
        row->updated_at_ms = now;
        return tx.update_sign_up(*row);
      }
      LK_TRY(apply_sign_up_identity(tx, *client, *row, *data, *sealed, now, issued_token));
    }
    client->updated_at_ms = now;
    return tx.update_client(*client);
  });
  if (!st) {
    return fail(std::move(st.error()));
  }
  CallbackOutcome out{pending->redirect_url, std::nullopt, std::move(issued_token)};
  if (!identity) {
    out.failure = identity.error();  // for the audit log at the boundary (reason in `internal`)
  }
  return out;
}

// ---- sessions ---------------------------------------------------------------------------------

Result<Mutation> FrontendService::touch_session(const Caller& caller,
                                                const std::string& session_id) {
  const std::int64_t now = clock_.now_ms();
  Mutation out;
  auto st = store_.transaction([&](store::Tx& tx) -> Status {
    out = Mutation{};
    auto client = require_client(tx, caller, now);
    if (!client) {
      return fail(std::move(client.error()));
    }
    auto s = tx.get_session(session_id);
    if (!s) {
      return fail(std::move(s.error()));
    }
    if (!*s || (*s)->client_id != client->id || !is_live(**s, now)) {
      return fail(Error(Code::kSessionNotFound).with_meta("param_name", "session_id"));
    }
    (*s)->last_active_at_ms = now;
    (*s)->updated_at_ms = now;
    LK_TRY(tx.update_session(**s));
    if (client->last_active_session_id && *client->last_active_session_id != session_id) {
      // Another signed-in session becomes the active one (multi-session switch). A session that
      // is first activated after its sign-in already got a fresh credential with it.
      out.new_client_token = rotate_credential(*client, now);
    }
    client->last_active_session_id = session_id;
    client->updated_at_ms = now;
    LK_TRY(tx.update_client(*client));
    auto view = load_view(tx, *client, now);
    if (!view) {
      return fail(std::move(view.error()));
    }
    out.client = std::move(*view);
    out.resource_id = session_id;
    return {};
  });
  if (!st) {
    return fail(std::move(st.error()));
  }
  return out;
}

Result<Mutation> FrontendService::end_session(const Caller& caller, const std::string& session_id,
                                              std::string_view new_status) {
  const std::int64_t now = clock_.now_ms();
  Mutation out;
  store::Session ended;
  auto st = store_.transaction([&](store::Tx& tx) -> Status {
    out = Mutation{};
    auto client = require_client(tx, caller, now);
    if (!client) {
      return fail(std::move(client.error()));
    }
    auto s = tx.get_session(session_id);
    if (!s) {
      return fail(std::move(s.error()));
    }
    if (!*s || (*s)->client_id != client->id) {
      return fail(Error(Code::kSessionNotFound).with_meta("param_name", "session_id"));
    }
    if (is_live(**s, now)) {
      (*s)->status = std::string(new_status);
      (*s)->updated_at_ms = now;
      LK_TRY(tx.update_session(**s));
      // A copy of the credential from before the sign-out must not see the next sign-in.
      out.new_client_token = rotate_credential(*client, now);
    }
    if (client->last_active_session_id == session_id) {
      client->last_active_session_id.reset();
    }
    client->updated_at_ms = now;
    LK_TRY(tx.update_client(*client));
    auto view = load_view(tx, *client, now);
    if (!view) {
      return fail(std::move(view.error()));
    }
    out.client = std::move(*view);
    out.resource_id = session_id;
    // The ended session is no longer in client.sessions; keep it for the response body.
    auto user = require(tx.get_user((*s)->user_id), Code::kInternal);
    if (!user) {
      return fail(std::move(user.error()));
    }
    SessionView sv;
    sv.session = **s;
    sv.user.user = std::move(*user);
    auto emails = tx.list_email_addresses((*s)->user_id);
    if (!emails) {
      return fail(std::move(emails.error()));
    }
    sv.user.emails = std::move(*emails);
    auto accounts = tx.list_external_accounts((*s)->user_id);
    if (!accounts) {
      return fail(std::move(accounts.error()));
    }
    sv.user.accounts = std::move(*accounts);
    out.client.sessions.push_back(std::move(sv));  // removed again by the encoder's filter
    return {};
  });
  if (!st) {
    return fail(std::move(st.error()));
  }
  return out;
}

Result<Mutation> FrontendService::sign_out(const Caller& caller) {
  const std::int64_t now = clock_.now_ms();
  Mutation out;
  auto st = store_.transaction([&](store::Tx& tx) -> Status {
    out = Mutation{};
    auto client = require_client(tx, caller, now);
    if (!client) {
      return fail(std::move(client.error()));
    }
    auto live = live_sessions(tx, client->id, now);
    if (!live) {
      return fail(std::move(live.error()));
    }
    for (auto& s : *live) {
      s.status = "removed";
      s.updated_at_ms = now;
      LK_TRY(tx.update_session(s));
    }
    if (!live->empty()) {
      out.new_client_token = rotate_credential(*client, now);
    }
    client->last_active_session_id.reset();
    client->updated_at_ms = now;
    LK_TRY(tx.update_client(*client));
    auto view = load_view(tx, *client, now);
    if (!view) {
      return fail(std::move(view.error()));
    }
    out.client = std::move(*view);
    out.resource_id = client->id;
    return {};
  });
  if (!st) {
    return fail(std::move(st.error()));
  }
  return out;
}

Result<std::string> FrontendService::destroy_client(const Caller& caller) {
  const std::int64_t now = clock_.now_ms();
  std::string id;
  auto st = store_.transaction([&](store::Tx& tx) -> Status {
    auto client = require_client(tx, caller, now);
    if (!client) {
      return fail(std::move(client.error()));
    }
    id = client->id;
    // Sessions, attempts and states go with the client (ON DELETE CASCADE).
    return tx.delete_client(client->id);
  });
  if (!st) {
    return fail(std::move(st.error()));
  }
  return id;
}

Result<TokenGrant> FrontendService::authorize_token(const Caller& caller,
                                                    const std::string& session_id) {
  const std::int64_t now = clock_.now_ms();
  TokenGrant grant;
  auto st = store_.read([&](store::Tx& tx) -> Status {
    auto client = find_client(tx, caller, now);
    if (!client) {
      return fail(std::move(client.error()));
    }
    if (!*client) {
      return fail(Error(Code::kAuthenticationInvalid).with_internal("no client"));
    }
    auto s = tx.get_session(session_id);
    if (!s) {
      return fail(std::move(s.error()));
    }
    if (!*s || (*s)->client_id != (*client)->id) {
      return fail(Error(Code::kSessionNotFound).with_meta("param_name", "session_id"));
    }
    if (!is_live(**s, now)) {
      // 401: the SDK signs out locally (fapi README §2.D).
      return fail(Error(Code::kSessionEnded).with_internal("session " + (*s)->status));
    }
    grant.session = std::move(**s);
    return {};
  });
  if (!st) {
    return fail(std::move(st.error()));
  }
  return grant;
}

}  // namespace latchkey::flows
