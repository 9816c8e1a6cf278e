// PostgreSQL implementation of store::Store (design.md §1 "storage"). The only file that includes
// libpq-fe.h.
//
// Concurrency model: a bounded pool of libpq connections, opened lazily, each used by one thread
// at a time, each with its own prepared statements. Callers already run on the handler worker pool
// (never on the I/O threads), so a worker blocks on its own connection; every wait is bounded:
//   - waiting for a free connection: busy_timeout (then kServiceUnavailable, never a hang);
//   - connecting: connect_timeout (non-blocking PQconnectPoll + poll(2) with a deadline);
//   - every round trip: statement_timeout on the server and the same plus a slack on the client
//     (async send + poll(2)), so a stopped or unreachable server cannot hang a worker.
//
// Isolation: write transactions are SERIALIZABLE, which gives what SQLite's single writer gives
// (no lost update in a read-modify-write, a check-then-insert sees the winner on retry).
// Serialization failures and deadlocks (SQLSTATE 40001/40P01) re-run the whole callback with
// jittered backoff until busy_timeout is spent, like the SQLite store retries SQLITE_BUSY. read()
// is REPEATABLE READ READ ONLY: one snapshot, writes refused by the server (SQLSTATE 25006).
//
// Statement failures: in PostgreSQL a failed statement aborts the whole transaction, in SQLite
// only the statement. To keep SQLite's behaviour (a caller may catch a kConflict and carry on in
// the same transaction), every INSERT and UPDATE runs inside a savepoint, sent in one pipelined
// round trip (SAVEPOINT; statement; RELEASE) and rolled back to the savepoint on failure.
//
// Broken connections (server restarted, network cut) are discarded and replaced on next use; when
// one is found broken the idle ones are dropped too (after a restart they are all dead). A
// transaction whose connection broke before COMMIT was sent is re-run (nothing was committed);
// one that broke during COMMIT is reported as kServiceUnavailable and not re-run (its outcome is
// unknown, and the server rolls back a transaction whose connection is lost before the commit).
#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "store/libpq_loader.hpp"
#include "store/migrations.hpp"
#include "store/store.hpp"

namespace latchkey::store {
namespace {

using core::Code;
using core::Error;
using core::fail;
using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;
using std::chrono::milliseconds;

// Built-in type OIDs (fixed by PostgreSQL's catalog; pg_type_d.h is a server header).
constexpr Oid kBoolOid = 16;
constexpr Oid kByteaOid = 17;
constexpr Oid kInt8Oid = 20;
constexpr Oid kTextOid = 25;
constexpr Oid kTextArrayOid = 1009;
constexpr Oid kInt8ArrayOid = 1016;

// Serializes concurrent migrate() calls from several nodes (pg_advisory_xact_lock key: "lkmigrat").
constexpr std::int64_t kMigrationLockKey = 0x6c6b6d6967726174;
// Upper bound on re-runs of one transaction; busy_timeout usually ends them first.
constexpr int kMaxAttempts = 64;
// Re-runs after a lost connection (a restarted server): the pool reconnects in between.
constexpr int kMaxConnectionRetries = 3;
// Client-side deadline on a round trip = statement_timeout + this (the server times out first).
constexpr milliseconds kClientSlack{1000};
// Migrations may rewrite large tables: no statement timeout, a generous client deadline.
constexpr milliseconds kMigrationTimeout{10 * 60 * 1000};

// ---- RAII for the C handles (design.md §3.9) ------------------------------------------------

struct ConnCloser {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct ResultClearer {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ConnPtr = std::unique_ptr<PGconn, ConnCloser>;
using ResultPtr = std::unique_ptr<PGresult, ResultClearer>;

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  });
  return out;
}

std::string trimmed(const char* s) {
  std::string out = s != nullptr ? s : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) {
    out.pop_back();
  }
  return out;
}

// What a failure means for the transaction runner.
// Ordered by severity: a transaction remembers the worst it saw.
enum class Fault {
  kNone,
  kAborted,  // a statement failed outside a savepoint: the transaction is aborted
  kRetry,    // serialization failure / deadlock: re-run the callback
  kLost,     // connection broken or timed out: discard it; re-run if before COMMIT
};

Error not_found(std::string_view table) {
  return Error(Code::kResourceNotFound).with_internal(std::string(table) + " row not found");
}

Error lost(std::string_view what, std::string why) {
  return Error(Code::kServiceUnavailable)
      .with_internal("postgres connection lost during " + std::string(what) + ": " + why);
}

// Maps a failed result to the store's error convention (store.hpp) and tells the runner what it
// means. Only the primary message goes to `internal`: PostgreSQL's DETAIL repeats key values
// (email addresses, hashes), which have no place in logs.
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
      .with_internal("postgres " + std::string(state) + " during " + std::string(what) + ": " + msg);
}

// ---- parameters: every value is sent in binary with an explicit type ----------------------------

// Opaque bytes sent as bytea (sealed tokens, encrypted keys).
struct Blob {
  const std::string* bytes;
};
struct OptBlob {
  const std::optional<std::string>* bytes;
};
// One-dimensional arrays without nulls (text[], bigint[]), for statements over a batch (unnest).
struct TextArray {
  const std::vector<std::string_view>* items;
};
struct Int8Array {
  const std::vector<std::int64_t>* items;
};

void put_be(std::string& out, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) {
    out.push_back(static_cast<char>((v >> (8U * static_cast<unsigned>(i))) & 0xffU));
  }
}

// The binary array format of array_recv: ndim, has-nulls flag, element type, then per dimension
// its length and lower bound (1), then each element as a 4-byte length and its bytes.
template <typename Items, typename Put>
std::string binary_array(Oid element, const Items& items, Put put) {
  std::string out;
  put_be(out, items.empty() ? 0 : 1, 4);
  put_be(out, 0, 4);
  put_be(out, element, 4);
  if (!items.empty()) {
    put_be(out, items.size(), 4);
    put_be(out, 1, 4);
  }
  for (const auto& item : items) {
    put(out, item);
  }
  return out;
}

class Params {
 public:
  void add(std::string_view v) { push(kTextOid, v); }
  void add(const std::string& v) { push(kTextOid, v); }
  void add(std::int64_t v) {
    std::array<char, 8> b{};
    auto u = static_cast<std::uint64_t>(v);
    for (int i = 7; i >= 0; --i) {
      b[static_cast<std::size_t>(i)] = static_cast<char>(u & 0xffU);
      u >>= 8U;
    }
    push(kInt8Oid, std::string_view(b.data(), b.size()));
  }
  void add(int v) { add(static_cast<std::int64_t>(v)); }
  void add(bool v) { push(kBoolOid, v ? std::string_view("\1", 1) : std::string_view("\0", 1)); }
  void add(const std::optional<std::string>& v) { v ? add(*v) : push_null(kTextOid); }
  void add(const std::optional<std::int64_t>& v) { v ? add(*v) : push_null(kInt8Oid); }
  void add(Blob v) { push(kByteaOid, *v.bytes); }
  void add(OptBlob v) { *v.bytes ? add(Blob{&**v.bytes}) : push_null(kByteaOid); }
  void add(TextArray v) {
    push(kTextArrayOid,
         binary_array(kTextOid, *v.items, [](std::string& out, std::string_view item) {
           put_be(out, item.size(), 4);
           out.append(item);
         }));
  }
  void add(Int8Array v) {
    push(kInt8ArrayOid, binary_array(kInt8Oid, *v.items, [](std::string& out, std::int64_t item) {
           put_be(out, 8, 4);
           put_be(out, static_cast<std::uint64_t>(item), 8);
         }));
  }

