#include <mutex>
#include <string>
#include <unordered_map>

#include "ratelimit/limiter.hpp"

namespace latchkey::ratelimit {
namespace {

class MemoryCounterStore final : public CounterStore {
 public:
  explicit MemoryCounterStore(MemoryStoreOptions options) : options_(options) {}

  core::Result<WindowCounts> hit(std::string_view key, std::int64_t window, std::int64_t,
                                 std::uint64_t cost) override {
    std::lock_guard lock(mu_);
    auto it = entries_.find(std::string(key));
    if (it == entries_.end()) {
      make_room(window);
      it = entries_.emplace(std::string(key), Entry{window, 0, 0}).first;
    }
    Entry& e = it->second;
    if (e.window != window) {
      // Roll forward: the old current becomes the previous only if it is the window just before.
      e.previous = e.window == window - 1 ? e.current : 0;
      e.current = 0;
      e.window = window;
    }
    e.current += cost;
    return WindowCounts{e.previous, e.current};
  }

 private:
  struct Entry {
    std::int64_t window;
    std::uint64_t previous;
    std::uint64_t current;
  };

  // Keeps the map under max_keys: first every entry that can no longer affect a decision (older
  // than the previous window), then, if an attacker keeps it full, arbitrary entries.
  void make_room(std::int64_t window) {
    if (entries_.size() < options_.max_keys) {
      return;
    }
    std::erase_if(entries_, [window](const auto& kv) { return kv.second.window < window - 1; });
    while (!entries_.empty() && entries_.size() >= options_.max_keys) {
      entries_.erase(entries_.begin());
    }
  }

  MemoryStoreOptions options_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace

std::unique_ptr<CounterStore> make_memory_counter_store(MemoryStoreOptions options) {
  return std::make_unique<MemoryCounterStore>(options);
}

}  // namespace latchkey::ratelimit
