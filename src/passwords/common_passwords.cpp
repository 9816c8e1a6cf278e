#include "passwords/common_passwords.hpp"

#include <sodium.h>

#include <array>
#include <cstdint>
#include <iterator>

namespace latchkey::passwords {
namespace {

#include "common_passwords.inc"  // kBlob, kOffsets (gen_common_passwords.cpp)

constexpr std::size_t kCount = std::size(kOffsets) - 1;

std::string_view entry(std::size_t i) {
  // Each entry is followed by its '\n' separator, which the next offset counts.
  return {kBlob + kOffsets[i], kOffsets[i + 1] - kOffsets[i] - 1};
}

}  // namespace

bool is_common_password(std::string_view password) {
  // The longest entry is far below this; a longer password cannot be on the list.
  std::array<char, 128> lowered{};
  if (password.size() > lowered.size()) {
    return false;
  }
  for (std::size_t i = 0; i < password.size(); ++i) {
    const char c = password[i];
    lowered[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  const std::string_view key(lowered.data(), password.size());
  std::size_t lo = 0;  // the first entry not below key
  std::size_t hi = kCount;
  while (lo < hi) {
    const std::size_t mid = lo + (hi - lo) / 2;
    if (entry(mid) < key) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  const bool found = lo < kCount && entry(lo) == key;
  sodium_memzero(lowered.data(), lowered.size());
  return found;
}

std::size_t common_password_count() { return kCount; }

}  // namespace latchkey::passwords
