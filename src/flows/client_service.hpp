#pragma once
// The client as a whole: reading it (and reloading its current attempt), and the session
// operations the SDK calls on it - touch, end, remove, sign-out, destroy, and a fresh session
// token. The lifecycle rules live in sessions::SessionService; this service runs them in one
// transaction with the view the response needs and hands back finished tokens.
#include <optional>
#include <string>

#include "core/error.hpp"
#include "flows/flow_types.hpp"

namespace latchkey::flows {

class ClientService {
 public:
  explicit ClientService(FlowDeps& deps) : d_(deps) {}

  // nullopt: no (live) client for this caller; a stale copy of a rotated credential reads as none.
  core::Result<std::optional<ClientView>> get_client(const Caller& caller);
  // GET of the client's current sign-in or sign-up (a reload): only the current one is visible.
  core::Result<Mutation> get_sign_in(const Caller& caller, const std::string& id);
  core::Result<Mutation> get_sign_up(const Caller& caller, const std::string& id);

  core::Result<Mutation> touch_session(const Caller& caller, const std::string& session_id);
  core::Result<Mutation> end_session(const Caller& caller, const std::string& session_id,
                                     sessions::SessionEnd how);
  // clerk.signOut(): every live session of the client is removed; the client stays.
  core::Result<Mutation> sign_out(const Caller& caller);
  // client.destroy(): sessions end and the client is deleted. Returns the deleted client's id.
  core::Result<std::string> destroy_client(const Caller& caller);
  // A session token for the caller's origin: the session must be its own and live.
  core::Result<std::string> session_token(const Caller& caller, const std::string& session_id);

 private:
  template <typename Row>
  core::Result<Mutation> get_attempt(const Caller& caller, const std::string& id);
  // Runs `change(tx, client, issued)` on the caller's client in one transaction and returns the
  // client after it, with tokens.
  template <typename Change>
  core::Result<Mutation> mutate(const Caller& caller, const std::string& resource_id,
                                Change&& change);

  FlowDeps& d_;
};

}  // namespace latchkey::flows
