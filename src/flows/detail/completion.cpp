// What a verified identity leads to, for a sign-in and for a sign-up: shared by the OAuth
// callback and by the transfers between the two (signIn.create / signUp.create with transfer).
#include <algorithm>

#include "flows/detail/attempt.hpp"
#include "flows/policy.hpp"

namespace latchkey::flows::detail {

using core::Code;
using core::Error;
using core::fail;
using core::Result;
using core::Status;

Status finish_sign_in(store::Tx& tx, FlowDeps& d, store::Client& client, store::SignIn& row,
                      SignInData& data, const PendingIdentity& identity,
                      const Resolution& resolution, std::int64_t now,
                      std::optional<std::string>& issued) {
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
    auto live = d.sessions.live(tx, client.id, now);
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
    } else if (d.settings.single_session_mode && !live->empty()) {
      v.status = std::string(kFailed);
      v.error = VerificationError::from(Error(Code::kSessionExists));
      row.status = std::string(kNeedsFirstFactor);
    } else {
      if (resolution.existing_account) {
        LK_TRY(refresh_external_account(tx, *resolution.existing_account, identity, now));
      } else {
        LK_TRY(link_external_account(tx, d, user_id, identity, now));
      }
      auto sid = d.sessions.create(tx, client, user_id, now, issued);
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

Status apply_sign_up_identity(store::Tx& tx, FlowDeps& d, store::Client& client,
                              store::SignUp& row, SignUpData& data,
                              const PendingIdentity& identity, std::int64_t now,
                              std::optional<std::string>& issued) {
  Verification& v = *data.external_account;
  // external_verification_redirect_url is kept (see finish_sign_in).
  v.expire_at_ms.reset();
  auto resolution = resolve_identity(tx, d, identity);
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
    return try_complete_sign_up(tx, d, client, row, data, now, issued);
  }
  row.status = std::string(kMissingRequirements);
  row.data = to_json(data);
  row.updated_at_ms = now;
  return tx.update_sign_up(row);
}

Status try_complete_sign_up(store::Tx& tx, FlowDeps& d, store::Client& client,
                            store::SignUp& row, SignUpData& data, std::int64_t now,
                            std::optional<std::string>& issued) {
  if (data.identity && missing_fields(data, d.settings.required_fields).empty()) {
    auto user_id = create_user(tx, d, data, *data.identity, now);
    if (!user_id) {
      return fail(std::move(user_id.error()));
    }
    auto sid = d.sessions.create(tx, client, *user_id, now, issued);
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

}  // namespace latchkey::flows::detail
