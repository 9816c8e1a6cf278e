#pragma once
// The one storage interface (design.md §1, §2). Callers never see SQL, handles or transactions of a
// particular engine: a PostgreSQL implementation satisfies the same interface without changing
// them.
//
// Every data operation lives on Tx. A Tx exists only inside Store::transaction(): the callback's
// writes commit together when it returns success and roll back together when it returns an error
// (or throws). That is how "no half-made user, session or link" is guaranteed.
//
// Conventions (every backend honours them; tests/contract/ checks them):
// - Timestamps are int64 milliseconds since the epoch (FAPI README §1.6); fields end in `_ms`.
// - Ids are strings with Clerk prefixes (user_, idn_, eac_, client_, sia_, sua_, sess_), made
//   by the caller (core::Random::id); the store never invents ids.
// - Lookups (`get_*`, `find_*`) return `Result<std::optional<Row>>`: absence is std::nullopt,
//   not an error. An error always means the database failed.
// - `update_*`, `delete_*`, `retire_*` of a row that does not exist fail with
//   Code::kResourceNotFound.
// - `update_*` writes every mutable field of the row (whole-row replace by id); immutable fields
//   (id, owner ids, created_at) are never changed by an update.
// - A unique-constraint violation fails with Code::kConflict and `internal` starting with the
//   constraint name (the k*Key constants below) followed by ": " and the engine's message; use
//   is_conflict(). A foreign-key violation fails with Code::kConflict and `internal` starting with
//   kForeignKey.
// - Busy beyond the timeout and retries: Code::kServiceUnavailable. Anything else: Code::kInternal.
//   Engine messages appear only in `internal`, never in message/long_message.
// - JSON columns (`*metadata`, `data`, `tasks`) are stored as given; the store does not parse them.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace latchkey::store {

using core::Result;
using core::Status;

// ---- rows ---------------------------------------------------------------------------------

struct SigningKey {
  std::string kid;
  std::string algorithm;        // "RS256"
  std::string public_jwk;       // JSON object text (RFC 7517), published as is
  std::string private_key_enc;  // private key, encrypted at rest (opaque to the store)
  std::int64_t created_at_ms = 0;
  bool active = false;                        // exactly one active key signs
  std::optional<std::int64_t> retired_at_ms;  // when it stopped signing; still published until
                                              // retired_at + retire_after

  bool operator==(const SigningKey&) const = default;
};

struct User {
  std::string id;  // user_...
  std::optional<std::string> first_name;
  std::optional<std::string> last_name;
  std::optional<std::string> username;  // unique, compared case-insensitively (ASCII)
  std::optional<std::string> image_url;
  std::optional<std::string> primary_email_address_id;  // idn_... (not enforced as a foreign key)
  std::string public_metadata = "{}";                   // JSON object text
  std::string unsafe_metadata = "{}";                   // JSON object text
  std::optional<std::int64_t> legal_accepted_at_ms;
  std::optional<std::int64_t> last_sign_in_at_ms;
  // The password (0004): an argon2id PHC string or an imported bcrypt hash; nullopt = none.
  std::optional<std::string> password_digest;
  bool password_reset_required = false;  // the next correct password leads to needs_new_password
  int failed_password_attempts = 0;      // consecutive wrong passwords
  std::optional<std::int64_t> locked_until_ms;  // temporary lockout after too many of them
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
  // 0008 (the Backend API): users.ban(), and metadata the Frontend API never shows.
  bool banned = false;
  std::string private_metadata = "{}";  // JSON object text

  bool operator==(const User&) const = default;
};

// An authenticator app of a user (0010): at most one per user. `secret_enc` is the sealed RFC 6238
// secret; unverified until the user has entered a first code. last_used_step is the highest time
// step accepted (a code is used once).
struct Totp {
  std::string id;  // totp_...
  std::string user_id;
  std::string secret_enc;
  bool verified = false;
  std::int64_t last_used_step = 0;
  int failed_attempts = 0;  // wrong second-factor codes since the last right one
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;

  bool operator==(const Totp&) const = default;
};

// What a user has of second factors (0010), in one statement: for the user object's
// two_factor_enabled / totp_enabled / backup_code_enabled and the sign-in's second factors.
struct MfaSummary {
  bool totp = false;              // a verified authenticator app
  std::int64_t backup_codes = 0;  // unused backup codes

