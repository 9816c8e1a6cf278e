#pragma once
// Internal to flows/: what sign-in and sign-up share - one mechanism over both attempt kinds
// (AttemptTraits), the client view, the OAuth start, linking, requirements and completion. Only
// flows/*.cpp include this header.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "flows/attempts.hpp"
#include "flows/email_links.hpp"
#include "flows/flow_types.hpp"
#include "flows/identifiers.hpp"
#include "flows/machine.hpp"
#include "flows/sign_in_machine.hpp"
#include "flows/sign_up_machine.hpp"
#include "oauth/service.hpp"
#include "store/store.hpp"

namespace latchkey::flows::detail {

inline constexpr std::string_view kSignInType = "sign_in";
inline constexpr std::string_view kSignUpType = "sign_up";

// A strategy is an OAuth strategy name of the catalog's shape.
inline bool is_oauth_strategy(std::string_view s) { return s.starts_with("oauth_"); }

std::optional<std::string> non_empty(const std::string& s);
std::string lower_ascii(std::string s);

// Propagate a store error or a missing row as `missing`.
template <typename T>
core::Result<T> require(core::Result<std::optional<T>> r, core::Code missing) {
  if (!r) {
    return core::fail(std::move(r.error()));
  }
  if (!r->has_value()) {
    return core::fail(core::Error(missing));
  }
  return std::move(**r);
}

#define LK_TRY(expr)                                                \
  do {                                                              \
    auto lk_status_ = (expr);                                       \
    if (!lk_status_) {                                              \
      return ::latchkey::core::fail(std::move(lk_status_.error())); \
    }                                                               \
  } while (false)

// ---- one mechanism for both attempt kinds ---------------------------------------------------

template <typename Row>
struct AttemptTraits;

template <>
struct AttemptTraits<store::SignIn> {
  using Data = SignInData;
  using State = SignInState;
  static core::Result<State> load_state(std::string_view status, const Data& d) {
    return load_sign_in_state(status, d);
  }
  static constexpr std::string_view kType = kSignInType;
  static constexpr core::Code kNotFound = core::Code::kSignInNotFound;
  static core::Result<std::optional<store::SignIn>> get(store::Tx& tx, const std::string& id) {
    return tx.get_sign_in(id);
  }
  static core::Status update(store::Tx& tx, const store::SignIn& row) {
    return tx.update_sign_in(row);
  }
  static core::Status remove(store::Tx& tx, const std::string& id) { return tx.delete_sign_in(id); }
  static core::Result<Data> parse(std::string_view json) { return parse_sign_in_data(json); }
  // The verification an identity provider completes: the first factor.
  static std::optional<Verification>& verification(Data& d) { return d.first_factor; }
  static std::optional<std::string>& slot(store::Client& c) { return c.sign_in_id; }
  static const std::optional<std::string>& slot(const store::Client& c) { return c.sign_in_id; }
};

template <>
struct AttemptTraits<store::SignUp> {
  using Data = SignUpData;
  using State = SignUpState;
  static core::Result<State> load_state(std::string_view status, const Data& d) {
    return load_sign_up_state(status, d);
  }
  static constexpr std::string_view kType = kSignUpType;
  static constexpr core::Code kNotFound = core::Code::kSignUpNotFound;
  static core::Result<std::optional<store::SignUp>> get(store::Tx& tx, const std::string& id) {
    return tx.get_sign_up(id);
  }
  static core::Status update(store::Tx& tx, const store::SignUp& row) {
    return tx.update_sign_up(row);
  }
  static core::Status remove(store::Tx& tx, const std::string& id) { return tx.delete_sign_up(id); }
  static core::Result<Data> parse(std::string_view json) { return parse_sign_up_data(json); }
  // The verification an identity provider completes: verifications.external_account.
  static std::optional<Verification>& verification(Data& d) { return d.external_account; }
  static std::optional<std::string>& slot(store::Client& c) { return c.sign_up_id; }
  static const std::optional<std::string>& slot(const store::Client& c) { return c.sign_up_id; }
};

// An attempt row with its typed data.
template <typename Row>
struct Loaded {
  Row row;
  typename AttemptTraits<Row>::Data data;
};

template <typename Row>
core::Result<Loaded<Row>> load_attempt(store::Tx& tx, const std::string& id) {
  using T = AttemptTraits<Row>;
  auto row = require(T::get(tx, id), T::kNotFound);
  if (!row) {
    return core::fail(std::move(row.error()));
  }
  auto data = T::parse(row->data);
  if (!data) {
    return core::fail(std::move(data.error()));
  }
  return Loaded<Row>{std::move(*row), std::move(*data)};
}

// The caller's current attempt `id` of this kind: another one, or one past its abandon_at, is
// not found (param id).
template <typename Row>
core::Result<Loaded<Row>> current_attempt(store::Tx& tx, const store::Client& client,
                                          const std::string& id, std::int64_t now) {
  using T = AttemptTraits<Row>;
  const auto& slot = T::slot(client);
  if (!slot || *slot != id) {
    return core::fail(core::Error(T::kNotFound).with_meta("param_name", "id"));
  }
  auto a = load_attempt<Row>(tx, id);
  if (!a) {
    return core::fail(std::move(a.error()));
  }
  if (a->row.abandon_at_ms <= now) {
    return core::fail(core::Error(T::kNotFound).with_meta("param_name", "id"));
  }
  return a;
}

// The start of every step on an existing attempt (prepare, attempt, reset): the caller's client,
// its current attempt `id` and the attempt's machine state.
template <typename Row>
struct Current {
  store::Client client;
  Loaded<Row> attempt;
  typename AttemptTraits<Row>::State state;
};

template <typename Row>
core::Result<Current<Row>> open_current(store::Tx& tx, FlowDeps& d, const Caller& caller,
                                        const std::string& id, std::int64_t now) {
  auto client = d.clients().require(tx, caller, now);
  if (!client) {
    return core::fail(std::move(client.error()));
  }
  auto a = current_attempt<Row>(tx, *client, id, now);
  if (!a) {
    return core::fail(std::move(a.error()));
  }
  auto state = AttemptTraits<Row>::load_state(a->row.status, a->data);
  if (!state) {
    return core::fail(std::move(state.error()));
  }
  return Current<Row>{std::move(*client), std::move(*a), std::move(*state)};
}

template <typename Row>
core::Status save_attempt(store::Tx& tx, Row& row, const typename AttemptTraits<Row>::Data& data,
                          std::int64_t now) {
  row.data = to_json(data);
  row.updated_at_ms = now;
  return AttemptTraits<Row>::update(tx, row);
}

// The OAuth verification of an attempt fails with `why` if it is still waiting for the provider
// (a refused callback); anything else about the attempt is left alone.
core::Status fail_oauth_verification(store::Tx& tx, FlowDeps& d, std::string_view type,
                                     const std::string& id, const core::Error& why,
                                     std::int64_t now);

// ---- the client view -------------------------------------------------------------------------

// The client with its live sessions (no tokens yet) and its current, unabandoned attempts.
core::Result<ClientView> load_view(store::Tx& tx, FlowDeps& d, const store::Client& client,
                                   std::int64_t now);
// The end of every mutation's transaction: the client is written and `out` gets the client as it
// is now (tokens are attached after the commit) and the resource acted on.
core::Status finish_mutation(store::Tx& tx, FlowDeps& d, store::Client& client,
                             const std::string& resource_id, std::int64_t now, Mutation& out);
// Mints the caller's token of every live session in the view (the encoders never mint).
void attach_tokens(FlowDeps& d, ClientView& view, const Caller& caller);

// Runs `change(tx, client, now, out)` on the caller's client in one transaction and returns the
// client after it, with tokens (the session operations of ClientService, the /v1/me endpoints).
template <typename Change>
core::Result<Mutation> mutate_client(FlowDeps& d, const Caller& caller,
                                     const std::string& resource_id, Change&& change) {
  const std::int64_t now = d.clock.now_ms();
  Mutation out;
  auto st = d.store.transaction([&](store::Tx& tx) -> core::Status {
    out = Mutation{};  // the callback may run again (retried transaction)
    auto client = d.clients().require(tx, caller, now);
    if (!client) {
      return core::fail(std::move(client.error()));
    }
    LK_TRY(change(tx, *client, now, out));
    auto view = load_view(tx, d, *client, now);
    if (!view) {
      return core::fail(std::move(view.error()));
    }
    out.client = std::move(*view);
    out.resource_id = resource_id.empty() ? client->id : resource_id;
    return {};
  });
  if (!st) {
    return core::fail(std::move(st.error()));
  }
  attach_tokens(d, out.client, caller);
  return out;
}

// ---- the OAuth start -------------------------------------------------------------------------

// Everything an OAuth start needs before the transaction: the strategy is enabled, the redirect
// URLs are allowed (made absolute), and the provider's authorization request is built.
struct OAuthStart {
  std::string redirect_url;
  std::string action_complete_redirect_url;
  oauth::AuthorizationRequest request;
};
core::Result<std::string> resolve_redirect(const FlowDeps& d, const std::optional<std::string>& url,
                                           const Caller& caller, std::string_view param,
                                           bool required);
core::Result<OAuthStart> start_oauth(FlowDeps& d, const Caller& caller, const std::string& strategy,
                                     const std::optional<std::string>& redirect_url,
                                     const std::optional<std::string>& action_url,
                                     std::string_view login_hint);
// Persists the single-use state of an authorization request made before the transaction
// (discovery may need the network; no store lock is held across it).
core::Status save_oauth_state(store::Tx& tx, FlowDeps& d, const store::Client& client,
                              std::string_view attempt_type, const std::string& attempt_id,
                              const std::string& strategy,
                              const oauth::AuthorizationRequest& request, std::int64_t now);
// The provider's answer, with its tokens sealed for storage.
PendingIdentity seal_identity(const FlowDeps& d, const oauth::ExternalIdentity& id);

// ---- linking policy (linking.cpp) --------------------------------------------------------------

// Where an identity leads for a sign-in: the user to sign in, or the reason it can't.
struct Resolution {
  std::optional<std::string> user_id;
  std::optional<store::ExternalAccount> existing_account;
  bool link_by_email = false;
  std::optional<core::Error> refusal;
};
core::Result<Resolution> resolve_identity(store::Tx& tx, const FlowDeps& d,
                                          const PendingIdentity& identity);
core::Status link_external_account(store::Tx& tx, FlowDeps& d, const std::string& user_id,
                                   const PendingIdentity& identity, std::int64_t now);
core::Status refresh_external_account(store::Tx& tx, store::ExternalAccount account,
                                      const PendingIdentity& identity, std::int64_t now);
core::Result<std::string> create_user(store::Tx& tx, FlowDeps& d, const SignUpData& data,
                                      const PendingIdentity& identity, std::int64_t now);
// A sign-up without a provider: the user with its code-verified address and password.
core::Result<std::string> create_password_user(store::Tx& tx, FlowDeps& d, const SignUpData& data,
                                               std::int64_t now);

// ---- requirements (requirements.cpp) -----------------------------------------------------------

// Applies the profile fields of a sign-up create/update request; validation errors name the param.
core::Status apply_sign_up_fields(SignUpData& data, const SignUpParams& p,
                                  const IdentifierSettings& ids, std::int64_t now);
// What a sign-up must still provide: the configured fields, and a password for a sign-up that
// no provider vouches for when passwords are on.
std::vector<std::string> required_for(const FlowDeps& d, const SignUpData& data);

// ---- first factors (first_factor_support.cpp) ------------------------------------------------

// canonical_email and mask_email: flows/identifiers.hpp (public: `users import` uses them too).
using flows::canonical_email;
using flows::mask_email;
// Clerk's test addresses: a `+clerk_test` subaddress (jane+clerk_test@example.com).
bool is_test_email(std::string_view email);

// The user an identifier names (an email address, else a username), with its addresses.
struct Identified {
  store::User user;
  std::vector<store::EmailAddress> emails;
};
core::Result<std::optional<Identified>> identify(store::Tx& tx, const FlowDeps& d,
                                                 const std::string& identifier);
// The first factors the instance offers this user (supported_first_factors), primary first.
std::vector<Factor> factors_for(const FlowDeps& d, const Identified& who);
UserData user_data_of(const store::User& u);

// A new one-time code for `v` (strategy, MAC, lifetime, attempts reset), queued for `to` in this
// transaction. Refused (too_many_requests) within the resend cooldown of the previous one.
core::Status issue_code(store::Tx& tx, FlowDeps& d, Verification& v, std::string_view strategy,
                        const std::string& to, const std::optional<std::string>& email_address_id,
                        const std::string& attempt_id, CodePurpose purpose,
                        const std::string& remote_ip, std::int64_t now);
// Checks `code` against `v` (counting a wrong one): the outcome the machine is told.
FactorOutcome check_code(const FlowDeps& d, Verification& v, const std::string& attempt_id,
                         std::string_view code, std::int64_t now);

// A password checked outside any transaction (argon2id takes tens of milliseconds: no store lock
// is held across it). `rehash`: a fresh digest to store after a successful sign-in.
struct PasswordResult {
  FactorOutcome outcome = FactorOutcome::kIncorrect;
  std::optional<std::string> rehash;
};
PasswordResult check_password(const FlowDeps& d, const std::optional<Identified>& who,
                              const core::Secret& password);
// user_locked with lockout_expires_in_seconds when the user is locked out at `now`.
core::Status check_not_locked(const store::User& u, std::int64_t now);
// After the machine decided on a password attempt: a wrong one counts towards the lockout, a
// right one clears it and stores the rehash.
core::Status record_password_outcome(store::Tx& tx, FlowDeps& d, const std::string& user_id,
                                     FactorOutcome outcome,
                                     const std::optional<std::string>& rehash, std::int64_t now);

// ---- driving the state machines (completion.cpp) ------------------------------------------------

IdentityMatch identity_match(const Resolution& r);

// What decides a sign-in for a provider identity: the linking policy's answer and the client's
// live sessions, summed up as the machine's outcome.
struct SignInFacts {
  SignInOutcome outcome = SignInOutcome::kUnknownAccount;
  Resolution resolution;
  std::optional<std::string> same_user_session;  // kAlreadySignedIn: that user's session
};
core::Result<SignInFacts> sign_in_facts(store::Tx& tx, FlowDeps& d, const store::Client& client,
                                        const PendingIdentity& identity, std::int64_t now);

// What an event's effects need besides the attempt (any may be absent when the event needs none).
// kBeginRedirect: the authorization request built before the transaction, for `strategy`.
struct RedirectStart {
  std::string_view strategy{};
  const OAuthStart* start = nullptr;
};
// kSendCode: where the code goes.
struct CodeTarget {
  std::string email;
  std::optional<std::string> email_address_id;
  CodePurpose purpose = CodePurpose::kVerification;
  std::string remote_ip;
  std::string redirect_url{};  // email_link: where GET /v1/verify sends the browser
};
// A new email link for `v` (strategy email_link, the nonce's MAC, lifetime, redirect URL),
// queued for `target.email` in this transaction (email_links.cpp). The resend cooldown of codes.
core::Status issue_link(store::Tx& tx, FlowDeps& d, Verification& v, LinkAttempt kind,
                        const CodeTarget& target, const std::string& attempt_id, std::int64_t now);
struct SignInInput {
  const PendingIdentity* identity = nullptr;
  const SignInFacts* facts = nullptr;
  const core::Error* error = nullptr;  // the full error a failed verification records
  RedirectStart redirect{};
  // First factors: the event's strategy name (written on the verification), the code's target
  // (kSendCode) and the new password's digest (kSetPassword).
  std::string_view factor_strategy{};
  const CodeTarget* code = nullptr;
  const std::string* new_password_digest = nullptr;
};
struct SignUpInput {
  const PendingIdentity* identity = nullptr;
  const Resolution* resolution = nullptr;
  const core::Error* error = nullptr;
  RedirectStart redirect{};
  const CodeTarget* code = nullptr;  // kSendCode
};

// The attempt of the other kind a transfer takes its identity from: the client's current one,
// refused (Nothing to transfer) unless it is transferable and holds an identity.
core::Result<Loaded<store::SignIn>> transferable_sign_in(store::Tx& tx,
                                                         const store::Client& client);
core::Result<Loaded<store::SignUp>> transferable_sign_up(store::Tx& tx,
                                                         const store::Client& client);

// The machine's missing_fields_empty: no required field is missing and no field is unverified
// (with email addresses enabled, an address must be verified: by the provider's email_verified or
// by a code), so the sign-up can complete.
bool nothing_left(const FlowDeps& d, const SignUpData& data);

// Whether nothing would be left (nothing_left) once the identity's email and profile are taken.
bool completes_with(const FlowDeps& d, const SignUpData& data, const PendingIdentity& identity);

// One event on an attempt whose state before it is `state` ({} for an attempt being created; its
// row must be inserted already): the machine decides, then the effects run in Effect order and
// the attempt is written. A refused or illegal transition fails the request and changes nothing.
core::Status run_sign_in(store::Tx& tx, FlowDeps& d, store::Client& client, store::SignIn& row,
                         SignInData& data, const SignInState& state, const SignInEvent& event,
                         const SignInInput& in, std::int64_t now,
                         std::optional<std::string>& issued);
core::Status run_sign_up(store::Tx& tx, FlowDeps& d, store::Client& client, store::SignUp& row,
                         SignUpData& data, const SignUpState& state, const SignUpEvent& event,
                         const SignUpInput& in, std::int64_t now,
                         std::optional<std::string>& issued);

}  // namespace latchkey::flows::detail
