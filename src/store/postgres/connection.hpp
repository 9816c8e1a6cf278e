#pragma once
// One libpq connection with every wait bounded: connecting by connect_timeout (non-blocking
// PQconnectPoll + poll(2)), every round trip by statement_timeout on the server and the same plus a
// slack on the client (async send + poll(2)), so a stopped or unreachable server cannot hang a
// worker. A connection that timed out or lost step is poisoned: the pool never hands it out again.
//
// Statement failures: in PostgreSQL a failed statement aborts the whole transaction, in SQLite
// only the statement. To keep SQLite's behaviour (a caller may catch a kConflict and carry on in
// the same transaction), exec_guarded() runs a statement inside a savepoint, sent in one pipelined
// round trip (SAVEPOINT; statement; RELEASE) and rolled back to the savepoint on failure.
#include <libpq-fe.h>

#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "core/error.hpp"
#include "store/postgres/errors.hpp"
#include "store/postgres/params.hpp"
#include "store/sql/catalog.hpp"

namespace latchkey::store::postgres {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;
using std::chrono::milliseconds;

// Client-side deadline on a round trip = statement_timeout + this (the server times out first).
constexpr milliseconds kClientSlack{1000};

struct Settings {
  std::string url;
  int pool_size = 8;
  milliseconds busy_timeout{5000};
  milliseconds connect_timeout{5000};
  milliseconds statement_timeout{5000};

  [[nodiscard]] milliseconds io_timeout() const { return statement_timeout + kClientSlack; }
};

// ---- RAII for the C handles (design.md §3.9) ------------------------------------------------

struct ConnCloser {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct ResultClearer {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ConnPtr = std::unique_ptr<PGconn, ConnCloser>;
using ResultPtr = std::unique_ptr<PGresult, ResultClearer>;

class Connection {
 public:
  // Connects without blocking past connect_timeout, then sets the session's timeouts.
  static core::Result<std::unique_ptr<Connection>> open(const Settings& s);

  [[nodiscard]] PGconn* get() const { return conn_.get(); }
  [[nodiscard]] bool broken() const { return poisoned_ || PQstatus(conn_.get()) != CONNECTION_OK; }
  [[nodiscard]] Deadline deadline() const { return Clock::now() + settings_.io_timeout(); }

  // A simple-protocol query (may hold several statements; text results). The first failure wins.
  core::Result<ResultPtr> exec_simple(const std::string& sql, std::string_view what,
                                      Deadline deadline, Fault& fault);

  // The name of `sql`'s prepared statement on this connection, preparing it on first use with the
  // parameter types of `params`. Catalog statements are cached by id, other fixed text by text.
  core::Result<const char*> prepare(sql::Query q, const Params& params, Fault& fault) {
    if (const std::string& name = by_query_[sql::index(q)]; !name.empty()) {
      return name.c_str();
    }
    return prepare_slow(q, params, fault);
  }
  core::Result<const char*> prepare(std::string_view sql, const Params& params, Fault& fault);

  // Runs a prepared statement, binary parameters and results.
  core::Result<ResultPtr> exec_prepared(const char* name, Params& params, std::string_view what,
                                        Fault& fault);

  // Runs a prepared statement inside a savepoint, pipelined in one round trip (see above). On
  // failure the transaction is rolled back to the savepoint and stays usable.
  core::Result<ResultPtr> exec_guarded(const char* name, Params& params, std::string_view what,
                                       Fault& fault);

  // Best effort: ends an open transaction so the connection goes back to the pool clean.
  void rollback();

 private:
  Connection(ConnPtr conn, const Settings& s) : conn_(std::move(conn)), settings_(s) {}

  static bool wait_socket(PGconn* conn, short events, Deadline deadline);
  // True when PQgetResult will not block.
  bool wait_ready(Deadline deadline);
  core::Error send_failed(std::string_view what, Fault& fault);
  // Collects the results of one query (up to the null that ends them). With `check`, a failed
  // result becomes an error.
  core::Result<ResultPtr> finish(std::string_view what, Deadline deadline, Fault& fault,
                                 bool check = true);
  core::Result<const char*> prepare_slow(sql::Query q, const Params& params, Fault& fault);
  // Sends PQsendPrepare for `text` (NUL-terminated) under `name` and waits for it.
  core::Status prepare_as(const std::string& name, const char* text, const Params& params,
                          Fault& fault);

  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  ConnPtr conn_;
  Settings settings_;
  bool poisoned_ = false;
  std::array<std::string, sql::kQueryCount> by_query_;  // empty: not prepared yet
  std::unordered_map<std::string, std::string, Hash, std::equal_to<>> by_text_;
};

}  // namespace latchkey::store::postgres