  bool operator==(const MfaSummary&) const = default;
};

// A Backend API secret key (0008). Only the hash of the key is stored.
struct SecretKey {
  std::string id;        // ak_... (names the key in `latchkey secret-keys list|revoke`)
  std::string key_hash;  // hex SHA-256 of the whole sk_live_... string; unique
  std::string hint;      // the key's last four characters
  std::int64_t created_at_ms = 0;
  std::optional<std::int64_t> revoked_at_ms;  // nullopt = valid

  bool operator==(const SecretKey&) const = default;
};

// Which users list_users()/count_users() return (the Backend API's getUserList filters). An
// empty field does not filter.
struct UserQuery {
  std::string user_id;        // exactly this id
  std::string email_address;  // owns this address (compared lower-cased)
  std::string query;          // a substring (case-insensitive, ASCII) of the id, a name, the
                              // username or an email address
  // Order: created_at or updated_at, newest first unless `ascending`; ties by id.
  bool by_updated_at = false;
  bool ascending = false;
  std::int64_t limit = 10;
  std::int64_t offset = 0;
};

struct EmailAddress {
  std::string id;       // idn_...
  std::string user_id;  // deleted with the user (ON DELETE CASCADE)
  std::string email;    // unique; the store lower-cases it (ASCII) on insert, update and lookup
  bool verified = false;
  std::optional<std::string> verification_strategy;  // "from_oauth_google", "email_code", ...
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;

  bool operator==(const EmailAddress&) const = default;
};

struct ExternalAccount {
  std::string id;                // eac_...
  std::string user_id;           // deleted with the user (ON DELETE CASCADE)
  std::string provider;          // "oauth_google"
  std::string provider_user_id;  // unique per provider (the IdP's `sub`)
  std::optional<std::string> email;
  bool email_verified = false;  // as the provider asserted it
  std::optional<std::string> first_name;
  std::optional<std::string> last_name;
  std::optional<std::string> image_url;
  std::optional<std::string> username;
  std::string approved_scopes;                   // space-separated, as granted
  std::optional<std::string> access_token_enc;   // sealed blob, opaque to the store
  std::optional<std::string> refresh_token_enc;  // sealed blob, opaque to the store
  std::optional<std::int64_t> access_token_expires_at_ms;
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;

  bool operator==(const ExternalAccount&) const = default;
};

struct Client {
  std::string id;  // client_...
  // Hash of the random token in the __client cookie (the caller hashes, e.g. hex SHA-256); the
  // token itself is never stored. Unique.
  std::string cookie_token_hash;
  // The credential before the last rotation (hash) and until when (ms) a request presenting it is
  // recognised as a stale copy of this client. It never authenticates: the caller refuses such a
  // request without creating a client (so the browser's new cookie is not overwritten).
  std::optional<std::string> previous_cookie_token_hash;
  std::int64_t previous_cookie_valid_until_ms = 0;
  // Pointers to the client's current attempts and session. They are foreign keys: they must name
  // existing rows (else kConflict/kForeignKey), so insert the client, then the attempt or session,
  // then update the client. The store sets them to null when the row they point at is deleted
  // (ON DELETE SET NULL), e.g. by purge_expired().
  std::optional<std::string> sign_in_id;
  std::optional<std::string> sign_up_id;
  std::optional<std::string> last_active_session_id;
  std::optional<std::string> last_authentication_strategy;
  std::int64_t expire_at_ms = 0;
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;

  bool operator==(const Client&) const = default;
};

// A sign-in or sign-up attempt. The attempt's details (strategy, identifier, redirect urls,
// verification status and error, pending external identity, created session/user ids, ...) live in
// `data` as JSON so the flow layer can evolve them without a migration; columns exist only for what
// is queried.
struct SignIn {
  std::string id;           // sia_...
  std::string client_id;    // deleted with the client (ON DELETE CASCADE)
  std::string status;       // needs_identifier | needs_first_factor | ... | complete
  std::string data = "{}";  // JSON object text
  std::int64_t abandon_at_ms = 0;
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;

  bool operator==(const SignIn&) const = default;
};

struct SignUp {
  std::string id;           // sua_...
  std::string client_id;    // deleted with the client (ON DELETE CASCADE)
  std::string status;       // missing_requirements | complete | abandoned
  std::string data = "{}";  // JSON object text
  std::int64_t abandon_at_ms = 0;
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;

