// The statements of catalog.hpp. Each is written once as a template in which `?` is the next
// parameter and `?N` is parameter N (for a value used twice); one statement uses one form.
// SQLite understands both forms as they are; PostgreSQL gets them as $1, $2, ... The rendering runs
// at compile time, so a malformed template is a build error and nothing is rendered at run time.
#include "store/sql/catalog.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <stdexcept>

#include "store/sql/rows.hpp"

namespace latchkey::store::sql {
namespace {

// A string literal as a template argument.
template <std::size_t N>
struct Template {
  char text[N]{};
  // Implicit, so that a string literal is a template argument.
  constexpr Template(const char (&s)[N]) { std::copy_n(s, N, text); }
  [[nodiscard]] constexpr std::string_view view() const { return {text, N - 1}; }
};

constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Writes `in` with PostgreSQL placeholders to `out` (when not null) and returns the length.
// Quoted literals and identifiers are copied untouched. Throwing makes a constant evaluation fail,
// i.e. the build.
constexpr std::size_t render_postgres(std::string_view in, char* out) {
  std::size_t n = 0;
  auto put = [&](char c) {
    if (out != nullptr) {
      out[n] = c;
    }
    ++n;
  };
  auto put_number = [&](int v) {
    char digits[4]{};
    int len = 0;
    do {
      digits[len++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v > 0);
    while (len > 0) {
      put(digits[--len]);
    }
  };
  int next = 0;
  bool numbered = false;
  char quote = 0;
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (quote != 0) {
      quote = c == quote ? 0 : quote;
      put(c);
    } else if (c == '\'' || c == '"') {
      quote = c;
      put(c);
    } else if (c == '$') {
      throw std::logic_error("write placeholders as ? or ?N in a catalog template");
    } else if (c == '?' && i + 1 < in.size() && is_digit(in[i + 1])) {
      if (next > 0) {
        throw std::logic_error("a template mixes ? and ?N");
      }
      numbered = true;
      put('$');
      while (i + 1 < in.size() && is_digit(in[i + 1])) {
        put(in[++i]);
      }
    } else if (c == '?') {
      if (numbered) {
        throw std::logic_error("a template mixes ? and ?N");
      }
      put('$');
      put_number(++next);
    } else {
      put(c);
    }
  }
  if (quote != 0) {
    throw std::logic_error("unterminated quote in a catalog template");
  }
  return n;
}

template <Template T>
constexpr auto postgres_text() {
  std::array<char, render_postgres(T.view(), nullptr) + 1> out{};
  render_postgres(T.view(), out.data());
  return out;
}

template <Template T>
inline constexpr auto kPostgres = postgres_text<T>();

// Validated for SQLite too (the renderer rejects what neither engine should see).
template <Template T>
inline constexpr std::size_t kChecked = render_postgres(T.view(), nullptr);

struct Entry {
  std::string_view sqlite;
  std::string_view postgres;
};

// One template for both engines.
template <Template T>
constexpr Entry shared() {
  static_assert(kChecked<T> > 0);
  return {T.view(), {kPostgres<T>.data(), kPostgres<T>.size() - 1}};
}

// A statement whose text differs by engine beyond its placeholders.
template <Template Sqlite, Template Postgres>
constexpr Entry per_dialect() {
  static_assert(kChecked<Sqlite> > 0);
  return {Sqlite.view(), {kPostgres<Postgres>.data(), kPostgres<Postgres>.size() - 1}};
}

// The renderer's own tests, run by the compiler.
constexpr bool renders(std::string_view in, std::string_view want) {
  char buf[128]{};
  const std::size_t n = render_postgres(in, buf);
  return std::string_view(buf, n) == want;
}
static_assert(renders("a = ? AND b = ?", "a = $1 AND b = $2"));
static_assert(renders("x <= ?1 OR y <= ?1", "x <= $1 OR y <= $1"));
static_assert(renders("VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"));
static_assert(renders("lower(u COLLATE \"C?\") = '?' AND v = ?",
                      "lower(u COLLATE \"C?\") = '?' AND v = $1"));

constexpr auto kCatalog = [] {
  std::array<Entry, kQueryCount> t{};
  auto at = [&t](Query q) -> Entry& { return t[index(q)]; };

  // ---- signing keys
  at(Query::kListSigningKeys) = shared<"SELECT " LK_SIGNING_KEY_COLS
                                       " FROM signing_keys ORDER BY created_at DESC, kid DESC">();
  at(Query::kInsertSigningKey) =
      shared<"INSERT INTO signing_keys (" LK_SIGNING_KEY_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?)">();
  // FALSE is 0 in SQLite (3.23+), boolean false in PostgreSQL.
  at(Query::kRetireSigningKey) =
      shared<"UPDATE signing_keys SET active = FALSE, retired_at = ? WHERE kid = ?">();
  at(Query::kDeleteSigningKey) = shared<"DELETE FROM signing_keys WHERE kid = ?">();

