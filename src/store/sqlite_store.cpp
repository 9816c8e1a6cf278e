// SQLite implementation of store::Store (design.md §1 "storage"). The only file that includes
// sqlite3.h.
//
// Concurrency model: a small pool of connections, each used by one thread at a time (opened with
// SQLITE_OPEN_NOMUTEX), each with its own prepared-statement cache. WAL mode lets readers run
// beside the one writer; write transactions start with BEGIN IMMEDIATE so the write lock is taken
// up front (no deadlock-prone lock upgrade from a read), and SQLITE_BUSY beyond busy_timeout is
// retried a bounded number of times with backoff by re-running the whole callback.
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "store/migrations.hpp"
#include "store/store.hpp"

namespace latchkey::store {
namespace {

using core::Code;
using core::Error;
using core::fail;

// How often a transaction is re-run when SQLite stays busy past busy_timeout.
constexpr int kMaxAttempts = 5;
constexpr std::chrono::milliseconds kBackoffBase{4};

// ---- RAII for the C handles (design.md §3.9) ------------------------------------------------

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

bool is_busy(int rc) {
  const int primary = rc & 0xff;
  return primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
}

// Unique-constraint messages ("UNIQUE constraint failed: <what>") → the constraint names of
// store.hpp, so callers see the same names PostgreSQL reports.
std::string_view constraint_name(std::string_view what) {
  static constexpr std::pair<std::string_view, std::string_view> kMap[] = {
      {"users.id", kUserPkey},
      {"index 'users_username_key'", kUserUsernameKey},
      {"email_addresses.id", kEmailAddressPkey},
      {"email_addresses.email", kEmailAddressEmailKey},
      {"external_accounts.id", kExternalAccountPkey},
      {"external_accounts.provider, external_accounts.provider_user_id",
       kExternalAccountProviderKey},
      {"clients.id", kClientPkey},
      {"clients.cookie_token_hash", kClientCookieTokenHashKey},
      {"sign_ins.id", kSignInPkey},
      {"sign_ups.id", kSignUpPkey},
      {"sessions.id", kSessionPkey},
      {"oauth_states.state_hash", kOAuthStatePkey},
      {"signing_keys.kid", kSigningKeyPkey},
  };
  for (const auto& [msg, name] : kMap) {
    if (msg == what) {
      return name;
    }
  }
  return "unique";
}

// Maps an SQLite failure to the store's error convention (store.hpp). The SQLite message goes to
// `internal` only.
Error db_error(sqlite3* db, int rc, std::string_view what) {
  const std::string msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  const int primary = rc & 0xff;
  if (is_busy(rc)) {
    return Error(Code::kServiceUnavailable)
        .with_internal("sqlite busy during " + std::string(what) + ": " + msg);
  }
  if (primary == SQLITE_CONSTRAINT) {
    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
      constexpr std::string_view kPrefix = "UNIQUE constraint failed: ";
      std::string_view rest(msg);
      if (rest.starts_with(kPrefix)) {
        rest.remove_prefix(kPrefix.size());
      }
      return Error(Code::kConflict).with_internal(std::string(constraint_name(rest)) + ": " + msg);
    }
    if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) {
      return Error(Code::kConflict).with_internal(std::string(kForeignKey) + ": " + msg);
    }
  }
  return Error(Code::kInternal)
      .with_internal("sqlite error during " + std::string(what) + ": " + msg);
}

Error not_found(std::string_view table) {
  return Error(Code::kResourceNotFound).with_internal(std::string(table) + " row not found");
}

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  });
  return out;
}

// Opaque bytes bound as a BLOB (sealed tokens, encrypted keys).
struct Blob {
  const std::string* bytes;
};
struct OptBlob {
  const std::optional<std::string>* bytes;
};

// ---- one connection ---------------------------------------------------------------------------