  // Pointers into data_: valid until the next add().
  void seal() {
    ptrs_.clear();
    for (std::size_t i = 0; i < data_.size(); ++i) {
      ptrs_.push_back(null_[i] ? nullptr : data_[i].data());
    }
  }
  [[nodiscard]] int size() const { return static_cast<int>(types_.size()); }
  [[nodiscard]] const Oid* types() const { return types_.data(); }
  [[nodiscard]] const char* const* values() const { return ptrs_.data(); }
  [[nodiscard]] const int* lengths() const { return lengths_.data(); }
  [[nodiscard]] const int* formats() const { return formats_.data(); }

 private:
  void push(Oid type, std::string_view v) {
    types_.push_back(type);
    data_.emplace_back(v);
    null_.push_back(false);
    lengths_.push_back(static_cast<int>(v.size()));
    formats_.push_back(1);
  }
  void push_null(Oid type) {
    types_.push_back(type);
    data_.emplace_back();
    null_.push_back(true);
    lengths_.push_back(0);
    formats_.push_back(1);
  }
  std::vector<Oid> types_;
  std::vector<std::string> data_;
  std::vector<bool> null_;
  std::vector<const char*> ptrs_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
};

// ---- reading binary results ---------------------------------------------------------------------

struct Row {
  const PGresult* res;
  int row;

  [[nodiscard]] bool null(int c) const { return PQgetisnull(res, row, c) != 0; }
  [[nodiscard]] std::string text(int c) const {  // text and bytea: raw bytes in binary format
    return std::string(PQgetvalue(res, row, c), static_cast<std::size_t>(PQgetlength(res, row, c)));
  }
  [[nodiscard]] std::optional<std::string> opt_text(int c) const {
    return null(c) ? std::nullopt : std::optional<std::string>(text(c));
  }
  [[nodiscard]] std::int64_t i64(int c) const {
    if (null(c) || PQgetlength(res, row, c) != 8) {
      return 0;  // every integer column is BIGINT (migrations/postgres); nothing else reaches here
    }
    const auto* p = reinterpret_cast<const unsigned char*>(PQgetvalue(res, row, c));
    std::uint64_t u = 0;
    for (int i = 0; i < 8; ++i) {
      u = (u << 8U) | p[i];
    }
    return static_cast<std::int64_t>(u);
  }
  [[nodiscard]] std::optional<std::int64_t> opt_i64(int c) const {
    return null(c) ? std::nullopt : std::optional<std::int64_t>(i64(c));
  }
  [[nodiscard]] bool boolean(int c) const {
    return !null(c) && PQgetlength(res, row, c) == 1 && PQgetvalue(res, row, c)[0] != 0;
  }
};

// ---- row mapping (column lists and readers kept side by side; same as the SQLite store) ------

#define LK_SIGNING_KEY_COLS \
  "kid, algorithm, public_jwk, private_key_enc, created_at, active, retired_at"
SigningKey read_signing_key(const Row& r) {
  SigningKey k;
  k.kid = r.text(0);
  k.algorithm = r.text(1);
  k.public_jwk = r.text(2);
  k.private_key_enc = r.text(3);
  k.created_at_ms = r.i64(4);
  k.active = r.boolean(5);
  k.retired_at_ms = r.opt_i64(6);
  return k;
}

#define LK_USER_COLS                                                                             \
  "u.id, u.first_name, u.last_name, u.username, u.image_url, u.primary_email_address_id, "       \
  "u.public_metadata, u.unsafe_metadata, u.legal_accepted_at, u.last_sign_in_at, u.created_at, " \
  "u.updated_at"
User read_user(const Row& r) {
  User u;
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
  return u;
}

#define LK_EMAIL_COLS "id, user_id, email, verified, verification_strategy, created_at, updated_at"
EmailAddress read_email(const Row& r) {
  EmailAddress e;
  e.id = r.text(0);
  e.user_id = r.text(1);
  e.email = r.text(2);
  e.verified = r.boolean(3);
  e.verification_strategy = r.opt_text(4);
  e.created_at_ms = r.i64(5);
  e.updated_at_ms = r.i64(6);
  return e;
}

#define LK_EAC_COLS                                                                         \
  "id, user_id, provider, provider_user_id, email, email_verified, first_name, last_name, " \
  "image_url, username, approved_scopes, access_token_enc, refresh_token_enc, "             \
  "access_token_expires_at, created_at, updated_at"
ExternalAccount read_external_account(const Row& r) {
  ExternalAccount a;
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
  return a;
}

#define LK_CLIENT_COLS                                                      \
  "id, cookie_token_hash, sign_in_id, sign_up_id, last_active_session_id, " \
  "last_authentication_strategy, expire_at, created_at, updated_at, "     \
  "previous_cookie_token_hash, previous_cookie_valid_until"
Client read_client(const Row& r) {
  Client c;
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
  return c;
}

#define LK_ATTEMPT_COLS "id, client_id, status, data, abandon_at, created_at, updated_at"
template <typename Attempt>
Attempt read_attempt(const Row& r) {
  Attempt a;
  a.id = r.text(0);
  a.client_id = r.text(1);
  a.status = r.text(2);
  a.data = r.text(3);
  a.abandon_at_ms = r.i64(4);
  a.created_at_ms = r.i64(5);
  a.updated_at_ms = r.i64(6);
  return a;
}

#define LK_SESSION_COLS                                                                        \
  "id, client_id, user_id, status, tasks, expire_at, abandon_at, last_active_at, created_at, " \
  "updated_at"
Session read_session(const Row& r) {
  Session x;
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
  return x;
}

#define LK_OAUTH_STATE_COLS \
  "state_hash, client_id, attempt_type, attempt_id, strategy, data, expire_at, created_at"
OAuthState read_oauth_state(const Row& r) {
  OAuthState o;
  o.state_hash = r.text(0);
  o.client_id = r.text(1);
  o.attempt_type = r.text(2);
  o.attempt_id = r.text(3);
  o.strategy = r.text(4);
  o.data = r.text(5);
  o.expire_at_ms = r.i64(6);
  o.created_at_ms = r.i64(7);
  return o;
}