  // ---- users
  at(Query::kInsertUser) = shared<
      "INSERT INTO users (id, first_name, last_name, username, image_url, "
      "primary_email_address_id, public_metadata, unsafe_metadata, legal_accepted_at, "
      "last_sign_in_at, created_at, updated_at, password_digest, password_reset_required, "
      "failed_password_attempts, locked_until, banned, private_metadata) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)">();
  at(Query::kGetUser) = shared<"SELECT " LK_USER_COLS " FROM users u WHERE u.id = ?">();
  at(Query::kFindUserByEmail) = shared<"SELECT " LK_USER_COLS
                                       " FROM users u JOIN email_addresses e ON e.user_id = u.id "
                                       "WHERE e.email = ?">();
  // The same expression as each engine's unique index users_username_key, so the index serves the
  // lookup: SQLite's lower() folds ASCII only; PostgreSQL's does so under the "C" collation.
  at(Query::kFindUserByUsername) =
      per_dialect<"SELECT " LK_USER_COLS " FROM users u WHERE lower(u.username) = lower(?)",
                  "SELECT " LK_USER_COLS
                  " FROM users u WHERE lower(u.username COLLATE \"C\") = lower(? COLLATE \"C\")">();
  at(Query::kUpdateUser) = shared<
      "UPDATE users SET first_name = ?, last_name = ?, username = ?, image_url = ?, "
      "primary_email_address_id = ?, public_metadata = ?, unsafe_metadata = ?, "
      "legal_accepted_at = ?, last_sign_in_at = ?, updated_at = ?, password_digest = ?, "
      "password_reset_required = ?, failed_password_attempts = ?, locked_until = ?, banned = ?, "
      "private_metadata = ? WHERE id = ?">();
  at(Query::kDeleteUser) = shared<"DELETE FROM users WHERE id = ?">();
  // The Backend API's list (0008): ?1 id, ?2 email address, ?3 a LIKE pattern over the id, the
  // names, the username and the addresses ('' = no filter each), ?4 the order, ?5/?6 the page.
  at(Query::kListUsers) = shared<"SELECT " LK_USER_COLS " FROM users u WHERE " LK_USER_FILTER
                                 " ORDER BY CASE WHEN ?4 = 'created_at' THEN u.created_at END ASC, "
                                 "CASE WHEN ?4 = 'updated_at' THEN u.updated_at END ASC, "
                                 "CASE WHEN ?4 = '-updated_at' THEN u.updated_at END DESC, "
                                 "u.created_at DESC, u.id DESC LIMIT ?5 OFFSET ?6">();
  at(Query::kCountUsers) = shared<"SELECT COUNT(*) FROM users u WHERE " LK_USER_FILTER>();

  // ---- second factors (0010)
  at(Query::kInsertTotp) =
      shared<"INSERT INTO user_totp (" LK_TOTP_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)">();
  at(Query::kGetTotp) = shared<"SELECT " LK_TOTP_COLS " FROM user_totp WHERE user_id = ?">();
  at(Query::kUpdateTotp) = shared<
      "UPDATE user_totp SET verified = ?, last_used_step = ?, failed_attempts = ?, updated_at = ? "
      "WHERE user_id = ?">();
  at(Query::kUseTotpStep) = shared<
      "UPDATE user_totp SET last_used_step = ?1, failed_attempts = 0, updated_at = ?2 "
      "WHERE user_id = ?3 AND verified AND last_used_step < ?1">();
  at(Query::kDeleteTotp) = shared<"DELETE FROM user_totp WHERE user_id = ?">();
  at(Query::kDeleteBackupCodes) = shared<"DELETE FROM backup_codes WHERE user_id = ?">();
  at(Query::kInsertBackupCode) =
      shared<"INSERT INTO backup_codes (user_id, code_mac, created_at) VALUES (?, ?, ?)">();
  at(Query::kUseBackupCode) =
      shared<"DELETE FROM backup_codes WHERE user_id = ? AND code_mac = ?">();
  at(Query::kGetMfaSummary) = shared<
      "SELECT (SELECT COUNT(*) FROM user_totp WHERE user_id = ?1 AND verified), "
      "(SELECT COUNT(*) FROM backup_codes WHERE user_id = ?1)">();