class Connection {
 public:
  static Result<std::unique_ptr<Connection>> open(const std::string& path, int busy_timeout_ms) {
    sqlite3* raw = nullptr;
    const int rc =
        sqlite3_open_v2(path.c_str(), &raw,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    DbPtr db(raw);  // sqlite3_open_v2 hands out a handle even on failure; it must be closed
    if (rc != SQLITE_OK) {
      return fail(db_error(db.get(), rc, "open"));
    }
    sqlite3_extended_result_codes(db.get(), 1);
    sqlite3_busy_timeout(db.get(), busy_timeout_ms);
    auto conn = std::unique_ptr<Connection>(new Connection(std::move(db)));
    // WAL: readers never block the writer; NORMAL is durable across application crashes (only an
    // OS crash may lose the last transactions) at a fraction of FULL's fsync cost (design.md §5).
    for (const char* pragma :
         {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON"}) {
      if (auto st = conn->exec(pragma, "pragma"); !st) {
        return fail(st.error());
      }
    }
    return conn;
  }

  sqlite3* db() const { return db_.get(); }

  // Runs SQL text that returns no rows we care about (pragmas, BEGIN/COMMIT, migrations).
  Status exec(const char* sql, std::string_view what) {
    const int rc = sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) {
      return fail(db_error(db_.get(), rc, what));
    }
    return {};
  }

  // A cached prepared statement; the caller resets it after use (StmtUse does).
  Result<sqlite3_stmt*> prepare(std::string_view sql) {
    if (auto it = cache_.find(sql); it != cache_.end()) {
      return it->second.get();
    }
    sqlite3_stmt* raw = nullptr;
    const int rc = sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
    StmtPtr stmt(raw);
    if (rc != SQLITE_OK) {
      return fail(db_error(db_.get(), rc, "prepare"));
    }
    sqlite3_stmt* out = stmt.get();
    cache_.emplace(std::string(sql), std::move(stmt));
    return out;
  }

  void rollback_if_open() {
    if (sqlite3_get_autocommit(db_.get()) == 0) {
      sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    }
  }

 private:
  explicit Connection(DbPtr db) : db_(std::move(db)) {}

  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // Statements are declared after the handle so they are finalized before it closes.
  DbPtr db_;
  std::unordered_map<std::string, StmtPtr, Hash, std::equal_to<>> cache_;
};

// Resets a cached statement and drops its bindings when the use ends, so the statement never
// holds a read snapshot or a pending write past its call (COMMIT would fail otherwise).
class StmtUse {
 public:
  explicit StmtUse(sqlite3_stmt* stmt) : stmt_(stmt) {}
  StmtUse(const StmtUse&) = delete;
  StmtUse& operator=(const StmtUse&) = delete;
  StmtUse(StmtUse&& o) noexcept : stmt_(std::exchange(o.stmt_, nullptr)) {}
  StmtUse& operator=(StmtUse&&) = delete;
  ~StmtUse() {
    if (stmt_ != nullptr) {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
    }
  }
  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_;
};

// ---- binding and reading --------------------------------------------------------------------

int bind_one(sqlite3_stmt* s, int i, std::string_view v) {
  return sqlite3_bind_text64(s, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
}
int bind_one(sqlite3_stmt* s, int i, const std::string& v) {
  return bind_one(s, i, std::string_view(v));
}
int bind_one(sqlite3_stmt* s, int i, std::int64_t v) { return sqlite3_bind_int64(s, i, v); }
int bind_one(sqlite3_stmt* s, int i, bool v) { return sqlite3_bind_int(s, i, v ? 1 : 0); }
int bind_one(sqlite3_stmt* s, int i, const std::optional<std::string>& v) {
  return v ? bind_one(s, i, *v) : sqlite3_bind_null(s, i);
}
int bind_one(sqlite3_stmt* s, int i, const std::optional<std::int64_t>& v) {
  return v ? bind_one(s, i, *v) : sqlite3_bind_null(s, i);
}
int bind_one(sqlite3_stmt* s, int i, Blob v) {
  return sqlite3_bind_blob64(s, i, v.bytes->data(), v.bytes->size(), SQLITE_TRANSIENT);
}
int bind_one(sqlite3_stmt* s, int i, OptBlob v) {
  return *v.bytes ? bind_one(s, i, Blob{&**v.bytes}) : sqlite3_bind_null(s, i);
}

std::string col_text(sqlite3_stmt* s, int i) {
  const auto* p = sqlite3_column_blob(s, i);  // raw bytes: also right for BLOB columns
  const int n = sqlite3_column_bytes(s, i);
  return p != nullptr ? std::string(static_cast<const char*>(p), static_cast<std::size_t>(n))
                      : std::string();
}
std::optional<std::string> col_opt_text(sqlite3_stmt* s, int i) {
  if (sqlite3_column_type(s, i) == SQLITE_NULL) {
    return std::nullopt;
  }
  return col_text(s, i);
}
std::int64_t col_int(sqlite3_stmt* s, int i) { return sqlite3_column_int64(s, i); }
std::optional<std::int64_t> col_opt_int(sqlite3_stmt* s, int i) {
  if (sqlite3_column_type(s, i) == SQLITE_NULL) {
    return std::nullopt;
  }
  return sqlite3_column_int64(s, i);
}
bool col_bool(sqlite3_stmt* s, int i) { return sqlite3_column_int(s, i) != 0; }

// ---- row mapping (column lists and readers kept side by side) ---------------------------------

constexpr std::string_view kSigningKeyCols =
    "kid, algorithm, public_jwk, private_key_enc, created_at, active, retired_at";
SigningKey read_signing_key(sqlite3_stmt* s) {
  SigningKey k;
  k.kid = col_text(s, 0);
  k.algorithm = col_text(s, 1);
  k.public_jwk = col_text(s, 2);
  k.private_key_enc = col_text(s, 3);
  k.created_at_ms = col_int(s, 4);
  k.active = col_bool(s, 5);
  k.retired_at_ms = col_opt_int(s, 6);
  return k;
}

#define LK_USER_COLS                                                                             \
  "u.id, u.first_name, u.last_name, u.username, u.image_url, u.primary_email_address_id, "       \
  "u.public_metadata, u.unsafe_metadata, u.legal_accepted_at, u.last_sign_in_at, u.created_at, " \
  "u.updated_at"
User read_user(sqlite3_stmt* s) {
  User u;
  u.id = col_text(s, 0);
  u.first_name = col_opt_text(s, 1);
  u.last_name = col_opt_text(s, 2);
  u.username = col_opt_text(s, 3);
  u.image_url = col_opt_text(s, 4);
  u.primary_email_address_id = col_opt_text(s, 5);
  u.public_metadata = col_text(s, 6);
  u.unsafe_metadata = col_text(s, 7);
  u.legal_accepted_at_ms = col_opt_int(s, 8);
  u.last_sign_in_at_ms = col_opt_int(s, 9);
  u.created_at_ms = col_int(s, 10);
  u.updated_at_ms = col_int(s, 11);
  return u;
}

#define LK_EMAIL_COLS "id, user_id, email, verified, verification_strategy, created_at, updated_at"
EmailAddress read_email(sqlite3_stmt* s) {
  EmailAddress e;
  e.id = col_text(s, 0);
  e.user_id = col_text(s, 1);
  e.email = col_text(s, 2);
  e.verified = col_bool(s, 3);
  e.verification_strategy = col_opt_text(s, 4);
  e.created_at_ms = col_int(s, 5);
  e.updated_at_ms = col_int(s, 6);
  return e;
}

#define LK_EAC_COLS                                                                         \
  "id, user_id, provider, provider_user_id, email, email_verified, first_name, last_name, " \
  "image_url, username, approved_scopes, access_token_enc, refresh_token_enc, "             \
  "access_token_expires_at, created_at, updated_at"
ExternalAccount read_external_account(sqlite3_stmt* s) {
  ExternalAccount a;
  a.id = col_text(s, 0);
  a.user_id = col_text(s, 1);
  a.provider = col_text(s, 2);
  a.provider_user_id = col_text(s, 3);
  a.email = col_opt_text(s, 4);
  a.email_verified = col_bool(s, 5);
  a.first_name = col_opt_text(s, 6);
  a.last_name = col_opt_text(s, 7);
  a.image_url = col_opt_text(s, 8);
  a.username = col_opt_text(s, 9);
  a.approved_scopes = col_text(s, 10);
  a.access_token_enc = col_opt_text(s, 11);
  a.refresh_token_enc = col_opt_text(s, 12);
  a.access_token_expires_at_ms = col_opt_int(s, 13);
  a.created_at_ms = col_int(s, 14);
  a.updated_at_ms = col_int(s, 15);
  return a;
}

#define LK_CLIENT_COLS                                                      \
  "id, cookie_token_hash, sign_in_id, sign_up_id, last_active_session_id, " \
  "last_authentication_strategy, expire_at, created_at, updated_at, "     \
  "previous_cookie_token_hash, previous_cookie_valid_until"
Client read_client(sqlite3_stmt* s) {
  Client c;
  c.id = col_text(s, 0);
  c.cookie_token_hash = col_text(s, 1);
  c.sign_in_id = col_opt_text(s, 2);
  c.sign_up_id = col_opt_text(s, 3);
  c.last_active_session_id = col_opt_text(s, 4);
  c.last_authentication_strategy = col_opt_text(s, 5);
  c.expire_at_ms = col_int(s, 6);
  c.created_at_ms = col_int(s, 7);
  c.updated_at_ms = col_int(s, 8);
  c.previous_cookie_token_hash = col_opt_text(s, 9);
  c.previous_cookie_valid_until_ms = col_int(s, 10);
  return c;
}

#define LK_ATTEMPT_COLS "id, client_id, status, data, abandon_at, created_at, updated_at"
template <typename Attempt>
Attempt read_attempt(sqlite3_stmt* s) {
  Attempt a;
  a.id = col_text(s, 0);
  a.client_id = col_text(s, 1);
  a.status = col_text(s, 2);
  a.data = col_text(s, 3);
  a.abandon_at_ms = col_int(s, 4);
  a.created_at_ms = col_int(s, 5);
  a.updated_at_ms = col_int(s, 6);
  return a;
}

#define LK_SESSION_COLS                                                                        \
  "id, client_id, user_id, status, tasks, expire_at, abandon_at, last_active_at, created_at, " \
  "updated_at"
Session read_session(sqlite3_stmt* s) {
  Session x;
  x.id = col_text(s, 0);
  x.client_id = col_text(s, 1);
  x.user_id = col_text(s, 2);
  x.status = col_text(s, 3);
  x.tasks = col_opt_text(s, 4);
  x.expire_at_ms = col_int(s, 5);
  x.abandon_at_ms = col_int(s, 6);
  x.last_active_at_ms = col_int(s, 7);
  x.created_at_ms = col_int(s, 8);
  x.updated_at_ms = col_int(s, 9);
  return x;
}

#define LK_OAUTH_STATE_COLS \
  "state_hash, client_id, attempt_type, attempt_id, strategy, data, expire_at, created_at"
OAuthState read_oauth_state(sqlite3_stmt* s) {
  OAuthState o;
  o.state_hash = col_text(s, 0);
  o.client_id = col_text(s, 1);
  o.attempt_type = col_text(s, 2);
  o.attempt_id = col_text(s, 3);
  o.strategy = col_text(s, 4);
  o.data = col_text(s, 5);
  o.expire_at_ms = col_int(s, 6);
  o.created_at_ms = col_int(s, 7);
  return o;
}

// ---- the transaction ------------------------------------------------------------------------

class SqliteTx final : public Tx {
 public:
  SqliteTx(Connection& conn, bool read_only) : conn_(conn), read_only_(read_only) {}

  // True when a statement hit SQLITE_BUSY: the runner may retry the whole callback.
  [[nodiscard]] bool saw_busy() const { return saw_busy_; }

  // ---- signing keys
  Result<std::vector<SigningKey>> list_signing_keys() override {
    static const std::string kSql = "SELECT " + std::string(kSigningKeyCols) +
                                    " FROM signing_keys ORDER BY created_at DESC, kid DESC";
    return query_all(kSql, read_signing_key);
  }
  Status insert_signing_key(const SigningKey& k) override {
    return exec(
        "INSERT INTO signing_keys (kid, algorithm, public_jwk, private_key_enc, created_at, "
        "active, retired_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        k.kid, k.algorithm, k.public_jwk, Blob{&k.private_key_enc}, k.created_at_ms, k.active,
        k.retired_at_ms);
  }
  Status retire_signing_key(const std::string& kid, std::int64_t at_ms) override {
    return exec_one("signing_keys",
                    "UPDATE signing_keys SET active = 0, retired_at = ? WHERE kid = ?", at_ms, kid);
  }
  Status delete_signing_key(const std::string& kid) override {
    return exec_one("signing_keys", "DELETE FROM signing_keys WHERE kid = ?", kid);
  }

  // ---- users
  Status insert_user(const User& u) override {
    return exec(
        "INSERT INTO users (id, first_name, last_name, username, image_url, "
        "primary_email_address_id, public_metadata, unsafe_metadata, legal_accepted_at, "
        "last_sign_in_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        u.id, u.first_name, u.last_name, u.username, u.image_url, u.primary_email_address_id,
        u.public_metadata, u.unsafe_metadata, u.legal_accepted_at_ms, u.last_sign_in_at_ms,
        u.created_at_ms, u.updated_at_ms);
  }
  Result<std::optional<User>> get_user(const std::string& id) override {
    return query_one("SELECT " LK_USER_COLS " FROM users u WHERE u.id = ?", read_user, id);
  }
  Result<std::optional<User>> find_user_by_email(const std::string& email) override {
    return query_one("SELECT " LK_USER_COLS
                     " FROM users u JOIN email_addresses e ON e.user_id = u.id WHERE e.email = ?",
                     read_user, ascii_lower(email));
  }
  Result<std::optional<User>> find_user_by_username(const std::string& username) override {
    // Same expression as the unique index users_username_key, so the index serves the lookup.
    return query_one("SELECT " LK_USER_COLS " FROM users u WHERE lower(u.username) = lower(?)",
                     read_user, username);
  }
  Status update_user(const User& u) override {
    return exec_one("users",
                    "UPDATE users SET first_name = ?, last_name = ?, username = ?, image_url = ?, "
                    "primary_email_address_id = ?, public_metadata = ?, unsafe_metadata = ?, "
                    "legal_accepted_at = ?, last_sign_in_at = ?, updated_at = ? WHERE id = ?",
                    u.first_name, u.last_name, u.username, u.image_url, u.primary_email_address_id,
                    u.public_metadata, u.unsafe_metadata, u.legal_accepted_at_ms,
                    u.last_sign_in_at_ms, u.updated_at_ms, u.id);
  }
  Status delete_user(const std::string& id) override {
    return exec_one("users", "DELETE FROM users WHERE id = ?", id);
  }

  // ---- email addresses
  Status insert_email_address(const EmailAddress& e) override {
    return exec(
        "INSERT INTO email_addresses (id, user_id, email, verified, verification_strategy, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        e.id, e.user_id, ascii_lower(e.email), e.verified, e.verification_strategy, e.created_at_ms,
        e.updated_at_ms);
  }
  Result<std::optional<EmailAddress>> get_email_address(const std::string& id) override {
    return query_one("SELECT " LK_EMAIL_COLS " FROM email_addresses WHERE id = ?", read_email, id);
  }
  Result<std::optional<EmailAddress>> find_email_address(const std::string& email) override {
    return query_one("SELECT " LK_EMAIL_COLS " FROM email_addresses WHERE email = ?", read_email,
                     ascii_lower(email));
  }
  Result<std::vector<EmailAddress>> list_email_addresses(const std::string& user_id) override {
    return query_all("SELECT " LK_EMAIL_COLS
                     " FROM email_addresses WHERE user_id = ? ORDER BY created_at, id",
                     read_email, user_id);
  }
  Status update_email_address(const EmailAddress& e) override {
    return exec_one("email_addresses",
                    "UPDATE email_addresses SET email = ?, verified = ?, "
                    "verification_strategy = ?, updated_at = ? WHERE id = ?",
                    ascii_lower(e.email), e.verified, e.verification_strategy, e.updated_at_ms,
                    e.id);
  }
  Status delete_email_address(const std::string& id) override {
    return exec_one("email_addresses", "DELETE FROM email_addresses WHERE id = ?", id);
  }

  // ---- external accounts
  Status insert_external_account(const ExternalAccount& a) override {
    return exec("INSERT INTO external_accounts (" LK_EAC_COLS
                ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                a.id, a.user_id, a.provider, a.provider_user_id, a.email, a.email_verified,
                a.first_name, a.last_name, a.image_url, a.username, a.approved_scopes,
                OptBlob{&a.access_token_enc}, OptBlob{&a.refresh_token_enc},
                a.access_token_expires_at_ms, a.created_at_ms, a.updated_at_ms);
  }
  Result<std::optional<ExternalAccount>> get_external_account(const std::string& id) override {
    return query_one("SELECT " LK_EAC_COLS " FROM external_accounts WHERE id = ?",
                     read_external_account, id);
  }
  Result<std::optional<ExternalAccount>> find_external_account(
      const std::string& provider, const std::string& provider_user_id) override {
    return query_one("SELECT " LK_EAC_COLS
                     " FROM external_accounts WHERE provider = ? AND provider_user_id = ?",
                     read_external_account, provider, provider_user_id);
  }
  Result<std::vector<ExternalAccount>> list_external_accounts(const std::string& user_id) override {
    return query_all("SELECT " LK_EAC_COLS
                     " FROM external_accounts WHERE user_id = ? ORDER BY created_at, id",
                     read_external_account, user_id);
  }
  Status update_external_account(const ExternalAccount& a) override {
    return exec_one(
        "external_accounts",
        "UPDATE external_accounts SET email = ?, email_verified = ?, first_name = ?, "
        "last_name = ?, image_url = ?, username = ?, approved_scopes = ?, access_token_enc = ?, "
        "refresh_token_enc = ?, access_token_expires_at = ?, updated_at = ? WHERE id = ?",
        a.email, a.email_verified, a.first_name, a.last_name, a.image_url, a.username,
        a.approved_scopes, OptBlob{&a.access_token_enc}, OptBlob{&a.refresh_token_enc},
        a.access_token_expires_at_ms, a.updated_at_ms, a.id);
  }
  Status delete_external_account(const std::string& id) override {
    return exec_one("external_accounts", "DELETE FROM external_accounts WHERE id = ?", id);
  }

  // ---- clients
  Status insert_client(const Client& c) override {
    return exec("INSERT INTO clients (" LK_CLIENT_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                c.id, c.cookie_token_hash, c.sign_in_id, c.sign_up_id, c.last_active_session_id,
                c.last_authentication_strategy, c.expire_at_ms, c.created_at_ms, c.updated_at_ms,
                c.previous_cookie_token_hash, c.previous_cookie_valid_until_ms);
  }
  Result<std::optional<Client>> get_client(const std::string& id) override {
    return query_one("SELECT " LK_CLIENT_COLS " FROM clients WHERE id = ?", read_client, id);
  }
  Result<std::optional<Client>> find_client_by_cookie_hash(const std::string& hash) override {
    return query_one("SELECT " LK_CLIENT_COLS " FROM clients WHERE cookie_token_hash = ?",
                     read_client, hash);
  }
  Result<std::optional<Client>> find_client_by_previous_cookie_hash(
      const std::string& hash) override {
    return query_one("SELECT " LK_CLIENT_COLS " FROM clients WHERE previous_cookie_token_hash = ?",
                     read_client, hash);
  }
  Status update_client(const Client& c) override {
    return exec_one("clients",
                    "UPDATE clients SET cookie_token_hash = ?, sign_in_id = ?, sign_up_id = ?, "
                    "last_active_session_id = ?, last_authentication_strategy = ?, expire_at = ?, "
                    "updated_at = ?, previous_cookie_token_hash = ?, "
                    "previous_cookie_valid_until = ? WHERE id = ?",
                    c.cookie_token_hash, c.sign_in_id, c.sign_up_id, c.last_active_session_id,
                    c.last_authentication_strategy, c.expire_at_ms, c.updated_at_ms,
                    c.previous_cookie_token_hash, c.previous_cookie_valid_until_ms, c.id);
  }
  Status delete_client(const std::string& id) override {
    return exec_one("clients", "DELETE FROM clients WHERE id = ?", id);
  }

  // ---- sign-ins / sign-ups
  Status insert_sign_in(const SignIn& a) override {
    return exec("INSERT INTO sign_ins (" LK_ATTEMPT_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?)", a.id,
                a.client_id, a.status, a.data, a.abandon_at_ms, a.created_at_ms, a.updated_at_ms);
  }
  Result<std::optional<SignIn>> get_sign_in(const std::string& id) override {
    return query_one("SELECT " LK_ATTEMPT_COLS " FROM sign_ins WHERE id = ?", read_attempt<SignIn>,
                     id);
  }
  Status update_sign_in(const SignIn& a) override {
    return exec_one("sign_ins",
                    "UPDATE sign_ins SET status = ?, data = ?, abandon_at = ?, updated_at = ? "
                    "WHERE id = ?",
                    a.status, a.data, a.abandon_at_ms, a.updated_at_ms, a.id);
  }
  Status delete_sign_in(const std::string& id) override {
    return exec_one("sign_ins", "DELETE FROM sign_ins WHERE id = ?", id);
  }
  Status insert_sign_up(const SignUp& a) override {
    return exec("INSERT INTO sign_ups (" LK_ATTEMPT_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?)", a.id,
                a.client_id, a.status, a.data, a.abandon_at_ms, a.created_at_ms, a.updated_at_ms);
  }
  Result<std::optional<SignUp>> get_sign_up(const std::string& id) override {
    return query_one("SELECT " LK_ATTEMPT_COLS " FROM sign_ups WHERE id = ?", read_attempt<SignUp>,
                     id);
  }
  Status update_sign_up(const SignUp& a) override {
    return exec_one("sign_ups",
                    "UPDATE sign_ups SET status = ?, data = ?, abandon_at = ?, updated_at = ? "
                    "WHERE id = ?",
                    a.status, a.data, a.abandon_at_ms, a.updated_at_ms, a.id);
  }
  Status delete_sign_up(const std::string& id) override {
    return exec_one("sign_ups", "DELETE FROM sign_ups WHERE id = ?", id);
  }

