#pragma once
// What a PostgreSQL failure means: the store's error (store.hpp conventions) and, for the
// transaction runner, whether to give up, re-run the callback or replace the connection.
#include <libpq-fe.h>

#include <string>
#include <string_view>

#include "core/error.hpp"

namespace latchkey::store::postgres {

// Ordered by severity: a transaction remembers the worst it saw.
enum class Fault {
  kNone,
  kAborted,  // a statement failed outside a savepoint: the transaction is aborted
  kRetry,    // serialization failure / deadlock: re-run the callback
  kLost,     // connection broken or timed out: discard it; re-run if before COMMIT
};

// libpq's message without its trailing newline.
std::string trimmed(const char* s);

core::Error lost(std::string_view what, std::string why);

// Maps a failed result (null: no result at all) to the store's error convention and sets `fault`.
// Only the primary message goes to `internal`: PostgreSQL's DETAIL repeats key values (email
// addresses, hashes), which have no place in logs.
core::Error map_error(PGconn* conn, const PGresult* res, std::string_view what, Fault& fault);

}  // namespace latchkey::store::postgres
