#include "ratelimit/limiter.hpp"

#include <algorithm>
#include <cmath>

namespace latchkey::ratelimit {

double estimate(const WindowCounts& counts, std::int64_t offset_ms, std::int64_t window_ms) {
  if (window_ms <= 0) {
    return static_cast<double>(counts.current);
  }
  const double left = 1.0 - static_cast<double>(std::clamp<std::int64_t>(offset_ms, 0, window_ms)) /
                                static_cast<double>(window_ms);
  return static_cast<double>(counts.previous) * left + static_cast<double>(counts.current);
}

namespace {

// Seconds until the estimate drops to `limit - 1` (so the next hit fits), assuming no more hits:
// first the previous window's share decays, then the current window becomes the previous one.
std::int64_t retry_after_ms(const WindowCounts& c, std::int64_t offset_ms, std::int64_t window_ms,
                            std::uint32_t limit) {
  const double target = static_cast<double>(limit) - 1.0;
  const auto w = static_cast<double>(window_ms);
  // Inside the current window: previous*(1 - t/w) + current <= target.
  if (static_cast<double>(c.current) <= target && c.previous > 0) {
    const double t =
        w * (1.0 - (target - static_cast<double>(c.current)) / static_cast<double>(c.previous));
    if (t >= static_cast<double>(offset_ms) && t <= w) {
      return static_cast<std::int64_t>(std::ceil(t)) - offset_ms;
    }
  }
  // In the next window the current count becomes the previous: current*(1 - t/w) <= target.
  const std::int64_t to_next = window_ms - offset_ms;
  if (c.current == 0) {
    return to_next;
  }
  const double t = std::max(0.0, w * (1.0 - target / static_cast<double>(c.current)));
  return to_next + static_cast<std::int64_t>(std::ceil(t));
}

}  // namespace

core::Result<std::vector<WindowCounts>> CounterStore::hit_many(std::span<const Hit> hits) {
  std::vector<WindowCounts> out;
  out.reserve(hits.size());
  for (const auto& h : hits) {
    auto counts = hit(h.key, h.window, h.window_ms, h.cost);
    if (!counts) {
      return core::fail(std::move(counts.error()));
    }
    out.push_back(*counts);
  }
  return out;
}

Decision Limiter::hit(const std::vector<Check>& checks) {
  Decision out;
  const std::int64_t now = clock_.now_ms();
  std::vector<const Rule*> rules;
  std::vector<std::string> keys;
  rules.reserve(checks.size());
  keys.reserve(checks.size());
  for (const auto& check : checks) {
    const Rule& rule = *check.rule;
    if (rule.limit == 0 || rule.window.count() <= 0) {
      continue;
    }
    rules.push_back(&rule);
    keys.push_back(rule.name + "|" + check.key);
  }
  if (rules.empty()) {
    return out;
  }
  std::vector<CounterStore::Hit> hits;
  hits.reserve(rules.size());
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const std::int64_t window_ms = rules[i]->window.count();
    hits.push_back({keys[i], now / window_ms, window_ms, 1});
  }
  auto counts = store_.hit_many(hits);
  if (!counts || counts->size() != hits.size()) {
    ++store_errors_;
    return out;
  }
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const Rule& rule = *rules[i];
    const std::int64_t window_ms = hits[i].window_ms;
    const std::int64_t offset = now % window_ms;
    const WindowCounts& c = (*counts)[i];
    if (estimate(c, offset, window_ms) <= static_cast<double>(rule.limit)) {
      continue;
    }
    const auto wait_ms = retry_after_ms(c, offset, window_ms, rule.limit);
    const auto wait = std::chrono::seconds(std::max<std::int64_t>(1, (wait_ms + 999) / 1000));
    if (out.allowed || wait > out.retry_after) {
      out.rule = rule.name;
      out.retry_after = wait;
    }
    out.allowed = false;
  }
  return out;
}

}  // namespace latchkey::ratelimit