  // ---- sessions
  Status insert_session(const Session& x) override {
    return exec("INSERT INTO sessions (" LK_SESSION_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                x.id, x.client_id, x.user_id, x.status, x.tasks, x.expire_at_ms, x.abandon_at_ms,
                x.last_active_at_ms, x.created_at_ms, x.updated_at_ms);
  }
  Result<std::optional<Session>> get_session(const std::string& id) override {
    return query_one("SELECT " LK_SESSION_COLS " FROM sessions WHERE id = ?", read_session, id);
  }
  Result<std::vector<Session>> list_sessions_by_client(const std::string& client_id) override {
    return query_all("SELECT " LK_SESSION_COLS
                     " FROM sessions WHERE client_id = ? ORDER BY created_at, id",
                     read_session, client_id);
  }
  Result<std::vector<Session>> list_sessions_by_user(const std::string& user_id) override {
    return query_all("SELECT " LK_SESSION_COLS
                     " FROM sessions WHERE user_id = ? ORDER BY created_at, id",
                     read_session, user_id);
  }
  Status update_session(const Session& x) override {
    return exec_one("sessions",
                    "UPDATE sessions SET status = ?, tasks = ?, expire_at = ?, abandon_at = ?, "
                    "last_active_at = ?, updated_at = ? WHERE id = ?",
                    x.status, x.tasks, x.expire_at_ms, x.abandon_at_ms, x.last_active_at_ms,
                    x.updated_at_ms, x.id);
  }
  Status delete_session(const std::string& id) override {
    return exec_one("sessions", "DELETE FROM sessions WHERE id = ?", id);
  }

