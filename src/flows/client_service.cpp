#include "flows/client_service.hpp"

#include "flows/detail/attempt.hpp"

namespace latchkey::flows {

using core::Code;
using core::Error;
using core::fail;
using core::Result;
using core::Status;
using namespace detail;

Result<std::optional<ClientView>> ClientService::get_client(const Caller& caller) {
  const std::int64_t now = d_.clock.now_ms();
  std::optional<ClientView> out;
  auto st = d_.store.read([&](store::Tx& tx) -> Status {
    auto c = d_.clients().find(tx, caller, now);
    if (!c && sessions::is_stale_credential(c.error())) {
      // A stale copy reads as "no client" (nothing revealed, nothing created). Not a 401: the
      // SDK answers a 401 by reading the client again, which would loop for a browser that really
      // lost its new credential; "no client" signs it out locally instead. A tab that merely
      // raced the rotation reads the client with the new cookie, which its jar holds by then.
      return {};
    }
    if (!c) {
      return fail(std::move(c.error()));
    }
    if (!*c) {
      return {};
    }
    auto v = load_view(tx, d_, **c, now);
    if (!v) {
      return fail(std::move(v.error()));
    }
    out = std::move(*v);
    return {};
  });
  if (!st) {
    return fail(std::move(st.error()));
  }
  if (out) {
    attach_tokens(d_, *out, caller);
  }
  return out;
}

template <typename Row>
Result<Mutation> ClientService::get_attempt(const Caller& caller, const std::string& id) {
  const std::int64_t now = d_.clock.now_ms();
  Mutation out;
  auto st = d_.store.read([&](store::Tx& tx) -> Status {
    auto client = d_.clients().require(tx, caller, now);
    if (!client) {
      return fail(std::move(client.error()));
    }
    auto view = load_view(tx, d_, *client, now);
    if (!view) {
      return fail(std::move(view.error()));
    }
    const bool current = std::is_same_v<Row, store::SignUp>
                             ? view->sign_up && view->sign_up->id == id
                             : view->sign_in && view->sign_in->id == id;
    if (!current) {
      return fail(Error(AttemptTraits<Row>::kNotFound).with_meta("param_name", "id"));
    }
    out.client = std::move(*view);
    out.resource_id = id;
    return {};
  });
  if (!st) {
    return fail(std::move(st.error()));
  }
  attach_tokens(d_, out.client, caller);
  return out;
}

Result<Mutation> ClientService::get_sign_in(const Caller& caller, const std::string& id) {
  return get_attempt<store::SignIn>(caller, id);
}

Result<Mutation> ClientService::get_sign_up(const Caller& caller, const std::string& id) {
  return get_attempt<store::SignUp>(caller, id);
}

template <typename Change>
Result<Mutation> ClientService::mutate(const Caller& caller, const std::string& resource_id,
                                       Change&& change) {
  return mutate_client(d_, caller, resource_id, std::forward<Change>(change));
}

Result<Mutation> ClientService::touch_session(const Caller& caller, const std::string& session_id) {
  return mutate(caller, session_id,
                [&](store::Tx& tx, store::Client& client, std::int64_t now, Mutation& out) {
                  return d_.sessions.touch(tx, client, session_id, now, out.new_client_token);
                });
}

Result<Mutation> ClientService::end_session(const Caller& caller, const std::string& session_id,
                                            sessions::SessionEnd how) {
  return mutate(
      caller, session_id,
      [&](store::Tx& tx, store::Client& client, std::int64_t now, Mutation& out) -> Status {
        auto s = d_.sessions.end(tx, client, session_id, how, now, out.new_client_token);
        if (!s) {
          return fail(std::move(s.error()));
        }
        // The stopped session is listed only in `response`, never in client.sessions.
        auto user = sessions::load_user(tx, s->user_id);
        if (!user) {
          return fail(std::move(user.error()));
        }
        out.session = SessionView{std::move(*s), std::move(*user), std::nullopt};
        return {};
      });
}

Result<Mutation> ClientService::sign_out(const Caller& caller) {
  return mutate(caller, {},
                [&](store::Tx& tx, store::Client& client, std::int64_t now, Mutation& out) {
                  return d_.sessions.sign_out(tx, client, now, out.new_client_token);
                });
}

Result<std::string> ClientService::destroy_client(const Caller& caller) {
  const std::int64_t now = d_.clock.now_ms();
  std::string id;
  auto st = d_.store.transaction([&](store::Tx& tx) -> Status {
    auto client = d_.clients().require(tx, caller, now);
    if (!client) {
      return fail(std::move(client.error()));
    }
    id = client->id;
    // Sessions, attempts and states go with the client (ON DELETE CASCADE).
    return tx.delete_client(client->id);
  });
  if (!st) {
    return fail(std::move(st.error()));
  }
  return id;
}

Result<std::string> ClientService::session_token(const Caller& caller,
                                                 const std::string& session_id) {
  const std::int64_t now = d_.clock.now_ms();
  std::optional<store::Session> session;
  auto st = d_.store.read([&](store::Tx& tx) -> Status {
    auto s = d_.sessions.authorize(tx, caller, session_id, now);
    if (!s) {
      return fail(std::move(s.error()));
    }
    session = std::move(*s);
    return {};
  });
  if (!st) {
    return fail(std::move(st.error()));
  }
  return d_.sessions.token(*session, d_.azp(caller));
}

}  // namespace latchkey::flows
