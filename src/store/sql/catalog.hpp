#pragma once
// The SQL catalog: every statement the two engines share, written once (catalog.cpp) and rendered
// into each engine's dialect at compile time. A statement is named by a Query id, so a connection
// caches its prepared form in a plain array slot (no hashing of SQL text on the hot path).
//
// What is not here is a dialect difference on purpose: the rate-counter batch (one upsert over
// unnest() on PostgreSQL, one upsert per hit on SQLite), migrations and their bookkeeping, and the
// engines' own session statements (BEGIN variants, SAVEPOINT, PRAGMA).
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace latchkey::store::sql {

enum class Dialect : std::uint8_t { kSqlite, kPostgres };

enum class Query : std::uint8_t {
  kListSigningKeys,
  kInsertSigningKey,
  kRetireSigningKey,
  kDeleteSigningKey,

  kInsertUser,
  kGetUser,
  kFindUserByEmail,
  kFindUserByUsername,
  kUpdateUser,
  kDeleteUser,
  kListUsers,
  kCountUsers,

  kInsertTotp,
  kGetTotp,
  kUpdateTotp,
  kUseTotpStep,
  kDeleteTotp,
  kDeleteBackupCodes,
  kInsertBackupCode,
  kUseBackupCode,
  kGetMfaSummary,

  kInsertSecretKey,
  kListSecretKeys,
  kFindSecretKeyByHash,
  kRevokeSecretKey,

  kInsertEmailAddress,
  kGetEmailAddress,
  kFindEmailAddress,
  kListEmailAddresses,
  kUpdateEmailAddress,
  kDeleteEmailAddress,

  kInsertExternalAccount,
  kGetExternalAccount,
  kFindExternalAccount,
  kListExternalAccounts,
  kUpdateExternalAccount,
  kDeleteExternalAccount,

  kInsertClient,
  kGetClient,
  kFindClientByCookieHash,
  kFindClientByPreviousCookieHash,
  kUpdateClient,
  kDeleteClient,
  kListClients,
  kCountClients,

  kInsertSignIn,
  kGetSignIn,
  kUpdateSignIn,
  kDeleteSignIn,
  kInsertSignUp,
  kGetSignUp,
  kUpdateSignUp,
  kDeleteSignUp,

  kInsertSession,
  kGetSession,
  kListSessionsByClient,
  kListSessionsByUser,
  kUpdateSession,
  kDeleteSession,

  kInsertOAuthState,
  kConsumeOAuthState,

  kInsertOutboxMessage,
  kGetOutboxMessage,
  kUpdateOutboxMessage,
  kCountOutboxByRecipient,
  kCountOutboxByRemoteIp,
  kCountOutboxByCountry,
  kClaimOutboxMessages,
  kPurgeOutbox,

  kInsertWebhookDelivery,
  kGetWebhookDelivery,
  kUpdateWebhookDelivery,
  kClaimWebhookDeliveries,
  kListWebhookDeliveries,
  kListFailedWebhookDeliveries,
  kPurgeWebhookDeliveries,

  kPurgeOAuthStates,
  kPurgeSignIns,
  kPurgeSignUps,
  kPurgeSessions,
  kPurgeClients,
  kPurgeRateCounters,

  kCount,  // not a statement: the size of a per-connection cache
};

inline constexpr std::size_t kQueryCount = static_cast<std::size_t>(Query::kCount);

constexpr std::size_t index(Query q) { return static_cast<std::size_t>(q); }

// The text of `q` in `dialect` (static storage, NUL-terminated just past the view's end).
std::string_view text(Query q, Dialect dialect);

}  // namespace latchkey::store::sql
