#pragma once
// The lifecycle of a client's sessions (design.md §2 sessions/): create, touch, end, remove,
// sign-out, authorize and mint, and the token cache that goes with them. Every operation takes
// the caller's transaction, so a session change commits together with what caused it (a
// completed sign-in, the rotated client credential). Who is signed in changing always rotates
// the client credential (docs/security.md "Client credential"); the new cookie value is handed
// back through `issued`.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/random.hpp"
#include "sessions/clients.hpp"
#include "sessions/events.hpp"
#include "sessions/last_active.hpp"
#include "sessions/session_tokens.hpp"
#include "sessions/views.hpp"
#include "store/store.hpp"

namespace latchkey::sessions {

struct SessionSettings {
  std::chrono::milliseconds session_lifetime{std::chrono::hours(24 * 7)};
  bool single_session_mode = true;
  // frontend.last_active_write_interval: a touch writes the session's last_active_at at most
  // this often (0 = every touch); see LastActive.
  std::chrono::milliseconds last_active_write_interval{std::chrono::seconds(60)};
};

// How a session stops: session.end() or session.remove() (the SDK's signOut of one session).
enum class SessionEnd { kEnded, kRemoved };

// Session tasks (part2 §5): what a user must still do before a new session counts as signed in
// (setup-mfa, ...). The session is created `pending` with `tasks: [{"key": ...}]` (its tokens
// carry sts "pending", which @clerk/backend treats as signed out) and becomes active at a touch
// once no task applies any more. flows/ implements it (it knows the instance's rules); app/ sets
// it.
class TaskPolicy {
 public:
  virtual ~TaskPolicy() = default;
  // The keys of the tasks that apply to `user_id` now, in order (empty: none).
  virtual core::Result<std::vector<std::string>> tasks(store::Tx& tx,
                                                       const std::string& user_id) = 0;
};

class SessionService {
 public:
  SessionService(SessionSettings settings, Clients& clients, SessionTokens& tokens,
                 core::Random& random);

  // The client's live sessions, oldest first.
  core::Result<std::vector<store::Session>> live(store::Tx& tx, const std::string& client_id,
                                                 std::int64_t now);
  // The same with their users (no tokens yet: see attach_tokens).
  core::Result<std::vector<SessionView>> live_views(store::Tx& tx, const std::string& client_id,
                                                    std::int64_t now);

  // A new active session for `user_id` on `client`; in single-session mode every other live
  // session of the client is replaced. Rotates the credential into `issued`. The caller writes
  // the client (it is part of a larger change: the sign-in or sign-up that completed).
  core::Result<std::string> create(store::Tx& tx, store::Client& client, const std::string& user_id,
                                   std::int64_t now, std::optional<std::string>& issued);

  // session.touch(): the session becomes the client's active one. Switching from another
  // signed-in session rotates the credential. Writes the client, and the session's
  // last_active_at at most once per settings.last_active_write_interval (within it the touch is
  // remembered in memory and answered: see LastActive).
  core::Status touch(store::Tx& tx, store::Client& client, const std::string& session_id,
                     std::int64_t now, std::optional<std::string>& issued);

  // session.end() / session.remove(): a live session of this client stops (rotating the
  // credential); an already stopped one is left as it is. Writes the session and the client and
  // returns the session as it is now.
  core::Result<store::Session> end(store::Tx& tx, store::Client& client,
                                   const std::string& session_id, SessionEnd how, std::int64_t now,
                                   std::optional<std::string>& issued);

  // clerk.signOut(): every live session of the client is removed (rotating the credential when
  // there was one). Writes the sessions and the client.
  core::Status sign_out(store::Tx& tx, store::Client& client, std::int64_t now,
                        std::optional<std::string>& issued);

  // Every live session of `user_id`, on any client, stops as `revoked` except `keep` (a password
  // reset with sign_out_of_other_sessions). Returns how many stopped.
  core::Result<int> revoke_user_sessions(store::Tx& tx, const std::string& user_id,
                                         std::string_view keep, std::int64_t now);

  // The Backend API's sessions.revokeSession(): the session stops as `revoked` if it is live
  // (a stopped one is left as it is); its client's credential stays, so the browser signs out
  // at its next request. Returns the session as it is now; kSessionNotFound if there is none.
  core::Result<store::Session> revoke(store::Tx& tx, const std::string& session_id,
                                      std::int64_t now);

  // The session the caller may mint a token for right now: its own, live. No client is 401; an
  // ended session 401 (the SDK signs out locally); another client's or unknown session 404.
  core::Result<store::Session> authorize(store::Tx& tx, const Caller& caller,
                                         const std::string& session_id, std::int64_t now);

  // A session token for `azp` (the page's origin), reusing one minted moments ago.
  core::Result<std::string> token(const store::Session& session, std::string_view azp);
  // Mints the token of every live session in `views` (a failure leaves that token null).
  void attach_tokens(std::vector<SessionView>& views, std::string_view azp);

  // Writes the batched last_active_at of the sessions whose interval has passed (every one when
  // `all`, at shutdown), in its own transaction. The app calls it every few seconds. Returns the
  // number of sessions written.
  core::Result<std::size_t> flush_last_active(store::Store& store, std::int64_t now,
                                              bool all = false);

  // Webhooks (sessions/events.hpp): set once by app/ before serving; null = no events.
  void set_events(EventSink* events) { events_ = events; }
  [[nodiscard]] EventSink* events() const { return events_; }
  // Session tasks: set once by app/ before serving; null = no task ever applies.
  void set_tasks(TaskPolicy* tasks) { tasks_ = tasks; }

  [[nodiscard]] Clients& clients() { return clients_; }
  [[nodiscard]] const SessionTokens& tokens() const { return tokens_; }
  [[nodiscard]] const SessionSettings& settings() const { return settings_; }

 private:
  // The task policy's verdict written onto `s`: pending with its tasks, or active with none.
  core::Status apply_tasks(store::Tx& tx, store::Session& s);
  // Stops `s` as `status` and emits `event` (session.ended/removed/revoked); "replaced" (single
  // session mode) emits nothing.
  core::Status stop(store::Tx& tx, store::Session& s, std::string_view status, std::int64_t now,
                    std::optional<Event> event);

  SessionSettings settings_;
  Clients& clients_;
  SessionTokens& tokens_;
  core::Random& random_;
  LastActive last_active_;
  EventSink* events_ = nullptr;
  TaskPolicy* tasks_ = nullptr;
};

}  // namespace latchkey::sessions
