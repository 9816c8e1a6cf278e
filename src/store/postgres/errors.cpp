#include "store/postgres/errors.hpp"

#include "store/store.hpp"

namespace latchkey::store::postgres {

using core::Code;
using core::Error;

std::string trimmed(const char* s) {
  std::string out = s != nullptr ? s : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) {
    out.pop_back();
  }
  return out;
}

Error lost(std::string_view what, std::string why) {
  return Error(Code::kServiceUnavailable)
      .with_internal("postgres connection lost during " + std::string(what) + ": " + why);
}

Error map_error(PGconn* conn, const PGresult* res, std::string_view what, Fault& fault) {
  const char* state_c = res != nullptr ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  if (state_c == nullptr || PQstatus(conn) == CONNECTION_BAD) {
    fault = Fault::kLost;
    return lost(what, trimmed(PQerrorMessage(conn)));
  }
  const std::string_view state(state_c);
  std::string msg = trimmed(PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
  if (state == "23505") {  // unique_violation: the constraint (or unique index) name leads
    fault = Fault::kAborted;
    const char* name = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
    return Error(Code::kConflict)
        .with_internal(std::string(name != nullptr ? name : "unique") + ": " + msg);
  }
  if (state == "23503") {  // foreign_key_violation
    fault = Fault::kAborted;
    return Error(Code::kConflict).with_internal(std::string(kForeignKey) + ": " + msg);
  }
  if (state == "40001" || state == "40P01") {  // serialization_failure, deadlock_detected
    fault = Fault::kRetry;
    return Error(Code::kServiceUnavailable)
        .with_internal("postgres " + std::string(state) + " during " + std::string(what) + ": " +
                       msg);
  }
  // 08xxx connection exceptions; 57P01-03 admin/crash shutdown, cannot connect now.
  if (state.starts_with("08") || state == "57P01" || state == "57P02" || state == "57P03") {
    fault = Fault::kLost;
    return lost(what, std::string(state) + ": " + msg);
  }
  fault = Fault::kAborted;
  // 57014 statement timeout / cancel, 55P03 lock not available, 53xxx insufficient resources
  // (too many connections, out of memory or disk): the database is busy, not broken.
  if (state == "57014" || state == "55P03" || state.starts_with("53")) {
    return Error(Code::kServiceUnavailable)
        .with_internal("postgres " + std::string(state) + " during " + std::string(what) + ": " +
                       msg);
  }
  return Error(Code::kInternal)
      .with_internal("postgres " + std::string(state) + " during " + std::string(what) + ": " +
                     msg);
}

}  // namespace latchkey::store::postgres
