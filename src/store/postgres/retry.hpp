#pragma once
// The one retry skeleton of the PostgreSQL store: a deadline, a bounded number of attempts with
// jittered backoff, a pooled connection per attempt, and what a lost connection means (the idle
// connections are dropped; the attempt is re-run within a budget). Transactions, the rate-counter
// batch, migrations and ping differ only in their attempt and their RetryPolicy.
#include <utility>

#include "core/error.hpp"
#include "store/postgres/connection.hpp"
#include "store/postgres/errors.hpp"
#include "store/postgres/pool.hpp"

namespace latchkey::store::postgres {

struct RetryPolicy {
  int max_attempts;      // attempts in all
  int max_reconnects;    // re-runs after a lost connection (a restarted server kills every one)
  bool retry_conflicts;  // re-run serialization failures and deadlocks, backing off in between
};

// SERIALIZABLE transactions and the counter batch: re-run until busy_timeout is spent.
inline constexpr RetryPolicy kTransactionRetries{64, 3, true};
// Plain READ COMMITTED work (migrations, bookkeeping): only lost connections are re-run.
inline constexpr RetryPolicy kAdminRetries{4, 3, false};
// Readiness: one second try, since the first connection may be a pooled one killed by a restart.
inline constexpr RetryPolicy kPingRetries{2, 1, false};

// Sleeps a jittered, growing backoff (1, 2, 4, ... 64 ms) without passing the deadline.
void backoff(int attempt, Deadline deadline);

// Runs `attempt(Connection&, Fault&) -> Status` on a pooled connection until it succeeds or its
// failure is final. On failure the attempt's fault decides: kRetry re-runs it (when the policy
// retries conflicts), kLost drops the idle connections and re-runs it within max_reconnects;
// anything else returns the failure as it is. When the attempts or the deadline run out, the last
// failure is returned. No free connection by the deadline is final (kServiceUnavailable).
template <typename Attempt>
core::Status retrying(Pool& pool, Deadline deadline, const RetryPolicy& policy,
                      const Attempt& attempt) {
  core::Error last(core::Code::kServiceUnavailable);
  int reconnects = 0;
  for (int n = 0; n < policy.max_attempts; ++n) {
    if (n > 0 && policy.retry_conflicts) {
      if (Clock::now() >= deadline) {
        break;
      }
      backoff(n, deadline);
    }
    auto lease = pool.acquire(deadline);
    if (!lease) {
      return core::fail(std::move(lease.error()));
    }
    Fault fault = Fault::kNone;
    core::Status st = attempt(**lease, fault);
    if (st) {
      return st;
    }
    if (fault == Fault::kLost) {
      pool.drop_idle();
    }
    if ((fault == Fault::kRetry && policy.retry_conflicts) ||
        (fault == Fault::kLost && ++reconnects <= policy.max_reconnects)) {
      last = std::move(st.error());
      continue;
    }
    return st;
  }
  return core::fail(std::move(last));
}

}  // namespace latchkey::store::postgres
