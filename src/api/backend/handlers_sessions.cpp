// The Backend API's sessions (docs/backend-api.md): list, get, revoke, and a session token; and
// its clients: list, get, verify.
#include <string>
#include <utility>

#include "api/backend/common.hpp"
#include "flows/handshake.hpp"

namespace latchkey::api {
using backend::int_param;
using backend::json_body;
using backend::string_member;
using http::Response;

namespace {

flows::BackendSessions& sessions(Call& call) { return call.ctx.backend->sessions; }

void write_session(dto::JsonWriter& w, const store::Session& s) {
  dto::write_backend_session(w, s);
}

Response session_response(Call& call, const core::Result<store::Session>& s) {
  if (!s) {
    return call.error(s.error());
  }
  std::string body = call.body_storage();
  dto::JsonWriter w(body);
  write_session(w, *s);
  return json_response(200, std::move(body));
}

// The client as @clerk/backend's Client.fromJSON reads it, its sessions in full.
void write_client(dto::JsonWriter& w, const flows::BackendClient& c) {
  w.begin_object();
  w.members(R"("object":"client")");
  w.field("id", c.client.id);
  w.key("session_ids");
  w.begin_array();
  for (const auto& s : c.sessions) {
    w.value(s.id);
  }
  w.end_array();
  w.key("sessions");
  w.begin_array();
  for (const auto& s : c.sessions) {
    write_session(w, s);
  }
  w.end_array();
  w.field("sign_in_id", c.client.sign_in_id);
  w.field("sign_up_id", c.client.sign_up_id);
  w.field("last_active_session_id", c.client.last_active_session_id);
  w.field("last_authentication_strategy", c.client.last_authentication_strategy);
  w.field("created_at", c.client.created_at_ms);
  w.field("updated_at", c.client.updated_at_ms);
  w.end_object();
}

Response client_response(Call& call, const core::Result<flows::BackendClient>& c) {
  if (!c) {
    return call.error(c.error());
  }
  std::string body = call.body_storage();
  dto::JsonWriter w(body);
  write_client(w, *c);
  return json_response(200, std::move(body));
}

}  // namespace

// getSessionList sends paginated=true and gets {data, total_count}; without it, a bare array.
Response bapi_list_sessions(Call& call) {
  flows::SessionQuery q;
  q.user_id = std::string(http::find_field(call.query, "user_id").value_or(""));
  q.client_id = std::string(http::find_field(call.query, "client_id").value_or(""));
  q.status = std::string(http::find_field(call.query, "status").value_or(""));
  auto limit = int_param(call.query, "limit", 10, 1, 500);
  if (!limit) {
    return call.error(limit.error());
  }
  auto offset = int_param(call.query, "offset", 0, 0, INT64_MAX / 2);
  if (!offset) {
    return call.error(offset.error());
  }
  q.limit = *limit;
  q.offset = *offset;
  auto page = sessions(call).list(q);
  if (!page) {
    return call.error(page.error());
  }
  const bool paginated = http::find_field(call.query, "paginated").value_or("") == "true";
  std::string body = call.body_storage();
  dto::JsonWriter w(body);
  if (paginated) {
    w.begin_object();
    w.key("data");
  }
  w.begin_array();
  for (const auto& s : page->sessions) {
    write_session(w, s);
  }
  w.end_array();
  if (paginated) {
    w.field("total_count", page->total_count);
    w.end_object();
  }
  return json_response(200, std::move(body));
}

Response bapi_get_session(Call& call) {
  return session_response(call, sessions(call).get(std::string(call.req.param("id"))));
}

Response bapi_revoke_session(Call& call) {
  return session_response(call, sessions(call).revoke(std::string(call.req.param("id"))));
}

// sessions.getToken(sessionId): the same RS256 session token the Frontend API mints.
Response bapi_session_token(Call& call) {
  auto jwt = sessions(call).token(std::string(call.req.param("id")));
  if (!jwt) {
    return call.error(jwt.error());
  }
  std::string body = call.body_storage();
  dto::JsonWriter w(body);
  w.begin_object();
  w.members(R"("object":"token")");
  w.field("jwt", *jwt);
  w.end_object();
  return json_response(200, std::move(body));
}

// getClientList always sends paginated=true ({data, total_count}); without it, a bare array.
Response bapi_list_clients(Call& call) {
  auto limit = int_param(call.query, "limit", 10, 1, 500);
  if (!limit) {
    return call.error(limit.error());
  }
  auto offset = int_param(call.query, "offset", 0, 0, INT64_MAX / 2);
  if (!offset) {
    return call.error(offset.error());
  }
  auto page = call.ctx.backend->clients.list(*limit, *offset);
  if (!page) {
    return call.error(page.error());
  }
  const bool paginated = http::find_field(call.query, "paginated").value_or("") == "true";
  std::string body = call.body_storage();
  dto::JsonWriter w(body);
  if (paginated) {
    w.begin_object();
    w.key("data");
  }
  w.begin_array();
  for (const auto& c : page->clients) {
    write_client(w, c);
  }
  w.end_array();
  if (paginated) {
    w.field("total_count", page->total_count);
    w.end_object();
  }
  return json_response(200, std::move(body));
}

Response bapi_get_client(Call& call) {
  return client_response(call, call.ctx.backend->clients.get(std::string(call.req.param("id"))));
}

// clients.verifyClient(token): `token` is the browser's `__client` cookie value.
Response bapi_verify_client(Call& call) {
  auto body = json_body(call.req);
  if (!body) {
    return call.error(body.error());
  }
  auto token = string_member(*body, "token");
  if (!token) {
    return call.error(token.error());
  }
  if (!*token) {
    return call.error(core::Error(core::Code::kFormParamMissing).with_meta("param_name", "token"));
  }
  return client_response(call, call.ctx.backend->clients.verify(**token));
}

// clients.getHandshakePayload({nonce}): the Set-Cookie directives a handshake nonce carries
// (flows/handshake.hpp), {"directives":[...]}.
Response bapi_handshake_payload(Call& call) {
  const auto nonce = http::find_field(call.query, "nonce");
  if (!nonce || nonce->empty()) {
    return call.error(core::Error(core::Code::kFormParamMissing).with_meta("param_name", "nonce"));
  }
  auto directives = flows::open_handshake_nonce(call.ctx.flows.deps, *nonce);
  if (!directives) {
    return call.error(directives.error());
  }
  std::string body = call.body_storage();
  dto::JsonWriter w(body);
  w.begin_object();
  w.key("directives");
  w.begin_array();
  for (const auto& d : *directives) {
    w.value(d);
  }
  w.end_array();
  w.end_object();
  return json_response(200, std::move(body));
}

// @clerk/testing's clerkSetup: a testing token (flows/testing_token.hpp) for
// __clerk_testing_token. Only with [testing] enabled; otherwise 404 resource_not_found, as for a
// route the instance does not serve. expires_at is in seconds, as Clerk's TestingTokenJSON.
Response bapi_create_testing_token(Call& call) {
  const flows::Backend& b = *call.ctx.backend;
  if (b.testing_tokens == nullptr) {
    return call.error(core::Error(core::Code::kResourceNotFound));
  }
  auto t = b.testing_tokens->mint(b.clock.now_ms());
  if (!t) {
    return call.error(t.error());
  }
  std::string body = call.body_storage();
  dto::JsonWriter w(body);
  w.begin_object();
  w.members(R"("object":"testing_token")");
  w.field("token", t->token);
  w.field("expires_at", t->expires_at_ms / 1000);
  w.end_object();
  return json_response(200, std::move(body));
}

}  // namespace latchkey::api
