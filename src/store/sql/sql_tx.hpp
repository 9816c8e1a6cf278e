#pragma once
// Tx written once for both engines: which catalog statement each operation runs, with which
// parameters in which order, and what its result means. An engine supplies a Driver that runs a
// catalog statement on its own connection:
//
//   Status write(Query, args...)                     INSERT/UPDATE; a constraint failure leaves
//                                                    the transaction usable (PostgreSQL: savepoint)
//   Status write_one(table, Query, args...)          UPDATE of exactly one row, else not found
//   Status delete_one(table, Query, args...)         DELETE of exactly one row, else not found
//   Result<int64_t> changes(Query, args...)          rows the statement touched
//   Result<optional<T>> query_one(Query, as<T>, args...)   the first row, read by sql::read_row
//   Result<vector<T>> query_all(Query, as<T>, args...)     every row
//
// args are std::string, std::int64_t, bool, their std::optional, Blob and OptBlob.
// The driver also carries whatever the engine's runner needs to know afterwards (tx.driver()).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/sql/catalog.hpp"
#include "store/sql/rows.hpp"
#include "store/sql/values.hpp"
#include "store/store.hpp"

namespace latchkey::store::sql {

template <typename Driver>
class SqlTx final : public Tx {
 public:
  template <typename... A>
  explicit SqlTx(A&&... args) : d_(std::forward<A>(args)...) {}

  Driver& driver() { return d_; }

  // ---- signing keys
  Result<std::vector<SigningKey>> list_signing_keys() override {
    return d_.query_all(Query::kListSigningKeys, as<SigningKey>);
  }
  Status insert_signing_key(const SigningKey& k) override {
    return d_.write(Query::kInsertSigningKey, k.kid, k.algorithm, k.public_jwk,
                    Blob{&k.private_key_enc}, k.created_at_ms, k.active, k.retired_at_ms);
  }
  Status retire_signing_key(const std::string& kid, std::int64_t at_ms) override {
    return d_.write_one("signing_keys", Query::kRetireSigningKey, at_ms, kid);
  }
  Status delete_signing_key(const std::string& kid) override {
    return d_.delete_one("signing_keys", Query::kDeleteSigningKey, kid);
  }

  // ---- users
  Status insert_user(const User& u) override {
    return d_.write(Query::kInsertUser, u.id, u.first_name, u.last_name, u.username, u.image_url,
                    u.primary_email_address_id, u.public_metadata, u.unsafe_metadata,
                    u.legal_accepted_at_ms, u.last_sign_in_at_ms, u.created_at_ms, u.updated_at_ms,
                    u.password_digest, u.password_reset_required,
                    static_cast<std::int64_t>(u.failed_password_attempts), u.locked_until_ms,
                    u.banned, u.private_metadata);
  }
  Result<std::optional<User>> get_user(const std::string& id) override {
    return d_.query_one(Query::kGetUser, as<User>, id);
  }
  Result<std::optional<User>> find_user_by_email(const std::string& email) override {
    return d_.query_one(Query::kFindUserByEmail, as<User>, ascii_lower(email));
  }
  Result<std::optional<User>> find_user_by_username(const std::string& username) override {
    return d_.query_one(Query::kFindUserByUsername, as<User>, username);
  }
  Status update_user(const User& u) override {
    return d_.write_one("users", Query::kUpdateUser, u.first_name, u.last_name, u.username,
                        u.image_url, u.primary_email_address_id, u.public_metadata,
                        u.unsafe_metadata, u.legal_accepted_at_ms, u.last_sign_in_at_ms,
                        u.updated_at_ms, u.password_digest, u.password_reset_required,
                        static_cast<std::int64_t>(u.failed_password_attempts), u.locked_until_ms,
                        u.banned, u.private_metadata, u.id);
  }
  Status delete_user(const std::string& id) override {
    return d_.delete_one("users", Query::kDeleteUser, id);
  }
  Result<std::vector<User>> list_users(const UserQuery& q) override {
    const std::string order =
        std::string(q.ascending ? "" : "-") + (q.by_updated_at ? "updated_at" : "created_at");
    return d_.query_all(Query::kListUsers, as<User>, q.user_id, ascii_lower(q.email_address),
                        like_pattern(q.query), order, q.limit, q.offset);
  }
  Result<std::int64_t> count_users(const UserQuery& q) override {
    auto row = d_.query_one(Query::kCountUsers, as<Count>, q.user_id, ascii_lower(q.email_address),
                            like_pattern(q.query));
    if (!row) {
      return core::fail(std::move(row.error()));
    }
    return *row ? (*row)->value : 0;
  }

