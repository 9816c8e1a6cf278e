#include "passwords/lockout.hpp"

#include <limits>

namespace latchkey::passwords {

std::optional<std::int64_t> lockout_until(const LockoutSettings& s, int failed_attempts,
                                          std::int64_t now_ms) {
  if (s.max_attempts <= 0 || s.lockout_ms <= 0 || failed_attempts < s.max_attempts) {
    return std::nullopt;
  }
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  if (now_ms > kMax - s.lockout_ms) {
    return kMax;
  }
  return now_ms + s.lockout_ms;
}

std::int64_t lockout_expires_in_seconds(std::int64_t until_ms, std::int64_t now_ms) {
  if (until_ms <= now_ms) {
    return 0;
  }
  // until_ms > now_ms: the difference may exceed int64 only when now_ms is negative; saturate.
  const auto left = static_cast<std::uint64_t>(until_ms) - static_cast<std::uint64_t>(now_ms);
  const std::uint64_t seconds = left / 1000 + (left % 1000 != 0 ? 1 : 0);
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  return static_cast<std::int64_t>(seconds > kMax ? kMax : seconds);
}

}  // namespace latchkey::passwords