// ---- settings -------------------------------------------------------------------------------------

struct Settings {
  std::string url;
  int pool_size = 8;
  milliseconds busy_timeout{5000};
  milliseconds connect_timeout{5000};
  milliseconds statement_timeout{5000};

  [[nodiscard]] milliseconds io_timeout() const { return statement_timeout + kClientSlack; }
};

// ---- one connection ---------------------------------------------------------------------------

class Connection {
 public:
  // Connects without blocking past the deadline (PQconnectStartParams + PQconnectPoll + poll).
  static Result<std::unique_ptr<Connection>> open(const Settings& s) {
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
    const char* values[] = {"latchkey", "UTF8", "1",           "30", "10",
                            "3",        tcp_user_timeout.c_str(), s.url.c_str(), nullptr};
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
      const auto wait = wait_socket(conn.get(), st == PGRES_POLLING_READING ? POLLIN : POLLOUT,
                                    deadline);
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
    const std::string set = "SET statement_timeout = " + std::to_string(s.statement_timeout.count()) +
                            "; SET idle_in_transaction_session_timeout = " +
                            std::to_string(std::max<std::int64_t>(
                                60'000, 4 * s.io_timeout().count()));
    Fault fault = Fault::kNone;
    if (auto r = c->exec_simple(set, "connection setup", c->deadline(), fault); !r) {
      return fail(std::move(r.error()));
    }
    return c;
  }

  [[nodiscard]] PGconn* get() const { return conn_.get(); }
  [[nodiscard]] bool broken() const { return poisoned_ || PQstatus(conn_.get()) != CONNECTION_OK; }
  [[nodiscard]] Deadline deadline() const { return Clock::now() + settings_.io_timeout(); }

  // A simple-protocol query (may hold several statements; text results). The first failure wins.
  Result<ResultPtr> exec_simple(const std::string& sql, std::string_view what, Deadline deadline,
                                Fault& fault) {
    if (PQsendQuery(conn_.get(), sql.c_str()) == 0) {
      return fail(send_failed(what, fault));
    }
    return finish(what, deadline, fault);
  }

  // A prepared statement (prepared once per connection), binary parameters and results.
  Result<ResultPtr> exec_prepared(std::string_view sql, Params& params, std::string_view what,
                                  Fault& fault) {
    auto name = prepare(sql, params, fault);
    if (!name) {
      return fail(std::move(name.error()));
    }
    params.seal();
    if (PQsendQueryPrepared(conn_.get(), name->c_str(), params.size(), params.values(),
                            params.lengths(), params.formats(), 1) == 0) {
      return fail(send_failed(what, fault));
    }
    return finish(what, deadline(), fault);
  }

  // A prepared statement inside a savepoint, pipelined in one round trip (see the file comment).
  // On failure the transaction is rolled back to the savepoint and stays usable.
  Result<ResultPtr> exec_guarded(std::string_view sql, Params& params, std::string_view what,
                                 Fault& fault) {
    auto name = prepare(sql, params, fault);
    if (!name) {
      return fail(std::move(name.error()));
    }
    params.seal();
    PGconn* c = conn_.get();
    if (PQenterPipelineMode(c) == 0 ||
        PQsendQueryParams(c, "SAVEPOINT lk_stmt", 0, nullptr, nullptr, nullptr, nullptr, 0) == 0 ||
        PQsendQueryPrepared(c, name->c_str(), params.size(), params.values(), params.lengths(),
                            params.formats(), 1) == 0 ||
        PQsendQueryParams(c, "RELEASE SAVEPOINT lk_stmt", 0, nullptr, nullptr, nullptr, nullptr,
                          0) == 0 ||
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

  // Best effort: ends an open transaction so the connection goes back to the pool clean.
  void rollback() {
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

 private:
  Connection(ConnPtr conn, const Settings& s) : conn_(std::move(conn)), settings_(s) {}

  static bool wait_socket(PGconn* conn, short events, Deadline deadline) {
    for (;;) {
      const auto left =
          std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
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

  // True when PQgetResult will not block.
  bool wait_ready(Deadline deadline) {
    while (PQisBusy(conn_.get()) != 0) {
      if (!wait_socket(conn_.get(), POLLIN, deadline) || PQconsumeInput(conn_.get()) == 0) {
        return false;
      }
    }
    return true;
  }

  Error send_failed(std::string_view what, Fault& fault) {
    fault = Fault::kLost;
    poisoned_ = true;
    return lost(what, trimmed(PQerrorMessage(conn_.get())));
  }

  // Collects the results of one query (up to the null that ends them). With `check`, a failed
  // result becomes an error.
  Result<ResultPtr> finish(std::string_view what, Deadline deadline, Fault& fault,
                           bool check = true) {
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

  Result<std::string> prepare(std::string_view sql, const Params& params, Fault& fault) {
    if (auto it = names_.find(sql); it != names_.end()) {
      return it->second;
    }
    std::string name = "lk" + std::to_string(names_.size() + 1);
    const std::string text(sql);
    if (PQsendPrepare(conn_.get(), name.c_str(), text.c_str(), params.size(), params.types()) ==
        0) {
      return fail(send_failed("prepare", fault));
    }
    auto r = finish("prepare", deadline(), fault);
    if (!r) {
      return fail(std::move(r.error()));
    }
    names_.emplace(text, name);
    return name;
  }

  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  ConnPtr conn_;
  Settings settings_;
  bool poisoned_ = false;
  std::unordered_map<std::string, std::string, Hash, std::equal_to<>> names_;
};

// ---- the transaction ------------------------------------------------------------------------

class PgTx final : public Tx {
 public:
  explicit PgTx(Connection& conn) : conn_(conn) {}

  // The worst thing that happened to the transaction (for the runner).
  [[nodiscard]] Fault fault() const { return fault_; }
  [[nodiscard]] const std::optional<Error>& first_error() const { return first_error_; }

  // ---- signing keys
  Result<std::vector<SigningKey>> list_signing_keys() override {
    return query_all("SELECT " LK_SIGNING_KEY_COLS
                     " FROM signing_keys ORDER BY created_at DESC, kid DESC",
                     read_signing_key);
  }
  Status insert_signing_key(const SigningKey& k) override {
    return write(
        "INSERT INTO signing_keys (" LK_SIGNING_KEY_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7)",
        k.kid, k.algorithm, k.public_jwk, Blob{&k.private_key_enc}, k.created_at_ms, k.active,
        k.retired_at_ms);
  }
  Status retire_signing_key(const std::string& kid, std::int64_t at_ms) override {
    return write_one("signing_keys",
                     "UPDATE signing_keys SET active = FALSE, retired_at = $1 WHERE kid = $2",
                     at_ms, kid);
  }
  Status delete_signing_key(const std::string& kid) override {
    return exec_one("signing_keys", "DELETE FROM signing_keys WHERE kid = $1", kid);
  }

  // ---- users
  Status insert_user(const User& u) override {
    return write(
        "INSERT INTO users (id, first_name, last_name, username, image_url, "
        "primary_email_address_id, public_metadata, unsafe_metadata, legal_accepted_at, "
        "last_sign_in_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
        "$10, $11, $12)",
        u.id, u.first_name, u.last_name, u.username, u.image_url, u.primary_email_address_id,
        u.public_metadata, u.unsafe_metadata, u.legal_accepted_at_ms, u.last_sign_in_at_ms,
        u.created_at_ms, u.updated_at_ms);
  }
  Result<std::optional<User>> get_user(const std::string& id) override {
    return query_one("SELECT " LK_USER_COLS " FROM users u WHERE u.id = $1", read_user, id);
  }
  Result<std::optional<User>> find_user_by_email(const std::string& email) override {
    return query_one("SELECT " LK_USER_COLS
                     " FROM users u JOIN email_addresses e ON e.user_id = u.id WHERE e.email = $1",
                     read_user, ascii_lower(email));
  }
  Result<std::optional<User>> find_user_by_username(const std::string& username) override {
    // Same expression as the unique index users_username_key (ASCII-only folding under the "C"
    // collation, as SQLite's lower()), so the index serves the lookup.
    return query_one("SELECT " LK_USER_COLS
                     " FROM users u WHERE lower(u.username COLLATE \"C\") = lower($1 COLLATE "
                     "\"C\")",
                     read_user, username);
  }
  Status update_user(const User& u) override {
    return write_one(
        "users",
        "UPDATE users SET first_name = $1, last_name = $2, username = $3, image_url = $4, "
        "primary_email_address_id = $5, public_metadata = $6, unsafe_metadata = $7, "
        "legal_accepted_at = $8, last_sign_in_at = $9, updated_at = $10 WHERE id = $11",
        u.first_name, u.last_name, u.username, u.image_url, u.primary_email_address_id,
        u.public_metadata, u.unsafe_metadata, u.legal_accepted_at_ms, u.last_sign_in_at_ms,
        u.updated_at_ms, u.id);
  }
  Status delete_user(const std::string& id) override {
    return exec_one("users", "DELETE FROM users WHERE id = $1", id);
  }

  // ---- email addresses
  Status insert_email_address(const EmailAddress& e) override {
    return write("INSERT INTO email_addresses (" LK_EMAIL_COLS
                 ") VALUES ($1, $2, $3, $4, $5, $6, $7)",
                 e.id, e.user_id, ascii_lower(e.email), e.verified, e.verification_strategy,
                 e.created_at_ms, e.updated_at_ms);
  }
  Result<std::optional<EmailAddress>> get_email_address(const std::string& id) override {
    return query_one("SELECT " LK_EMAIL_COLS " FROM email_addresses WHERE id = $1", read_email,
                     id);
  }
  Result<std::optional<EmailAddress>> find_email_address(const std::string& email) override {
    return query_one("SELECT " LK_EMAIL_COLS " FROM email_addresses WHERE email = $1", read_email,
                     ascii_lower(email));
  }
  Result<std::vector<EmailAddress>> list_email_addresses(const std::string& user_id) override {
    return query_all("SELECT " LK_EMAIL_COLS
                     " FROM email_addresses WHERE user_id = $1 ORDER BY created_at, id",
                     read_email, user_id);
  }
  Status update_email_address(const EmailAddress& e) override {
    return write_one("email_addresses",
                     "UPDATE email_addresses SET email = $1, verified = $2, "
                     "verification_strategy = $3, updated_at = $4 WHERE id = $5",
                     ascii_lower(e.email), e.verified, e.verification_strategy, e.updated_at_ms,
                     e.id);
  }
  Status delete_email_address(const std::string& id) override {
    return exec_one("email_addresses", "DELETE FROM email_addresses WHERE id = $1", id);
  }

  // ---- external accounts
  Status insert_external_account(const ExternalAccount& a) override {
    return write("INSERT INTO external_accounts (" LK_EAC_COLS
                 ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, "
                 "$16)",
                 a.id, a.user_id, a.provider, a.provider_user_id, a.email, a.email_verified,
                 a.first_name, a.last_name, a.image_url, a.username, a.approved_scopes,
                 OptBlob{&a.access_token_enc}, OptBlob{&a.refresh_token_enc},
                 a.access_token_expires_at_ms, a.created_at_ms, a.updated_at_ms);
  }
  Result<std::optional<ExternalAccount>> get_external_account(const std::string& id) override {
    return query_one("SELECT " LK_EAC_COLS " FROM external_accounts WHERE id = $1",
                     read_external_account, id);
  }
  Result<std::optional<ExternalAccount>> find_external_account(
      const std::string& provider, const std::string& provider_user_id) override {
    return query_one("SELECT " LK_EAC_COLS
                     " FROM external_accounts WHERE provider = $1 AND provider_user_id = $2",
                     read_external_account, provider, provider_user_id);
  }
  Result<std::vector<ExternalAccount>> list_external_accounts(const std::string& user_id) override {
    return query_all("SELECT " LK_EAC_COLS
                     " FROM external_accounts WHERE user_id = $1 ORDER BY created_at, id",
                     read_external_account, user_id);
  }
  Status update_external_account(const ExternalAccount& a) override {
    return write_one(
        "external_accounts",
        "UPDATE external_accounts SET email = $1, email_verified = $2, first_name = $3, "
        "last_name = $4, image_url = $5, username = $6, approved_scopes = $7, "
        "access_token_enc = $8, refresh_token_enc = $9, access_token_expires_at = $10, "
        "updated_at = $11 WHERE id = $12",
        a.email, a.email_verified, a.first_name, a.last_name, a.image_url, a.username,
        a.approved_scopes, OptBlob{&a.access_token_enc}, OptBlob{&a.refresh_token_enc},
        a.access_token_expires_at_ms, a.updated_at_ms, a.id);
  }
  Status delete_external_account(const std::string& id) override {
    return exec_one("external_accounts", "DELETE FROM external_accounts WHERE id = $1", id);
  }

  // ---- clients
  Status insert_client(const Client& c) override {
    return write("INSERT INTO clients (" LK_CLIENT_COLS
                 ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                 c.id, c.cookie_token_hash, c.sign_in_id, c.sign_up_id, c.last_active_session_id,
                 c.last_authentication_strategy, c.expire_at_ms, c.created_at_ms, c.updated_at_ms,
                 c.previous_cookie_token_hash, c.previous_cookie_valid_until_ms);
  }
  Result<std::optional<Client>> get_client(const std::string& id) override {
    return query_one("SELECT " LK_CLIENT_COLS " FROM clients WHERE id = $1", read_client, id);
  }
  Result<std::optional<Client>> find_client_by_cookie_hash(const std::string& hash) override {
    return query_one("SELECT " LK_CLIENT_COLS " FROM clients WHERE cookie_token_hash = $1",
                     read_client, hash);
  }
  Result<std::optional<Client>> find_client_by_previous_cookie_hash(
      const std::string& hash) override {
    return query_one("SELECT " LK_CLIENT_COLS " FROM clients WHERE previous_cookie_token_hash = $1",
                     read_client, hash);
  }
  Status update_client(const Client& c) override {
    return write_one("clients",
                     "UPDATE clients SET cookie_token_hash = $1, sign_in_id = $2, sign_up_id = $3, "
                     "last_active_session_id = $4, last_authentication_strategy = $5, "
                     "expire_at = $6, updated_at = $7, previous_cookie_token_hash = $8, "
                     "previous_cookie_valid_until = $9 WHERE id = $10",
                     c.cookie_token_hash, c.sign_in_id, c.sign_up_id, c.last_active_session_id,
                     c.last_authentication_strategy, c.expire_at_ms, c.updated_at_ms,
                     c.previous_cookie_token_hash, c.previous_cookie_valid_until_ms, c.id);
  }
  Status delete_client(const std::string& id) override {
    return exec_one("clients", "DELETE FROM clients WHERE id = $1", id);
  }

  // ---- sign-ins / sign-ups
  Status insert_sign_in(const SignIn& a) override {
    return write("INSERT INTO sign_ins (" LK_ATTEMPT_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7)",
                 a.id, a.client_id, a.status, a.data, a.abandon_at_ms, a.created_at_ms,
                 a.updated_at_ms);
  }
  Result<std::optional<SignIn>> get_sign_in(const std::string& id) override {
    return query_one("SELECT " LK_ATTEMPT_COLS " FROM sign_ins WHERE id = $1",
                     read_attempt<SignIn>, id);
  }
  Status update_sign_in(const SignIn& a) override {
    return write_one("sign_ins",
                     "UPDATE sign_ins SET status = $1, data = $2, abandon_at = $3, updated_at = $4 "
                     "WHERE id = $5",
                     a.status, a.data, a.abandon_at_ms, a.updated_at_ms, a.id);
  }
  Status delete_sign_in(const std::string& id) override {
    return exec_one("sign_ins", "DELETE FROM sign_ins WHERE id = $1", id);
  }
  Status insert_sign_up(const SignUp& a) override {
    return write("INSERT INTO sign_ups (" LK_ATTEMPT_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7)",
                 a.id, a.client_id, a.status, a.data, a.abandon_at_ms, a.created_at_ms,
                 a.updated_at_ms);
  }
  Result<std::optional<SignUp>> get_sign_up(const std::string& id) override {
    return query_one("SELECT " LK_ATTEMPT_COLS " FROM sign_ups WHERE id = $1",
                     read_attempt<SignUp>, id);
  }
  Status update_sign_up(const SignUp& a) override {
    return write_one("sign_ups",
                     "UPDATE sign_ups SET status = $1, data = $2, abandon_at = $3, updated_at = $4 "
                     "WHERE id = $5",
                     a.status, a.data, a.abandon_at_ms, a.updated_at_ms, a.id);
  }
  Status delete_sign_up(const std::string& id) override {
    return exec_one("sign_ups", "DELETE FROM sign_ups WHERE id = $1", id);
  }

  // ---- sessions
  Status insert_session(const Session& x) override {
    return write("INSERT INTO sessions (" LK_SESSION_COLS
                 ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                 x.id, x.client_id, x.user_id, x.status, x.tasks, x.expire_at_ms, x.abandon_at_ms,
                 x.last_active_at_ms, x.created_at_ms, x.updated_at_ms);
  }
  Result<std::optional<Session>> get_session(const std::string& id) override {
    return query_one("SELECT " LK_SESSION_COLS " FROM sessions WHERE id = $1", read_session, id);
  }
  Result<std::vector<Session>> list_sessions_by_client(const std::string& client_id) override {
    return query_all("SELECT " LK_SESSION_COLS
                     " FROM sessions WHERE client_id = $1 ORDER BY created_at, id",
                     read_session, client_id);
  }
  Result<std::vector<Session>> list_sessions_by_user(const std::string& user_id) override {
    return query_all("SELECT " LK_SESSION_COLS
                     " FROM sessions WHERE user_id = $1 ORDER BY created_at, id",
                     read_session, user_id);
  }
  Status update_session(const Session& x) override {
    return write_one("sessions",
                     "UPDATE sessions SET status = $1, tasks = $2, expire_at = $3, "
                     "abandon_at = $4, last_active_at = $5, updated_at = $6 WHERE id = $7",
                     x.status, x.tasks, x.expire_at_ms, x.abandon_at_ms, x.last_active_at_ms,
                     x.updated_at_ms, x.id);
  }
  Status delete_session(const std::string& id) override {
    return exec_one("sessions", "DELETE FROM sessions WHERE id = $1", id);
  }

  // ---- OAuth states
  Status insert_oauth_state(const OAuthState& o) override {
    return write("INSERT INTO oauth_states (" LK_OAUTH_STATE_COLS
                 ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                 o.state_hash, o.client_id, o.attempt_type, o.attempt_id, o.strategy, o.data,
                 o.expire_at_ms, o.created_at_ms);
  }
  Result<std::optional<OAuthState>> consume_oauth_state(const std::string& state_hash,
                                                        std::int64_t now_ms) override {
    // One DELETE ... RETURNING: whoever deletes the row owns it; a concurrent consumer waits for
    // the row lock and then fails to serialize (40001), is re-run and finds nothing (RFC 9700
    // §4.7.1: state is single use).
    auto row = query_one(
        "DELETE FROM oauth_states WHERE state_hash = $1 RETURNING " LK_OAUTH_STATE_COLS,
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
        {"DELETE FROM oauth_states WHERE expire_at <= $1", &n.oauth_states},
        {"DELETE FROM sign_ins WHERE abandon_at <= $1", &n.sign_ins},
        {"DELETE FROM sign_ups WHERE abandon_at <= $1", &n.sign_ups},
        {"DELETE FROM sessions WHERE expire_at <= $1 OR abandon_at <= $1", &n.sessions},
        {"DELETE FROM clients WHERE expire_at <= $1", &n.clients},
        {"DELETE FROM rate_counters WHERE expire_at <= $1", &n.rate_counters},
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

 private:
  template <typename... A>
  static Params params_of(const A&... args) {
    Params p;
    (p.add(args), ...);
    return p;
  }

  Error note(Error e, Fault f) {
    fault_ = std::max(fault_, f);
    if (f != Fault::kNone && !first_error_) {
      first_error_ = e;
    }
    return e;
  }

  template <typename... A>
  Result<ResultPtr> run(std::string_view sql, const A&... args) {
    Params p = params_of(args...);
    Fault f = Fault::kNone;
    auto r = conn_.exec_prepared(sql, p, "statement", f);
    if (!r) {
      return fail(note(std::move(r.error()), f));
    }
    return r;
  }

  // INSERT/UPDATE inside a savepoint: a failure leaves the transaction usable.
  template <typename... A>
  Result<std::int64_t> guarded(std::string_view sql, const A&... args) {
    Params p = params_of(args...);
    Fault f = Fault::kNone;
    auto r = conn_.exec_guarded(sql, p, "statement", f);
    if (!r) {
      return fail(note(std::move(r.error()), f));
    }
    return affected(r->get());
  }

  static std::int64_t affected(const PGresult* r) {
    const char* n = PQcmdTuples(const_cast<PGresult*>(r));
    std::int64_t v = 0;
    if (n != nullptr) {
      std::from_chars(n, n + std::strlen(n), v);
    }
    return v;
  }

  template <typename... A>
  Status write(std::string_view sql, const A&... args) {
    auto r = guarded(sql, args...);
    if (!r) {
      return fail(std::move(r.error()));
    }
    return {};
  }

  template <typename... A>
  Status write_one(std::string_view table, std::string_view sql, const A&... args) {
    auto r = guarded(sql, args...);
    if (!r) {
      return fail(std::move(r.error()));
    }
    if (*r == 0) {
      return fail(not_found(table));
    }
    return {};
  }

  template <typename... A>
  Result<std::int64_t> exec_changes(std::string_view sql, const A&... args) {
    auto r = run(sql, args...);
    if (!r) {
      return fail(std::move(r.error()));
    }
    return affected(r->get());
  }

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
      -> Result<std::optional<std::invoke_result_t<Reader, const Row&>>> {
    using Out = std::invoke_result_t<Reader, const Row&>;
    auto r = run(sql, args...);
    if (!r) {
      return fail(std::move(r.error()));
    }
    if (PQntuples(r->get()) == 0) {
      return std::optional<Out>();
    }
    return std::optional<Out>(read(Row{r->get(), 0}));
  }

  template <typename Reader, typename... A>
  auto query_all(std::string_view sql, Reader read, const A&... args)
      -> Result<std::vector<std::invoke_result_t<Reader, const Row&>>> {
    auto r = run(sql, args...);
    if (!r) {
      return fail(std::move(r.error()));
    }
    std::vector<std::invoke_result_t<Reader, const Row&>> rows;
    const int n = PQntuples(r->get());
    rows.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
      rows.push_back(read(Row{r->get(), i}));
    }
    return rows;
  }

  Connection& conn_;
  Fault fault_ = Fault::kNone;
  std::optional<Error> first_error_;
};

// ---- connection pool --------------------------------------------------------------------------

class Pool {
 public:
  class Lease {
   public:
    Lease(Pool* pool, std::unique_ptr<Connection> conn) : pool_(pool), conn_(std::move(conn)) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease(Lease&& o) noexcept : pool_(o.pool_), conn_(std::move(o.conn_)) {}
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (conn_) {
        pool_->release(std::move(conn_));
      }
    }
    Connection& operator*() const { return *conn_; }
    Connection* operator->() const { return conn_.get(); }

   private:
    Pool* pool_;
    std::unique_ptr<Connection> conn_;
  };

  explicit Pool(Settings settings) : settings_(std::move(settings)) {}

  // Waits until `deadline` for an idle connection or room to open one (the bounded wait queue).
  Result<Lease> acquire(Deadline deadline) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_until(lock, deadline, [this] {
          return !idle_.empty() || open_ < settings_.pool_size;
        })) {
      return fail(Error(Code::kServiceUnavailable)
                      .with_internal("no free postgres connection within the busy timeout"));
    }
    if (!idle_.empty()) {
      auto conn = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(conn));
    }
    ++open_;  // a slot is reserved while connecting, outside the lock
    lock.unlock();
    auto conn = Connection::open(settings_);
    if (!conn) {
      {
        std::lock_guard relock(mu_);
        --open_;
      }
      cv_.notify_one();
      return fail(std::move(conn.error()));
    }
    return Lease(this, std::move(*conn));
  }

  // After a server restart every idle connection is dead: drop them all at once instead of
  // discovering it one transaction at a time.
  void drop_idle() {
    std::vector<std::unique_ptr<Connection>> dead;
    {
      std::lock_guard lock(mu_);
      dead.swap(idle_);
      open_ -= static_cast<int>(dead.size());
    }
    cv_.notify_all();
  }

  [[nodiscard]] const Settings& settings() const { return settings_; }

 private:
  void release(std::unique_ptr<Connection> conn) {
    std::unique_ptr<Connection> dead;
    {
      std::lock_guard lock(mu_);
      if (conn->broken()) {
        dead = std::move(conn);
        --open_;
      } else {
        idle_.push_back(std::move(conn));
      }
    }
    cv_.notify_one();
  }

  Settings settings_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> idle_;
  int open_ = 0;  // idle + leased + being opened
};

// ---- the store ----------------------------------------------------------------------------------

class PostgresStore final : public Store {
 public:
  explicit PostgresStore(Settings settings) : pool_(std::move(settings)) {}

  Status transaction(const std::function<Status(Tx&)>& fn) override {
    return run("BEGIN ISOLATION LEVEL SERIALIZABLE", fn);
  }

  Status read(const std::function<Status(Tx&)>& fn) override {
    return run("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", fn);
  }

  // One autocommit statement for the whole batch, outside the SERIALIZABLE machinery: under READ
  // COMMITTED an INSERT ... ON CONFLICT DO UPDATE that finds the row locked waits for the other
  // writer and then adds to its committed value, so concurrent hits from any number of nodes
  // neither lose an update nor fail to serialize. The previous window's count comes from the same
  // statement's snapshot. Rows are sent in (key, window) order so two batches lock shared rows in
  // the same order (no deadlock between two requests that hit the same pair of counters).
  Result<std::vector<CounterCounts>> hit_counters(const std::vector<CounterHit>& hits) override {
    std::vector<CounterCounts> out(hits.size());
    if (hits.empty()) {
      return out;
    }
    // One row per distinct (key, window): ON CONFLICT DO UPDATE cannot touch a row twice in one
    // statement. `slot[i]` is the row of hits[i].
    std::vector<std::size_t> order(hits.size());
    for (std::size_t i = 0; i < order.size(); ++i) {
      order[i] = i;
    }
    auto pair_of = [&hits](std::size_t i) {
      return std::pair<std::string_view, std::int64_t>(hits[i].key, hits[i].window_number);
    };
    std::ranges::stable_sort(order, {}, pair_of);
    std::vector<std::size_t> slot(hits.size());
    std::vector<std::string_view> keys;
    std::vector<std::int64_t> windows;
    std::vector<std::int64_t> costs;
    std::vector<std::int64_t> expiries;
    for (std::size_t n = 0; n < order.size(); ++n) {
      const CounterHit& h = hits[order[n]];
      if (n == 0 || pair_of(order[n]) != pair_of(order[n - 1])) {
        keys.push_back(h.key);
        windows.push_back(h.window_number);
        costs.push_back(0);
        expiries.push_back(h.expire_at_ms);
      }
      costs.back() += h.cost;
      expiries.back() = std::max(expiries.back(), h.expire_at_ms);
      slot[order[n]] = keys.size() - 1;
    }
    Params params;
    params.add(TextArray{&keys});
    params.add(Int8Array{&windows});
    params.add(Int8Array{&costs});
    params.add(Int8Array{&expiries});
    static constexpr std::string_view kSql =
        "WITH hits AS (SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[]) "
        "WITH ORDINALITY AS h (key, window_number, cost, expire_at, ord)), "
        "counted AS (INSERT INTO rate_counters AS c (key, window_number, count, expire_at) "
        "SELECT key, window_number, cost, expire_at FROM hits ORDER BY ord "
        "ON CONFLICT (key, window_number) DO UPDATE SET count = c.count + EXCLUDED.count "
        "RETURNING c.key, c.window_number, c.count) "
        "SELECT h.ord, counted.count, COALESCE(p.count, 0) FROM hits h "
        "JOIN counted ON counted.key = h.key AND counted.window_number = h.window_number "
        "LEFT JOIN rate_counters p ON p.key = h.key AND p.window_number = h.window_number - 1";

    const Deadline deadline = Clock::now() + pool_.settings().busy_timeout;
    Error last(Code::kServiceUnavailable);
    int lost_count = 0;
    for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
      if (attempt > 0) {
        if (Clock::now() >= deadline) {
          break;
        }
        backoff(attempt, deadline);
      }
      auto lease = pool_.acquire(deadline);
      if (!lease) {
        return fail(std::move(lease.error()));
      }
      Fault fault = Fault::kNone;
      auto r = (*lease)->exec_prepared(kSql, params, "rate counters", fault);
      if (!r) {
        last = std::move(r.error());
        // A deadlock or serialization failure (a server whose default isolation is stricter)
        // applied nothing: run it again. A lost connection is retried like a transaction (a
        // restarted server kills every pooled connection); when it broke after the server ran
        // the statement, the retry counts these hits twice, which errs on the strict side.
        if (fault == Fault::kRetry) {
          continue;
        }
        if (fault == Fault::kLost && ++lost_count <= kMaxConnectionRetries) {
          pool_.drop_idle();
          continue;
        }
        return fail(std::move(last));
      }
      const PGresult* res = r->get();
      const int rows = PQntuples(res);
      if (rows != static_cast<int>(keys.size())) {
        return fail(Error(Code::kInternal)
                        .with_internal("rate counters: " + std::to_string(rows) + " rows for " +
                                       std::to_string(keys.size()) + " counters"));
      }
      std::vector<CounterCounts> rows_out(keys.size());
      for (int i = 0; i < rows; ++i) {
        const Row row{res, i};
        const std::int64_t ord = row.i64(0);
        if (ord < 1 || ord > rows) {
          return fail(Error(Code::kInternal).with_internal("rate counters: row out of range"));
        }
        rows_out[static_cast<std::size_t>(ord - 1)] = CounterCounts{row.i64(2), row.i64(1)};
      }
      // Hits of one counter count one after the other: the last one sees the total, each earlier
      // one the total less the costs of those after it.
      for (std::size_t i = hits.size(); i-- > 0;) {
        CounterCounts& total = rows_out[slot[i]];
        out[i] = total;
        total.current -= hits[i].cost;
      }
      return out;
    }
    return fail(std::move(last));
  }

  Status ping() override {
    // A second try after a lost connection: the first may be a pooled one killed by a restart.
    Error last(Code::kServiceUnavailable);
    for (int attempt = 0; attempt < 2; ++attempt) {
      auto lease = pool_.acquire(Clock::now() + pool_.settings().busy_timeout);
      if (!lease) {
        return fail(std::move(lease.error()));
      }
      Fault fault = Fault::kNone;
      auto r = (*lease)->exec_simple("SELECT 1", "ping", (*lease)->deadline(), fault);
      if (r) {
        return {};
      }
      last = std::move(r.error());
      if (fault != Fault::kLost) {
        break;
      }
      pool_.drop_idle();
    }
    return fail(std::move(last));
  }

  Result<int> migrate() override {
    const auto all = postgres_migrations();
    const int latest = all.empty() ? 0 : all.back().version;
    int applied = 0;
    for (const auto& m : all) {
      bool did = false;
      int current = 0;
      // One transaction per migration, under an advisory lock that serializes every node's
      // migrate(); it re-checks the version, so the loser of a race skips what the winner did.
      // DDL is transactional in PostgreSQL: a failed migration leaves nothing behind.
      auto st = admin([&](Connection& conn, Fault& fault) -> Status {
        did = false;
        const Deadline dl = Clock::now() + kMigrationTimeout;
        const std::string prologue =
            "SET LOCAL statement_timeout = 0; SELECT pg_advisory_xact_lock(" +
            std::to_string(kMigrationLockKey) +
            "); CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT NOT NULL PRIMARY "
            "KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";
        if (auto r = conn.exec_simple(prologue, "migration lock", dl, fault); !r) {
          return fail(std::move(r.error()));
        }
        auto v = conn.exec_simple("SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                                  "read schema_migrations", dl, fault);
        if (!v) {
          return fail(std::move(v.error()));
        }
        current = std::atoi(PQgetvalue(v->get(), 0, 0));
        if (current > latest || current >= m.version) {
          return {};
        }
        if (auto r = conn.exec_simple(std::string(m.sql), "migration", dl, fault); !r) {
          Error e = std::move(r.error());
          e.internal = "migration " + std::string(m.name) + ": " + e.internal;
          return fail(std::move(e));
        }
        Params p;
        p.add(static_cast<std::int64_t>(m.version));
        p.add(m.name);
        auto ins = conn.exec_prepared(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, "
            "(extract(epoch FROM clock_timestamp()) * 1000)::bigint)",
            p, "record migration", fault);
        if (!ins) {
          return fail(std::move(ins.error()));
        }
        did = true;
        return {};
      });
      if (!st) {
        return fail(std::move(st.error()));
      }
      if (current > latest) {
        return fail(Error(Code::kInternal)
                        .with_internal("database schema version " + std::to_string(current) +
                                       " is newer than this binary's " + std::to_string(latest)));
      }
      applied += did ? 1 : 0;
    }
    return applied;
  }

  Result<int> schema_version() override {
    int version = 0;
    auto st = admin([&](Connection& conn, Fault& fault) -> Status {
      const Deadline dl = conn.deadline();
      // to_regclass follows search_path, like the unqualified names in the migrations.
      auto exists = conn.exec_simple("SELECT to_regclass('schema_migrations') IS NOT NULL",
                                     "schema_version", dl, fault);
      if (!exists) {
        return fail(std::move(exists.error()));
      }
      if (std::string_view(PQgetvalue(exists->get(), 0, 0)) != "t") {
        version = 0;
        return {};
      }
      auto v = conn.exec_simple("SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                                "schema_version", dl, fault);
      if (!v) {
        return fail(std::move(v.error()));
      }
      version = std::atoi(PQgetvalue(v->get(), 0, 0));
      return {};
    });
    if (!st) {
      return fail(std::move(st.error()));
    }
    return version;
  }

 private:
  // Sleeps a jittered, growing backoff (1, 2, 4, ... 64 ms) without passing the deadline.
  static void backoff(int attempt, Deadline deadline) {
    thread_local std::minstd_rand rng(static_cast<unsigned>(
        std::hash<std::thread::id>{}(std::this_thread::get_id()) ^
        static_cast<std::size_t>(Clock::now().time_since_epoch().count())));
    const int cap = 1 << std::min(attempt, 6);
    const auto pause = milliseconds(1 + static_cast<int>(rng() % static_cast<unsigned>(cap)));
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    std::this_thread::sleep_for(std::min(pause, std::max(left, milliseconds(0))));
  }

  // Runs `fn` inside `begin`. Commits on success; rolls back on error or exception (rethrown).
  // Serialization failures, deadlocks and connections lost before COMMIT re-run the callback.
  Status run(const char* begin, const std::function<Status(Tx&)>& fn) {
    const Deadline deadline = Clock::now() + pool_.settings().busy_timeout;
    Error last(Code::kServiceUnavailable);
    int lost_count = 0;
    for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
      if (attempt > 0) {
        if (Clock::now() >= deadline) {
          break;
        }
        backoff(attempt, deadline);
      }
      auto lease = pool_.acquire(deadline);
      if (!lease) {
        return fail(std::move(lease.error()));
      }
      Connection& conn = **lease;
      Fault fault = Fault::kNone;
      if (auto b = conn.exec_simple(begin, "begin", conn.deadline(), fault); !b) {
        last = std::move(b.error());
        if (fault == Fault::kLost && ++lost_count <= kMaxConnectionRetries) {
          pool_.drop_idle();
          continue;
        }
        return fail(std::move(last));
      }
      PgTx tx(conn);
      Status st;
      try {
        st = fn(tx);
      } catch (...) {
        conn.rollback();
        throw;
      }
      if (tx.fault() == Fault::kLost) {
        pool_.drop_idle();
      }
      if (!st || tx.fault() != Fault::kNone) {
        conn.rollback();
        if (tx.fault() == Fault::kRetry ||
            (tx.fault() == Fault::kLost && ++lost_count <= kMaxConnectionRetries)) {
          last = tx.first_error().value_or(st ? Error(Code::kServiceUnavailable) : st.error());
          continue;
        }
        if (!st) {
          return st;
        }
        // The callback ignored a failed statement; PostgreSQL aborted the transaction, so
        // reporting success would claim writes that never happened.
        return fail(tx.first_error().value_or(
            Error(Code::kInternal).with_internal("statement failed inside the transaction")));
      }
      fault = Fault::kNone;
      auto c = conn.exec_simple("COMMIT", "commit", conn.deadline(), fault);
      if (!c) {
        last = std::move(c.error());
        if (fault == Fault::kRetry) {
          continue;  // SERIALIZABLE may refuse at commit time; nothing was written
        }
        if (fault == Fault::kLost) {
          pool_.drop_idle();
        }
        conn.rollback();
        return fail(std::move(last));  // lost during COMMIT: outcome unknown, never re-run
      }
      return {};
    }
    return fail(std::move(last));
  }

  // Runs `body` in a plain read-write transaction (migrations, bookkeeping); lost connections are
  // retried like run() does.
  template <typename Body>
  Status admin(const Body& body) {
    const Deadline deadline = Clock::now() + pool_.settings().busy_timeout;
    Error last(Code::kServiceUnavailable);
    for (int attempt = 0; attempt <= kMaxConnectionRetries; ++attempt) {
      auto lease = pool_.acquire(deadline);
      if (!lease) {
        return fail(std::move(lease.error()));
      }
      Connection& conn = **lease;
      Fault fault = Fault::kNone;
      if (auto b = conn.exec_simple("BEGIN", "begin", conn.deadline(), fault); !b) {
        last = std::move(b.error());
        if (fault == Fault::kLost) {
          pool_.drop_idle();
          continue;
        }
        return fail(std::move(last));
      }
      Status st = body(conn, fault);
      if (!st) {
        conn.rollback();
        if (fault == Fault::kLost) {
          pool_.drop_idle();
          last = std::move(st.error());
          continue;
        }
        return st;
      }
      if (auto c = conn.exec_simple("COMMIT", "commit", conn.deadline(), fault); !c) {
        conn.rollback();
        return fail(std::move(c.error()));
      }
      return {};
    }
    return fail(std::move(last));
  }

  Pool pool_;
};

bool is_postgres_url(std::string_view url) {
  return url.starts_with("postgres://") || url.starts_with("postgresql://");
}

}  // namespace

Result<std::unique_ptr<Store>> open_postgres(const PostgresOptions& options) {
  if (auto st = load_libpq(); !st) {
    return fail(std::move(st).error());
  }
  // Validated here so a typo stops start-up; the message never repeats the URL (it may hold a
  // password).
  char* err = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(options.url.c_str(), &err);
  if (err != nullptr) {
    PQfreemem(err);
  }
  if (parsed == nullptr || !is_postgres_url(options.url)) {
    if (parsed != nullptr) {
      PQconninfoFree(parsed);
    }
    return fail(Error(Code::kInternal)
                    .with_internal("storage.database_url is not a valid postgres:// URL"));
  }
  PQconninfoFree(parsed);
  if (options.pool_size < 1 || options.busy_timeout_ms < 0 || options.connect_timeout_ms < 1 ||
      options.statement_timeout_ms < 1) {
    return fail(Error(Code::kInternal)
                    .with_internal("invalid postgres pool size, busy, connect or statement "
                                   "timeout"));
  }
  Settings s;
  s.url = options.url;
  s.pool_size = options.pool_size;
  s.busy_timeout = milliseconds(options.busy_timeout_ms);
  s.connect_timeout = milliseconds(options.connect_timeout_ms);
  s.statement_timeout = milliseconds(options.statement_timeout_ms);
  return std::unique_ptr<Store>(std::make_unique<PostgresStore>(std::move(s)));
}

Result<std::unique_ptr<Store>> open_store(const std::string& url, int busy_timeout_ms,
                                          int pool_size) {
  if (is_postgres_url(url)) {
    PostgresOptions o;
    o.url = url;
    o.busy_timeout_ms = busy_timeout_ms;
    o.pool_size = pool_size;
    return open_postgres(o);
  }
  return open_sqlite(SqliteOptions{url, busy_timeout_ms, pool_size});
}

}  // namespace latchkey::store
