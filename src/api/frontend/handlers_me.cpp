// The signed-in user's own endpoints (/v1/me, part2 §6): authenticator app and backup codes.
// Every call names its session with `?_clerk_session_id=` and answers {response, client}; each
// change to a user's second factors is an audit line.
#include <spdlog/spdlog.h>

#include <string>

#include "api/handlers.hpp"

namespace latchkey::api {
using core::Code;
using core::Error;
using http::Response;

namespace {

std::string session_id(const Call& call) {
  return field(call.query, "_clerk_session_id").value_or("");
}

void write_totp(dto::JsonWriter& w, const flows::TotpView& t) {
  w.begin_object();
  w.members(R"("object":"totp")");
  w.field("id", t.totp.id);
  w.field("secret", t.secret);
  w.field("uri", t.uri);
  w.field("verified", t.totp.verified);
  w.key("backup_codes");
  if (t.backup_codes) {
    w.begin_array();
    for (const auto& c : *t.backup_codes) {
      w.value(c);
    }
    w.end_array();
  } else {
    w.value(nullptr);
  }
  w.field("created_at", t.totp.created_at_ms);
  w.field("updated_at", t.totp.updated_at_ms);
  w.end_object();
}

void audit(const Call& call, std::string_view what, const flows::Mutation& m) {
  spdlog::info("mfa: {} session={} client={} request_id={}", what, session_id(call),
               m.client.client.id, call.req.request_id);
}

}  // namespace

Response me_get(Call& call) {
  auto r = call.ctx.flows.me.get(call.caller(), session_id(call));
  if (!r) {
    return call.error(r.error());
  }
  return envelope(call, r->mutation, [&](dto::JsonWriter& w) { dto::write_user(w, r->response); });
}

Response me_change_password(Call& call) {
  flows::ChangePasswordParams p;
  auto next = field(call.form, "new_password");
  if (!next) {
    return call.error(Error(Code::kFormParamMissing).with_meta("param_name", "new_password"));
  }
  p.new_password = core::Secret(std::move(*next));
  if (auto current = field(call.form, "current_password")) {
    p.current_password = core::Secret(std::move(*current));
  }
  auto sign_out = bool_field(call.form, "sign_out_of_other_sessions", false);
  if (!sign_out) {
    return call.error(sign_out.error());
  }
  p.sign_out_of_other_sessions = *sign_out;
  auto r = call.ctx.flows.me.change_password(call.caller(), session_id(call), p);
  if (!r) {
    return call.error(r.error());
  }
  spdlog::info("password changed: session={} client={} request_id={}", session_id(call),
               r->mutation.client.client.id, call.req.request_id);
  return envelope(call, r->mutation, [&](dto::JsonWriter& w) { dto::write_user(w, r->response); });
}

Response me_totp_create(Call& call) {
  auto r = call.ctx.flows.me.create_totp(call.caller(), session_id(call));
  if (!r) {
    return call.error(r.error());
  }
  audit(call, "authenticator app enrollment started", r->mutation);
  return envelope(call, r->mutation, [&](dto::JsonWriter& w) { write_totp(w, r->response); });
}

Response me_totp_verify(Call& call) {
  auto code = field(call.form, "code");
  if (!code) {
    return call.error(Error(Code::kFormParamMissing).with_meta("param_name", "code"));
  }
  auto r = call.ctx.flows.me.verify_totp(call.caller(), session_id(call), *code);
  if (!r) {
    return call.error(r.error());
  }
  audit(call, "authenticator app enrolled", r->mutation);
  if (r->response.backup_codes) {
    audit(call, "backup codes issued", r->mutation);
  }
  return envelope(call, r->mutation, [&](dto::JsonWriter& w) { write_totp(w, r->response); });
}

Response me_totp_delete(Call& call) {
  auto r = call.ctx.flows.me.delete_totp(call.caller(), session_id(call));
  if (!r) {
    return call.error(r.error());
  }
  audit(call, "authenticator app and backup codes removed", r->mutation);
  return envelope(call, r->mutation, [&](dto::JsonWriter& w) {
    w.begin_object();
    w.members(R"("object":"totp")");
    w.field("id", r->response);
    w.members(R"("deleted":true)");
    w.end_object();
  });
}

Response me_backup_codes_create(Call& call) {
  auto r = call.ctx.flows.me.create_backup_codes(call.caller(), session_id(call));
  if (!r) {
    return call.error(r.error());
  }
  audit(call, "backup codes regenerated", r->mutation);
  return envelope(call, r->mutation, [&](dto::JsonWriter& w) {
    w.begin_object();
    w.members(R"("object":"backup_code")");
    w.field("id", r->response.id);
    w.key("codes");
    w.begin_array();
    for (const auto& c : r->response.codes) {
      w.value(c);
    }
    w.end_array();
    w.field("created_at", r->response.created_at_ms);
    w.field("updated_at", r->response.created_at_ms);
    w.end_object();
  });
}

}  // namespace latchkey::api
