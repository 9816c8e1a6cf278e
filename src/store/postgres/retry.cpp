#include "store/postgres/retry.hpp"

#include <algorithm>
#include <cstddef>
#include <functional>
#include <random>
#include <thread>

namespace latchkey::store::postgres {

void backoff(int attempt, Deadline deadline) {
  thread_local std::minstd_rand rng(
      static_cast<unsigned>(std::hash<std::thread::id>{}(std::this_thread::get_id()) ^
                            static_cast<std::size_t>(Clock::now().time_since_epoch().count())));
  const int cap = 1 << std::min(attempt, 6);
  const auto pause = milliseconds(1 + static_cast<int>(rng() % static_cast<unsigned>(cap)));
  const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
  std::this_thread::sleep_for(std::min(pause, std::max(left, milliseconds(0))));
}

}  // namespace latchkey::store::postgres