  // ---- second factors
  Status insert_totp(const Totp& t) override {
    return d_.write(Query::kInsertTotp, t.id, t.user_id, t.secret_enc, t.verified, t.last_used_step,
                    static_cast<std::int64_t>(t.failed_attempts), t.created_at_ms, t.updated_at_ms);
  }
  Result<std::optional<Totp>> get_totp(const std::string& user_id) override {
    return d_.query_one(Query::kGetTotp, as<Totp>, user_id);
  }
  Status update_totp(const Totp& t) override {
    return d_.write_one("user_totp", Query::kUpdateTotp, t.verified, t.last_used_step,
                        static_cast<std::int64_t>(t.failed_attempts), t.updated_at_ms, t.user_id);
  }
  Status use_totp_step(const std::string& user_id, std::int64_t step, std::int64_t at_ms) override {
    return d_.write_one("user_totp", Query::kUseTotpStep, step, at_ms, user_id);
  }
  Status delete_totp(const std::string& user_id) override {
    return d_.delete_one("user_totp", Query::kDeleteTotp, user_id);
  }
  Status replace_backup_codes(const std::string& user_id, const std::vector<std::string>& macs,
                              std::int64_t at_ms) override {
    if (auto s = d_.write(Query::kDeleteBackupCodes, user_id); !s) {
      return s;
    }
    for (const auto& mac : macs) {
      if (auto s = d_.write(Query::kInsertBackupCode, user_id, mac, at_ms); !s) {
        return s;
      }
    }
    return {};
  }
  Status use_backup_code(const std::string& user_id, const std::string& code_mac) override {
    return d_.delete_one("backup_codes", Query::kUseBackupCode, user_id, code_mac);
  }
  Status delete_backup_codes(const std::string& user_id) override {
    return d_.write(Query::kDeleteBackupCodes, user_id);
  }
  Result<MfaSummary> get_mfa_summary(const std::string& user_id) override {
    auto row = d_.query_one(Query::kGetMfaSummary, as<MfaSummary>, user_id);
    if (!row) {
      return core::fail(std::move(row.error()));
    }
    return row->value_or(MfaSummary{});
  }

  // ---- secret keys
  Status insert_secret_key(const SecretKey& k) override {
    return d_.write(Query::kInsertSecretKey, k.id, k.key_hash, k.hint, k.created_at_ms,
                    k.revoked_at_ms);
  }
  Result<std::vector<SecretKey>> list_secret_keys() override {
    return d_.query_all(Query::kListSecretKeys, as<SecretKey>);
  }
  Result<std::optional<SecretKey>> find_secret_key_by_hash(const std::string& key_hash) override {
    return d_.query_one(Query::kFindSecretKeyByHash, as<SecretKey>, key_hash);
  }
  Status revoke_secret_key(const std::string& id, std::int64_t at_ms) override {
    return d_.write_one("secret_keys", Query::kRevokeSecretKey, at_ms, id);
  }

  // ---- email addresses (stored and looked up ASCII-lower-cased)
  Status insert_email_address(const EmailAddress& e) override {
    return d_.write(Query::kInsertEmailAddress, e.id, e.user_id, ascii_lower(e.email), e.verified,
                    e.verification_strategy, e.created_at_ms, e.updated_at_ms);
  }
  Result<std::optional<EmailAddress>> get_email_address(const std::string& id) override {
    return d_.query_one(Query::kGetEmailAddress, as<EmailAddress>, id);
  }
  Result<std::optional<EmailAddress>> find_email_address(const std::string& email) override {
    return d_.query_one(Query::kFindEmailAddress, as<EmailAddress>, ascii_lower(email));
  }
  Result<std::vector<EmailAddress>> list_email_addresses(const std::string& user_id) override {
    return d_.query_all(Query::kListEmailAddresses, as<EmailAddress>, user_id);
  }
  Status update_email_address(const EmailAddress& e) override {
    return d_.write_one("email_addresses", Query::kUpdateEmailAddress, ascii_lower(e.email),
                        e.verified, e.verification_strategy, e.updated_at_ms, e.id);
  }
  Status delete_email_address(const std::string& id) override {
    return d_.delete_one("email_addresses", Query::kDeleteEmailAddress, id);
  }

