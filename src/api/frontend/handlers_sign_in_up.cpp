// Sign-in and sign-up attempts: form fields to flows parameters, the attempt to its envelope.
#include <string>

#include "api/handlers.hpp"

namespace latchkey::api {
using core::Code;
using core::Error;
using http::Response;

namespace {

// A request without a cookie that created a client is that client's first hit: counted against
// the route's per-client rule, so the budget covers the request that made it.
void charge_new_client(const Call& call, const flows::Mutation& m) {
  ratelimit::Limiter* limiter = call.ctx.options.limiter;
  if (limiter != nullptr && call.client_rule != nullptr && m.new_client_token) {
    limiter->hit({{call.client_rule, sessions::Clients::hash_token(*m.new_client_token)}});
  }
}

Response sign_in_envelope(Call& call, const flows::Mutation& m) {
  const auto& v = m.client;
  return envelope(call, m,
                  [&](dto::JsonWriter& w) { dto::write_sign_in(w, *v.sign_in, *v.sign_in_data); });
}

core::Result<flows::SignUpParams> sign_up_params(const http::Fields& f) {
  flows::SignUpParams p;
  p.strategy = field(f, "strategy");
  p.redirect_url = field(f, "redirect_url");
  p.action_complete_redirect_url = field(f, "action_complete_redirect_url");
  p.first_name = field(f, "first_name");
  p.last_name = field(f, "last_name");
  p.username = field(f, "username");
  p.email_address = field(f, "email_address");
  p.unsafe_metadata = field(f, "unsafe_metadata");
  if (http::find_field(f, "legal_accepted")) {
    auto la = bool_field(f, "legal_accepted", false);
    if (!la) {
      return core::fail(la.error());
    }
    p.legal_accepted = *la;
  }
  auto transfer = bool_field(f, "transfer", false);
  if (!transfer) {
    return core::fail(transfer.error());
  }
  p.transfer = *transfer;
  if (auto pw = field(f, "password")) {
    p.password = core::Secret(std::move(*pw));
  }
  p.captcha_token = field(f, "captcha_token");
  p.captcha_error = field(f, "captcha_error");
  return p;
}

Response sign_up_envelope(Call& call, const flows::Mutation& m) {
  const auto& v = m.client;
  return envelope(call, m, [&](dto::JsonWriter& w) {
    dto::write_sign_up(w, *v.sign_up, *v.sign_up_data, call.ctx.options.required_fields);
  });
}

}  // namespace

Response create_sign_in(Call& call) {
  const http::Fields& f = call.form;
  flows::SignInParams p;
  p.strategy = field(f, "strategy");
  p.identifier = field(f, "identifier");
  p.redirect_url = field(f, "redirect_url");
  p.action_complete_redirect_url = field(f, "action_complete_redirect_url");
  auto transfer = bool_field(f, "transfer", false);
  if (!transfer) {
    return call.error(transfer.error());
  }
  p.transfer = *transfer;
  if (auto pw = field(f, "password")) {
    p.password = core::Secret(std::move(*pw));
  }
  auto m = call.ctx.flows.sign_ins.create(call.caller(), p);
  if (!m) {
    return call.error(m.error());
  }
  charge_new_client(call, *m);
  return sign_in_envelope(call, *m);
}

Response get_sign_in(Call& call) {
  auto m = call.ctx.flows.clients.get_sign_in(call.caller(), std::string(call.req.param("id")));
  if (!m) {
    return call.error(m.error());
  }
  return sign_in_envelope(call, *m);
}

Response create_sign_up(Call& call) {
  auto p = sign_up_params(call.form);
  if (!p) {
    return call.error(p.error());
  }
  // @clerk/testing puts its testing token on the URL of every FAPI request.
  p->testing_token = field(call.query, "__clerk_testing_token");
  auto m = call.ctx.flows.sign_ups.create(call.caller(), *p);
  if (!m) {
    return call.error(m.error());
  }
  charge_new_client(call, *m);
  return sign_up_envelope(call, *m);
}

Response get_sign_up(Call& call) {
  auto m = call.ctx.flows.clients.get_sign_up(call.caller(), std::string(call.req.param("id")));
  if (!m) {
    return call.error(m.error());
  }
  return sign_up_envelope(call, *m);
}

Response update_sign_up(Call& call) {
  auto p = sign_up_params(call.form);
  if (!p) {
    return call.error(p.error());
  }
  auto m = call.ctx.flows.sign_ups.update(call.caller(), std::string(call.req.param("id")), *p);
  if (!m) {
    return call.error(m.error());
  }
  return sign_up_envelope(call, *m);
}

namespace {

flows::FactorParams factor_params(const http::Fields& f) {
  flows::FactorParams p;
  p.strategy = field(f, "strategy").value_or("");
  p.email_address_id = field(f, "email_address_id");
  p.code = field(f, "code");
  p.redirect_url = field(f, "redirect_url");
  if (auto pw = field(f, "password")) {
    p.password = core::Secret(std::move(*pw));
  }
  return p;
}

}  // namespace

Response prepare_first_factor(Call& call) {
  auto m = call.ctx.flows.sign_ins.prepare_first_factor(
      call.caller(), std::string(call.req.param("id")), factor_params(call.form));
  if (!m) {
    return call.error(m.error());
  }
  return sign_in_envelope(call, *m);
}

Response attempt_first_factor(Call& call) {
  auto m = call.ctx.flows.sign_ins.attempt_first_factor(
      call.caller(), std::string(call.req.param("id")), factor_params(call.form));
  if (!m) {
    return call.error(m.error());
  }
  return sign_in_envelope(call, *m);
}

Response attempt_second_factor(Call& call) {
  auto m = call.ctx.flows.sign_ins.attempt_second_factor(
      call.caller(), std::string(call.req.param("id")), factor_params(call.form));
  if (!m) {
    return call.error(m.error());
  }
  return sign_in_envelope(call, *m);
}

Response reset_password(Call& call) {
  const http::Fields& f = call.form;
  flows::ResetPasswordParams p;
  auto pw = field(f, "password");
  if (!pw) {
    return call.error(Error(Code::kFormParamMissing).with_meta("param_name", "password"));
  }
  p.password = core::Secret(std::move(*pw));
  auto sign_out = bool_field(f, "sign_out_of_other_sessions", true);
  if (!sign_out) {
    return call.error(sign_out.error());
  }
  p.sign_out_of_other_sessions = *sign_out;
  auto m =
      call.ctx.flows.sign_ins.reset_password(call.caller(), std::string(call.req.param("id")), p);
  if (!m) {
    return call.error(m.error());
  }
  return sign_in_envelope(call, *m);
}

Response prepare_verification(Call& call) {
  flows::VerificationParams p;
  p.strategy = field(call.form, "strategy").value_or("");
  p.redirect_url = field(call.form, "redirect_url");
  auto m = call.ctx.flows.sign_ups.prepare_verification(call.caller(),
                                                        std::string(call.req.param("id")), p);
  if (!m) {
    return call.error(m.error());
  }
  return sign_up_envelope(call, *m);
}

Response attempt_verification(Call& call) {
  flows::VerificationParams p;
  p.strategy = field(call.form, "strategy").value_or("");
  p.code = field(call.form, "code");
  auto m = call.ctx.flows.sign_ups.attempt_verification(call.caller(),
                                                        std::string(call.req.param("id")), p);
  if (!m) {
    return call.error(m.error());
  }
  return sign_up_envelope(call, *m);
}

}  // namespace latchkey::api
