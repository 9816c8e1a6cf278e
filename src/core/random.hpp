#pragma once
// Randomness is injected (design.md §3.6). The production source is libsodium's CSPRNG.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace latchkey::core {

class Random {
 public:
  virtual ~Random() = default;
  virtual void fill(std::span<std::uint8_t> out) = 0;

  // `n` random bytes, base64url without padding (for state, PKCE verifiers, nonces).
  std::string token(std::size_t n_bytes);
  // A Clerk-style identifier: prefix + "_" + 27 base62 chars (~160 bits), e.g. "user_2abc...".
  std::string id(std::string_view prefix);
  // A uniform integer in [0, upper) (upper > 0), without modulo bias: for one-time codes.
  std::uint32_t uniform(std::uint32_t upper);
};

class SystemRandom final : public Random {
 public:
  SystemRandom();
  void fill(std::span<std::uint8_t> out) override;
};

}  // namespace latchkey::core
