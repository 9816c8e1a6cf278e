#include "flows/handshake.hpp"

#include <boost/json.hpp>

namespace latchkey::flows {

namespace {
constexpr std::int64_t kHandshakeLifetimeS = 60;
constexpr const char* kAttrs = "; Path=/; SameSite=Lax";
constexpr const char* kUatMaxAge = "; Max-Age=31536000";
}  // namespace

core::Result<std::vector<std::string>> handshake_directives(ClientService& clients,
                                                            const Caller& caller) {
  auto view = clients.get_client(caller);
  if (!view) {
    return core::fail(std::move(view.error()));
  }
  std::vector<std::string> out;
  if (*view && !(*view)->sessions.empty()) {
    // The last active session (set by session.touch()); before the first touch, the newest live
    // one (the sessions are oldest first).
    const auto& last = (*view)->client.last_active_session_id;
    const SessionView* s = last ? (*view)->find_session(*last) : &(*view)->sessions.back();
    if (s != nullptr && s->token) {
      out.push_back("__session=" + *s->token + kAttrs);
      const std::int64_t uat = (*view)->client.updated_at_ms / 1000;
      out.push_back("__client_uat=" + std::to_string(uat) + kAttrs + kUatMaxAge);
      return out;
    }
  }
  out.push_back(std::string("__session=") + kAttrs + "; Max-Age=0");
  out.push_back(std::string("__client_uat=0") + kAttrs + kUatMaxAge);
  return out;
}

core::Result<std::string> sign_handshake(const FlowDeps& d,
                                         const std::vector<std::string>& directives) {
  const std::int64_t now = d.clock.now_ms() / 1000;
  boost::json::array list;
  for (const auto& x : directives) {
    list.emplace_back(x);
  }
  boost::json::object claims;
  claims["handshake"] = std::move(list);
  claims["iat"] = now;
  claims["nbf"] = now;
  claims["exp"] = now + kHandshakeLifetimeS;
  return d.sessions.tokens().sign(claims);
}

}  // namespace latchkey::flows
