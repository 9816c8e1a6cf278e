// The environment, the client and its sessions.
#include <string>

#include "api/handlers.hpp"

namespace latchkey::api {
using core::Code;
using core::Error;
using http::Response;

Response environment(Call& call) { return json_response(200, call.ctx.options.environment_json); }

// Also POST (Client.create: a client is created lazily by the first attempt, so this only
// reports the current one) and PUT.
Response get_client(Call& call) {
  auto view = call.ctx.flows.clients.get_client(call.caller());
  if (!view) {
    return call.error(view.error());
  }
  std::string body = call.body_storage();
  dto::JsonWriter w(body);
  w.begin_object();
  w.key("response");
  if (*view) {
    dto::write_client(w, **view, call.ctx.options.required_fields);
  } else {
    w.value(nullptr);
  }
  w.members(R"("client":null)");
  w.end_object();
  return json_response(200, std::move(body));
}

Response destroy_client(Call& call) {
  auto id = call.ctx.flows.clients.destroy_client(call.caller());
  if (!id) {
    return call.error(id.error());
  }
  std::string body;
  dto::JsonWriter w(body);
  w.begin_object();
  w.key("response");
  w.begin_object();
  w.members(R"("object":"client")");
  w.field("id", *id);
  w.members(R"("deleted":true)");
  w.end_object();
  w.members(R"("client":null)");
  w.end_object();
  Response r = json_response(200, std::move(body));
  clear_client_cookie(call.ctx, r);
  return r;
}

namespace {

// touch: the session as listed in the client, with its token; end/remove: the stopped session,
// listed only in `response`.
Response session_envelope(Call& call, const core::Result<flows::Mutation>& m,
                          const std::string& id) {
  if (!m) {
    return call.error(m.error());
  }
  const flows::SessionView* s = m->session ? &*m->session : m->client.find_session(id);
  if (s == nullptr) {
    return call.error(Error(Code::kSessionNotFound));
  }
  return envelope(call, *m, [&](dto::JsonWriter& w) { dto::write_session(w, *s); });
}

}  // namespace

Response touch_session(Call& call) {
  const std::string id(call.req.param("id"));
  return session_envelope(call, call.ctx.flows.clients.touch_session(call.caller(), id), id);
}

Response end_session(Call& call) {
  const std::string id(call.req.param("id"));
  auto m = call.ctx.flows.clients.end_session(call.caller(), id, sessions::SessionEnd::kEnded);
  return session_envelope(call, m, id);
}

Response remove_session(Call& call) {
  const std::string id(call.req.param("id"));
  auto m = call.ctx.flows.clients.end_session(call.caller(), id, sessions::SessionEnd::kRemoved);
  return session_envelope(call, m, id);
}

Response session_token(Call& call) {
  auto jwt = call.ctx.flows.clients.session_token(call.caller(), std::string(call.req.param("id")));
  if (!jwt) {
    return call.error(jwt.error());
  }
  std::string body;
  body.reserve(jwt->size() + 32);
  body.append(R"({"object":"token","jwt":")").append(*jwt).append("\"}");
  return json_response(200, std::move(body));
}

Response sign_out(Call& call) {
  auto r = call.ctx.flows.clients.sign_out(call.caller());
  if (!r) {
    return call.error(r.error());
  }
  const std::string client = dto::client_json(r->client, call.ctx.options.required_fields);
  std::string body;
  body.reserve(2 * client.size() + 32);
  body.append(R"({"response":)").append(client);
  body.append(R"(,"client":)").append(client).append("}");
  Response resp = json_response(200, std::move(body));
  if (r->new_client_token) {
    set_client_cookie(call.ctx, resp, *r->new_client_token);
  }
  return resp;
}

}  // namespace latchkey::api
