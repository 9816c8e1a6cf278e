#include "flows/oauth_callback.hpp"

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

constexpr std::size_t kMaxStateBytes = 512;

// What step 1 hands to steps 2 and 3.
struct Pending {
  std::string attempt_type;
  std::string attempt_id;
  std::string strategy;
  std::string redirect_url;
  oauth::PendingAuthorization authorization;  // oauth/'s, handed back to it as stored
};

// The state machine of either kind: its state, and whether it still waits for the callback.
template <typename Row>
auto load_state(const Row& row, const typename AttemptTraits<Row>::Data& data) {
  if constexpr (std::is_same_v<Row, store::SignIn>) {
    return load_sign_in_state(row.status, data);
  } else {
    return load_sign_up_state(row.status, data);
  }
}

// The attempt a state names is still waiting for the provider: its redirect_url, or why not.
template <typename Row>
Status read_pending(store::Tx& tx, const std::string& id, Pending& p,
                    std::optional<Error>& refusal) {
  auto a = load_attempt<Row>(tx, id);
  if (!a) {
    return fail(std::move(a.error()));
  }
  auto state = load_state(a->row, a->data);
  if (!state) {
    return fail(std::move(state.error()));
  }
  if (!awaits_callback(*state)) {
    refusal = Error(Code::kOAuthStateInvalid)
                  .with_reason(core::Reason::kAttemptDone)
                  .with_internal("reason=attempt_done: attempt moved on");
    return {};  // the attempt moved on; nothing to complete
  }
  p.redirect_url = a->data.redirect_url;
  return {};
}

// Step 3 for either kind: the provider's answer recorded on the attempt, and what it leads to.
template <typename Row>
Status record_outcome(store::Tx& tx, FlowDeps& d, store::Client& client, const Pending& p,
                      const Result<oauth::ExternalIdentity>& identity,
                      const std::optional<PendingIdentity>& sealed, std::int64_t now,
                      std::optional<std::string>& issued) {
  auto a = load_attempt<Row>(tx, p.attempt_id);
  if (!a) {
    return fail(std::move(a.error()));
  }
  auto state = load_state(a->row, a->data);
  if (!state) {
    return fail(std::move(state.error()));
  }
  if (!awaits_callback(*state)) {
    return {};  // completed or failed meanwhile (a double submit): the first outcome stands
  }
  if constexpr (std::is_same_v<Row, store::SignIn>) {
    if (!identity) {
      return run_sign_in(tx, d, client, a->row, a->data, *state,
                         sign_in_events::ProviderFailed{p.strategy, identity.error().code},
                         {.error = &identity.error()}, now, issued);
    }
    auto facts = sign_in_facts(tx, d, client, *sealed, now);
    if (!facts) {
      return fail(std::move(facts.error()));
    }
    return run_sign_in(tx, d, client, a->row, a->data, *state,
                       sign_in_events::IdentityResolved{sealed->strategy, facts->outcome},
                       {.identity = &*sealed, .facts = &*facts}, now, issued);
  } else {
    if (!identity) {
      return run_sign_up(tx, d, client, a->row, a->data, *state,
                         sign_up_events::ProviderFailed{p.strategy, identity.error().code},
                         {.error = &identity.error()}, now, issued);
    }
    auto resolution = resolve_identity(tx, d, *sealed);
    if (!resolution) {
      return fail(std::move(resolution.error()));
    }
    return run_sign_up(
        tx, d, client, a->row, a->data, *state,
        sign_up_events::IdentityResolved{sealed->strategy, identity_match(*resolution),
                                         completes_with(d, a->data, *sealed)},
        {.identity = &*sealed, .resolution = &*resolution}, now, issued);
  }
}

// Whether the state's attempt is the client's current attempt of that kind.
bool is_current(const store::Client& client, const store::OAuthState& row) {
  const auto& slot = row.attempt_type == kSignInType ? AttemptTraits<store::SignIn>::slot(client)
                                                     : AttemptTraits<store::SignUp>::slot(client);
  return slot == row.attempt_id;
}

}  // namespace