  // ---- external accounts
  Status insert_external_account(const ExternalAccount& a) override {
    return d_.write(Query::kInsertExternalAccount, a.id, a.user_id, a.provider, a.provider_user_id,
                    a.email, a.email_verified, a.first_name, a.last_name, a.image_url, a.username,
                    a.approved_scopes, OptBlob{&a.access_token_enc}, OptBlob{&a.refresh_token_enc},
                    a.access_token_expires_at_ms, a.created_at_ms, a.updated_at_ms);
  }
  Result<std::optional<ExternalAccount>> get_external_account(const std::string& id) override {
    return d_.query_one(Query::kGetExternalAccount, as<ExternalAccount>, id);
  }
  Result<std::optional<ExternalAccount>> find_external_account(
      const std::string& provider, const std::string& provider_user_id) override {
    return d_.query_one(Query::kFindExternalAccount, as<ExternalAccount>, provider,
                        provider_user_id);
  }
  Result<std::vector<ExternalAccount>> list_external_accounts(const std::string& user_id) override {
    return d_.query_all(Query::kListExternalAccounts, as<ExternalAccount>, user_id);
  }
  Status update_external_account(const ExternalAccount& a) override {
    return d_.write_one(
        "external_accounts", Query::kUpdateExternalAccount, a.email, a.email_verified, a.first_name,
        a.last_name, a.image_url, a.username, a.approved_scopes, OptBlob{&a.access_token_enc},
        OptBlob{&a.refresh_token_enc}, a.access_token_expires_at_ms, a.updated_at_ms, a.id);
  }
  Status delete_external_account(const std::string& id) override {
    return d_.delete_one("external_accounts", Query::kDeleteExternalAccount, id);
  }

  // ---- clients
  Status insert_client(const Client& c) override {
    return d_.write(Query::kInsertClient, c.id, c.cookie_token_hash, c.sign_in_id, c.sign_up_id,
                    c.last_active_session_id, c.last_authentication_strategy, c.expire_at_ms,
                    c.created_at_ms, c.updated_at_ms, c.previous_cookie_token_hash,
                    c.previous_cookie_valid_until_ms);
  }
  Result<std::optional<Client>> get_client(const std::string& id) override {
    return d_.query_one(Query::kGetClient, as<Client>, id);
  }
  Result<std::optional<Client>> find_client_by_cookie_hash(const std::string& hash) override {
    return d_.query_one(Query::kFindClientByCookieHash, as<Client>, hash);
  }
  Result<std::optional<Client>> find_client_by_previous_cookie_hash(
      const std::string& hash) override {
    return d_.query_one(Query::kFindClientByPreviousCookieHash, as<Client>, hash);
  }
  Result<std::vector<Client>> list_clients(std::int64_t limit, std::int64_t offset) override {
    return d_.query_all(Query::kListClients, as<Client>, limit, offset);
  }
  Result<std::int64_t> count_clients() override {
    auto row = d_.query_one(Query::kCountClients, as<Count>);
    if (!row) {
      return core::fail(std::move(row.error()));
    }
    return *row ? (*row)->value : 0;
  }
  Status update_client(const Client& c) override {
    return d_.write_one("clients", Query::kUpdateClient, c.cookie_token_hash, c.sign_in_id,
                        c.sign_up_id, c.last_active_session_id, c.last_authentication_strategy,
                        c.expire_at_ms, c.updated_at_ms, c.previous_cookie_token_hash,
                        c.previous_cookie_valid_until_ms, c.id);
  }
  Status delete_client(const std::string& id) override {
    return d_.delete_one("clients", Query::kDeleteClient, id);
  }

