#pragma once
// The one row-mapping layer: each row type's column list and the reader that turns a result row
// into the struct, kept side by side because they must agree on the order. Each engine supplies a
// RowReader over its own result (a sqlite3_stmt on a row, a PGresult row in binary format); the
// readers are templates, so a column read costs what the engine's own call costs.
//
// The column lists are macros because catalog.cpp splices them into string literals that it
// renders at compile time.
#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>

#include "store/store.hpp"

#define LK_SIGNING_KEY_COLS \
  "kid, algorithm, public_jwk, private_key_enc, created_at, active, retired_at"

#define LK_USER_COLS                                                                             \
  "u.id, u.first_name, u.last_name, u.username, u.image_url, u.primary_email_address_id, "       \
  "u.public_metadata, u.unsafe_metadata, u.legal_accepted_at, u.last_sign_in_at, u.created_at, " \
  "u.updated_at, u.password_digest, u.password_reset_required, u.failed_password_attempts, "     \
  "u.locked_until, u.banned, u.private_metadata"

// The filters of the Backend API's user list (catalog kListUsers/kCountUsers: ?1..?3).
#define LK_USER_FILTER                                                                      \
  "(?1 = '' OR u.id = ?1) AND (?2 = '' OR EXISTS (SELECT 1 FROM email_addresses f WHERE "   \
  "f.user_id = u.id AND f.email = ?2)) AND (?3 = '' OR lower(u.id) LIKE ?3 ESCAPE '\\' OR " \
  "lower(COALESCE(u.first_name, '')) LIKE ?3 ESCAPE '\\' OR "                               \
  "lower(COALESCE(u.last_name, '')) LIKE ?3 ESCAPE '\\' OR "                                \
  "lower(COALESCE(u.username, '')) LIKE ?3 ESCAPE '\\' OR EXISTS (SELECT 1 FROM "           \
  "email_addresses q WHERE q.user_id = u.id AND q.email LIKE ?3 ESCAPE '\\'))"

#define LK_TOTP_COLS \
  "id, user_id, secret_enc, verified, last_used_step, failed_attempts, created_at, updated_at"

#define LK_SECRET_KEY_COLS "id, key_hash, hint, created_at, revoked_at"

#define LK_EMAIL_COLS "id, user_id, email, verified, verification_strategy, created_at, updated_at"

#define LK_EAC_COLS                                                                         \
  "id, user_id, provider, provider_user_id, email, email_verified, first_name, last_name, " \
  "image_url, username, approved_scopes, access_token_enc, refresh_token_enc, "             \
  "access_token_expires_at, created_at, updated_at"

#define LK_CLIENT_COLS                                                      \
  "id, cookie_token_hash, sign_in_id, sign_up_id, last_active_session_id, " \
  "last_authentication_strategy, expire_at, created_at, updated_at, "       \
  "previous_cookie_token_hash, previous_cookie_valid_until"

#define LK_ATTEMPT_COLS "id, client_id, status, data, abandon_at, created_at, updated_at"

#define LK_SESSION_COLS                                                                        \
  "id, client_id, user_id, status, tasks, expire_at, abandon_at, last_active_at, created_at, " \
  "updated_at"

#define LK_OAUTH_STATE_COLS \
  "state_hash, client_id, attempt_type, attempt_id, strategy, data, expire_at, created_at"

#define LK_OUTBOX_COLS                                                                   \
  "id, channel, purpose, recipient, country, remote_ip, payload_enc, status, attempts, " \
  "next_attempt_at, lease_until, last_error, sent_at, created_at"

#define LK_WEBHOOK_INSERT_COLS                                                                  \
  "id, event_id, event_type, object_id, endpoint, payload, status, attempts, next_attempt_at, " \
  "lease_until, last_error, delivered_at, created_at"
#define LK_WEBHOOK_COLS "seq, " LK_WEBHOOK_INSERT_COLS

