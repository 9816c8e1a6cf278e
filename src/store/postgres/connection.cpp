#include "store/postgres/connection.hpp"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <utility>

namespace latchkey::store::postgres {

using core::Code;
using core::Error;
using core::fail;

Result<std::unique_ptr<Connection>> Connection::open(const Settings& s) {
  const Deadline deadline = Clock::now() + s.connect_timeout;
  const std::string tcp_user_timeout = std::to_string(s.io_timeout().count());
  // The URL comes last so that what it sets wins over these defaults (expand_dbname).
  const char* keys[] = {"fallback_application_name",
                        "client_encoding",
                        "keepalives",
                        "keepalives_idle",
                        "keepalives_interval",
                        "keepalives_count",
                        "tcp_user_timeout",
                        "dbname",
                        nullptr};
  const char* values[] = {"latchkey",    "UTF8", "1", "30", "10", "3", tcp_user_timeout.c_str(),
                          s.url.c_str(), nullptr};
  ConnPtr conn(PQconnectStartParams(keys, values, 1));
  if (!conn) {
    return fail(Error(Code::kInternal).with_internal("libpq could not allocate a connection"));
  }
  if (PQstatus(conn.get()) == CONNECTION_BAD) {
    return fail(Error(Code::kServiceUnavailable)
                    .with_internal("postgres connect: " + trimmed(PQerrorMessage(conn.get()))));
  }
  PostgresPollingStatusType st = PGRES_POLLING_WRITING;
  while (st != PGRES_POLLING_OK) {
    if (st == PGRES_POLLING_FAILED) {
      return fail(Error(Code::kServiceUnavailable)
                      .with_internal("postgres connect: " + trimmed(PQerrorMessage(conn.get()))));
    }
    const auto wait =
        wait_socket(conn.get(), st == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline);
    if (!wait) {
      return fail(Error(Code::kServiceUnavailable)
                      .with_internal("postgres connect: no answer within the connect timeout"));
    }
    st = PQconnectPoll(conn.get());
  }
  // Notices ("relation already exists, skipping") would go to stderr, outside the JSON log.
  PQsetNoticeProcessor(conn.get(), [](void*, const char*) {}, nullptr);
  auto c = std::unique_ptr<Connection>(new Connection(std::move(conn), s));
  // statement_timeout bounds every statement and lock wait on the server side;
  // idle_in_transaction_session_timeout frees a transaction whose worker vanished.
  const std::string set =
      "SET statement_timeout = " + std::to_string(s.statement_timeout.count()) +
      "; SET idle_in_transaction_session_timeout = " +
      std::to_string(std::max<std::int64_t>(60'000, 4 * s.io_timeout().count()));
  Fault fault = Fault::kNone;
  if (auto r = c->exec_simple(set, "connection setup", c->deadline(), fault); !r) {
    return fail(std::move(r.error()));
  }
  return c;
}

Result<ResultPtr> Connection::exec_simple(const std::string& sql, std::string_view what,
                                          Deadline deadline, Fault& fault) {
  if (PQsendQuery(conn_.get(), sql.c_str()) == 0) {
    return fail(send_failed(what, fault));
  }
  return finish(what, deadline, fault);
}

Result<const char*> Connection::prepare(std::string_view sql, const Params& params, Fault& fault) {
  if (auto it = by_text_.find(sql); it != by_text_.end()) {
    return it->second.c_str();
  }
  std::string name = "lk" + std::to_string(by_text_.size() + 1);
  const std::string text(sql);
  if (auto st = prepare_as(name, text.c_str(), params, fault); !st) {
    return fail(std::move(st.error()));
  }
  return by_text_.emplace(text, std::move(name)).first->second.c_str();
}

Result<const char*> Connection::prepare_slow(sql::Query q, const Params& params, Fault& fault) {
  std::string name = "lkq" + std::to_string(sql::index(q));
  // Catalog texts are NUL-terminated just past their view.
  if (auto st = prepare_as(name, sql::text(q, sql::Dialect::kPostgres).data(), params, fault);
      !st) {
    return fail(std::move(st.error()));
  }
  by_query_[sql::index(q)] = std::move(name);
  return by_query_[sql::index(q)].c_str();
}

Status Connection::prepare_as(const std::string& name, const char* text, const Params& params,
                              Fault& fault) {
  if (PQsendPrepare(conn_.get(), name.c_str(), text, params.size(), params.types()) == 0) {
    return fail(send_failed("prepare", fault));
  }
  auto r = finish("prepare", deadline(), fault);
  if (!r) {
    return fail(std::move(r.error()));
  }
  return {};
}

Result<ResultPtr> Connection::exec_prepared(const char* name, Params& params, std::string_view what,
                                            Fault& fault) {
  params.seal();
  if (PQsendQueryPrepared(conn_.get(), name, params.size(), params.values(), params.lengths(),
                          params.formats(), 1) == 0) {
    return fail(send_failed(what, fault));
  }
  return finish(what, deadline(), fault);
}

Result<ResultPtr> Connection::exec_guarded(const char* name, Params& params, std::string_view what,
                                           Fault& fault) {
  params.seal();
  PGconn* c = conn_.get();
  if (PQenterPipelineMode(c) == 0 ||
      PQsendQueryParams(c, "SAVEPOINT lk_stmt", 0, nullptr, nullptr, nullptr, nullptr, 0) == 0 ||
      PQsendQueryPrepared(c, name, params.size(), params.values(), params.lengths(),
                          params.formats(), 1) == 0 ||
      PQsendQueryParams(c, "RELEASE SAVEPOINT lk_stmt", 0, nullptr, nullptr, nullptr, nullptr, 0) ==
          0 ||
      PQpipelineSync(c) == 0) {
    poisoned_ = true;
    return fail(send_failed(what, fault));
  }
  const Deadline dl = deadline();
  ResultPtr results[3];
  for (auto& out : results) {
    auto r = finish(what, dl, fault, /*check=*/false);
    if (!r) {
      poisoned_ = true;
      return fail(std::move(r.error()));
    }
    out = std::move(*r);
  }
  // The sync point ends the pipeline.
  if (!wait_ready(dl)) {
    poisoned_ = true;
    fault = Fault::kLost;
    return fail(lost(what, "no sync within the timeout"));
  }
  ResultPtr sync(PQgetResult(c));
  if (!sync || PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC || PQexitPipelineMode(c) == 0) {
    poisoned_ = true;
    fault = Fault::kLost;
    return fail(lost(what, "pipeline out of step"));
  }
  auto ok = [](const ResultPtr& r) {
    const auto s = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
  };
  if (ok(results[0]) && ok(results[1]) && ok(results[2])) {
    return std::move(results[1]);
  }
  // The first failed result says why; the rest were skipped (PGRES_PIPELINE_ABORTED).
  const PGresult* bad = nullptr;
  for (const auto& r : results) {
    if (!ok(r) && r && PQresultStatus(r.get()) != PGRES_PIPELINE_ABORTED) {
      bad = r.get();
      break;
    }
  }
  Error e = map_error(c, bad, what, fault);
  if (fault == Fault::kAborted) {
    Fault undo = Fault::kNone;
    if (exec_simple("ROLLBACK TO SAVEPOINT lk_stmt", "rollback to savepoint", dl, undo)) {
      fault = Fault::kNone;  // the transaction goes on as if the statement never ran
    } else {
      fault = undo == Fault::kNone ? Fault::kAborted : undo;
    }
  }
  return fail(std::move(e));
}

void Connection::rollback() {
  if (broken()) {
    return;
  }
  const auto status = PQtransactionStatus(conn_.get());
  if (status == PQTRANS_IDLE) {
    return;
  }
  if (status == PQTRANS_ACTIVE || status == PQTRANS_UNKNOWN) {
    poisoned_ = true;  // mid-query (e.g. an exception between send and receive): drop it
    return;
  }
  Fault fault = Fault::kNone;
  if (!exec_simple("ROLLBACK", "rollback", deadline(), fault)) {
    poisoned_ = true;
  }
}

bool Connection::wait_socket(PGconn* conn, short events, Deadline deadline) {
  for (;;) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      return false;
    }
    pollfd fd{PQsocket(conn), events, 0};
    if (fd.fd < 0) {
      return false;
    }
    const int n = ::poll(&fd, 1, static_cast<int>(std::min<std::int64_t>(left, 60'000)));
    if (n > 0) {
      return true;
    }
    if (n < 0 && errno != EINTR) {
      return false;
    }
  }
}

bool Connection::wait_ready(Deadline deadline) {
  while (PQisBusy(conn_.get()) != 0) {
    if (!wait_socket(conn_.get(), POLLIN, deadline) || PQconsumeInput(conn_.get()) == 0) {
      return false;
    }
  }
  return true;
}

Error Connection::send_failed(std::string_view what, Fault& fault) {
  fault = Fault::kLost;
  poisoned_ = true;
  return lost(what, trimmed(PQerrorMessage(conn_.get())));
}

Result<ResultPtr> Connection::finish(std::string_view what, Deadline deadline, Fault& fault,
                                     bool check) {
  ResultPtr keep;
  bool keep_failed = false;
  for (;;) {
    if (!wait_ready(deadline)) {
      poisoned_ = true;  // the server may still be busy with it: never reuse this connection
      fault = Fault::kLost;
      return fail(lost(what, PQstatus(conn_.get()) == CONNECTION_BAD
                                 ? trimmed(PQerrorMessage(conn_.get()))
                                 : "no answer within the statement timeout"));
    }
    ResultPtr r(PQgetResult(conn_.get()));
    if (!r) {
      break;
    }
    const auto s = PQresultStatus(r.get());
    const bool failed = s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK;
    // Keep the first failure, else the last result.
    if (!keep || (failed && !keep_failed)) {
      keep = std::move(r);
      keep_failed = failed;
    } else if (!keep_failed) {
      keep = std::move(r);
    }
  }
  if (check) {
    const auto s = keep ? PQresultStatus(keep.get()) : PGRES_FATAL_ERROR;
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
      return fail(map_error(conn_.get(), keep.get(), what, fault));
    }
  }
  return keep;
}

}  // namespace latchkey::store::postgres