  // ---- sign-ins and sign-ups: one shape, two tables
  Status insert_sign_in(const SignIn& a) override {
    return insert_attempt(Query::kInsertSignIn, a);
  }
  Result<std::optional<SignIn>> get_sign_in(const std::string& id) override {
    return d_.query_one(Query::kGetSignIn, as<SignIn>, id);
  }
  Status update_sign_in(const SignIn& a) override {
    return update_attempt("sign_ins", Query::kUpdateSignIn, a);
  }
  Status delete_sign_in(const std::string& id) override {
    return d_.delete_one("sign_ins", Query::kDeleteSignIn, id);
  }
  Status insert_sign_up(const SignUp& a) override {
    return insert_attempt(Query::kInsertSignUp, a);
  }
  Result<std::optional<SignUp>> get_sign_up(const std::string& id) override {
    return d_.query_one(Query::kGetSignUp, as<SignUp>, id);
  }
  Status update_sign_up(const SignUp& a) override {
    return update_attempt("sign_ups", Query::kUpdateSignUp, a);
  }
  Status delete_sign_up(const std::string& id) override {
    return d_.delete_one("sign_ups", Query::kDeleteSignUp, id);
  }

  // ---- sessions
  Status insert_session(const Session& x) override {
    return d_.write(Query::kInsertSession, x.id, x.client_id, x.user_id, x.status, x.tasks,
                    x.expire_at_ms, x.abandon_at_ms, x.last_active_at_ms, x.created_at_ms,
                    x.updated_at_ms);
  }
  Result<std::optional<Session>> get_session(const std::string& id) override {
    return d_.query_one(Query::kGetSession, as<Session>, id);
  }
  Result<std::vector<Session>> list_sessions_by_client(const std::string& client_id) override {
    return d_.query_all(Query::kListSessionsByClient, as<Session>, client_id);
  }
  Result<std::vector<Session>> list_sessions_by_user(const std::string& user_id) override {
    return d_.query_all(Query::kListSessionsByUser, as<Session>, user_id);
  }
  Status update_session(const Session& x) override {
    return d_.write_one("sessions", Query::kUpdateSession, x.status, x.tasks, x.expire_at_ms,
                        x.abandon_at_ms, x.last_active_at_ms, x.updated_at_ms, x.id);
  }
  Status delete_session(const std::string& id) override {
    return d_.delete_one("sessions", Query::kDeleteSession, id);
  }

  // ---- OAuth states
  Status insert_oauth_state(const OAuthState& o) override {
    return d_.write(Query::kInsertOAuthState, o.state_hash, o.client_id, o.attempt_type,
                    o.attempt_id, o.strategy, o.data, o.expire_at_ms, o.created_at_ms);
  }
  Result<std::optional<OAuthState>> consume_oauth_state(const std::string& state_hash,
                                                        std::int64_t now_ms) override {
    // Whoever deletes the row owns it, so two concurrent callbacks with the same state cannot both
    // succeed (RFC 9700 §4.7.1: state is single use). On PostgreSQL the loser waits for the row
    // lock, fails to serialize (40001), is re-run and finds nothing.
    auto row = d_.query_one(Query::kConsumeOAuthState, as<OAuthState>, state_hash);
    if (!row) {
      return core::fail(std::move(row.error()));
    }
    if (*row && (*row)->expire_at_ms <= now_ms) {
      return std::optional<OAuthState>();  // an expired row is deleted all the same
    }
    return row;
  }

