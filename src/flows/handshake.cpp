#include "flows/handshake.hpp"

#include <boost/json.hpp>

namespace latchkey::flows {

namespace {
constexpr std::int64_t kHandshakeLifetimeS = 60;
constexpr std::string_view kNonceAad = "latchkey/handshake-nonce/v1";
constexpr std::size_t kMaxNonceLength = 16 * 1024;

core::Error bad_nonce(std::string_view why) {
  return core::Error(core::Code::kFormParamInvalid, "is invalid",
                     "The handshake nonce is invalid or has expired.")
      .with_meta("param_name", "nonce")
      .with_internal(std::string(why));
}
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

std::string seal_handshake_nonce(const FlowDeps& d, const std::vector<std::string>& directives) {
  boost::json::array list;
  for (const auto& x : directives) {
    list.emplace_back(x);
  }
  boost::json::object body;
  body["directives"] = std::move(list);
  body["exp"] = d.clock.now_ms() + kHandshakeLifetimeS * 1000;
  return d.sealer.seal(boost::json::serialize(body), kNonceAad);
}

core::Result<std::vector<std::string>> open_handshake_nonce(const FlowDeps& d,
                                                            std::string_view nonce) {
  if (nonce.empty() || nonce.size() > kMaxNonceLength) {
    return core::fail(bad_nonce("empty or oversized nonce"));
  }
  auto plain = d.sealer.open(nonce, kNonceAad);
  if (!plain) {
    return core::fail(bad_nonce(plain.error().internal));
  }
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(*plain, ec);
  const auto* o = ec ? nullptr : v.if_object();
  const auto* exp = o != nullptr ? o->if_contains("exp") : nullptr;
  const auto* list = o != nullptr ? o->if_contains("directives") : nullptr;
  if (exp == nullptr || !exp->is_int64() || list == nullptr || !list->is_array()) {
    return core::fail(bad_nonce("sealed nonce of an unknown shape"));
  }
  if (exp->as_int64() <= d.clock.now_ms()) {
    return core::fail(bad_nonce("expired nonce"));
  }
  std::vector<std::string> out;
  for (const auto& x : list->as_array()) {
    if (!x.is_string()) {
      return core::fail(bad_nonce("sealed nonce of an unknown shape"));
    }
    out.emplace_back(x.as_string());
  }
  return out;
}

}  // namespace latchkey::flows
