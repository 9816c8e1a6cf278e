#pragma once
// Session tokens: short-lived RS256 JWTs with the claims of the contract (fapi README §3.7):
// sid, sub, iss, azp, exp, iat, nbf, v, fva, and sts while pending.
//
// RS256 signing is the costliest token operation (design.md §5: ~3.1k/s/core), so a token minted
// moments ago for the same session, origin, status and key is reused. The reuse window is a small
// fraction of the lifetime, so a reused token is never weaker than a fresh one: same claims, same
// key, and at least (lifetime - window) of validity left.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "store/store.hpp"
#include "tokens/key_ring.hpp"

namespace latchkey::sessions {

struct TokenSettings {
  std::string issuer;  // the FAPI URL: <public_url><prefix>
  std::chrono::seconds lifetime{60};
  std::chrono::seconds reuse_window{5};  // 0 disables reuse
  std::size_t max_cached = 100'000;
};

class SessionTokens {
 public:
  SessionTokens(const tokens::KeyRing& keys, const core::Clock& clock, TokenSettings settings);

  // A token for a live session (the caller checked liveness). `azp` is the authorized party:
  // the origin of the page that asked.
  core::Result<std::string> token_for(const store::Session& session, std::string_view azp);

  // Drops cached tokens of a session (ended, removed, replaced).
  void forget(const std::string& session_id);
  // Signs other claims with the same key (the server-side handshake payload, flows/handshake).
  [[nodiscard]] core::Result<std::string> sign(const boost::json::object& claims) const {
    return keys_.sign_jwt(claims);
  }

  [[nodiscard]] const TokenSettings& settings() const { return settings_; }

 private:
  struct Cached {
    std::string jwt;
    std::string azp;
    std::string status;
    std::string kid;
    std::int64_t iat = 0;
  };
  core::Result<std::string> mint(const store::Session& session, std::string_view azp,
                                 std::int64_t now_s) const;

  const tokens::KeyRing& keys_;
  const core::Clock& clock_;
  TokenSettings settings_;
  std::mutex mu_;
  std::unordered_map<std::string, Cached> cache_;
};

}  // namespace latchkey::sessions