  // ---- OAuth states
  Status insert_oauth_state(const OAuthState& o) override {
    return exec("INSERT INTO oauth_states (" LK_OAUTH_STATE_COLS
                ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                o.state_hash, o.client_id, o.attempt_type, o.attempt_id, o.strategy, o.data,
                o.expire_at_ms, o.created_at_ms);
  }
  Result<std::optional<OAuthState>> consume_oauth_state(const std::string& state_hash,
                                                        std::int64_t now_ms) override {
    // One DELETE ... RETURNING: whoever deletes the row owns it, so two concurrent callbacks with
    // the same state cannot both succeed (RFC 9700 §4.7.1: state is single use).
    auto row =
        query_one("DELETE FROM oauth_states WHERE state_hash = ? RETURNING " LK_OAUTH_STATE_COLS,
                  read_oauth_state, state_hash);
    if (!row) {
      return fail(std::move(row.error()));
    }
    if (*row && (*row)->expire_at_ms <= now_ms) {
      return std::optional<OAuthState>();
    }
    return row;
  }

  // ---- housekeeping
  Result<PurgeCounts> purge_expired(std::int64_t now_ms) override {
    PurgeCounts n;
    struct Step {
      const char* sql;
      std::int64_t* count;
    };
    // Clients last, so rows that expired on their own are counted under their own table.
    const Step steps[] = {
        {"DELETE FROM oauth_states WHERE expire_at <= ?1", &n.oauth_states},
        {"DELETE FROM sign_ins WHERE abandon_at <= ?1", &n.sign_ins},
        {"DELETE FROM sign_ups WHERE abandon_at <= ?1", &n.sign_ups},
        {"DELETE FROM sessions WHERE expire_at <= ?1 OR abandon_at <= ?1", &n.sessions},
        {"DELETE FROM clients WHERE expire_at <= ?1", &n.clients},
        {"DELETE FROM rate_counters WHERE expire_at <= ?1", &n.rate_counters},
    };
    for (const auto& item : steps) {
      auto changed = exec_changes(item.sql, now_ms);
      if (!changed) {
        return fail(std::move(changed.error()));
      }
      *item.count = *changed;
    }
    return n;
  }