  // ---- secret keys (0008)
  at(Query::kInsertSecretKey) =
      shared<"INSERT INTO secret_keys (" LK_SECRET_KEY_COLS ") VALUES (?, ?, ?, ?, ?)">();
  at(Query::kListSecretKeys) =
      shared<"SELECT " LK_SECRET_KEY_COLS " FROM secret_keys ORDER BY created_at, id">();
  at(Query::kFindSecretKeyByHash) =
      shared<"SELECT " LK_SECRET_KEY_COLS " FROM secret_keys WHERE key_hash = ?">();
  at(Query::kRevokeSecretKey) =
      shared<"UPDATE secret_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?">();

  // ---- email addresses
  at(Query::kInsertEmailAddress) =
      shared<"INSERT INTO email_addresses (" LK_EMAIL_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?)">();
  at(Query::kGetEmailAddress) =
      shared<"SELECT " LK_EMAIL_COLS " FROM email_addresses WHERE id = ?">();
  at(Query::kFindEmailAddress) =
      shared<"SELECT " LK_EMAIL_COLS " FROM email_addresses WHERE email = ?">();
  at(Query::kListEmailAddresses) = shared<"SELECT " LK_EMAIL_COLS
                                          " FROM email_addresses WHERE user_id = ? "
                                          "ORDER BY created_at, id">();
  at(Query::kUpdateEmailAddress) = shared<
      "UPDATE email_addresses SET email = ?, verified = ?, verification_strategy = ?, "
      "updated_at = ? WHERE id = ?">();
  at(Query::kDeleteEmailAddress) = shared<"DELETE FROM email_addresses WHERE id = ?">();

  // ---- external accounts
  at(Query::kInsertExternalAccount) =
      shared<"INSERT INTO external_accounts (" LK_EAC_COLS
             ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)">();
  at(Query::kGetExternalAccount) =
      shared<"SELECT " LK_EAC_COLS " FROM external_accounts WHERE id = ?">();
  at(Query::kFindExternalAccount) = shared<"SELECT " LK_EAC_COLS
                                           " FROM external_accounts WHERE provider = ? AND "
                                           "provider_user_id = ?">();
  at(Query::kListExternalAccounts) = shared<"SELECT " LK_EAC_COLS
                                            " FROM external_accounts WHERE user_id = ? "
                                            "ORDER BY created_at, id">();
  at(Query::kUpdateExternalAccount) = shared<
      "UPDATE external_accounts SET email = ?, email_verified = ?, first_name = ?, "
      "last_name = ?, image_url = ?, username = ?, approved_scopes = ?, "
      "access_token_enc = ?, refresh_token_enc = ?, access_token_expires_at = ?, "
      "updated_at = ? WHERE id = ?">();
  at(Query::kDeleteExternalAccount) = shared<"DELETE FROM external_accounts WHERE id = ?">();

  // ---- clients
  at(Query::kInsertClient) =
      shared<"INSERT INTO clients (" LK_CLIENT_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)">();
  at(Query::kGetClient) = shared<"SELECT " LK_CLIENT_COLS " FROM clients WHERE id = ?">();
  at(Query::kFindClientByCookieHash) =
      shared<"SELECT " LK_CLIENT_COLS " FROM clients WHERE cookie_token_hash = ?">();
  at(Query::kFindClientByPreviousCookieHash) =
      shared<"SELECT " LK_CLIENT_COLS " FROM clients WHERE previous_cookie_token_hash = ?">();
  at(Query::kUpdateClient) = shared<
      "UPDATE clients SET cookie_token_hash = ?, sign_in_id = ?, sign_up_id = ?, "
      "last_active_session_id = ?, last_authentication_strategy = ?, expire_at = ?, "
      "updated_at = ?, previous_cookie_token_hash = ?, previous_cookie_valid_until = ? "
      "WHERE id = ?">();
  at(Query::kDeleteClient) = shared<"DELETE FROM clients WHERE id = ?">();
  at(Query::kListClients) = shared<"SELECT " LK_CLIENT_COLS
                                   " FROM clients ORDER BY created_at DESC, id DESC "
                                   "LIMIT ? OFFSET ?">();
  at(Query::kCountClients) = shared<"SELECT COUNT(*) FROM clients">();

  // ---- sign-ins and sign-ups (same columns)