  bool operator==(const SignUp&) const = default;
};

struct Session {
  std::string id;         // sess_...
  std::string client_id;  // deleted with the client (ON DELETE CASCADE)
  std::string user_id;    // deleted with the user (ON DELETE CASCADE)
  std::string
      status;  // active | pending | ended | expired | removed | replaced | abandoned | revoked
  std::optional<std::string> tasks;  // JSON array text, e.g. [{"key":"choose-organization"}]
  std::int64_t expire_at_ms = 0;
  std::int64_t abandon_at_ms = 0;
  std::int64_t last_active_at_ms = 0;
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;

  bool operator==(const Session&) const = default;
};

// The server side of an OAuth `state` (RFC 9700 §4.7: single use, bound to the client and attempt).
struct OAuthState {
  std::string state_hash;  // primary key: hash of the state value (caller hashes, e.g. hex SHA-256)
  std::string client_id;   // deleted with the client (ON DELETE CASCADE)
  std::string attempt_type;  // "sign_in" | "sign_up"
  std::string attempt_id;    // sia_... | sua_...
  std::string strategy;      // "oauth_google"
  std::string data = "{}";   // oauth/'s sealed pending authorization, stored as given
  std::int64_t expire_at_ms = 0;
  std::int64_t created_at_ms = 0;

  bool operator==(const OAuthState&) const = default;
};

// A message waiting in (or gone through) the outbox (migration 0005; delivery/ owns its meaning).
// Written in the caller's transaction, so it exists exactly when the code it carries does.
struct OutboxMessage {
  std::string id;           // msg_...
  std::string channel;      // "email" | "sms"
  std::string purpose;      // "verification_code", "sign_in_code", ...
  std::string recipient;    // email address or E.164 number (as given; the store does not fold it)
  std::string country;      // calling code of an SMS recipient ("44"), "" for email
  std::string remote_ip;    // who asked, for the per-IP limit ("" when unknown)
  std::string payload_enc;  // sealed (opaque to the store); "" once sent or given up
  std::string status = "pending";  // pending | sent | failed
  std::int64_t attempts = 0;       // claims so far (claim_outbox_messages adds one)
  std::int64_t next_attempt_at_ms = 0;
  std::int64_t lease_until_ms = 0;        // a claimed row is not claimed again before this
  std::optional<std::string> last_error;  // our own words, never a code
  std::optional<std::int64_t> sent_at_ms;
  std::int64_t created_at_ms = 0;

  bool operator==(const OutboxMessage&) const = default;
};

// One webhook event to one endpoint (migration 0011; delivery/webhooks.hpp owns its meaning).
// Written in the transaction of the change the event describes.
struct WebhookDelivery {
  std::int64_t seq = 0;            // insertion order, set by the store (ignored by insert)
  std::string id;                  // whd_...
  std::string event_id;            // msg_... (the svix-id; shared by the event's rows)
  std::string event_type;          // "user.created", ...
  std::string object_id;           // user_... / sess_...: rows of one object go in order
  std::string endpoint;            // the endpoint's URL as configured
  std::string payload;             // the event JSON, rendered when the event happened
  std::string status = "pending";  // pending | delivered | failed
  std::int64_t attempts = 0;       // claims so far (claim_webhook_deliveries adds one)
  std::int64_t next_attempt_at_ms = 0;
  std::int64_t lease_until_ms = 0;
  std::optional<std::string> last_error;  // our own words (status, transport error)
  std::optional<std::int64_t> delivered_at_ms;
  std::int64_t created_at_ms = 0;

  bool operator==(const WebhookDelivery&) const = default;
};

// Which column count_outbox_messages() counts by.
enum class OutboxKey : std::uint8_t { kRecipient, kRemoteIp, kCountry };

// What purge_expired() deleted, per table.
struct PurgeCounts {
  std::int64_t oauth_states = 0;
  std::int64_t sign_ins = 0;
  std::int64_t sign_ups = 0;
  std::int64_t sessions = 0;
  std::int64_t clients = 0;  // rows they own (sessions, attempts, states) go with them, uncounted
  std::int64_t rate_counters = 0;

  bool operator==(const PurgeCounts&) const = default;
};

