#include "sessions/session_service.hpp"

namespace latchkey::sessions {
namespace {

using core::Code;
using core::Error;
using core::fail;

Error session_not_found() {
  return Error(Code::kSessionNotFound).with_meta("param_name", "session_id");
}

}  // namespace

SessionService::SessionService(SessionSettings settings, Clients& clients, SessionTokens& tokens,
                               core::Random& random)
    : settings_(settings),
      clients_(clients),
      tokens_(tokens),
      random_(random),
      last_active_(settings.last_active_write_interval) {}

core::Result<std::vector<store::Session>> SessionService::live(store::Tx& tx,
                                                               const std::string& client_id,
                                                               std::int64_t now) {
  auto all = tx.list_sessions_by_client(client_id);
  if (!all) {
    return fail(std::move(all.error()));
  }
  std::erase_if(*all, [&](const store::Session& s) { return !is_live(s, now); });
  for (auto& s : *all) {
    last_active_.overlay(s);
  }
  return std::move(*all);
}

core::Result<std::vector<SessionView>> SessionService::live_views(store::Tx& tx,
                                                                  const std::string& client_id,
                                                                  std::int64_t now) {
  auto sessions = live(tx, client_id, now);
  if (!sessions) {
    return fail(std::move(sessions.error()));
  }
  std::vector<SessionView> out;
  out.reserve(sessions->size());
  for (auto& s : *sessions) {
    auto user = load_user(tx, s.user_id);
    if (!user) {
      return fail(std::move(user.error()));
    }
    out.push_back(SessionView{std::move(s), std::move(*user), std::nullopt});
  }
  return out;
}

core::Status SessionService::stop(store::Tx& tx, store::Session& s, std::string_view status,
                                  std::int64_t now, std::optional<Event> event) {
  s.status = std::string(status);
  s.updated_at_ms = now;
  // A cached token of a stopped session must never be handed out again (it would be refused
  // anyway: minting checks liveness first).
  tokens_.forget(s.id);
  // `s` carries the remembered last activity (overlaid when it was read), written now; the next
  // flush forgets it (a stopped session is never written by a flush).
  if (auto st = tx.update_session(s); !st) {
    return st;
  }
  return event ? emit(events_, tx, *event, s.id, now) : core::Status{};
}

core::Result<int> SessionService::revoke_user_sessions(store::Tx& tx, const std::string& user_id,
                                                       std::string_view keep, std::int64_t now) {
  auto all = tx.list_sessions_by_user(user_id);
  if (!all) {
    return fail(std::move(all.error()));
  }
  int stopped = 0;
  for (auto& s : *all) {
    if (s.id == keep || !is_live(s, now)) {
      continue;
    }
    if (auto st = stop(tx, s, "revoked", now, Event::kSessionRevoked); !st) {
      return fail(std::move(st.error()));
    }
    ++stopped;
  }
  return stopped;
}

core::Result<store::Session> SessionService::revoke(store::Tx& tx, const std::string& session_id,
                                                    std::int64_t now) {
  auto s = tx.get_session(session_id);
  if (!s) {
    return fail(std::move(s.error()));
  }
  if (!*s) {
    return fail(Error(Code::kSessionNotFound));
  }
  if (is_live(**s, now)) {
    if (auto st = stop(tx, **s, "revoked", now, Event::kSessionRevoked); !st) {
      return fail(std::move(st.error()));
    }
  }
  return std::move(**s);
}

core::Result<std::string> SessionService::create(store::Tx& tx, store::Client& client,
                                                 const std::string& user_id, std::int64_t now,
                                                 std::optional<std::string>& issued) {
  if (settings_.single_session_mode) {
    // One signed-in session per client: any other live session is replaced.
    auto others = live(tx, client.id, now);
    if (!others) {
      return fail(std::move(others.error()));
    }
    for (auto& s : *others) {
      if (auto st = stop(tx, s, "replaced", now, std::nullopt); !st) {
        return fail(std::move(st.error()));
      }
    }
  }
  store::Session s;
  s.id = random_.id("sess");
  s.client_id = client.id;
  s.user_id = user_id;
  s.status = "active";
  if (auto pending = apply_tasks(tx, s); !pending) {
    return fail(std::move(pending.error()));
  }
  s.expire_at_ms = now + settings_.session_lifetime.count();
  s.abandon_at_ms = s.expire_at_ms;
  s.last_active_at_ms = now;
  s.created_at_ms = now;
  s.updated_at_ms = now;
  if (auto st = tx.insert_session(s); !st) {
    return fail(std::move(st.error()));
  }
  auto user = tx.get_user(user_id);
  if (!user) {
    return fail(std::move(user.error()));
  }
  if (!*user) {
    return fail(Error(Code::kInternal).with_internal("session for a missing user"));
  }
  if ((*user)->banned) {
    // users.ban() (the Backend API): every way of signing in ends here, refused, and the
    // transaction that would have signed the user in rolls back.
    return fail(Error(Code::kUserBanned).with_internal("sign-in of a banned user " + user_id));
  }
  (*user)->last_sign_in_at_ms = now;
  (*user)->updated_at_ms = now;
  if (auto st = tx.update_user(**user); !st) {
    return fail(std::move(st.error()));
  }
  if (auto st = emit(events_, tx, Event::kSessionCreated, s.id, now); !st) {
    return fail(std::move(st.error()));
  }
  // Who is signed in on this client changed: a copy of the old credential (planted before the
  // sign-in, or kept from before a sign-out) must not see this session (session fixation).
  issued = clients_.rotate(client, now);
  return s.id;
}

core::Status SessionService::apply_tasks(store::Tx& tx, store::Session& s) {
  if (tasks_ == nullptr) {
    return {};
  }
  auto keys = tasks_->tasks(tx, s.user_id);
  if (!keys) {
    return fail(std::move(keys.error()));
  }
  if (keys->empty()) {
    s.status = "active";
    s.tasks.reset();
    return {};
  }
  std::string json = "[";
  for (const auto& k : *keys) {
    json += (json.size() > 1 ? ",{\"key\":\"" : "{\"key\":\"") + k + "\"}";
  }
  s.status = "pending";
  s.tasks = json + "]";
  return {};
}

core::Status SessionService::touch(store::Tx& tx, store::Client& client,
                                   const std::string& session_id, std::int64_t now,
                                   std::optional<std::string>& issued) {
  auto s = tx.get_session(session_id);
  if (!s) {
    return fail(std::move(s.error()));
  }
  if (!*s || (*s)->client_id != client.id || !is_live(**s, now)) {
    return fail(session_not_found());
  }
  if ((*s)->status == "pending") {
    // setActive() after the task's work (intent=select_session): done tasks drop off, and with
    // none left the session is signed in.
    const auto before = (*s)->tasks;
    if (auto st = apply_tasks(tx, **s); !st) {
      return st;
    }
    if ((*s)->status != "pending" || (*s)->tasks != before) {
      (*s)->updated_at_ms = now;
      if (auto st = tx.update_session(**s); !st) {
        return st;
      }
    }
  }
  if (last_active_.write_due(**s, now)) {
    (*s)->last_active_at_ms = now;
    (*s)->updated_at_ms = now;
    if (auto st = tx.update_session(**s); !st) {
      return st;
    }
  } else {
    // Written within the interval: remembered, answered, and written by a later touch or flush.
    last_active_.remember(**s, now);
  }
  if (client.last_active_session_id && *client.last_active_session_id != session_id) {
    // Another signed-in session becomes the active one (multi-session switch). A session that is
    // first activated after its sign-in already got a fresh credential with it.
    issued = clients_.rotate(client, now);
  }
  client.last_active_session_id = session_id;
  client.updated_at_ms = now;
  return tx.update_client(client);
}

core::Result<store::Session> SessionService::end(store::Tx& tx, store::Client& client,
                                                 const std::string& session_id, SessionEnd how,
                                                 std::int64_t now,
                                                 std::optional<std::string>& issued) {
  auto s = tx.get_session(session_id);
  if (!s) {
    return fail(std::move(s.error()));
  }
  if (!*s || (*s)->client_id != client.id) {
    return fail(session_not_found());
  }
  last_active_.overlay(**s);
  if (is_live(**s, now)) {
    if (auto st = stop(tx, **s, how == SessionEnd::kEnded ? "ended" : "removed", now,
                       how == SessionEnd::kEnded ? Event::kSessionEnded : Event::kSessionRemoved);
        !st) {
      return fail(std::move(st.error()));
    }
    // A copy of the credential from before the sign-out must not see the next sign-in.
    issued = clients_.rotate(client, now);
  }
  if (client.last_active_session_id == session_id) {
    client.last_active_session_id.reset();
  }
  client.updated_at_ms = now;
  if (auto st = tx.update_client(client); !st) {
    return fail(std::move(st.error()));
  }
  return std::move(**s);
}

core::Status SessionService::sign_out(store::Tx& tx, store::Client& client, std::int64_t now,
                                      std::optional<std::string>& issued) {
  auto sessions = live(tx, client.id, now);
  if (!sessions) {
    return fail(std::move(sessions.error()));
  }
  for (auto& s : *sessions) {
    // clerk.signOut(): the sign-out, session.ended (whatever status the row keeps).
    if (auto st = stop(tx, s, "removed", now, Event::kSessionEnded); !st) {
      return st;
    }
  }
  if (!sessions->empty()) {
    issued = clients_.rotate(client, now);
  }
  client.last_active_session_id.reset();
  // Signed out, the client carries no attempt either: a completed sign-up left on it would tell
  // the SDK (signUp.status "complete") to finalize a session that no longer exists.
  client.sign_in_id.reset();
  client.sign_up_id.reset();
  client.updated_at_ms = now;
  return tx.update_client(client);
}

core::Result<store::Session> SessionService::authorize(store::Tx& tx, const Caller& caller,
                                                       const std::string& session_id,
                                                       std::int64_t now) {
  auto client = clients_.find(tx, caller, now);
  if (!client) {
    return fail(std::move(client.error()));
  }
  if (!*client) {
    return fail(Error(Code::kAuthenticationInvalid)
                    .with_reason(core::Reason::kNoClient)
                    .with_internal("no client"));
  }
  auto s = tx.get_session(session_id);
  if (!s) {
    return fail(std::move(s.error()));
  }
  if (!*s || (*s)->client_id != (*client)->id) {
    return fail(session_not_found());
  }
  if (!is_live(**s, now)) {
    // 401: the SDK signs out locally (fapi README §2.D).
    return fail(Error(Code::kSessionEnded).with_internal("session " + (*s)->status));
  }
  last_active_.overlay(**s);
  return std::move(**s);
}

core::Result<std::string> SessionService::token(const store::Session& session,
                                                std::string_view azp) {
  return tokens_.token_for(session, azp);
}

void SessionService::attach_tokens(std::vector<SessionView>& views, std::string_view azp) {
  for (auto& v : views) {
    if (v.session.status != "active" && v.session.status != "pending") {
      continue;
    }
    if (auto jwt = tokens_.token_for(v.session, azp)) {
      v.token = std::move(*jwt);
    }
  }
}

core::Result<std::size_t> SessionService::flush_last_active(store::Store& store, std::int64_t now,
                                                            bool all) {
  return last_active_.flush(store, now, all);
}

}  // namespace latchkey::sessions