  // ---- rate-limit counters: Store::hit_counters runs this in a write transaction of its own.
  // One upsert per hit, in order (so repeated keys count one after the other), and the previous
  // window's row. SQLite has one writer at a time, so each increment is atomic.
  Result<std::vector<CounterCounts>> hit_counters(const std::vector<CounterHit>& hits) {
    auto first = [](sqlite3_stmt* s) { return col_int(s, 0); };
    std::vector<CounterCounts> out;
    out.reserve(hits.size());
    for (const auto& h : hits) {
      auto current = query_one(
          "INSERT INTO rate_counters (key, window_number, count, expire_at) "
          "VALUES (?1, ?2, ?3, ?4) "
          "ON CONFLICT (key, window_number) DO UPDATE SET count = count + excluded.count "
          "RETURNING count",
          first, h.key, h.window_number, h.cost, h.expire_at_ms);
      if (!current) {
        return fail(std::move(current.error()));
      }
      auto previous =
          query_one("SELECT count FROM rate_counters WHERE key = ?1 AND window_number = ?2", first,
                    h.key, h.window_number - 1);
      if (!previous) {
        return fail(std::move(previous.error()));
      }
      out.push_back(CounterCounts{previous->value_or(0), current->value_or(0)});
    }
    return out;
  }

 private:
  template <typename... A>
  Result<StmtUse> bind(std::string_view sql, const A&... args) {
    auto stmt = conn_.prepare(sql);
    if (!stmt) {
      return fail(std::move(stmt.error()));
    }
    StmtUse use(*stmt);
    // read() promises a snapshot without writes: refuse a writing statement before it runs.
    if (read_only_ && sqlite3_stmt_readonly(*stmt) == 0) {
      return fail(
          Error(Code::kInternal).with_internal("write attempted in a read-only transaction"));
    }
    [[maybe_unused]] int i = 0;
    int rc = SQLITE_OK;
    ((rc = rc == SQLITE_OK ? bind_one(*stmt, ++i, args) : rc), ...);
    if (rc != SQLITE_OK) {
      return fail(db_error(conn_.db(), rc, "bind"));
    }
    return use;
  }