// One increment of a rate-limit counter (Store::hit_counters).
struct CounterHit {
  std::string key;                 // "<rule>|<key>" as the limiter builds it; never a secret
  std::int64_t window_number = 0;  // floor(now_ms / window_ms)
  std::int64_t cost = 1;           // added to the counter (0 only reads it)
  // From this time on the row cannot affect a decision (the end of the window after this one)
  // and purge_expired() may delete it.
  std::int64_t expire_at_ms = 0;
};

// A counter after a hit: its new value, and the value of the same key's window before it (0 when
// there is no such row).
struct CounterCounts {
  std::int64_t previous = 0;
  std::int64_t current = 0;

  bool operator==(const CounterCounts&) const = default;
};

// ---- constraint names (the prefix of Error::internal on Code::kConflict) ----------------------

inline constexpr std::string_view kUserPkey = "users_pkey";
inline constexpr std::string_view kUserUsernameKey = "users_username_key";
inline constexpr std::string_view kEmailAddressPkey = "email_addresses_pkey";
inline constexpr std::string_view kEmailAddressEmailKey = "email_addresses_email_key";
inline constexpr std::string_view kExternalAccountPkey = "external_accounts_pkey";
inline constexpr std::string_view kExternalAccountProviderKey = "external_accounts_provider_key";
inline constexpr std::string_view kClientPkey = "clients_pkey";
inline constexpr std::string_view kClientCookieTokenHashKey = "clients_cookie_token_hash_key";
inline constexpr std::string_view kSignInPkey = "sign_ins_pkey";
inline constexpr std::string_view kSignUpPkey = "sign_ups_pkey";
inline constexpr std::string_view kSessionPkey = "sessions_pkey";
inline constexpr std::string_view kOAuthStatePkey = "oauth_states_pkey";
inline constexpr std::string_view kSigningKeyPkey = "signing_keys_pkey";
inline constexpr std::string_view kOutboxPkey = "outbox_pkey";
inline constexpr std::string_view kSecretKeyPkey = "secret_keys_pkey";
inline constexpr std::string_view kSecretKeyHashKey = "secret_keys_key_hash_key";
inline constexpr std::string_view kTotpPkey = "user_totp_pkey";
inline constexpr std::string_view kTotpUserKey = "user_totp_user_id_key";
inline constexpr std::string_view kBackupCodePkey = "backup_codes_pkey";
inline constexpr std::string_view kWebhookDeliveryIdKey = "webhook_deliveries_id_key";
inline constexpr std::string_view kForeignKey = "foreign_key";  // a referenced row is missing

// True when `e` is a kConflict caused by `constraint` (one of the constants above).
inline bool is_conflict(const core::Error& e, std::string_view constraint) {
  return e.code == core::Code::kConflict && e.internal.size() >= constraint.size() &&
         std::string_view(e.internal).substr(0, constraint.size()) == constraint &&
         (e.internal.size() == constraint.size() || e.internal[constraint.size()] == ':');
}

// ---- transaction ----------------------------------------------------------------------------

class Tx {
 public:
  virtual ~Tx() = default;

  // Signing keys
  virtual Result<std::vector<SigningKey>> list_signing_keys() = 0;  // newest first
  virtual Status insert_signing_key(const SigningKey& key) = 0;
  // Marks `kid` inactive and retired at `at_ms`; resource_not_found if absent.
  virtual Status retire_signing_key(const std::string& kid, std::int64_t at_ms) = 0;
  virtual Status delete_signing_key(const std::string& kid) = 0;

  // Users
  virtual Status insert_user(const User& user) = 0;
  virtual Result<std::optional<User>> get_user(const std::string& id) = 0;
  // The owner of `email` (any verification state; compare EmailAddress::verified yourself).
  virtual Result<std::optional<User>> find_user_by_email(const std::string& email) = 0;
  virtual Result<std::optional<User>> find_user_by_username(const std::string& username) = 0;
  virtual Status update_user(const User& user) = 0;
  // Deletes the user and, by cascade, its email addresses, external accounts and sessions.
  virtual Status delete_user(const std::string& id) = 0;

  // The Backend API's user list (0008): one page in the query's order, and the number of users
  // the same filters match (limit and offset ignored).
  virtual Result<std::vector<User>> list_users(const UserQuery& query) = 0;
  virtual Result<std::int64_t> count_users(const UserQuery& query) = 0;

