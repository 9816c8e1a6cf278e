#pragma once
// Retry budgets and backoff of the PostgreSQL store.
#include "store/postgres/connection.hpp"

namespace latchkey::store::postgres {

// Upper bound on re-runs of one transaction; busy_timeout usually ends them first.
constexpr int kMaxAttempts = 64;
// Re-runs after a lost connection (a restarted server): the pool reconnects in between.
constexpr int kMaxConnectionRetries = 3;

// Sleeps a jittered, growing backoff (1, 2, 4, ... 64 ms) without passing the deadline.
void backoff(int attempt, Deadline deadline);

}  // namespace latchkey::store::postgres
