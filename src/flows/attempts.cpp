#include "flows/attempts.hpp"

#include <boost/json.hpp>

namespace latchkey::flows {
namespace json = boost::json;
namespace {

void put_opt(json::object& o, std::string_view key, const std::optional<std::string>& v) {
  if (v) {
    o[key] = *v;
  } else {
    o[key] = nullptr;
  }
}

std::optional<std::string> get_opt(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) {
    return std::nullopt;
  }
  return std::string(v->as_string());
}

std::string get_str(const json::object& o, std::string_view key) {
  return get_opt(o, key).value_or(std::string());
}

std::optional<std::int64_t> get_int(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_int64()) {
    return std::nullopt;
  }
  return v->as_int64();
}

bool get_bool(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_bool() && v->as_bool();
}

json::object error_to_json(const VerificationError& e) {
  json::object o;
  o["code"] = core::code_id(e.code);  // a stable name, never the enum's number
  o["message"] = e.message;
  o["long_message"] = e.long_message;
  json::array meta;
  for (const auto& [k, v] : e.meta) {
    meta.push_back(json::array{json::string(k), json::string(v)});
  }
  o["meta"] = std::move(meta);
  return o;
}

VerificationError error_from_json(const json::object& o) {
  VerificationError e;
  if (auto name = get_opt(o, "code")) {
    e.code = core::code_from_id(*name).value_or(core::Code::kInternal);
  }
  e.message = get_str(o, "message");
  e.long_message = get_str(o, "long_message");
  if (const auto* m = o.if_contains("meta"); m != nullptr && m->is_array()) {
    for (const auto& pair : m->as_array()) {
      if (pair.is_array() && pair.as_array().size() == 2 && pair.as_array()[0].is_string() &&
          pair.as_array()[1].is_string()) {
        e.meta.emplace_back(std::string(pair.as_array()[0].as_string()),
                            std::string(pair.as_array()[1].as_string()));
      }
    }
  }
  return e;
}

json::object verification_to_json(const Verification& v) {
  json::object o;
  o["status"] = v.status;
  o["strategy"] = v.strategy;
  put_opt(o, "external_verification_redirect_url", v.external_verification_redirect_url);
  if (v.error) {
    o["error"] = error_to_json(*v.error);
  }
  if (v.expire_at_ms) {
    o["expire_at"] = *v.expire_at_ms;
  }
  put_opt(o, "code_mac", v.code_mac);
  o["attempts"] = v.attempts;
  if (v.sent_at_ms) {
    o["sent_at"] = *v.sent_at_ms;
  }
  put_opt(o, "email_address_id", v.email_address_id);
  put_opt(o, "link_redirect_url", v.link_redirect_url);
  return o;
}

json::object factor_to_json(const Factor& f) {
  return json::object{{"strategy", f.strategy},
                      {"safe_identifier", f.safe_identifier},
                      {"email_address_id", f.email_address_id},
                      {"email", f.email},
                      {"primary", f.primary}};
}

Factor factor_from_json(const json::object& o) {
  return Factor{get_str(o, "strategy"), get_str(o, "safe_identifier"),
                get_str(o, "email_address_id"), get_str(o, "email"), get_bool(o, "primary")};
}

Verification verification_from_json(const json::object& o) {
  Verification v;
  v.status = get_str(o, "status");
  v.strategy = get_str(o, "strategy");
  v.external_verification_redirect_url = get_opt(o, "external_verification_redirect_url");
  if (const auto* e = o.if_contains("error"); e != nullptr && e->is_object()) {
    v.error = error_from_json(e->as_object());
  }
  v.expire_at_ms = get_int(o, "expire_at");
  v.code_mac = get_opt(o, "code_mac");
  v.attempts = static_cast<int>(get_int(o, "attempts").value_or(0));
  v.sent_at_ms = get_int(o, "sent_at");
  v.email_address_id = get_opt(o, "email_address_id");
  v.link_redirect_url = get_opt(o, "link_redirect_url");
  return v;
}

json::object identity_to_json(const PendingIdentity& i) {
  return json::object{{"strategy", i.strategy},
                      {"provider", i.provider},
                      {"provider_user_id", i.provider_user_id},
                      {"email", i.email},
                      {"email_verified", i.email_verified},
                      {"first_name", i.first_name},
                      {"last_name", i.last_name},
                      {"image_url", i.image_url},
                      {"username", i.username},
                      {"approved_scopes", i.approved_scopes},
                      {"access_token_enc", i.access_token_enc},
                      {"refresh_token_enc", i.refresh_token_enc}};
}

PendingIdentity identity_from_json(const json::object& o) {
  PendingIdentity i;
  i.strategy = get_str(o, "strategy");
  i.provider = get_str(o, "provider");
  i.provider_user_id = get_str(o, "provider_user_id");
  i.email = get_str(o, "email");
  i.email_verified = get_bool(o, "email_verified");
  i.first_name = get_str(o, "first_name");
  i.last_name = get_str(o, "last_name");
  i.image_url = get_str(o, "image_url");
  i.username = get_str(o, "username");
  i.approved_scopes = get_str(o, "approved_scopes");
  i.access_token_enc = get_str(o, "access_token_enc");
  i.refresh_token_enc = get_str(o, "refresh_token_enc");
  return i;
}

core::Result<json::object> parse_object(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) {
    return core::fail(
        core::Error(core::Code::kInternal).with_internal("attempt data is not a JSON object"));
  }
  return std::move(v.as_object());
}

}  // namespace

