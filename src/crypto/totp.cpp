#include "crypto/totp.hpp"

#include <liboath/oath.h>
#include <sodium.h>

#include <cstdlib>
#include <memory>
#include <mutex>
#include <stdexcept>

namespace latchkey::crypto::totp {
namespace {

void init_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (oath_init() != OATH_OK) {
      throw std::runtime_error("liboath: oath_init failed");
    }
  });
}

bool all_digits(std::string_view code) {
  if (code.size() != kDigits) {
    return false;
  }
  for (const char c : code) {
    if (c < '0' || c > '9') {
      return false;
    }
  }
  return true;
}

// liboath's comparison callback: 0 when the candidate equals the presented code, compared in
// constant time (liboath's own strcmp would leak how many leading digits match).
int constant_time_equal(void* handle, const char* candidate) {
  const auto* presented = static_cast<const std::string_view*>(handle);
  if (std::string_view(candidate).size() != presented->size()) {
    return 1;
  }
  return sodium_memcmp(candidate, presented->data(), presented->size()) == 0 ? 0 : 1;
}

}  // namespace

std::string base32(std::string_view bytes) {
  init_once();
  char* out = nullptr;
  std::size_t out_len = 0;
  if (oath_base32_encode(bytes.data(), bytes.size(), &out, &out_len) != OATH_OK) {
    throw std::runtime_error("liboath: base32 encoding failed");
  }
  const std::unique_ptr<char, decltype(&std::free)> owned(out, &std::free);
  std::string s(out, out_len);
  while (!s.empty() && s.back() == '=') {
    s.pop_back();
  }
  return s;
}

std::optional<std::string> from_base32(std::string_view text) {
  init_once();
  std::string clean;
  for (const char c : text) {
    if (c == ' ' || c == '=') {
      continue;
    }
    clean += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  }
  while (clean.size() % 8 != 0) {
    clean += '=';  // liboath wants whole 8-character groups
  }
  char* out = nullptr;
  std::size_t out_len = 0;
  if (clean.empty() || oath_base32_decode(clean.data(), clean.size(), &out, &out_len) != OATH_OK) {
    return std::nullopt;
  }
  const std::unique_ptr<char, decltype(&std::free)> owned(out, &std::free);
  std::string bytes(out, out_len);
  sodium_memzero(out, out_len);
  return bytes;
}

std::optional<std::int64_t> match(const core::Secret& secret, std::string_view code,
                                  std::int64_t now_s, unsigned window) {
  init_once();
  if (!all_digits(code) || now_s < 0) {
    return std::nullopt;
  }
  int position = 0;
  std::uint64_t counter = 0;
  const int rc = oath_totp_validate3_callback(
      secret.reveal().data(), secret.reveal().size(), static_cast<time_t>(now_s), kStepSeconds, 0,
      kDigits, window, &position, &counter, &constant_time_equal, &code);
  if (rc < 0) {
    return std::nullopt;
  }
  return static_cast<std::int64_t>(counter);
}

std::string code_at(const core::Secret& secret, std::int64_t step) {
  init_once();
  char out[kDigits + 1] = {};
  if (oath_totp_generate(secret.reveal().data(), secret.reveal().size(),
                         static_cast<time_t>(step * kStepSeconds), kStepSeconds, 0, kDigits,
                         out) != OATH_OK) {
    throw std::runtime_error("liboath: TOTP generation failed");
  }
  return std::string(out, kDigits);
}

}  // namespace latchkey::crypto::totp
