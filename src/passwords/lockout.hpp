#pragma once
// Temporary lockout after consecutive failed sign-in attempts (Clerk's "user lockout"): after
// max_attempts failures in a row the user is locked for lockout_ms, then may try again. Never
// permanent. The counting itself (which factors count, the reset on success) is the caller's.
#include <cstdint>
#include <optional>

namespace latchkey::passwords {

// Clerk's defaults: 100 attempts, one hour. max_attempts <= 0 turns lockout off; so does a
// lockout_ms <= 0.
struct LockoutSettings {
  int max_attempts = 100;
  std::int64_t lockout_ms = 60LL * 60 * 1000;
};

// After `failed_attempts` consecutive failures, the last one at `now_ms`: the time (ms since the
// epoch, like now_ms) until which the user is locked, or nullopt when they are not. Locked from
// the max_attempts-th failure on. Saturates instead of overflowing.
[[nodiscard]] std::optional<std::int64_t> lockout_until(const LockoutSettings& s,
                                                        int failed_attempts, std::int64_t now_ms);

// What Clerk's user_locked error carries as meta lockout_expires_in_seconds: the whole seconds
// left until `until_ms`, rounded up (a user told "0" could retry too early), never negative.
[[nodiscard]] std::int64_t lockout_expires_in_seconds(std::int64_t until_ms, std::int64_t now_ms);

}  // namespace latchkey::passwords