  // SQLITE_ROW → true, SQLITE_DONE → false.
  Result<bool> step(const StmtUse& use) {
    const int rc = sqlite3_step(use.get());
    if (rc == SQLITE_ROW) {
      return true;
    }
    if (rc == SQLITE_DONE) {
      return false;
    }
    if (is_busy(rc)) {
      saw_busy_ = true;
    }
    return fail(db_error(conn_.db(), rc, "step"));
  }

  template <typename... A>
  Result<std::int64_t> exec_changes(std::string_view sql, const A&... args) {
    auto use = bind(sql, args...);
    if (!use) {
      return fail(std::move(use.error()));
    }
    for (;;) {
      auto more = step(*use);
      if (!more) {
        return fail(std::move(more.error()));
      }
      if (!*more) {
        break;
      }
    }
    return sqlite3_changes64(conn_.db());
  }

  template <typename... A>
  Status exec(std::string_view sql, const A&... args) {
    auto changed = exec_changes(sql, args...);
    if (!changed) {
      return fail(std::move(changed.error()));
    }
    return {};
  }

  // A write that must touch exactly the row named by its key.
  template <typename... A>
  Status exec_one(std::string_view table, std::string_view sql, const A&... args) {
    auto changed = exec_changes(sql, args...);
    if (!changed) {
      return fail(std::move(changed.error()));
    }
    if (*changed == 0) {
      return fail(not_found(table));
    }
    return {};
  }

  template <typename Reader, typename... A>
  auto query_one(std::string_view sql, Reader read, const A&... args)
      -> Result<std::optional<std::invoke_result_t<Reader, sqlite3_stmt*>>> {
    using Row = std::invoke_result_t<Reader, sqlite3_stmt*>;
    auto use = bind(sql, args...);
    if (!use) {
      return fail(std::move(use.error()));
    }
    auto more = step(*use);
    if (!more) {
      return fail(std::move(more.error()));
    }
    if (!*more) {
      return std::optional<Row>();
    }
    std::optional<Row> row = read(use->get());
    // Run the statement to completion (DELETE ... RETURNING finishes its work here).
    for (;;) {
      auto again = step(*use);
      if (!again) {
        return fail(std::move(again.error()));
      }
      if (!*again) {
        break;
      }
    }
    return row;
  }

