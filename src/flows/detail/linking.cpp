// Account linking (design.md §4): which user a provider's identity belongs to, and the external
// account and user rows a verified identity creates or refreshes.
#include "flows/detail/attempt.hpp"
#include "flows/policy.hpp"

namespace latchkey::flows::detail {

using core::Code;
using core::Error;
using core::fail;
using core::Result;
using core::Status;

Result<Resolution> resolve_identity(store::Tx& tx, const FlowDeps& d,
                                    const PendingIdentity& identity) {
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
  const oauth::Provider* provider = d.oauth.find(identity.strategy);
  const bool trusted = provider != nullptr && provider->trust_email_verified;
  if (decide_link(identity.email_verified, trusted, (*address)->verified) == LinkDecision::kLink) {
    r.user_id = (*address)->user_id;
    r.link_by_email = true;
  } else {
    r.refusal = Error(Code::kExternalAccountEmailUnverified);
  }
  return r;
}

Status refresh_external_account(store::Tx& tx, store::ExternalAccount account,
                                const PendingIdentity& identity, std::int64_t now) {
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

Status link_external_account(store::Tx& tx, FlowDeps& d, const std::string& user_id,
                             const PendingIdentity& identity, std::int64_t now) {
  store::ExternalAccount a;
  a.id = d.random.id("eac");
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

namespace {

// The user a completed sign-up makes, with its address (verified as the sign-up says, by
// `verification_strategy`): one code for every sign-up strategy. `taken` is the error when the
// address was claimed by someone else since the sign-up started.
Result<store::User> insert_sign_up_user(store::Tx& tx, FlowDeps& d, const SignUpData& data,
                                        std::optional<std::string> image_url,
                                        std::optional<std::string> password_digest,
                                        const std::string& verification_strategy,
                                        const Error& taken, std::int64_t now) {
  store::User u;
  u.id = d.random.id("user");
  u.first_name = data.first_name;
  u.last_name = data.last_name;
  u.username = data.username;
  u.image_url = std::move(image_url);
  u.unsafe_metadata = data.unsafe_metadata;
  u.legal_accepted_at_ms = data.legal_accepted_at_ms;
  u.password_digest = std::move(password_digest);
  u.created_at_ms = now;
  u.updated_at_ms = now;
  if (data.username) {
    auto by_name = tx.find_user_by_username(*data.username);
    if (!by_name) {
      return fail(std::move(by_name.error()));
    }
    if (*by_name) {
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
      return fail(taken);
    }
  }
  LK_TRY(tx.insert_user(u));
  if (data.email_address) {
    store::EmailAddress e;
    e.id = d.random.id("idn");
    e.user_id = u.id;
    e.email = *data.email_address;
    e.verified = data.email_verified;
    e.verification_strategy = data.email_verified ? verification_strategy : "email_code";
    e.created_at_ms = now;
    e.updated_at_ms = now;
    LK_TRY(tx.insert_email_address(e));
    u.primary_email_address_id = e.id;
    LK_TRY(tx.update_user(u));
  }
  return u;
}

}  // namespace

Result<std::string> create_user(store::Tx& tx, FlowDeps& d, const SignUpData& data,
                                const PendingIdentity& identity, std::int64_t now) {
  // Someone claimed the address between the callback and now: never link silently.
  // An address the provider did not vouch for was verified by a code (sign_up_machine.hpp).
  const bool by_code = data.email_verification && data.email_verification->status == "verified";
  auto u = insert_sign_up_user(tx, d, data, non_empty(identity.image_url), std::nullopt,
                               by_code ? std::string("email_code") : "from_" + identity.strategy,
                               Error(Code::kExternalAccountEmailUnverified), now);
  if (!u) {
    return fail(std::move(u.error()));
  }
  LK_TRY(link_external_account(tx, d, u->id, identity, now));
  return u->id;
}

Result<std::string> create_password_user(store::Tx& tx, FlowDeps& d, const SignUpData& data,
                                         std::int64_t now) {
  // Claimed by someone else since this sign-up started: the verification proved only that this
  // browser reads the mailbox, not that it may take the account.
  auto u = insert_sign_up_user(
      tx, d, data, std::nullopt, data.password_digest, "email_code",
      Error(Code::kFormIdentifierExists).with_meta("param_name", "email_address"), now);
  if (!u) {
    return fail(std::move(u.error()));
  }
  return u->id;
}

}  // namespace latchkey::flows::detail