std::string to_json(const SignInData& d) {
  json::object o;
  o["strategy"] = d.strategy;
  put_opt(o, "identifier", d.identifier);
  o["redirect_url"] = d.redirect_url;
  o["action_complete_redirect_url"] = d.action_complete_redirect_url;
  if (d.first_factor) {
    o["first_factor"] = verification_to_json(*d.first_factor);
  }
  if (d.identity) {
    o["identity"] = identity_to_json(*d.identity);
  }
  put_opt(o, "user_id", d.user_id);
  put_opt(o, "created_session_id", d.created_session_id);
  if (!d.factors.empty()) {
    json::array factors;
    for (const auto& f : d.factors) {
      factors.push_back(factor_to_json(f));
    }
    o["factors"] = std::move(factors);
  }
  if (!d.second_factors.empty()) {
    json::array strategies;
    for (const auto& s : d.second_factors) {
      strategies.emplace_back(s);
    }
    o["second_factors"] = std::move(strategies);
  }
  if (d.second_factor) {
    o["second_factor"] = verification_to_json(*d.second_factor);
  }
  if (d.user_data) {
    o["user_data"] = json::object{{"first_name", d.user_data->first_name},
                                  {"last_name", d.user_data->last_name},
                                  {"image_url", d.user_data->image_url}};
  }
  return json::serialize(o);
}

std::string to_json(const SignUpData& d) {
  json::object o;
  put_opt(o, "email_address", d.email_address);
  o["email_verified"] = d.email_verified;
  put_opt(o, "first_name", d.first_name);
  put_opt(o, "last_name", d.last_name);
  put_opt(o, "username", d.username);
  if (d.legal_accepted_at_ms) {
    o["legal_accepted_at"] = *d.legal_accepted_at_ms;
  }
  o["unsafe_metadata"] = d.unsafe_metadata;
  o["redirect_url"] = d.redirect_url;
  o["action_complete_redirect_url"] = d.action_complete_redirect_url;
  if (d.identity) {
    o["identity"] = identity_to_json(*d.identity);
  }
  if (d.external_account) {
    o["external_account"] = verification_to_json(*d.external_account);
  }
  put_opt(o, "created_session_id", d.created_session_id);
  put_opt(o, "created_user_id", d.created_user_id);
  put_opt(o, "password_digest", d.password_digest);
  if (d.email_verification) {
    o["email_verification"] = verification_to_json(*d.email_verification);
  }
  return json::serialize(o);
}

core::Result<SignInData> parse_sign_in_data(std::string_view text) {
  auto obj = parse_object(text);
  if (!obj) {
    return core::fail(obj.error());
  }
  const json::object& o = *obj;
  SignInData d;
  d.strategy = get_str(o, "strategy");
  d.identifier = get_opt(o, "identifier");
  d.redirect_url = get_str(o, "redirect_url");
  d.action_complete_redirect_url = get_str(o, "action_complete_redirect_url");
  if (const auto* v = o.if_contains("first_factor"); v != nullptr && v->is_object()) {
    d.first_factor = verification_from_json(v->as_object());
  }
  if (const auto* v = o.if_contains("identity"); v != nullptr && v->is_object()) {
    d.identity = identity_from_json(v->as_object());
  }
  d.user_id = get_opt(o, "user_id");
  d.created_session_id = get_opt(o, "created_session_id");
  if (const auto* v = o.if_contains("factors"); v != nullptr && v->is_array()) {
    for (const auto& f : v->as_array()) {
      if (f.is_object()) {
        d.factors.push_back(factor_from_json(f.as_object()));
      }
    }
  }
  if (const auto* v = o.if_contains("second_factors"); v != nullptr && v->is_array()) {
    for (const auto& s : v->as_array()) {
      if (s.is_string()) {
        d.second_factors.emplace_back(s.as_string());
      }
    }
  }
  if (const auto* v = o.if_contains("second_factor"); v != nullptr && v->is_object()) {
    d.second_factor = verification_from_json(v->as_object());
  }
  if (const auto* v = o.if_contains("user_data"); v != nullptr && v->is_object()) {
    const auto& u = v->as_object();
    d.user_data =
        UserData{get_str(u, "first_name"), get_str(u, "last_name"), get_str(u, "image_url")};
  }
  return d;
}

core::Result<SignUpData> parse_sign_up_data(std::string_view text) {
  auto obj = parse_object(text);
  if (!obj) {
    return core::fail(obj.error());
  }
  const json::object& o = *obj;
  SignUpData d;
  d.email_address = get_opt(o, "email_address");
  d.email_verified = get_bool(o, "email_verified");
  d.first_name = get_opt(o, "first_name");
  d.last_name = get_opt(o, "last_name");
  d.username = get_opt(o, "username");
  d.legal_accepted_at_ms = get_int(o, "legal_accepted_at");
  d.unsafe_metadata = get_opt(o, "unsafe_metadata").value_or("{}");
  d.redirect_url = get_str(o, "redirect_url");
  d.action_complete_redirect_url = get_str(o, "action_complete_redirect_url");
  if (const auto* v = o.if_contains("identity"); v != nullptr && v->is_object()) {
    d.identity = identity_from_json(v->as_object());
  }
  if (const auto* v = o.if_contains("external_account"); v != nullptr && v->is_object()) {
    d.external_account = verification_from_json(v->as_object());
  }
  d.created_session_id = get_opt(o, "created_session_id");
  d.created_user_id = get_opt(o, "created_user_id");
  d.password_digest = get_opt(o, "password_digest");
  if (const auto* v = o.if_contains("email_verification"); v != nullptr && v->is_object()) {
    d.email_verification = verification_from_json(v->as_object());
  }
  return d;
}

}  // namespace latchkey::flows
