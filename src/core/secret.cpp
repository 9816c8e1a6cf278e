#include "core/secret.hpp"

#include <sodium.h>

namespace latchkey::core {

bool Secret::equals(std::string_view other) const {
  if (other.size() != value_.size()) {
    return false;
  }
  return sodium_memcmp(value_.data(), other.data(), value_.size()) == 0;
}

void Secret::wipe() noexcept {
  if (!value_.empty()) {
    sodium_memzero(value_.data(), value_.size());
  }
  value_.clear();
}

}  // namespace latchkey::core
