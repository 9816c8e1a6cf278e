#include "ratelimit/store_counters.hpp"

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "store/store.hpp"

namespace latchkey::ratelimit {
namespace {

using core::Code;
using core::Error;

class StoreCounterStore final : public CounterStore {
 public:
  explicit StoreCounterStore(store::Store& store) : store_(store) {}

  core::Result<WindowCounts> hit(std::string_view key, std::int64_t window, std::int64_t window_ms,
                                 std::uint64_t cost) override {
    const Hit one{key, window, window_ms, cost};
    auto counts = hit_many(std::span<const Hit>(&one, 1));
    if (!counts) {
      return core::fail(std::move(counts.error()));
    }
    return counts->front();
  }

  core::Result<std::vector<WindowCounts>> hit_many(std::span<const Hit> hits) override {
    std::vector<store::CounterHit> rows;
    rows.reserve(hits.size());
    for (const auto& h : hits) {
      constexpr auto kMaxCost =
          static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
      if (h.window_ms <= 0 || h.cost > kMaxCost) {
        return core::fail(
            Error(Code::kInternal).with_internal("rate counter hit with a bad window or cost"));
      }
      store::CounterHit row;
      row.key = std::string(h.key);
      row.window_number = h.window;
      row.cost = static_cast<std::int64_t>(h.cost);
      // The row of window w is the "previous" one during window w + 1, which ends at
      // (w + 2) * window_ms; after that no decision reads it.
      row.expire_at_ms = (h.window + 2) * h.window_ms;
      rows.push_back(std::move(row));
    }
    auto counts = store_.hit_counters(rows);
    if (!counts) {
      return core::fail(std::move(counts.error()));
    }
    if (counts->size() != hits.size()) {
      return core::fail(Error(Code::kInternal)
                            .with_internal("rate counters: the store answered for " +
                                           std::to_string(counts->size()) + " of " +
                                           std::to_string(hits.size()) + " hits"));
    }
    std::vector<WindowCounts> out;
    out.reserve(counts->size());
    for (const auto& c : *counts) {
      out.push_back(WindowCounts{static_cast<std::uint64_t>(std::max<std::int64_t>(0, c.previous)),
                                 static_cast<std::uint64_t>(std::max<std::int64_t>(0, c.current))});
    }
    return out;
  }

 private:
  store::Store& store_;
};

}  // namespace

std::unique_ptr<CounterStore> make_store_counter_store(store::Store& store) {
  return std::make_unique<StoreCounterStore>(store);
}

}  // namespace latchkey::ratelimit