  // Second factors (0010). insert_totp fails with kConflict (kTotpUserKey) when the user has one:
  // the caller deletes an unverified enrollment first. update_totp writes verified,
  // last_used_step, failed_attempts and updated_at; use_totp_step also zeroes failed_attempts.
  // use_totp_step raises last_used_step to `step` only when the user's app is verified and `step`
  // is above it, and fails with kResourceNotFound otherwise (a code replayed, or one of an older
  // step). delete_totp: kResourceNotFound when there is none.
  virtual Status insert_totp(const Totp& totp) = 0;
  virtual Result<std::optional<Totp>> get_totp(const std::string& user_id) = 0;
  virtual Status update_totp(const Totp& totp) = 0;
  virtual Status use_totp_step(const std::string& user_id, std::int64_t step,
                               std::int64_t at_ms) = 0;
  virtual Status delete_totp(const std::string& user_id) = 0;
  // Backup codes are stored as MACs. replace_backup_codes deletes the user's codes and inserts
  // these; use_backup_code deletes one, kResourceNotFound when the user has no such code (wrong,
  // or used already: two concurrent uses of one code cannot both succeed).
  virtual Status replace_backup_codes(const std::string& user_id,
                                      const std::vector<std::string>& code_macs,
                                      std::int64_t at_ms) = 0;
  virtual Status use_backup_code(const std::string& user_id, const std::string& code_mac) = 0;
  virtual Status delete_backup_codes(const std::string& user_id) = 0;  // none is not an error
  virtual Result<MfaSummary> get_mfa_summary(const std::string& user_id) = 0;

  // Secret keys (0008). Listed oldest first.
  virtual Status insert_secret_key(const SecretKey& key) = 0;
  virtual Result<std::vector<SecretKey>> list_secret_keys() = 0;
  virtual Result<std::optional<SecretKey>> find_secret_key_by_hash(const std::string& key_hash) = 0;
  // Sets revoked_at (kept if already revoked); resource_not_found if absent.
  virtual Status revoke_secret_key(const std::string& id, std::int64_t at_ms) = 0;

  // Email addresses
  virtual Status insert_email_address(const EmailAddress& email) = 0;
  virtual Result<std::optional<EmailAddress>> get_email_address(const std::string& id) = 0;
  virtual Result<std::optional<EmailAddress>> find_email_address(const std::string& email) = 0;
  virtual Result<std::vector<EmailAddress>> list_email_addresses(const std::string& user_id) = 0;
  // Mutable: email, verified, verification_strategy, updated_at.
  virtual Status update_email_address(const EmailAddress& email) = 0;
  virtual Status delete_email_address(const std::string& id) = 0;

  // External accounts
  virtual Status insert_external_account(const ExternalAccount& account) = 0;
  virtual Result<std::optional<ExternalAccount>> get_external_account(const std::string& id) = 0;
  virtual Result<std::optional<ExternalAccount>> find_external_account(
      const std::string& provider, const std::string& provider_user_id) = 0;
  virtual Result<std::vector<ExternalAccount>> list_external_accounts(
      const std::string& user_id) = 0;  // oldest first
  // Mutable: everything but id, user_id, provider, provider_user_id, created_at.
  virtual Status update_external_account(const ExternalAccount& account) = 0;
  virtual Status delete_external_account(const std::string& id) = 0;

  // Clients
  virtual Status insert_client(const Client& client) = 0;
  virtual Result<std::optional<Client>> get_client(const std::string& id) = 0;
  // The client whose previous (rotated-out) credential hash is `hash`, whatever its validity.
  virtual Result<std::optional<Client>> find_client_by_previous_cookie_hash(
      const std::string& hash) = 0;
  virtual Result<std::optional<Client>> find_client_by_cookie_hash(
      const std::string& cookie_token_hash) = 0;
  // Mutable: everything but id and created_at (the cookie hash may rotate).
  virtual Status update_client(const Client& client) = 0;
  // Deletes the client and, by cascade, its sign-ins, sign-ups, sessions and OAuth states.
  virtual Status delete_client(const std::string& id) = 0;
  // The Backend API's client list: one page, newest first (created_at, then id, descending),
  // and the number of clients.
  virtual Result<std::vector<Client>> list_clients(std::int64_t limit, std::int64_t offset) = 0;
  virtual Result<std::int64_t> count_clients() = 0;

