#pragma once
// Time-based one-time passwords (RFC 6238) for authenticator apps, on liboath: HMAC-SHA1, 30 s
// steps, 6 digits — what every authenticator app reads from an otpauth:// URI with no further
// parameters. The secret is 20 random bytes (RFC 4226 §4's 160 bits), shown to the user in base32
// (RFC 4648, unpadded) and sealed at rest by the caller.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "core/secret.hpp"

namespace latchkey::crypto::totp {

inline constexpr unsigned kDigits = 6;
inline constexpr std::int64_t kStepSeconds = 30;
inline constexpr std::size_t kSecretBytes = 20;

// Unpadded RFC 4648 base32 of raw bytes (the otpauth `secret` parameter), and back (padding,
// spaces and lower case accepted, as authenticator apps and Clerk's export write it); nullopt
// when it is not base32.
std::string base32(std::string_view bytes);
std::optional<std::string> from_base32(std::string_view text);

// The time step a code of `secret` matches at `now_s`, trying the current step and `window` steps
// either side (clock drift between phone and server), compared in constant time; nullopt when none
// matches or the code is not `kDigits` ASCII digits. The caller refuses a step at or below the
// last one it accepted, so a code is used once.
std::optional<std::int64_t> match(const core::Secret& secret, std::string_view code,
                                  std::int64_t now_s, unsigned window = 1);

// The code of `secret` for time step `step` (for tests and tools that play the authenticator).
std::string code_at(const core::Secret& secret, std::int64_t step);

}  // namespace latchkey::crypto::totp
