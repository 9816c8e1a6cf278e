#include "store/sqlite/connection.hpp"

#include <utility>

#include "store/faults.hpp"
#include "store/store.hpp"

namespace latchkey::store::sqlite {
namespace {

using core::Code;
using core::Error;
using core::fail;

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
      {"outbox.id", kOutboxPkey},
      {"webhook_deliveries.id", kWebhookDeliveryIdKey},
      {"signing_keys.kid", kSigningKeyPkey},
      {"secret_keys.id", kSecretKeyPkey},
      {"secret_keys.key_hash", kSecretKeyHashKey},
      {"user_totp.id", kTotpPkey},
      {"user_totp.user_id", kTotpUserKey},
      {"backup_codes.user_id, backup_codes.code_mac", kBackupCodePkey},
  };
  for (const auto& [msg, name] : kMap) {
    if (msg == what) {
      return name;
    }
  }
  return "unique";
}

}  // namespace

Error db_error(sqlite3* db, int rc, std::string_view what) {
  const std::string msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  const int primary = rc & 0xff;
  if (is_busy(rc)) {
    return Error(Code::kServiceUnavailable)
        .with_internal("sqlite busy during " + std::string(what) + ": " + msg);
  }
  // The disk is full, gone or unreadable (ENOSPC, EIO, a vanished volume): the store cannot
  // serve this now, and may again once an operator acts. 503, like a busy database (catalog J5).
  if (primary == SQLITE_FULL || primary == SQLITE_IOERR || primary == SQLITE_CANTOPEN) {
    return Error(Code::kServiceUnavailable)
        .with_internal("sqlite " + std::string(sqlite3_errstr(rc)) + " during " +
                       std::string(what) + ": " + msg);
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

Result<std::unique_ptr<Connection>> Connection::open(const std::string& path, int busy_timeout_ms) {
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

Status Connection::exec(const char* sql, std::string_view what) {
  if (faults::at_statement() == faults::Action::kFail) {
    return fail(db_error(nullptr, SQLITE_IOERR, std::string(what) + " (injected fault)"));
  }
  const int rc = sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    return fail(db_error(db_.get(), rc, what));
  }
  return {};
}

Result<sqlite3_stmt*> Connection::prepare(std::string_view sql) {
  if (auto it = by_text_.find(sql); it != by_text_.end()) {
    return it->second.get();
  }
  auto stmt = compile(sql);
  if (!stmt) {
    return fail(std::move(stmt.error()));
  }
  return by_text_.emplace(std::string(sql), std::move(*stmt)).first->second.get();
}

Result<sqlite3_stmt*> Connection::prepare_slow(sql::Query q) {
  auto stmt = compile(sql::text(q, sql::Dialect::kSqlite));
  if (!stmt) {
    return fail(std::move(stmt.error()));
  }
  by_query_[sql::index(q)] = std::move(*stmt);
  return by_query_[sql::index(q)].get();
}

Result<StmtPtr> Connection::compile(std::string_view sql) {
  sqlite3_stmt* raw = nullptr;
  const int rc = sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
  StmtPtr stmt(raw);
  if (rc != SQLITE_OK) {
    return fail(db_error(db_.get(), rc, "prepare"));
  }
  return stmt;
}

}  // namespace latchkey::store::sqlite
