#pragma once
// Rate-limit counters in the database that every node shares (ratelimit.counters = "database"; the
// default with PostgreSQL storage). With counters in each node's memory, N nodes behind a
// round-robin balancer would let a client make N times the configured requests; here every node
// adds to the same row, so a limit means the same with one node or ten.
//
// Every hit_many (all the (rule, key) pairs of one request) is one Store::hit_counters call: on
// PostgreSQL one autocommit statement and one round trip, outside the SERIALIZABLE transactions.
// A database error comes back as is; the Limiter then lets the request through (fail open), and the
// request's own database work answers 503 if the database is down.
#include <memory>

#include "ratelimit/limiter.hpp"

namespace latchkey::store {
class Store;
}

namespace latchkey::ratelimit {

// `store` must outlive the returned counter store.
std::unique_ptr<CounterStore> make_store_counter_store(store::Store& store);

}  // namespace latchkey::ratelimit
