#include "flows/testing_token.hpp"

#include <charconv>

namespace latchkey::flows {

namespace {

constexpr std::string_view kPrefix = "lktt1.";
constexpr std::string_view kMacContext = "latchkey:testing-token:v1";
// Another node minting with a clock somewhat ahead: its tokens still pass here.
constexpr std::int64_t kClockSkewMs = 5 * 60 * 1000;
constexpr std::size_t kMaxTokenBytes = 128;

}  // namespace

core::Result<TestingToken> TestingTokens::mint(std::int64_t now_ms) const {
  if (now_ms < 0) {
    return core::fail(core::Error(core::Code::kInternal).with_internal("testing token: time < 0"));
  }
  TestingToken t;
  t.expires_at_ms = now_ms + kLifetime.count();
  const std::string body = std::string(kPrefix) + std::to_string(t.expires_at_ms);
  t.token = body + "." + mac_.mac(kMacContext, body);
  return t;
}

bool TestingTokens::verify(std::string_view token, std::int64_t now_ms) const {
  if (token.size() > kMaxTokenBytes || !token.starts_with(kPrefix)) {
    return false;
  }
  const std::size_t dot = token.find('.', kPrefix.size());
  if (dot == std::string_view::npos || dot == kPrefix.size()) {
    return false;
  }
  const std::string_view digits = token.substr(kPrefix.size(), dot - kPrefix.size());
  std::int64_t expires = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), expires);
  if (ec != std::errc() || end != digits.data() + digits.size() || digits.starts_with('0')) {
    return false;
  }
  if (expires <= now_ms || expires - now_ms > kLifetime.count() + kClockSkewMs) {
    return false;
  }
  return mac_.mac_equals(token.substr(dot + 1), kMacContext, token.substr(0, dot));
}

}  // namespace latchkey::flows
