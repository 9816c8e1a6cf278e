#pragma once
// Rate limiting of sign-in / sign-up attempts, OAuth callbacks (verification attempts) and session
// token minting, per client and per IP (security catalog §2.G G2/G9, ASVS 5.0 6.1.1 / 6.3.1).
//
// The algorithm is the sliding-window counter (a weighted sum of the current and the previous
// fixed window), so a burst at a window boundary cannot double the budget. Counters live behind
// CounterStore: a per-node in-memory store (make_memory_counter_store), and one over the database
// that every node shares (make_store_counter_store in store_counters.hpp: one row per (key,
// window), INSERT ... ON CONFLICT DO UPDATE SET count = count + $n RETURNING count).
//
// Keys are per client (hash of the __client cookie) and per IP, never per identifier or per user:
// a limit can therefore never lock a victim out of their own account (ASVS 6.1.1 "without
// enabling malicious lockout").
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"

namespace latchkey::ratelimit {

// What a window holds after a hit.
struct WindowCounts {
  std::uint64_t previous = 0;  // hits in the window before the current one
  std::uint64_t current = 0;   // hits in the current window, this one included
};

// Counter storage. Implementations must be thread-safe and must make `hit` atomic (a
// read-modify-write that two nodes or threads cannot interleave).
class CounterStore {
 public:
  virtual ~CounterStore() = default;
  // Adds `cost` to the counter of `key` in the fixed window number `window` (= now / window_ms)
  // and returns it together with the previous window's count. `window_ms` lets a store expire
  // rows it no longer needs (anything older than window - 1).
  virtual core::Result<WindowCounts> hit(std::string_view key, std::int64_t window,
                                         std::int64_t window_ms, std::uint64_t cost) = 0;

  struct Hit {
    std::string_view key;
    std::int64_t window = 0;
    std::int64_t window_ms = 0;
    std::uint64_t cost = 1;
  };
  // Several hits at once, with the counts of each in the same order: the limiter counts every
  // (rule, key) pair of a request together, and a store behind a network does them in one round
  // trip. Each hit is atomic as in hit(); the batch as a whole need not be. The default calls
  // hit() for each and stops at the first error.
  virtual core::Result<std::vector<WindowCounts>> hit_many(std::span<const Hit> hits);
};

struct MemoryStoreOptions {
  // Distinct keys kept at once; beyond it stale keys are dropped first, then arbitrary ones
  // (memory stays bounded even when an attacker sprays addresses).
  std::size_t max_keys = 100'000;
};
// The per-node store: a mutex-protected hash map.
std::unique_ptr<CounterStore> make_memory_counter_store(MemoryStoreOptions options = {});

// One limit: at most `limit` hits per `window`, per key. limit 0 = no limit.
struct Rule {
  std::string name;  // "sign_in_ip": part of the counter key and of logs/metrics
  std::uint32_t limit = 0;
  std::chrono::milliseconds window{60'000};
};

struct Decision {
  bool allowed = true;
  std::string rule;                     // the rule that refused (when !allowed)
  std::chrono::seconds retry_after{0};  // when !allowed: seconds until a hit would be allowed
};

class Limiter {
 public:
  Limiter(CounterStore& store, const core::Clock& clock) : store_(store), clock_(clock) {}

  // Counts one hit for every (rule, key) pair (in one CounterStore::hit_many call) and refuses
  // when any of them is over its limit. Every pair is counted even when an earlier one refuses, so
  // a refused caller keeps paying. A store error lets the request through (fail open: the limiter
  // protects capacity, it is not an authentication decision) and is counted in store_errors()
  // (once per call).
  struct Check {
    const Rule* rule;
    std::string key;
  };
  Decision hit(const std::vector<Check>& checks);

  [[nodiscard]] std::uint64_t store_errors() const { return store_errors_.load(); }

 private:
  CounterStore& store_;
  const core::Clock& clock_;
  std::atomic<std::uint64_t> store_errors_{0};
};

// The sliding-window estimate of hits in the last `window_ms` at `offset_ms` into the current
// window: previous * (1 - offset/window) + current.
double estimate(const WindowCounts& counts, std::int64_t offset_ms, std::int64_t window_ms);

// The address a limit is keyed on. `remote_addr` is the peer of the TCP connection; when it is one
// of `trusted_proxies` (exact addresses), the right-most X-Forwarded-For entry that is not itself
// a trusted proxy is used instead (RFC 9700 §4.13: only trust forwarding headers from our own
// proxies, so the key cannot be spoofed). IPv6 addresses are reduced to their /64 prefix (one
// subscriber usually owns a whole /64).
std::string client_ip(std::string_view remote_addr, std::string_view x_forwarded_for,
                      const std::vector<std::string>& trusted_proxies);

}  // namespace latchkey::ratelimit
