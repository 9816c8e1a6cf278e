#include "sessions/session_tokens.hpp"

#include <boost/json.hpp>

namespace latchkey::sessions {

SessionTokens::SessionTokens(const tokens::KeyRing& keys, const core::Clock& clock,
                             TokenSettings settings)
    : keys_(keys), clock_(clock), settings_(std::move(settings)) {}

core::Result<std::string> SessionTokens::mint(const store::Session& session, std::string_view azp,
                                              std::int64_t now_s) const {
  boost::json::object claims;
  claims.reserve(11);
  claims["azp"] = azp;
  claims["exp"] = now_s + settings_.lifetime.count();
  // fva: minutes since the first factor was verified (the session's creation), second factor
  // never (-1).
  const std::int64_t age_min =
      std::max<std::int64_t>(0, (now_s * 1000 - session.created_at_ms) / 60'000);
  claims["fva"] = boost::json::array{age_min, -1};
  claims["iat"] = now_s;
  claims["iss"] = settings_.issuer;
  claims["nbf"] = now_s - 10;  // tolerate small clock skew on verifiers
  claims["sid"] = session.id;
  if (session.status == "pending") {
    claims["sts"] = "pending";
  }
  claims["sub"] = session.user_id;
  claims["v"] = 2;
  return keys_.sign_jwt(claims);
}

core::Result<std::string> SessionTokens::token_for(const store::Session& session,
                                                   std::string_view azp) {
  const std::int64_t now_s = clock_.now_s();
  const std::string kid = keys_.active_kid();
  if (settings_.reuse_window.count() > 0) {
    std::lock_guard lock(mu_);
    auto it = cache_.find(session.id);
    if (it != cache_.end() && it->second.azp == azp && it->second.status == session.status &&
        it->second.kid == kid && now_s >= it->second.iat &&
        now_s - it->second.iat < settings_.reuse_window.count()) {
      return it->second.jwt;
    }
  }
  auto jwt = mint(session, azp, now_s);
  if (!jwt || settings_.reuse_window.count() == 0) {
    return jwt;
  }
  std::lock_guard lock(mu_);
  if (cache_.size() >= settings_.max_cached) {
    // Entries older than the window are useless: drop them (bounded memory under load).
    std::erase_if(cache_, [&](const auto& kv) {
      return now_s - kv.second.iat >= settings_.reuse_window.count();
    });
    if (cache_.size() >= settings_.max_cached) {
      cache_.clear();
    }
  }
  cache_[session.id] = Cached{*jwt, std::string(azp), session.status, kid, now_s};
  return jwt;
}

void SessionTokens::forget(const std::string& session_id) {
  std::lock_guard lock(mu_);
  cache_.erase(session_id);
}

}  // namespace latchkey::sessions
