#pragma once
// A small keyed cache for values fetched over the network (discovery documents, JWKS).
// - fresh for `ttl`; after that the next reader refetches;
// - concurrent misses for the same key coalesce into one fetch (the others wait for its result);
// - a failed fetch never evicts a good value: readers get the last good value (stale-while-error)
//   and no new attempt is made for `error_backoff`, so a dead IdP is not hammered;
// - forced refreshes (JWKS on unknown `kid`, OIDC Core §10.1.1) are rate-limited to one per
//   `force_cooldown` per key, so an attacker sending random `kid`s cannot make us hammer the IdP.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "core/clock.hpp"
#include "core/error.hpp"

namespace latchkey::oauth {

struct FetchCacheOptions {
  std::chrono::seconds ttl{3600};
  std::chrono::seconds error_backoff{10};
  std::chrono::seconds force_cooldown{30};
};

template <typename T>
class FetchCache {
 public:
  using Value = std::shared_ptr<const T>;
  using Fetcher = std::function<core::Result<T>()>;

  FetchCache(const core::Clock& clock, FetchCacheOptions options)
      : clock_(clock), options_(options) {}

  // Returns the cached value when fresh, otherwise fetches (once, shared with concurrent callers).
  // `force` asks for a refetch even when fresh; it is honoured at most once per force_cooldown.
  // A caller waiting for another's fetch gives up at `wait_until` (its own deadline: the fetch
  // in progress may have a later one), with kOAuthProviderUnavailable.
  core::Result<Value> get(const std::string& key, bool force, const Fetcher& fetch,
                          std::chrono::steady_clock::time_point wait_until =
                              std::chrono::steady_clock::time_point::max()) {
    std::unique_lock lock(mu_);
    Entry& e = entries_[key];
    const auto now = clock_.now();
    if (e.fetching) {
      // Someone is already fetching this key: wait for that fetch and share its outcome.
      const std::uint64_t gen = e.generation;
      const auto done = [&] { return e.generation != gen; };
      if (wait_until == std::chrono::steady_clock::time_point::max()) {
        cv_.wait(lock, done);
      } else if (!cv_.wait_until(lock, wait_until, done)) {
        return std::unexpected(core::Error(core::Code::kOAuthProviderUnavailable)
                                   .with_reason(core::Reason::kDeadline)
                                   .with_internal("reason=deadline: passed while waiting for "
                                                  "another request's fetch"));
      }
      return outcome(e);
    }
    const bool fresh = e.value && now < e.fetched_at + options_.ttl;
    bool want = !fresh;
    if (force && e.value) {
      const bool cooled = !e.last_forced || now >= *e.last_forced + options_.force_cooldown;
      want = want || cooled;
      if (cooled) {
        e.last_forced = now;
      }
    }
    if (want && e.value && e.last_error_at && now < *e.last_error_at + options_.error_backoff) {
      want = false;  // recent failure with a usable stale value: do not retry yet
    }
    if (!want) {
      return e.value;
    }
    e.fetching = true;
    lock.unlock();
    core::Result<T> fetched = [&]() -> core::Result<T> {
      try {
        return fetch();
      } catch (const std::exception& ex) {
        return std::unexpected(core::Error(core::Code::kInternal).with_internal(ex.what()));
      }
    }();
    lock.lock();
    if (fetched) {
      e.value = std::make_shared<const T>(std::move(*fetched));
      e.fetched_at = clock_.now();
      e.last_error.reset();
      e.last_error_at.reset();
    } else {
      e.last_error = std::move(fetched.error());
      e.last_error_at = clock_.now();
    }
    e.fetching = false;
    ++e.generation;
    cv_.notify_all();
    return outcome(e);
  }

  // Number of network fetches started (for tests and metrics).
  [[nodiscard]] std::uint64_t fetch_count(const std::string& key) const {
    std::lock_guard lock(mu_);
    auto it = entries_.find(key);
    return it == entries_.end() ? 0 : it->second.generation;
  }

 private:
  struct Entry {
    Value value;
    std::chrono::system_clock::time_point fetched_at{};
    std::optional<std::chrono::system_clock::time_point> last_forced;
    std::optional<std::chrono::system_clock::time_point> last_error_at;
    std::optional<core::Error> last_error;
    bool fetching = false;
    std::uint64_t generation = 0;
  };

  static core::Result<Value> outcome(const Entry& e) {
    if (e.value) {
      return e.value;
    }
    if (e.last_error) {
      return std::unexpected(*e.last_error);
    }
    return std::unexpected(core::Error(core::Code::kOAuthProviderUnavailable)
                               .with_internal("fetch produced no value"));
  }

  const core::Clock& clock_;
  FetchCacheOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Entry> entries_;  // std::map: references stay valid across inserts
};

}  // namespace latchkey::oauth