  // Sign-ins and sign-ups. Mutable: status, data, abandon_at, updated_at.
  virtual Status insert_sign_in(const SignIn& sign_in) = 0;
  virtual Result<std::optional<SignIn>> get_sign_in(const std::string& id) = 0;
  virtual Status update_sign_in(const SignIn& sign_in) = 0;
  virtual Status delete_sign_in(const std::string& id) = 0;
  virtual Status insert_sign_up(const SignUp& sign_up) = 0;
  virtual Result<std::optional<SignUp>> get_sign_up(const std::string& id) = 0;
  virtual Status update_sign_up(const SignUp& sign_up) = 0;
  virtual Status delete_sign_up(const std::string& id) = 0;

  // Sessions. Lists are ordered oldest first (created_at, then id).
  virtual Status insert_session(const Session& session) = 0;
  virtual Result<std::optional<Session>> get_session(const std::string& id) = 0;
  virtual Result<std::vector<Session>> list_sessions_by_client(const std::string& client_id) = 0;
  virtual Result<std::vector<Session>> list_sessions_by_user(const std::string& user_id) = 0;
  // Mutable: status, tasks, expire_at, abandon_at, last_active_at, updated_at.
  virtual Status update_session(const Session& session) = 0;
  virtual Status delete_session(const std::string& id) = 0;

  // OAuth states
  virtual Status insert_oauth_state(const OAuthState& state) = 0;
  // Single use: returns the row and deletes it in the same statement. A second consume, an unknown
  // hash, or a row with expire_at <= now_ms gives std::nullopt (an expired row is deleted too).
  virtual Result<std::optional<OAuthState>> consume_oauth_state(const std::string& state_hash,
                                                                std::int64_t now_ms) = 0;

  // Outbox (delivery/). Mutable: status, payload_enc, attempts, next_attempt_at, lease_until,
  // last_error, sent_at.
  virtual Status insert_outbox_message(const OutboxMessage& message) = 0;
  virtual Result<std::optional<OutboxMessage>> get_outbox_message(const std::string& id) = 0;
  virtual Status update_outbox_message(const OutboxMessage& message) = 0;
  // Rows (any status) whose `key` column equals `value` and created_at >= since_ms.
  virtual Result<std::int64_t> count_outbox_messages(OutboxKey key, const std::string& value,
                                                     std::int64_t since_ms) = 0;
  // Claims up to `limit` pending rows with next_attempt_at <= now_ms and lease_until <= now_ms,
  // oldest due first: sets their lease_until to `lease_until_ms` and adds one to their attempts,
  // and returns them as updated. Two claims (threads or nodes) never return the same row while its
  // lease runs (PostgreSQL: FOR UPDATE SKIP LOCKED).
  virtual Result<std::vector<OutboxMessage>> claim_outbox_messages(std::int64_t now_ms,
                                                                   std::int64_t lease_until_ms,
                                                                   std::int64_t limit) = 0;
  // Deletes sent and failed rows created before `before_ms`; returns how many. Pending rows stay.
  virtual Result<std::int64_t> purge_outbox(std::int64_t before_ms) = 0;

  // Webhook deliveries (0011). Mutable: status, attempts, next_attempt_at, lease_until,
  // last_error, delivered_at.
  virtual Status insert_webhook_delivery(const WebhookDelivery& d) = 0;
  virtual Result<std::optional<WebhookDelivery>> get_webhook_delivery(const std::string& id) = 0;
  virtual Status update_webhook_delivery(const WebhookDelivery& d) = 0;
  // Claims up to `limit` pending rows with next_attempt_at <= now_ms and lease_until <= now_ms
  // and no pending row of the same (endpoint, object_id) inserted before them (in order per
  // object), oldest due first; sets lease_until and adds one to attempts, as
  // claim_outbox_messages does (PostgreSQL: FOR UPDATE SKIP LOCKED).
  virtual Result<std::vector<WebhookDelivery>> claim_webhook_deliveries(std::int64_t now_ms,
                                                                        std::int64_t lease_until_ms,
                                                                        std::int64_t limit) = 0;
  // Newest first (seq descending); only failed rows when `failed_only`.
  virtual Result<std::vector<WebhookDelivery>> list_webhook_deliveries(bool failed_only,
                                                                       std::int64_t limit) = 0;
  // Deletes delivered and failed rows created before `before_ms`; returns how many.
  virtual Result<std::int64_t> purge_webhook_deliveries(std::int64_t before_ms) = 0;