Result<CallbackOutcome> OAuthCallback::handle(const Caller& caller,
                                              const oauth::CallbackParams& params,
                                              const std::string& state) {
  const std::int64_t now = d_.clock.now_ms();
  std::optional<Pending> pending;
  std::optional<Error> refusal;

  // Step 1: consume the state (single use) and check its binding to this browser's client and
  // attempt. A state that does not resolve to a pending attempt of THIS browser ends with a 400
  // on the FAPI origin, never a redirect (security catalog §2.0, B1-B6): no URL is taken from
  // the request.
  auto st = d_.store.transaction([&](store::Tx& tx) -> Status {
    pending.reset();
    refusal.reset();
    auto client = d_.clients().find(tx, caller, now);
    if (!client && sessions::is_stale_credential(client.error())) {
      // A stale copy of a rotated credential (e.g. the loser of a double-submitted callback whose
      // winner just signed the browser in): nothing of this browser's can complete with it, and
      // nothing is consumed or failed.
      refusal = Error(Code::kOAuthStateInvalid)
                    .with_reason(client.error().reason)
                    .with_internal(std::move(client.error().internal));
      return {};
    }
    if (!client) {
      return fail(std::move(client.error()));
    }
    std::optional<store::OAuthState> row;
    if (!state.empty() && state.size() <= kMaxStateBytes) {
      auto consumed = tx.consume_oauth_state(sessions::Clients::hash_token(state), now);
      if (!consumed) {
        return fail(std::move(consumed.error()));
      }
      row = std::move(*consumed);
    }
    const bool same_client = row && *client && row->client_id == (*client)->id;
    if (!same_client || !is_current(**client, *row)) {
      std::string reason = state.empty()                   ? "reason=missing: no state"
                           : state.size() > kMaxStateBytes ? "reason=malformed: state too long"
                           : !row         ? "reason=unknown: unknown, expired or replayed state"
                           : !same_client ? "reason=client_mismatch: state bound to another browser"
                                          : "reason=attempt_mismatch: state of a replaced attempt";
      const core::Reason kind = state.empty()                   ? core::Reason::kMissing
                                : state.size() > kMaxStateBytes ? core::Reason::kMalformed
                                : !row                          ? core::Reason::kUnknown
                                : !same_client                  ? core::Reason::kClientMismatch
                                                                : core::Reason::kAttemptMismatch;
      Error why = Error(Code::kOAuthStateInvalid).with_reason(kind).with_internal(reason);
      if (row && !same_client) {
        // Another browser's state (login CSRF / session swap, B6): the owner's attempt can never
        // complete now (its single-use state is spent), and the presenting browser's own OAuth
        // attempt is failed too - it was sent somebody else's authorization response.
        LK_TRY(fail_oauth_verification(tx, d_, row->attempt_type, row->attempt_id, why, now));
        if (*client) {
          if ((*client)->sign_in_id) {
            LK_TRY(fail_oauth_verification(tx, d_, kSignInType, *(*client)->sign_in_id, why, now));
          }
          if ((*client)->sign_up_id) {
            LK_TRY(fail_oauth_verification(tx, d_, kSignUpType, *(*client)->sign_up_id, why, now));
          }
        }
      }
      // An unknown, expired or replayed state leaves this browser's attempt untouched: it may be
      // the duplicate of a callback that is completing right now (B19 double submit), and a
      // forged link must not be able to cancel somebody's sign-in.
      refusal = std::move(why);
      return {};
    }
    Pending p;
    p.attempt_type = row->attempt_type;
    p.attempt_id = row->attempt_id;
    p.strategy = row->strategy;
    p.authorization = oauth::PendingAuthorization(std::move(row->data));
    LK_TRY(row->attempt_type == kSignInType
               ? read_pending<store::SignIn>(tx, row->attempt_id, p, refusal)
               : read_pending<store::SignUp>(tx, row->attempt_id, p, refusal));
    if (!refusal) {
      pending = std::move(p);
    }
    return {};
  });
  if (!st) {
    return fail(std::move(st.error()));
  }
  if (!pending) {
    return fail(
        refusal.value_or(Error(Code::kOAuthStateInvalid)
                             .with_reason(core::Reason::kUnknown)
                             .with_internal("reason=unknown: no attempt for this callback")));
  }
  // Validated when the attempt was created, and again at use (security catalog §2.C): the
  // allowlist may have changed since. Checked before the code is redeemed.
  if (auto ok = resolve_redirect_url(pending->redirect_url, d_.settings.public_origin,
                                     d_.settings.allowed_origins, "redirect_url");
      !ok) {
    return fail(Error(Code::kRedirectUrlInvalid)
                    .with_reason(core::Reason::kRedirectUrl)
                    .with_internal("reason=redirect_url: stored redirect_url no longer allowed"));
  }

  // Step 2: talk to the provider, outside any transaction.
  auto identity = d_.oauth.complete(pending->strategy, params, state, pending->authorization);
  if (!identity && identity.error().code == Code::kInternal) {
    // Not the provider's answer but a fault of ours (a stored value that no longer opens: another
    // master key, a tampered row): the request fails, the attempt is left to expire.
    return fail(std::move(identity.error()));
  }
  std::optional<PendingIdentity> sealed;
  if (identity) {
    sealed = seal_identity(d_, *identity);
  }

  // Step 3: record the outcome on the attempt, creating what it leads to in one transaction.
  std::optional<std::string> issued;
  st = d_.store.transaction([&](store::Tx& tx) -> Status {
    issued.reset();
    auto client = d_.clients().require(tx, caller, now);
    if (!client) {
      return fail(std::move(client.error()));
    }
    LK_TRY(pending->attempt_type == kSignInType
               ? record_outcome<store::SignIn>(tx, d_, *client, *pending, identity, sealed, now,
                                               issued)
               : record_outcome<store::SignUp>(tx, d_, *client, *pending, identity, sealed, now,
                                               issued));
    client->updated_at_ms = now;
    return tx.update_client(*client);
  });
  if (!st) {
    return fail(std::move(st.error()));
  }
  CallbackOutcome out{pending->redirect_url, std::nullopt, std::move(issued)};
  if (!identity) {
    out.failure = identity.error();  // for the audit log at the boundary (reason in `internal`)
  }
  return out;
}

}  // namespace latchkey::flows
