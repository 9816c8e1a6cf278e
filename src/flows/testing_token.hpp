#pragma once
// Clerk's testing tokens (issue 11 item 9): with [testing] enabled, a request to the Frontend API
// that carries `__clerk_testing_token=<token>` in its query (what @clerk/testing adds) is let
// through bot protection. A token is a signed expiry, so any node of the instance accepts it and
// none stores it:
//
//   lktt1.<expires_at_ms>.<base64url HMAC-SHA-256 of "lktt1.<expires_at_ms>">
//
// keyed by the instance's master key (the one that seals the signing keys: keys.encryption_key or
// <data_dir>/master.key) under a MAC context of its own, so it never equals another MAC. Minted by
// `latchkey testing-token` and by the Backend API's POST /v1/testing_tokens.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "core/secret.hpp"
#include "crypto/sealer.hpp"

namespace latchkey::flows {

struct TestingToken {
  std::string token;
  std::int64_t expires_at_ms = 0;
};

class TestingTokens {
 public:
  // Clerk's testing tokens are short-lived; an hour covers a CI run.
  static constexpr std::chrono::milliseconds kLifetime{std::chrono::hours(1)};

  // `key` is the instance master key (32 bytes); throws std::invalid_argument otherwise.
  explicit TestingTokens(const core::Secret& key) : mac_(key) {}

  // A token valid from `now_ms` for kLifetime. Fails (kInternal) only on a negative time.
  [[nodiscard]] core::Result<TestingToken> mint(std::int64_t now_ms) const;
  // True for a token minted by this instance's key that has not expired at `now_ms` (and whose
  // expiry is not further away than a lifetime plus a clock skew). Constant-time MAC compare.
  [[nodiscard]] bool verify(std::string_view token, std::int64_t now_ms) const;

 private:
  crypto::Sealer mac_;
};

}  // namespace latchkey::flows