namespace latchkey::store::sql {

// One result row of an engine, read by column index. text() gives raw bytes (also right for
// BLOB/bytea columns); a NULL reads as empty / 0 / false where the type is not optional.
template <typename R>
concept RowReader = requires(const R& r, int c) {
  { r.text(c) } -> std::same_as<std::string>;
  { r.opt_text(c) } -> std::same_as<std::optional<std::string>>;
  { r.i64(c) } -> std::same_as<std::int64_t>;
  { r.opt_i64(c) } -> std::same_as<std::optional<std::int64_t>>;
  { r.boolean(c) } -> std::same_as<bool>;
};

// Names the row type a query returns: driver.query_one(Query::kGetUser, as<User>, id).
template <typename T>
inline constexpr std::type_identity<T> as{};

template <RowReader R>
void read_row(const R& r, SigningKey& k) {
  k.kid = r.text(0);
  k.algorithm = r.text(1);
  k.public_jwk = r.text(2);
  k.private_key_enc = r.text(3);
  k.created_at_ms = r.i64(4);
  k.active = r.boolean(5);
  k.retired_at_ms = r.opt_i64(6);
}

template <RowReader R>
void read_row(const R& r, User& u) {
  u.id = r.text(0);
  u.first_name = r.opt_text(1);
  u.last_name = r.opt_text(2);
  u.username = r.opt_text(3);
  u.image_url = r.opt_text(4);
  u.primary_email_address_id = r.opt_text(5);
  u.public_metadata = r.text(6);
  u.unsafe_metadata = r.text(7);
  u.legal_accepted_at_ms = r.opt_i64(8);
  u.last_sign_in_at_ms = r.opt_i64(9);
  u.created_at_ms = r.i64(10);
  u.updated_at_ms = r.i64(11);
  u.password_digest = r.opt_text(12);
  u.password_reset_required = r.boolean(13);
  u.failed_password_attempts = static_cast<int>(r.i64(14));
  u.locked_until_ms = r.opt_i64(15);
  u.banned = r.boolean(16);
  u.private_metadata = r.text(17);
}

template <RowReader R>
void read_row(const R& r, Totp& t) {
  t.id = r.text(0);
  t.user_id = r.text(1);
  t.secret_enc = r.text(2);
  t.verified = r.boolean(3);
  t.last_used_step = r.i64(4);
  t.failed_attempts = static_cast<int>(r.i64(5));
  t.created_at_ms = r.i64(6);
  t.updated_at_ms = r.i64(7);
}

// get_mfa_summary's two counts.
template <RowReader R>
void read_row(const R& r, MfaSummary& m) {
  m.totp = r.i64(0) > 0;
  m.backup_codes = r.i64(1);
}

template <RowReader R>
void read_row(const R& r, SecretKey& k) {
  k.id = r.text(0);
  k.key_hash = r.text(1);
  k.hint = r.text(2);
  k.created_at_ms = r.i64(3);
  k.revoked_at_ms = r.opt_i64(4);
}

template <RowReader R>
void read_row(const R& r, EmailAddress& e) {
  e.id = r.text(0);
  e.user_id = r.text(1);
  e.email = r.text(2);
  e.verified = r.boolean(3);
  e.verification_strategy = r.opt_text(4);
  e.created_at_ms = r.i64(5);
  e.updated_at_ms = r.i64(6);
}

template <RowReader R>
void read_row(const R& r, ExternalAccount& a) {
  a.id = r.text(0);
  a.user_id = r.text(1);
  a.provider = r.text(2);
  a.provider_user_id = r.text(3);
  a.email = r.opt_text(4);
  a.email_verified = r.boolean(5);
  a.first_name = r.opt_text(6);
  a.last_name = r.opt_text(7);
  a.image_url = r.opt_text(8);
  a.username = r.opt_text(9);
  a.approved_scopes = r.text(10);
  a.access_token_enc = r.opt_text(11);
  a.refresh_token_enc = r.opt_text(12);
  a.access_token_expires_at_ms = r.opt_i64(13);
  a.created_at_ms = r.i64(14);
  a.updated_at_ms = r.i64(15);
}

template <RowReader R>
void read_row(const R& r, Client& c) {
  c.id = r.text(0);
  c.cookie_token_hash = r.text(1);
  c.sign_in_id = r.opt_text(2);
  c.sign_up_id = r.opt_text(3);
  c.last_active_session_id = r.opt_text(4);
  c.last_authentication_strategy = r.opt_text(5);
  c.expire_at_ms = r.i64(6);
  c.created_at_ms = r.i64(7);
  c.updated_at_ms = r.i64(8);
  c.previous_cookie_token_hash = r.opt_text(9);
  c.previous_cookie_valid_until_ms = r.i64(10);
}

// Sign-ins and sign-ups share their columns.
template <RowReader R, typename Attempt>
  requires std::same_as<Attempt, SignIn> || std::same_as<Attempt, SignUp>
void read_row(const R& r, Attempt& a) {
  a.id = r.text(0);
  a.client_id = r.text(1);
  a.status = r.text(2);
  a.data = r.text(3);
  a.abandon_at_ms = r.i64(4);
  a.created_at_ms = r.i64(5);
  a.updated_at_ms = r.i64(6);
}

template <RowReader R>
void read_row(const R& r, Session& x) {
  x.id = r.text(0);
  x.client_id = r.text(1);
  x.user_id = r.text(2);
  x.status = r.text(3);
  x.tasks = r.opt_text(4);
  x.expire_at_ms = r.i64(5);
  x.abandon_at_ms = r.i64(6);
  x.last_active_at_ms = r.i64(7);
  x.created_at_ms = r.i64(8);
  x.updated_at_ms = r.i64(9);
}

template <RowReader R>
void read_row(const R& r, OAuthState& o) {
  o.state_hash = r.text(0);
  o.client_id = r.text(1);
  o.attempt_type = r.text(2);
  o.attempt_id = r.text(3);
  o.strategy = r.text(4);
  o.data = r.text(5);
  o.expire_at_ms = r.i64(6);
  o.created_at_ms = r.i64(7);
}

template <RowReader R>
void read_row(const R& r, OutboxMessage& m) {
  m.id = r.text(0);
  m.channel = r.text(1);
  m.purpose = r.text(2);
  m.recipient = r.text(3);
  m.country = r.text(4);
  m.remote_ip = r.text(5);
  m.payload_enc = r.text(6);
  m.status = r.text(7);
  m.attempts = r.i64(8);
  m.next_attempt_at_ms = r.i64(9);
  m.lease_until_ms = r.i64(10);
  m.last_error = r.opt_text(11);
  m.sent_at_ms = r.opt_i64(12);
  m.created_at_ms = r.i64(13);
}

template <RowReader R>
void read_row(const R& r, WebhookDelivery& d) {
  d.seq = r.i64(0);
  d.id = r.text(1);
  d.event_id = r.text(2);
  d.event_type = r.text(3);
  d.object_id = r.text(4);
  d.endpoint = r.text(5);
  d.payload = r.text(6);
  d.status = r.text(7);
  d.attempts = r.i64(8);
  d.next_attempt_at_ms = r.i64(9);
  d.lease_until_ms = r.i64(10);
  d.last_error = r.opt_text(11);
  d.delivered_at_ms = r.opt_i64(12);
  d.created_at_ms = r.i64(13);
}

// A single BIGINT column (counters).
struct Count {
  std::int64_t value = 0;
};
template <RowReader R>
void read_row(const R& r, Count& n) {
  n.value = r.i64(0);
}

}  // namespace latchkey::store::sql