  template <typename Reader, typename... A>
  auto query_all(std::string_view sql, Reader read, const A&... args)
      -> Result<std::vector<std::invoke_result_t<Reader, sqlite3_stmt*>>> {
    std::vector<std::invoke_result_t<Reader, sqlite3_stmt*>> rows;
    auto use = bind(sql, args...);
    if (!use) {
      return fail(std::move(use.error()));
    }
    for (;;) {
      auto more = step(*use);
      if (!more) {
        return fail(std::move(more.error()));
      }
      if (!*more) {
        break;
      }
      rows.push_back(read(use->get()));
    }
    return rows;
  }

  Connection& conn_;
  bool read_only_;
  bool saw_busy_ = false;
};

// ---- connection pool --------------------------------------------------------------------------

class Pool {
 public:
  class Lease {
   public:
    Lease(Pool* pool, Connection* conn) : pool_(pool), conn_(conn) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease(Lease&& o) noexcept : pool_(o.pool_), conn_(std::exchange(o.conn_, nullptr)) {}
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (conn_ != nullptr) {
        pool_->release(conn_);
      }
    }
    Connection& operator*() const { return *conn_; }
    Connection* operator->() const { return conn_; }

   private:
    Pool* pool_;
    Connection* conn_;
  };

  void add(std::unique_ptr<Connection> conn) {
    std::lock_guard lock(mu_);
    free_.push_back(conn.get());
    all_.push_back(std::move(conn));
  }

  // Waits at most `timeout` for a free connection. A callback that calls back into the store
  // while holding one could otherwise wait forever.
  Result<Lease> acquire(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, timeout, [this] { return !free_.empty(); })) {
      return fail(Error(Code::kServiceUnavailable)
                      .with_internal("no free sqlite connection within the busy timeout"));
    }
    Connection* conn = free_.back();
    free_.pop_back();
    return Lease(this, conn);
  }

 private:
  void release(Connection* conn) {
    {
      std::lock_guard lock(mu_);
      free_.push_back(conn);
    }
    cv_.notify_one();
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> all_;
  std::vector<Connection*> free_;
};

// ---- the store ----------------------------------------------------------------------------------

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(int busy_timeout_ms) : busy_timeout_(busy_timeout_ms) {}

  Pool& pool() { return pool_; }

  Status transaction(const std::function<Status(Tx&)>& fn) override {
    return run(true, [&fn](Connection& conn, bool& saw_busy) {
      SqliteTx tx(conn, false);
      auto st = fn(tx);
      saw_busy = tx.saw_busy();
      return st;
    });
  }

  Status read(const std::function<Status(Tx&)>& fn) override {
    return run(false, [&fn](Connection& conn, bool& saw_busy) {
      SqliteTx tx(conn, true);
      auto st = fn(tx);
      saw_busy = tx.saw_busy();
      return st;
    });
  }

  Result<std::vector<CounterCounts>> hit_counters(const std::vector<CounterHit>& hits) override {
    std::vector<CounterCounts> out;
    if (hits.empty()) {
      return out;
    }
    auto st = run(true, [&](Connection& conn, bool& saw_busy) -> Status {
      SqliteTx tx(conn, false);
      auto counts = tx.hit_counters(hits);
      saw_busy = tx.saw_busy();
      if (!counts) {
        return fail(std::move(counts.error()));
      }
      out = std::move(*counts);
      return {};
    });
    if (!st) {
      return fail(std::move(st.error()));
    }
    return out;
  }

  Status ping() override {
    auto lease = pool_.acquire(busy_timeout_);
    if (!lease) {
      return fail(std::move(lease.error()));
    }
    return (*lease)->exec("SELECT 1", "ping");
  }

  Result<int> migrate() override {
    // The bookkeeping table itself; IF NOT EXISTS under the write lock is safe when two processes
    // start at once.
    auto st = run(true, [](Connection& conn, bool&) {
      return conn.exec(
          "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER NOT NULL PRIMARY KEY, "
          "name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT",
          "create schema_migrations");
    });
    if (!st) {
      return fail(std::move(st.error()));
    }
    const auto all = sqlite_migrations();
    const int latest = all.empty() ? 0 : all.back().version;
    auto current = schema_version();
    if (!current) {
      return fail(std::move(current.error()));
    }
    if (*current > latest) {
      return fail(Error(Code::kInternal)
                      .with_internal("database schema version " + std::to_string(*current) +
                                     " is newer than this binary's " + std::to_string(latest)));
    }
    int applied = 0;
    for (const auto& m : all) {
      // Each migration in its own IMMEDIATE transaction that re-checks whether it is applied, so a
      // second process running migrate() at the same time waits, then skips it.
      bool did = false;
      auto one = run(true, [&m, &did](Connection& conn, bool&) -> Status {
        did = false;
        auto stmt = conn.prepare("SELECT 1 FROM schema_migrations WHERE version = ?");
        if (!stmt) {
          return fail(std::move(stmt.error()));
        }
        StmtUse use(*stmt);
        sqlite3_bind_int(use.get(), 1, m.version);
        const int rc = sqlite3_step(use.get());
        if (rc == SQLITE_ROW) {
          return {};
        }
        if (rc != SQLITE_DONE) {
          return fail(db_error(conn.db(), rc, "read schema_migrations"));
        }
        const std::string sql(m.sql);
        if (auto ex = conn.exec(sql.c_str(), "migration"); !ex) {
          Error e = std::move(ex.error());
          e.internal = "migration " + std::string(m.name) + ": " + e.internal;
          return fail(std::move(e));
        }
        auto ins = conn.prepare(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, "
            "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))");
        if (!ins) {
          return fail(std::move(ins.error()));
        }
        StmtUse ins_use(*ins);
        sqlite3_bind_int(ins_use.get(), 1, m.version);
        sqlite3_bind_text64(ins_use.get(), 2, m.name.data(), m.name.size(), SQLITE_TRANSIENT,
                            SQLITE_UTF8);
        if (const int irc = sqlite3_step(ins_use.get()); irc != SQLITE_DONE) {
          return fail(db_error(conn.db(), irc, "record migration"));
        }
        did = true;
        return {};
      });
      if (!one) {
        return fail(std::move(one.error()));
      }
      applied += did ? 1 : 0;
    }
    return applied;
  }

  Result<int> schema_version() override {
    int version = 0;
    auto st = run(false, [&version](Connection& conn, bool&) -> Status {
      auto stmt = conn.prepare(
          "SELECT CASE WHEN EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND "
          "name = 'schema_migrations') THEN 1 ELSE 0 END");
      if (!stmt) {
        return fail(std::move(stmt.error()));
      }
      bool exists = false;
      {
        StmtUse use(*stmt);
        const int rc = sqlite3_step(use.get());
        if (rc != SQLITE_ROW) {
          return fail(db_error(conn.db(), rc, "schema_version"));
        }
        exists = sqlite3_column_int(use.get(), 0) != 0;
      }
      if (!exists) {
        return {};
      }
      // Prepared only once the table exists (preparing fails on a missing table).
      auto max = conn.prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
      if (!max) {
        return fail(std::move(max.error()));
      }
      StmtUse use(*max);
      const int rc = sqlite3_step(use.get());
      if (rc != SQLITE_ROW) {
        return fail(db_error(conn.db(), rc, "schema_version"));
      }
      version = sqlite3_column_int(use.get(), 0);
      return {};
    });
    if (!st) {
      return fail(std::move(st.error()));
    }
    return version;
  }

 private:
  // Runs `body` inside BEGIN IMMEDIATE (write) or BEGIN (read) on a pooled connection. Commits on
  // success; rolls back on error or exception (rethrown). Busy is retried kMaxAttempts times with
  // exponential backoff by re-running the whole body.
  template <typename Body>
  Status run(bool write, const Body& body) {
    Error last(Code::kServiceUnavailable);
    for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
      if (attempt > 0) {
        std::this_thread::sleep_for(kBackoffBase * (1 << (attempt - 1)));
      }
      auto lease = pool_.acquire(busy_timeout_);
      if (!lease) {
        return fail(std::move(lease.error()));
      }
      Connection& conn = **lease;
      const int brc =
          sqlite3_exec(conn.db(), write ? "BEGIN IMMEDIATE" : "BEGIN", nullptr, nullptr, nullptr);
      if (brc != SQLITE_OK) {
        last = db_error(conn.db(), brc, "begin");
        if (is_busy(brc)) {
          continue;
        }
        return fail(std::move(last));
      }
      bool saw_busy = false;
      Status st;
      try {
        st = body(conn, saw_busy);
      } catch (...) {
        conn.rollback_if_open();
        throw;
      }
      if (!st) {
        conn.rollback_if_open();
        if (saw_busy) {
          last = std::move(st.error());
          continue;
        }
        return st;
      }
      const int crc = sqlite3_exec(conn.db(), "COMMIT", nullptr, nullptr, nullptr);
      if (crc != SQLITE_OK) {
        last = db_error(conn.db(), crc, "commit");
        conn.rollback_if_open();
        if (is_busy(crc)) {
          continue;
        }
        return fail(std::move(last));
      }
      return {};
    }
    return fail(std::move(last));
  }

  std::chrono::milliseconds busy_timeout_;
  Pool pool_;
};