  // ---- outbox
  Status insert_outbox_message(const OutboxMessage& m) override {
    return d_.write(Query::kInsertOutboxMessage, m.id, m.channel, m.purpose, m.recipient, m.country,
                    m.remote_ip, m.payload_enc, m.status, m.attempts, m.next_attempt_at_ms,
                    m.lease_until_ms, m.last_error, m.sent_at_ms, m.created_at_ms);
  }
  Result<std::optional<OutboxMessage>> get_outbox_message(const std::string& id) override {
    return d_.query_one(Query::kGetOutboxMessage, as<OutboxMessage>, id);
  }
  Status update_outbox_message(const OutboxMessage& m) override {
    return d_.write_one("outbox", Query::kUpdateOutboxMessage, m.status, m.payload_enc, m.attempts,
                        m.next_attempt_at_ms, m.lease_until_ms, m.last_error, m.sent_at_ms, m.id);
  }
  Result<std::int64_t> count_outbox_messages(OutboxKey key, const std::string& value,
                                             std::int64_t since_ms) override {
    const Query q = key == OutboxKey::kRecipient  ? Query::kCountOutboxByRecipient
                    : key == OutboxKey::kRemoteIp ? Query::kCountOutboxByRemoteIp
                                                  : Query::kCountOutboxByCountry;
    auto row = d_.query_one(q, as<Count>, value, since_ms);
    if (!row) {
      return core::fail(std::move(row.error()));
    }
    return *row ? (*row)->value : 0;
  }
  Result<std::vector<OutboxMessage>> claim_outbox_messages(std::int64_t now_ms,
                                                           std::int64_t lease_until_ms,
                                                           std::int64_t limit) override {
    return d_.query_all(Query::kClaimOutboxMessages, as<OutboxMessage>, lease_until_ms, now_ms,
                        limit);
  }
  Result<std::int64_t> purge_outbox(std::int64_t before_ms) override {
    return d_.changes(Query::kPurgeOutbox, before_ms);
  }

  // ---- webhook deliveries
  Status insert_webhook_delivery(const WebhookDelivery& d) override {
    return d_.write(Query::kInsertWebhookDelivery, d.id, d.event_id, d.event_type, d.object_id,
                    d.endpoint, d.payload, d.status, d.attempts, d.next_attempt_at_ms,
                    d.lease_until_ms, d.last_error, d.delivered_at_ms, d.created_at_ms);
  }
  Result<std::optional<WebhookDelivery>> get_webhook_delivery(const std::string& id) override {
    return d_.query_one(Query::kGetWebhookDelivery, as<WebhookDelivery>, id);
  }
  Status update_webhook_delivery(const WebhookDelivery& d) override {
    return d_.write_one("webhook_deliveries", Query::kUpdateWebhookDelivery, d.status, d.attempts,
                        d.next_attempt_at_ms, d.lease_until_ms, d.last_error, d.delivered_at_ms,
                        d.id);
  }
  Result<std::vector<WebhookDelivery>> claim_webhook_deliveries(std::int64_t now_ms,
                                                                std::int64_t lease_until_ms,
                                                                std::int64_t limit) override {
    return d_.query_all(Query::kClaimWebhookDeliveries, as<WebhookDelivery>, lease_until_ms, now_ms,
                        limit);
  }
  Result<std::vector<WebhookDelivery>> list_webhook_deliveries(bool failed_only,
                                                               std::int64_t limit) override {
    return d_.query_all(
        failed_only ? Query::kListFailedWebhookDeliveries : Query::kListWebhookDeliveries,
        as<WebhookDelivery>, limit);
  }
  Result<std::int64_t> purge_webhook_deliveries(std::int64_t before_ms) override {
    return d_.changes(Query::kPurgeWebhookDeliveries, before_ms);
  }

  // ---- housekeeping
  Result<PurgeCounts> purge_expired(std::int64_t now_ms) override {
    PurgeCounts n;
    struct Step {
      Query query;
      std::int64_t* count;
    };
    // Clients last, so rows that expired on their own are counted under their own table.
    const Step steps[] = {
        {Query::kPurgeOAuthStates, &n.oauth_states}, {Query::kPurgeSignIns, &n.sign_ins},
        {Query::kPurgeSignUps, &n.sign_ups},         {Query::kPurgeSessions, &n.sessions},
        {Query::kPurgeClients, &n.clients},          {Query::kPurgeRateCounters, &n.rate_counters},
    };
    for (const auto& step : steps) {
      auto changed = d_.changes(step.query, now_ms);
      if (!changed) {
        return core::fail(std::move(changed.error()));
      }
      *step.count = *changed;
    }
    return n;
  }

 private:
  template <typename Attempt>
  Status insert_attempt(Query q, const Attempt& a) {
    return d_.write(q, a.id, a.client_id, a.status, a.data, a.abandon_at_ms, a.created_at_ms,
                    a.updated_at_ms);
  }
  template <typename Attempt>
  Status update_attempt(std::string_view table, Query q, const Attempt& a) {
    return d_.write_one(table, q, a.status, a.data, a.abandon_at_ms, a.updated_at_ms, a.id);
  }

  Driver d_;
};

}  // namespace latchkey::store::sql
