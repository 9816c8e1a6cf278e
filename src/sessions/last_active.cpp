#include "sessions/last_active.hpp"

#include <algorithm>
#include <utility>
#include <vector>

#include "sessions/views.hpp"

namespace latchkey::sessions {

namespace {

// `interval` has passed since `written`, or the wall clock stepped back by at least that much
// (a row written "in the future": waiting for the clock to catch up would stretch the interval
// by the step; one write puts the row back on the current clock).
bool interval_passed(std::int64_t now, std::int64_t written, std::int64_t interval) {
  return now - written >= interval || written - now >= interval;
}

}  // namespace

bool LastActive::write_due(const store::Session& row, std::int64_t now) const {
  return interval_ms_ <= 0 || interval_passed(now, row.updated_at_ms, interval_ms_);
}

void LastActive::merge_locked(const std::string& id, const Pending& p) {
  auto [it, created] = pending_.try_emplace(id, p);
  if (!created) {
    it->second.last_active_ms = std::max(it->second.last_active_ms, p.last_active_ms);
    it->second.written_ms = std::max(it->second.written_ms, p.written_ms);
  }
}

void LastActive::remember(const store::Session& row, std::int64_t now) {
  std::lock_guard lock(mu_);
  merge_locked(row.id, Pending{.last_active_ms = now, .written_ms = row.updated_at_ms});
}

void LastActive::overlay(store::Session& s) const {
  std::lock_guard lock(mu_);
  const auto it = pending_.find(s.id);
  if (it == pending_.end()) {
    return;
  }
  s.last_active_at_ms = std::max(s.last_active_at_ms, it->second.last_active_ms);
  s.updated_at_ms = std::max(s.updated_at_ms, it->second.last_active_ms);
}

std::size_t LastActive::pending() const {
  std::lock_guard lock(mu_);
  return pending_.size();
}

core::Result<std::size_t> LastActive::flush(store::Store& store, std::int64_t now, bool all) {
  std::vector<std::pair<std::string, Pending>> taken;
  {
    std::lock_guard lock(mu_);
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (all || interval_passed(now, it->second.written_ms, interval_ms_)) {
        taken.emplace_back(it->first, it->second);
        it = pending_.erase(it);
      } else {
        ++it;
      }
    }
  }
  if (taken.empty()) {
    return std::size_t{0};
  }
  std::size_t written = 0;
  // Rows written by someone else within the interval: still remembered, not written now.
  std::vector<std::pair<std::string, Pending>> kept;
  auto st = store.transaction([&](store::Tx& tx) -> core::Status {
    written = 0;  // the callback may run again (retried transaction)
    kept.clear();
    for (const auto& [id, p] : taken) {
      auto row = tx.get_session(id);
      if (!row) {
        return core::fail(std::move(row.error()));
      }
      if (!*row || !is_live(**row, now) || (*row)->last_active_at_ms >= p.last_active_ms) {
        continue;
      }
      if (!all && !write_due(**row, now)) {
        kept.emplace_back(
            id, Pending{.last_active_ms = p.last_active_ms, .written_ms = (*row)->updated_at_ms});
        continue;
      }
      (*row)->last_active_at_ms = p.last_active_ms;
      (*row)->updated_at_ms = std::max(now, p.last_active_ms);
      if (auto ust = tx.update_session(**row); !ust) {
        return ust;
      }
      ++written;
    }
    return {};
  });
  std::lock_guard lock(mu_);
  if (!st) {
    for (const auto& [id, p] : taken) {
      merge_locked(id, p);
    }
    return core::fail(std::move(st.error()));
  }
  for (const auto& [id, p] : kept) {
    merge_locked(id, p);
  }
  return written;
}

}  // namespace latchkey::sessions
