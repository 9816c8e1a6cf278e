// Driving the attempt state machines: sign_in_transition / sign_up_transition decide the next
// state and the effects; this file carries the effects out (in Effect order) inside the caller's
// transaction and writes the attempt. Shared by the OAuth callback, the transfers between sign-in
// and sign-up, and the sign-up PATCH.
#include <algorithm>

#include "flows/detail/attempt.hpp"
#include "flows/policy.hpp"
#include "flows/second_factors.hpp"

namespace latchkey::flows::detail {

using core::Code;
using core::Error;
using core::fail;
using core::Result;
using core::Status;

IdentityMatch identity_match(const Resolution& r) {
  if (r.refusal) {
    return IdentityMatch::kLinkRefused;
  }
  if (!r.user_id) {
    return IdentityMatch::kNoMatch;
  }
  return r.existing_account ? IdentityMatch::kExternalAccount : IdentityMatch::kVerifiedEmail;
}

Result<SignInFacts> sign_in_facts(store::Tx& tx, FlowDeps& d, const store::Client& client,
                                  const PendingIdentity& identity, std::int64_t now) {
  auto resolution = resolve_identity(tx, d, identity);
  if (!resolution) {
    return fail(std::move(resolution.error()));
  }
  SignInFacts f;
  f.resolution = std::move(*resolution);
  bool same_user = false;
  bool any_live = false;
  if (f.resolution.user_id) {
    auto live = d.sessions.live(tx, client.id, now);
    if (!live) {
      return fail(std::move(live.error()));
    }
    any_live = !live->empty();
    auto it = std::find_if(live->begin(), live->end(), [&](const store::Session& s) {
      return s.user_id == *f.resolution.user_id;
    });
    if (it != live->end()) {
      same_user = true;
      f.same_user_session = it->id;
    }
  }
  f.outcome = sign_in_outcome(identity_match(f.resolution), same_user, any_live,
                              d.settings.single_session_mode);
  return f;
}

namespace {

// The full error a verification records when the machine set only its code.
std::optional<Error> sign_in_detail(const SignInInput& in) {
  if (in.error != nullptr) {
    return *in.error;
  }
  if (in.facts == nullptr) {
    return std::nullopt;
  }
  switch (in.facts->outcome) {
    case SignInOutcome::kLinkRefused:
      return in.facts->resolution.refusal;
    case SignInOutcome::kAlreadySignedIn:
      // signIn.existingSession: the SDK calls setActive({session}) with meta.session_id.
      return Error(Code::kIdentifierAlreadySignedIn)
          .with_meta("session_id", in.facts->same_user_session.value_or(""));
    default:
      return std::nullopt;
  }
}

// The verification's error becomes the caller's full error when the machine recorded its code.
void attach_detail(std::optional<Verification>& v, const std::optional<Error>& detail) {
  if (v && v->error && detail && v->error->code == detail->code) {
    v->error = VerificationError::from(*detail);
  }
}

void take_sign_up_email(SignUpData& data, const PendingIdentity& identity) {
  data.email_address = non_empty(lower_ascii(identity.email));
}

void take_sign_up_profile(SignUpData& data, const PendingIdentity& identity) {
  data.email_verified = identity.email_verified;
  if (!data.first_name && !identity.first_name.empty()) {
    data.first_name = identity.first_name;
  }
  if (!data.last_name && !identity.last_name.empty()) {
    data.last_name = identity.last_name;
  }
}

// kBeginRedirect: the attempt's OAuth verification waits for the provider; its single-use state
// is bound to this attempt (which must exist: the state row references it).
Status begin_redirect(store::Tx& tx, FlowDeps& d, const store::Client& client,
                      std::string_view type, const std::string& attempt_id,
                      std::optional<Verification>& v, std::string& redirect_url,
                      std::string& action_url, const RedirectStart& r, std::int64_t now) {
  const std::string strategy(r.strategy);
  LK_TRY(save_oauth_state(tx, d, client, type, attempt_id, strategy, r.start->request, now));
  v = Verification{std::string(to_wire(VerificationStatus::kUnverified)),
                   strategy,
                   r.start->request.authorization_url,
                   {},
                   now + d.settings.oauth_state_lifetime.count(),
                   {},
                   0,
                   {},
                   {},
                   {}};
  redirect_url = r.start->redirect_url;
  action_url = r.start->action_complete_redirect_url;
  return {};
}

}  // namespace

namespace {

// The source side of a transfer goes through its own machine: TransferredToSignUp /
// TransferredToSignIn refuse anything but a transferable attempt holding an identity (and, for
// no attempt at all, say so), with the SDK-facing "Nothing to transfer" errors.
template <typename Row>
Status check_transfer_source(const std::optional<Loaded<Row>>& source) {
  if constexpr (std::is_same_v<Row, store::SignIn>) {
    auto state = source ? load_sign_in_state(source->row.status, source->data)
                        : Result<SignInState>(SignInState{});
    if (!state) {
      return fail(std::move(state.error()));
    }
    if (auto t = sign_in_transition(*state, sign_in_events::TransferredToSignUp{}); !t) {
      return fail(std::move(t.error()));
    }
  } else {
    auto state = source ? load_sign_up_state(source->row.status, source->data)
                        : Result<SignUpState>(SignUpState{});
    if (!state) {
      return fail(std::move(state.error()));
    }
    if (auto t = sign_up_transition(*state, sign_up_events::TransferredToSignIn{}); !t) {
      return fail(std::move(t.error()));
    }
  }
  return {};
}

template <typename Row>
Result<Loaded<Row>> transfer_source(store::Tx& tx, const store::Client& client) {
  std::optional<Loaded<Row>> source;
  if (const auto& id = AttemptTraits<Row>::slot(client)) {
    auto a = load_attempt<Row>(tx, *id);
    if (!a) {
      return fail(std::move(a.error()));
    }
    source = std::move(*a);
  }
  LK_TRY(check_transfer_source(source));
  return std::move(*source);
}

}  // namespace

Result<Loaded<store::SignIn>> transferable_sign_in(store::Tx& tx, const store::Client& client) {
  return transfer_source<store::SignIn>(tx, client);
}

Result<Loaded<store::SignUp>> transferable_sign_up(store::Tx& tx, const store::Client& client) {
  return transfer_source<store::SignUp>(tx, client);
}

bool nothing_left(const FlowDeps& d, const SignUpData& data) {
  if (!missing_fields(data, required_for(d, data)).empty()) {
    return false;
  }
  // An address nobody vouched for (neither the provider nor a code) is an unverified field.
  return !d.settings.identifiers.email_address || !data.email_address || data.email_verified;
}

bool completes_with(const FlowDeps& d, const SignUpData& data, const PendingIdentity& identity) {
  SignUpData preview = data;
  take_sign_up_email(preview, identity);
  take_sign_up_profile(preview, identity);
  preview.identity = identity;  // no password: a provider
  return nothing_left(d, preview);
}

Status run_sign_in(store::Tx& tx, FlowDeps& d, store::Client& client, store::SignIn& row,
                   SignInData& data, const SignInState& state, const SignInEvent& event,
                   const SignInInput& in, std::int64_t now, std::optional<std::string>& issued) {
  // The user a session would be for: a provider identity names it, a first factor's user was
  // identified at create. Their second factors decide whether the session waits for one.
  const std::optional<std::string> user_id = in.facts != nullptr && in.facts->resolution.user_id
                                                 ? in.facts->resolution.user_id
                                                 : data.user_id;
  auto step = sign_in_transition(state, event);
  if (!step) {
    return fail(std::move(step.error()));
  }
  // Only a step that would create a session asks (one statement) what second factors the user has.
  std::vector<std::string> second_factors;
  if (step->effects.has(Effect::kCreateSession) && user_id &&
      state.status != SignInStatus::kNeedsSecondFactor) {
    auto mfa = tx.get_mfa_summary(*user_id);
    if (!mfa) {
      return fail(std::move(mfa.error()));
    }
    second_factors = second_factor_strategies(d.settings.mfa, *mfa);
    if (!second_factors.empty()) {
      step = sign_in_transition(state, event, true);
      if (!step) {
        return fail(std::move(step.error()));
      }
    }
  }
  save_sign_in_state(step->state, row.status, data);
  const Effects fx = step->effects;
  if (data.second_factor && std::holds_alternative<sign_in_events::SecondFactorAttempted>(event)) {
    data.second_factor->strategy = std::string(in.factor_strategy);
  }
  auto& v = data.first_factor;
  if (fx.has(Effect::kBeginRedirect)) {
    LK_TRY(begin_redirect(tx, d, client, kSignInType, row.id, v, data.redirect_url,
                          data.action_complete_redirect_url, in.redirect, now));
  }
  if (v && v->strategy.empty() && in.identity != nullptr) {
    v->strategy = in.identity->strategy;  // a first factor created by a transfer
  }
  if (v && !in.factor_strategy.empty() && step->state.first_factor &&
      step->state.first_factor->strategy == strategy_family(in.factor_strategy)) {
    if (v->strategy != in.factor_strategy) {
      // Another first factor was chosen: what the previous one held does not carry over.
      *v = Verification{v->status, std::string(in.factor_strategy), {}, v->error, {}, {}, 0, {}, {},
                        {}};
    }
  }
  if (fx.has(Effect::kSendCode)) {
    if (in.factor_strategy == "email_link") {
      LK_TRY(issue_link(tx, d, *v, LinkAttempt::kSignIn, *in.code, row.id, now));
    } else {
      LK_TRY(issue_code(tx, d, *v, in.factor_strategy, in.code->email, in.code->email_address_id,
                        row.id, in.code->purpose, in.code->remote_ip, now));
    }
  }
  if (fx.has(Effect::kSetPassword)) {
    auto user = require(tx.get_user(*data.user_id), Code::kFormIdentifierNotFound);
    if (!user) {
      return fail(std::move(user.error()));
    }
    user->password_digest = *in.new_password_digest;
    user->password_reset_required = false;
    user->failed_password_attempts = 0;
    user->locked_until_ms.reset();
    user->updated_at_ms = now;
    LK_TRY(tx.update_user(*user));
    // A password reset: user.updated (webhooks), in this transaction.
    LK_TRY(sessions::emit(d.sessions.events(), tx, sessions::Event::kUserUpdated, user->id, now));
  }
  if (fx.has(Effect::kClearExpiry) && v) {
    // external_verification_redirect_url is kept: the SDK's signIn.sso() starts a fresh attempt
    // only when the current one still carries it (SignInFuture.sso); it navigates to it only
    // while the status is "unverified", so the spent URL is never followed.
    v->expire_at_ms.reset();
  }
  if (fx.has(Effect::kTakeEmail)) {
    data.identifier = non_empty(in.identity->email);
  }
  if (fx.has(Effect::kKeepIdentity)) {
    data.identity = *in.identity;  // unknown account: the SDK transfers it to a sign-up
  }
  if (fx.has(Effect::kRefreshExternalAccount)) {
    LK_TRY(refresh_external_account(tx, *in.facts->resolution.existing_account, *in.identity, now));
  }
  if (fx.has(Effect::kLinkExternalAccount)) {
    LK_TRY(link_external_account(tx, d, *in.facts->resolution.user_id, *in.identity, now));
  }
  if (fx.has(Effect::kRequireSecondFactor)) {
    data.user_id = *user_id;
    data.second_factors = std::move(second_factors);
  }
  if (fx.has(Effect::kCreateSession)) {
    auto sid = d.sessions.create(tx, client, user_id.value_or(""), now, issued);
    if (!sid) {
      return fail(std::move(sid.error()));
    }
    data.user_id = user_id;
    data.created_session_id = *sid;
    client.last_authentication_strategy =
        in.identity != nullptr ? in.identity->strategy : (v ? v->strategy : data.strategy);
  }
  if (fx.has(Effect::kDropIdentity)) {
    data.identity.reset();
  }
  attach_detail(v, sign_in_detail(in));
  return save_attempt(tx, row, data, now);
}

Status run_sign_up(store::Tx& tx, FlowDeps& d, store::Client& client, store::SignUp& row,
                   SignUpData& data, const SignUpState& state, const SignUpEvent& event,
                   const SignUpInput& in, std::int64_t now, std::optional<std::string>& issued) {
  auto step = sign_up_transition(state, event);
  if (!step) {
    return fail(std::move(step.error()));
  }
  save_sign_up_state(step->state, row.status, data);
  const Effects fx = step->effects;
  auto& v = data.external_account;
  if (fx.has(Effect::kBeginRedirect)) {
    LK_TRY(begin_redirect(tx, d, client, kSignUpType, row.id, v, data.redirect_url,
                          data.action_complete_redirect_url, in.redirect, now));
  }
  if (v && v->strategy.empty() && in.identity != nullptr) {
    v->strategy = in.identity->strategy;  // an external account created by a transfer
  }
  if (fx.has(Effect::kClearExpiry) && v) {
    v->expire_at_ms.reset();  // external_verification_redirect_url is kept (see run_sign_in)
  }
  if (fx.has(Effect::kSendCode)) {
    // With enumeration protection a taken address goes on like a fresh one; its owner is told
    // (no code: none can verify a sign-up for an address that has an account).
    CodePurpose purpose = CodePurpose::kVerification;
    if (d.settings.identifiers.enumeration_protection) {
      auto taken = tx.find_email_address(*data.email_address);
      if (!taken) {
        return fail(std::move(taken.error()));
      }
      if (*taken) {
        purpose = CodePurpose::kSignUpAttempt;
      }
    }
    if (step->state.email_address &&
        step->state.email_address->strategy == StrategyFamily::kEmailLink) {
      CodeTarget target = *in.code;
      target.email = purpose == CodePurpose::kSignUpAttempt ? "" : *data.email_address;
      LK_TRY(
          issue_link(tx, d, *data.email_verification, LinkAttempt::kSignUp, target, row.id, now));
    } else {
      LK_TRY(issue_code(tx, d, *data.email_verification, "email_code", *data.email_address, {},
                        row.id, purpose, in.code->remote_ip, now));
    }
  }
  if (data.email_verification && data.email_verification->status == "verified") {
    data.email_verified = true;
  }
  if (fx.has(Effect::kTakeEmail)) {
    take_sign_up_email(data, *in.identity);
  }
  if (fx.has(Effect::kTakeProfile)) {
    take_sign_up_profile(data, *in.identity);
  }
  if (fx.has(Effect::kKeepIdentity)) {
    data.identity = *in.identity;
  }
  if (fx.has(Effect::kCreateUser)) {
    auto user_id = data.identity ? create_user(tx, d, data, *data.identity, now)
                                 : create_password_user(tx, d, data, now);
    if (!user_id) {
      return fail(std::move(user_id.error()));
    }
    // The sign-up completed: user.created (webhooks), in this transaction.
    LK_TRY(sessions::emit(d.sessions.events(), tx, sessions::Event::kUserCreated, *user_id, now));
    data.created_user_id = *user_id;
  }
  if (fx.has(Effect::kCreateSession)) {
    auto sid = d.sessions.create(tx, client, *data.created_user_id, now, issued);
    if (!sid) {
      return fail(std::move(sid.error()));
    }
    client.last_authentication_strategy =
        data.identity ? data.identity->strategy
                      : (data.password_digest ? std::string("password")
                         : data.email_verification && !data.email_verification->strategy.empty()
                             ? data.email_verification->strategy
                             : std::string("email_code"));
    data.created_session_id = *sid;
  }
  if (fx.has(Effect::kDropIdentity)) {
    data.identity.reset();  // provider tokens now live (sealed) on the external account only
  }
  std::optional<Error> detail;
  if (in.error != nullptr) {
    detail = *in.error;
  } else if (in.resolution != nullptr) {
    detail = in.resolution->refusal;
  }
  attach_detail(v, detail);
  return save_attempt(tx, row, data, now);
}

}  // namespace latchkey::flows::detail
