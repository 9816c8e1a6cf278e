// Forwarders for the libpq functions Latchkey calls, resolved from libpq.so.5 at first use. Each
// definition is checked against <libpq-fe.h> (a different signature would not compile), so the
// call sites in src/store/postgres/ stay plain libpq.
#include "store/postgres/libpq_loader.hpp"

#include <libpq-fe.h>

#include "core/shared_library.hpp"

namespace latchkey::store {
namespace {

core::SharedLibrary& libpq() {
  static core::SharedLibrary lib("libpq.so.5");
  return lib;
}

}  // namespace
}  // namespace latchkey::store

// X(return type, name, parameter list, argument list)
#define LATCHKEY_LIBPQ_FUNCTIONS(X)                                                                \
  X(PGconn*, PQconnectStartParams,                                                                 \
    (const char* const* keywords, const char* const* values, int expand_dbname),                   \
    (keywords, values, expand_dbname))                                                             \
  X(PostgresPollingStatusType, PQconnectPoll, (PGconn * conn), (conn))                             \
  X(void, PQfinish, (PGconn * conn), (conn))                                                       \
  X(ConnStatusType, PQstatus, (const PGconn* conn), (conn))                                        \
  X(PGTransactionStatusType, PQtransactionStatus, (const PGconn* conn), (conn))                    \
  X(char*, PQerrorMessage, (const PGconn* conn), (conn))                                           \
  X(int, PQsocket, (const PGconn* conn), (conn))                                                   \
  X(PQnoticeProcessor, PQsetNoticeProcessor, (PGconn * conn, PQnoticeProcessor proc, void* arg),   \
    (conn, proc, arg))                                                                             \
  X(PQconninfoOption*, PQconninfoParse, (const char* conninfo, char** errmsg), (conninfo, errmsg)) \
  X(void, PQconninfoFree, (PQconninfoOption * options), (options))                                 \
  X(void, PQfreemem, (void* ptr), (ptr))                                                           \
  X(int, PQsendQuery, (PGconn * conn, const char* query), (conn, query))                           \
  X(int, PQsendQueryParams,                                                                        \
    (PGconn * conn, const char* command, int n, const Oid* types, const char* const* values,       \
     const int* lengths, const int* formats, int result_format),                                   \
    (conn, command, n, types, values, lengths, formats, result_format))                            \
  X(int, PQsendPrepare,                                                                            \
    (PGconn * conn, const char* name, const char* query, int n, const Oid* types),                 \
    (conn, name, query, n, types))                                                                 \
  X(int, PQsendQueryPrepared,                                                                      \
    (PGconn * conn, const char* name, int n, const char* const* values, const int* lengths,        \
     const int* formats, int result_format),                                                       \
    (conn, name, n, values, lengths, formats, result_format))                                      \
  X(PGresult*, PQexec, (PGconn * conn, const char* query), (conn, query))                          \
  X(PGresult*, PQexecParams,                                                                       \
    (PGconn * conn, const char* command, int n, const Oid* types, const char* const* values,       \
     const int* lengths, const int* formats, int result_format),                                   \
    (conn, command, n, types, values, lengths, formats, result_format))                            \
  X(PGresult*, PQexecPrepared,                                                                     \
    (PGconn * conn, const char* name, int n, const char* const* values, const int* lengths,        \
     const int* formats, int result_format),                                                       \
    (conn, name, n, values, lengths, formats, result_format))                                      \
  X(int, PQenterPipelineMode, (PGconn * conn), (conn))                                             \
  X(int, PQexitPipelineMode, (PGconn * conn), (conn))                                              \
  X(int, PQpipelineSync, (PGconn * conn), (conn))                                                  \
  X(int, PQconsumeInput, (PGconn * conn), (conn))                                                  \
  X(int, PQisBusy, (PGconn * conn), (conn))                                                        \
  X(PGresult*, PQgetResult, (PGconn * conn), (conn))                                               \
  X(ExecStatusType, PQresultStatus, (const PGresult* res), (res))                                  \
  X(char*, PQresultErrorField, (const PGresult* res, int field), (res, field))                     \
  X(char*, PQresultErrorMessage, (const PGresult* res), (res))                                     \
  X(int, PQntuples, (const PGresult* res), (res))                                                  \
  X(int, PQnfields, (const PGresult* res), (res))                                                  \
  X(char*, PQgetvalue, (const PGresult* res, int row, int col), (res, row, col))                   \
  X(int, PQgetlength, (const PGresult* res, int row, int col), (res, row, col))                    \
  X(int, PQgetisnull, (const PGresult* res, int row, int col), (res, row, col))                    \
  X(char*, PQcmdTuples, (PGresult * res), (res))                                                   \
  X(void, PQclear, (PGresult * res), (res))

#define LATCHKEY_LIBPQ_FORWARD(ret, name, params, args)                                       \
  extern "C" ret name params {                                                                \
    static const auto fn =                                                                    \
        latchkey::core::function_cast<ret(*) params>(latchkey::store::libpq().symbol(#name)); \
    return fn args;                                                                           \
  }
LATCHKEY_LIBPQ_FUNCTIONS(LATCHKEY_LIBPQ_FORWARD)

namespace latchkey::store {

core::Status load_libpq() {
  if (auto st = libpq().load(); !st) {
    return st;
  }
  // RTLD_NOW resolved the library's own imports; this checks it exports what we call (an old
  // libpq without pipeline mode must not get as far as the first transaction).
  static constexpr const char* kNames[] = {
#define LATCHKEY_LIBPQ_NAME(ret, name, params, args) #name,
      LATCHKEY_LIBPQ_FUNCTIONS(LATCHKEY_LIBPQ_NAME)
#undef LATCHKEY_LIBPQ_NAME
  };
  for (const char* name : kNames) {
    if (!libpq().has_symbol(name)) {
      return core::fail(core::Error(core::Code::kServiceUnavailable)
                            .with_internal(std::string("libpq.so.5 lacks ") + name +
                                           " (PostgreSQL client library 14 or newer is needed)"));
    }
  }
  return {};
}

}  // namespace latchkey::store
