#pragma once
// Batched sessions.last_active_at writes (frontend.last_active_write_interval). A touch writes
// the session row at most once per interval; a touch within the interval only remembers, in this
// process, when the session was last active. Every session this service answers with carries the
// remembered value (overlay), so last_active_at never goes backwards and is the real last
// activity on this node. flush() writes what was remembered once the interval since the row's
// last write has passed (the app calls it every few seconds, and once at shutdown), so the row
// lags the real last activity by at most about one interval and what is remembered stays bounded
// by the sessions touched within the last interval.
//
// The row's updated_at is the time of its last write (every session write sets it), so "at most
// once per interval" holds across restarts and across nodes sharing one database. Other nodes
// answer with the row: up to one interval behind this node's remembered value.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/error.hpp"
#include "store/store.hpp"

namespace latchkey::sessions {

class LastActive {
 public:
  // 0 = no batching: every touch writes (remember() is then never needed).
  explicit LastActive(std::chrono::milliseconds interval) : interval_ms_(interval.count()) {}
  LastActive(const LastActive&) = delete;
  LastActive& operator=(const LastActive&) = delete;

  // Whether a touch at `now` must write `row` (as read in the touch's transaction): the interval
  // is 0, or at least one interval has passed since the row was last written.
  [[nodiscard]] bool write_due(const store::Session& row, std::int64_t now) const;

  // A touch at `now` that did not write `row`: remembered until flushed (the latest wins).
  void remember(const store::Session& row, std::int64_t now);

  // `s` with what this process remembers about it: last_active_at and updated_at are raised to
  // the last remembered touch (never lowered).
  void overlay(store::Session& s) const;

  // Writes, in one transaction, the remembered activity of every session whose row was last
  // written at least one interval before `now` (every remembered session when `all`: at
  // shutdown). A session that stopped, went away or already has a later last_active_at is just
  // forgotten (only a flush forgets: a rolled-back write never loses what was remembered). On
  // failure what was taken is remembered again (the next flush retries). Returns the number of rows
  // written.
  core::Result<std::size_t> flush(store::Store& store, std::int64_t now, bool all);

  // How many sessions have remembered activity not yet written (tests, metrics).
  [[nodiscard]] std::size_t pending() const;

 private:
  struct Pending {
    std::int64_t last_active_ms = 0;  // the latest touch not written
    std::int64_t written_ms = 0;      // the row's updated_at when it was remembered
  };
  void merge_locked(const std::string& id, const Pending& p);

  std::int64_t interval_ms_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Pending> pending_;
};

}  // namespace latchkey::sessions
