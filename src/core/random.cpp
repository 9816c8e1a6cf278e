#include "core/random.hpp"

#include <sodium.h>

#include <array>
#include <stdexcept>

#include "core/base64.hpp"

namespace latchkey::core {

std::string Random::token(std::size_t n_bytes) {
  std::string raw(n_bytes, '\0');
  fill(std::span<std::uint8_t>(reinterpret_cast<std::uint8_t*>(raw.data()), raw.size()));
  return base64url_encode(raw);
}

std::string Random::id(std::string_view prefix) {
  static constexpr std::string_view kAlphabet =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  constexpr std::size_t kLen = 27;
  std::array<std::uint8_t, kLen * 2> buf{};
  std::string out(prefix);
  out.push_back('_');
  std::size_t produced = 0;
  while (produced < kLen) {
    fill(buf);
    for (std::uint8_t b : buf) {
      // Rejection sampling: 248 = 62*4, so values below it are uniform mod 62.
      if (b < 248 && produced < kLen) {
        out.push_back(kAlphabet[b % 62]);
        ++produced;
      }
    }
  }
  return out;
}

SystemRandom::SystemRandom() {
  if (sodium_init() < 0) {
    throw std::runtime_error("libsodium initialisation failed");
  }
}

void SystemRandom::fill(std::span<std::uint8_t> out) { randombytes_buf(out.data(), out.size()); }

std::uint32_t Random::uniform(std::uint32_t upper) {
  // Reject the top partial range of 2^32 so every residue is equally likely.
  const std::uint32_t limit = UINT32_MAX - (UINT32_MAX % upper + 1) % upper;
  for (;;) {
    std::uint8_t b[4];
    fill(b);
    const std::uint32_t v =
        static_cast<std::uint32_t>(b[0]) | (static_cast<std::uint32_t>(b[1]) << 8) |
        (static_cast<std::uint32_t>(b[2]) << 16) | (static_cast<std::uint32_t>(b[3]) << 24);
    if (v <= limit) {
      return v % upper;
    }
  }
}

}  // namespace latchkey::core