#define LK_ATTEMPT_STATEMENTS(kind, table)                                                       \
  at(Query::kInsert##kind) =                                                                     \
      shared<"INSERT INTO " table " (" LK_ATTEMPT_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?)">();      \
  at(Query::kGet##kind) = shared<"SELECT " LK_ATTEMPT_COLS " FROM " table " WHERE id = ?">();    \
  at(Query::kUpdate##kind) = shared<"UPDATE " table                                              \
                                    " SET status = ?, data = ?, abandon_at = ?, updated_at = ? " \
                                    "WHERE id = ?">();                                           \
  at(Query::kDelete##kind) = shared<"DELETE FROM " table " WHERE id = ?">()
  LK_ATTEMPT_STATEMENTS(SignIn, "sign_ins");
  LK_ATTEMPT_STATEMENTS(SignUp, "sign_ups");
#undef LK_ATTEMPT_STATEMENTS

  // ---- sessions
  at(Query::kInsertSession) =
      shared<"INSERT INTO sessions (" LK_SESSION_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)">();
  at(Query::kGetSession) = shared<"SELECT " LK_SESSION_COLS " FROM sessions WHERE id = ?">();
  at(Query::kListSessionsByClient) = shared<"SELECT " LK_SESSION_COLS
                                            " FROM sessions WHERE client_id = ? "
                                            "ORDER BY created_at, id">();
  at(Query::kListSessionsByUser) = shared<"SELECT " LK_SESSION_COLS
                                          " FROM sessions WHERE user_id = ? "
                                          "ORDER BY created_at, id">();
  at(Query::kUpdateSession) = shared<
      "UPDATE sessions SET status = ?, tasks = ?, expire_at = ?, abandon_at = ?, "
      "last_active_at = ?, updated_at = ? WHERE id = ?">();
  at(Query::kDeleteSession) = shared<"DELETE FROM sessions WHERE id = ?">();

  // ---- OAuth states. One DELETE ... RETURNING: whoever deletes the row owns it.
  at(Query::kInsertOAuthState) = shared<"INSERT INTO oauth_states (" LK_OAUTH_STATE_COLS
                                        ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)">();
  at(Query::kConsumeOAuthState) =
      shared<"DELETE FROM oauth_states WHERE state_hash = ? RETURNING " LK_OAUTH_STATE_COLS>();

  // ---- outbox. A claim is one UPDATE ... RETURNING over the due rows; on PostgreSQL the inner
  // SELECT locks them FOR UPDATE SKIP LOCKED, so concurrent claimers on other nodes take other rows
  // instead of waiting (or failing to serialize) on the same ones.
  at(Query::kInsertOutboxMessage) = shared<"INSERT INTO outbox (" LK_OUTBOX_COLS
                                           ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)">();
  at(Query::kGetOutboxMessage) = shared<"SELECT " LK_OUTBOX_COLS " FROM outbox WHERE id = ?">();
  at(Query::kUpdateOutboxMessage) = shared<
      "UPDATE outbox SET status = ?, payload_enc = ?, attempts = ?, next_attempt_at = ?, "
      "lease_until = ?, last_error = ?, sent_at = ? WHERE id = ?">();
  at(Query::kCountOutboxByRecipient) =
      shared<"SELECT COUNT(*) FROM outbox WHERE recipient = ? AND created_at >= ?">();
  at(Query::kCountOutboxByRemoteIp) =
      shared<"SELECT COUNT(*) FROM outbox WHERE remote_ip = ? AND created_at >= ?">();
  at(Query::kCountOutboxByCountry) =
      shared<"SELECT COUNT(*) FROM outbox WHERE country = ? AND created_at >= ?">();
  at(Query::kClaimOutboxMessages) = per_dialect<
      "UPDATE outbox SET lease_until = ?1, attempts = attempts + 1 WHERE id IN (SELECT id FROM "
      "outbox WHERE status = 'pending' AND next_attempt_at <= ?2 AND lease_until <= ?2 "
      "ORDER BY next_attempt_at, id LIMIT ?3) RETURNING " LK_OUTBOX_COLS,
      "UPDATE outbox SET lease_until = ?1, attempts = attempts + 1 WHERE id IN (SELECT id FROM "
      "outbox WHERE status = 'pending' AND next_attempt_at <= ?2 AND lease_until <= ?2 "
      "ORDER BY next_attempt_at, id LIMIT ?3 FOR UPDATE SKIP LOCKED) RETURNING " LK_OUTBOX_COLS>();
  at(Query::kPurgeOutbox) =
      shared<"DELETE FROM outbox WHERE status <> 'pending' AND created_at < ?">();

  // ---- webhook deliveries. The claim is the outbox's, plus the order per object: a row waits
  // while an earlier row of the same endpoint and object is pending (being delivered or backing
  // off), so an endpoint never sees user.updated before the user.created it follows.
  at(Query::kInsertWebhookDelivery) =
      shared<"INSERT INTO webhook_deliveries (" LK_WEBHOOK_INSERT_COLS
             ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)">();
  at(Query::kGetWebhookDelivery) =
      shared<"SELECT " LK_WEBHOOK_COLS " FROM webhook_deliveries WHERE id = ?">();
  at(Query::kUpdateWebhookDelivery) = shared<
      "UPDATE webhook_deliveries SET status = ?, attempts = ?, next_attempt_at = ?, "
      "lease_until = ?, last_error = ?, delivered_at = ? WHERE id = ?">();
  at(Query::kClaimWebhookDeliveries) = per_dialect<
      "UPDATE webhook_deliveries SET lease_until = ?1, attempts = attempts + 1 WHERE id IN ("
      "SELECT d.id FROM webhook_deliveries d WHERE d.status = 'pending' AND d.next_attempt_at <= "
      "?2 "
      "AND d.lease_until <= ?2 AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE "
      "e.status = 'pending' AND e.endpoint = d.endpoint AND e.object_id = d.object_id AND "
      "e.seq < d.seq) ORDER BY d.next_attempt_at, d.seq LIMIT ?3) RETURNING " LK_WEBHOOK_COLS,
      "UPDATE webhook_deliveries SET lease_until = ?1, attempts = attempts + 1 WHERE id IN ("
      "SELECT d.id FROM webhook_deliveries d WHERE d.status = 'pending' AND d.next_attempt_at <= "
      "?2 "
      "AND d.lease_until <= ?2 AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE "
      "e.status = 'pending' AND e.endpoint = d.endpoint AND e.object_id = d.object_id AND "
      "e.seq < d.seq) ORDER BY d.next_attempt_at, d.seq LIMIT ?3 FOR UPDATE OF d SKIP LOCKED) "
      "RETURNING " LK_WEBHOOK_COLS>();
  at(Query::kListWebhookDeliveries) =
      shared<"SELECT " LK_WEBHOOK_COLS " FROM webhook_deliveries ORDER BY seq DESC LIMIT ?">();
  at(Query::kListFailedWebhookDeliveries) =
      shared<"SELECT " LK_WEBHOOK_COLS
             " FROM webhook_deliveries WHERE status = 'failed' ORDER BY seq DESC LIMIT ?">();
  at(Query::kPurgeWebhookDeliveries) =
      shared<"DELETE FROM webhook_deliveries WHERE status <> 'pending' AND created_at < ?">();

  // ---- housekeeping (each takes now_ms)
  at(Query::kPurgeOAuthStates) = shared<"DELETE FROM oauth_states WHERE expire_at <= ?1">();
  at(Query::kPurgeSignIns) = shared<"DELETE FROM sign_ins WHERE abandon_at <= ?1">();
  at(Query::kPurgeSignUps) = shared<"DELETE FROM sign_ups WHERE abandon_at <= ?1">();
  at(Query::kPurgeSessions) =
      shared<"DELETE FROM sessions WHERE expire_at <= ?1 OR abandon_at <= ?1">();
  at(Query::kPurgeClients) = shared<"DELETE FROM clients WHERE expire_at <= ?1">();
  at(Query::kPurgeRateCounters) = shared<"DELETE FROM rate_counters WHERE expire_at <= ?1">();
  return t;
}();

static_assert(std::ranges::all_of(kCatalog,
                                  [](const Entry& e) {
                                    return !e.sqlite.empty() && !e.postgres.empty();
                                  }),
              "every Query has a statement in the catalog");

}  // namespace

std::string_view text(Query q, Dialect dialect) {
  const Entry& e = kCatalog[index(q)];
  return dialect == Dialect::kSqlite ? e.sqlite : e.postgres;
}

}  // namespace latchkey::store::sql