  // Housekeeping: deletes OAuth states with expire_at <= now, sign-ins/sign-ups with
  // abandon_at <= now, sessions with expire_at <= now or abandon_at <= now, clients with
  // expire_at <= now (with everything they own), and rate counters with expire_at <= now.
  virtual Result<PurgeCounts> purge_expired(std::int64_t now_ms) = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // Runs `fn` in one read-write transaction. Commits if it returns success, rolls back otherwise.
  // Transient contention (SQLITE_BUSY, serialization failures) is retried a bounded number of
  // times, so `fn` must have no side effects outside the Tx.
  virtual Status transaction(const std::function<Status(Tx&)>& fn) = 0;
  // A read-only transaction (a consistent snapshot; writes fail).
  virtual Status read(const std::function<Status(Tx&)>& fn) = 0;

  // Rate-limit counters shared by every node (ratelimit::CounterStore over the database). Adds
  // each hit's cost to the counter (key, window_number), creating it at `cost`, and returns, in the
  // order of `hits`, the counter's new value and the value of (key, window_number - 1). Each
  // increment is atomic (no lost update between threads or nodes); the batch is not a transaction
  // (a failure may leave earlier increments applied). Runs on its own, outside transaction(), in
  // one round trip: PostgreSQL runs one autocommit statement under READ COMMITTED, so a hot counter
  // never makes a SERIALIZABLE transaction retry; SQLite one short write transaction. Several hits
  // of one (key, window_number) in a batch count one after the other; whether a batch's own hits
  // of (key, w - 1) show in the previous count of (key, w) is unspecified (the limiter never sends
  // both). Errors as everywhere (kServiceUnavailable when the database is down or busy).
  virtual Result<std::vector<CounterCounts>> hit_counters(const std::vector<CounterHit>& hits) = 0;

  // Readiness: the database answers a trivial query.
  virtual Status ping() = 0;
  // Applies pending numbered migrations; returns how many were applied.
  virtual Result<int> migrate() = 0;
  virtual Result<int> schema_version() = 0;

  // A consistent copy of the whole database in the file `path` while the store keeps serving
  // (SQLite's online backup API; written to a temporary file next to `path`, then renamed, so a
  // failed backup leaves no partial file). PostgreSQL refuses (use pg_dump); so does the default.
  virtual Status backup(const std::string& path) {
    (void)path;
    return core::fail(
        core::Error(core::Code::kInternal).with_internal("this store cannot write a backup file"));
  }
};

// "sqlite:///abs/path.db", "sqlite://relative.db", or a bare path. `busy_timeout_ms` bounds lock
// waits.
Result<std::unique_ptr<Store>> open_sqlite(const std::string& path, int busy_timeout_ms = 5000);

struct SqliteOptions {
  std::string path;            // as for open_sqlite(); ":memory:" = one private in-memory database
  int busy_timeout_ms = 5000;  // per lock wait; transactions retry busy a few times on top of it
  int pool_size = 4;           // connections shared by all threads (1 for ":memory:")
};
Result<std::unique_ptr<Store>> open_sqlite(const SqliteOptions& options);

// PostgreSQL (libpq). Connections are opened lazily, so this only validates the URL; the first
// migrate()/ping()/transaction connects. Every wait is bounded: no free connection within
// busy_timeout, no connection within connect_timeout, no answer within statement_timeout (+1 s on
// the client) all give Code::kServiceUnavailable. A server restart is survived without reopening.
struct PostgresOptions {
  std::string url;                  // "postgres://user:pass@host:5432/db?sslmode=verify-full"
  int pool_size = 8;                // connections shared by all threads
  int busy_timeout_ms = 5000;       // wait for a free connection; budget for serialization retries
  int connect_timeout_ms = 5000;    // per connection attempt
  int statement_timeout_ms = 5000;  // per statement (server-side statement_timeout)
};
Result<std::unique_ptr<Store>> open_postgres(const PostgresOptions& options);

// "postgres://..." or "postgresql://..." → open_postgres; anything else → open_sqlite.
Result<std::unique_ptr<Store>> open_store(const std::string& url, int busy_timeout_ms = 5000,
                                          int pool_size = 8);

}  // namespace latchkey::store