// "sqlite:///abs/path.db" → "/abs/path.db"; "sqlite://rel.db" → "rel.db"; bare paths as is.
Result<std::string> parse_path(const std::string& spec) {
  constexpr std::string_view kScheme = "sqlite://";
  std::string path = spec;
  if (std::string_view(spec).starts_with(kScheme)) {
    path = spec.substr(kScheme.size());
  } else if (spec.find("://") != std::string::npos) {
    return fail(Error(Code::kInternal).with_internal("not an sqlite database url"));
  }
  if (path.empty()) {
    return fail(Error(Code::kInternal).with_internal("empty sqlite database path"));
  }
  return path;
}

}  // namespace

Result<std::unique_ptr<Store>> open_sqlite(const std::string& path, int busy_timeout_ms) {
  return open_sqlite(SqliteOptions{path, busy_timeout_ms, SqliteOptions{}.pool_size});
}

Result<std::unique_ptr<Store>> open_sqlite(const SqliteOptions& options) {
  auto path = parse_path(options.path);
  if (!path) {
    return fail(std::move(path.error()));
  }
  if (options.busy_timeout_ms < 0 || options.pool_size < 1) {
    return fail(Error(Code::kInternal).with_internal("invalid sqlite busy timeout or pool size"));
  }
  // Every ":memory:" connection is its own database, so an in-memory store has exactly one.
  const bool memory = *path == ":memory:";
  bool created = false;
  if (!memory) {
    std::error_code ec;
    const std::filesystem::path file(*path);
    if (file.has_parent_path()) {
      std::filesystem::create_directories(file.parent_path(), ec);
      if (ec) {
        return fail(
            Error(Code::kInternal)
                .with_internal("cannot create directory for the database: " + ec.message()));
      }
    }
    created = !std::filesystem::exists(file, ec);
  }
  auto store = std::make_unique<SqliteStore>(options.busy_timeout_ms);
  const int size = memory ? 1 : options.pool_size;
  for (int i = 0; i < size; ++i) {
    auto conn = Connection::open(*path, options.busy_timeout_ms);
    if (!conn) {
      return fail(std::move(conn.error()));
    }
    store->pool().add(std::move(*conn));
  }
  if (created) {
    // The database holds sealed provider tokens and encrypted keys: owner-only access. SQLite
    // gives the -wal and -shm files the same mode as the database file.
    std::error_code ec;
    std::filesystem::permissions(
        *path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
        std::filesystem::perm_options::replace, ec);
  }
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace latchkey::store
