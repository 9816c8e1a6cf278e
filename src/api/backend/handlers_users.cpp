// The Backend API's users (docs/backend-api.md): decode, call flows::BackendUsers, encode.
#include <string>
#include <utility>
#include <vector>

#include "api/backend/common.hpp"

namespace latchkey::api {
namespace json = boost::json;
using backend::bool_member;
using backend::int_param;
using backend::json_body;
using backend::object_member;
using backend::string_member;
using backend::user_response;
using core::Code;
using core::Error;
using http::Response;

namespace {

flows::BackendUsers& users(Call& call) { return call.ctx.backend->users; }
std::string id_of(const Call& call) { return std::string(call.req.param("id")); }

// getUserList / getCount: the filters @clerk/backend sends (snake_cased; a filter given twice is
// refused by the pipeline: one value per filter for now).
core::Result<store::UserQuery> user_query(const Call& call, bool paged) {
  store::UserQuery q;
  const auto& f = call.query;
  if (paged) {
    auto limit = int_param(f, "limit", 10, 1, 500);
    if (!limit) {
      return core::fail(std::move(limit.error()));
    }
    auto offset = int_param(f, "offset", 0, 0, INT64_MAX / 2);
    if (!offset) {
      return core::fail(std::move(offset.error()));
    }
    q.limit = *limit;
    q.offset = *offset;
    if (const auto order = http::find_field(f, "order_by")) {
      std::string_view o = *order;
      q.ascending = !o.starts_with('-');
      if (o.starts_with('-') || o.starts_with('+')) {
        o.remove_prefix(1);
      }
      if (o == "updated_at") {
        q.by_updated_at = true;
      } else if (o != "created_at") {
        return core::fail(Error(Code::kFormParamInvalid).with_meta("param_name", "order_by"));
      }
    }
  }
  q.user_id = std::string(http::find_field(f, "user_id").value_or(""));
  q.email_address = std::string(http::find_field(f, "email_address").value_or(""));
  q.query = std::string(http::find_field(f, "query").value_or(""));
  return q;
}

// No user has a phone number, a web3 wallet or an external id yet: such a filter matches none.
bool matches_nothing(const Call& call) {
  for (const char* k : {"phone_number", "web3_wallet", "external_id"}) {
    if (http::find_field(call.query, k)) {
      return true;
    }
  }
  return false;
}

core::Result<flows::UserParams> user_params(const json::object& body, bool create) {
  flows::UserParams p;
  if (create) {
    if (const auto* emails = body.if_contains("email_address"); emails != nullptr) {
      if (!emails->is_array()) {
        return core::fail(Error(Code::kFormParamInvalid).with_meta("param_name", "email_address"));
      }
      for (const auto& e : emails->as_array()) {
        if (!e.is_string()) {
          return core::fail(
              Error(Code::kFormParamInvalid).with_meta("param_name", "email_address"));
        }
        p.email_addresses.emplace_back(e.as_string());
      }
    }
  }
  for (auto [key, out] : {std::pair{"first_name", &p.first_name},
                          std::pair{"last_name", &p.last_name}, std::pair{"username", &p.username},
                          std::pair{"primary_email_address_id", &p.primary_email_address_id}}) {
    auto v = string_member(body, key);
    if (!v) {
      return core::fail(std::move(v.error()));
    }
    *out = std::move(*v);
  }
  auto password = string_member(body, "password");
  if (!password) {
    return core::fail(std::move(password.error()));
  }
  if (*password) {
    p.password = core::Secret(std::move(**password));
  }
  auto skip = bool_member(body, "skip_password_checks", false);
  if (!skip) {
    return core::fail(std::move(skip.error()));
  }
  p.skip_password_checks = *skip;
  for (auto [key, out] : {std::pair{"public_metadata", &p.public_metadata},
                          std::pair{"private_metadata", &p.private_metadata},
                          std::pair{"unsafe_metadata", &p.unsafe_metadata}}) {
    auto v = object_member(body, key);
    if (!v) {
      return core::fail(std::move(v.error()));
    }
    *out = std::move(*v);
  }
  return p;
}

Response answer_user(Call& call, const core::Result<flows::UserView>& r) {
  if (!r) {
    return call.error(r.error());
  }
  return user_response(call, *r);
}

}  // namespace

Response bapi_list_users(Call& call) {
  auto q = user_query(call, true);
  if (!q) {
    return call.error(q.error());
  }
  std::vector<flows::UserView> list;
  if (!matches_nothing(call)) {
    auto r = users(call).list(*q);
    if (!r) {
      return call.error(r.error());
    }
    list = std::move(*r);
  }
  // A bare array: @clerk/backend asks /v1/users/count for the total itself (part2 §9.2).
  std::string body = call.body_storage();
  dto::JsonWriter w(body);
  const dto::BackendUser extras{call.ctx.flows.deps.clock.now_ms()};
  w.begin_array();
  for (const auto& u : list) {
    dto::write_user(w, u, &extras);
  }
  w.end_array();
  return json_response(200, std::move(body));
}

Response bapi_count_users(Call& call) {
  auto q = user_query(call, false);
  if (!q) {
    return call.error(q.error());
  }
  std::int64_t n = 0;
  if (!matches_nothing(call)) {
    auto r = users(call).count(*q);
    if (!r) {
      return call.error(r.error());
    }
    n = *r;
  }
  return json_response(200, R"({"object":"total_count","total_count":)" + std::to_string(n) + "}");
}

Response bapi_get_user(Call& call) { return answer_user(call, users(call).get(id_of(call))); }

Response bapi_create_user(Call& call) {
  auto body = json_body(call.req);
  if (!body) {
    return call.error(body.error());
  }
  auto p = user_params(*body, true);
  if (!p) {
    return call.error(p.error());
  }
  return answer_user(call, users(call).create(*p));
}

Response bapi_update_user(Call& call) {
  auto body = json_body(call.req);
  if (!body) {
    return call.error(body.error());
  }
  auto p = user_params(*body, false);
  if (!p) {
    return call.error(p.error());
  }
  return answer_user(call, users(call).update(id_of(call), *p));
}

Response bapi_delete_user(Call& call) {
  const std::string id = id_of(call);
  if (auto st = users(call).remove(id); !st) {
    return call.error(st.error());
  }
  return backend::deleted_response(call, "user", id);
}

namespace {

Response metadata(Call& call, bool merge) {
  auto body = json_body(call.req);
  if (!body) {
    return call.error(body.error());
  }
  flows::MetadataPatch patch;
  for (auto [key, out] : {std::pair{"public_metadata", &patch.public_metadata},
                          std::pair{"private_metadata", &patch.private_metadata},
                          std::pair{"unsafe_metadata", &patch.unsafe_metadata}}) {
    auto v = object_member(*body, key);
    if (!v) {
      return call.error(v.error());
    }
    *out = std::move(*v);
  }
  if (merge) {
    return answer_user(call, users(call).merge_metadata(id_of(call), patch));
  }
  flows::UserParams p;
  p.public_metadata = patch.public_metadata;
  p.private_metadata = patch.private_metadata;
  p.unsafe_metadata = patch.unsafe_metadata;
  return answer_user(call, users(call).update(id_of(call), p));
}

}  // namespace

Response bapi_merge_user_metadata(Call& call) { return metadata(call, true); }
Response bapi_replace_user_metadata(Call& call) { return metadata(call, false); }

Response bapi_ban_user(Call& call) {
  return answer_user(call, users(call).set_banned(id_of(call), true));
}
Response bapi_unban_user(Call& call) {
  return answer_user(call, users(call).set_banned(id_of(call), false));
}
Response bapi_lock_user(Call& call) {
  return answer_user(call, users(call).set_locked(id_of(call), true));
}
Response bapi_unlock_user(Call& call) {
  return answer_user(call, users(call).set_locked(id_of(call), false));
}

Response bapi_set_password_compromised(Call& call) {
  auto body = json_body(call.req);
  if (!body) {
    return call.error(body.error());
  }
  auto revoke = bool_member(*body, "revoke_all_sessions", false);
  if (!revoke) {
    return call.error(revoke.error());
  }
  return answer_user(call, users(call).set_password_compromised(id_of(call), true, *revoke));
}
Response bapi_unset_password_compromised(Call& call) {
  return answer_user(call, users(call).set_password_compromised(id_of(call), false, false));
}

Response bapi_verify_password(Call& call) {
  auto body = json_body(call.req);
  if (!body) {
    return call.error(body.error());
  }
  auto password = string_member(*body, "password");
  if (!password) {
    return call.error(password.error());
  }
  if (!*password) {
    return call.error(Error(Code::kFormParamMissing).with_meta("param_name", "password"));
  }
  if (auto st = users(call).verify_password(id_of(call), core::Secret(std::move(**password)));
      !st) {
    return call.error(st.error());
  }
  return json_response(200, R"({"verified":true})");
}

Response bapi_disable_mfa(Call& call) {
  auto u = users(call).disable_mfa(id_of(call));
  if (!u) {
    return call.error(u.error());
  }
  return json_response(200, R"({"user_id":")" + u->user.id + R"("})");
}

// ---- email addresses (emailAddresses.*) ------------------------------------------------------

namespace {

Response email_response(Call& call, const core::Result<flows::EmailView>& e) {
  if (!e) {
    return call.error(e.error());
  }
  std::string body = call.body_storage();
  dto::JsonWriter w(body);
  dto::write_email_address(w, e->email, e->accounts);
  return json_response(200, std::move(body));
}

core::Result<std::optional<bool>> optional_bool(const json::object& body, std::string_view key) {
  const auto* v = body.if_contains(key);
  if (v == nullptr || v->is_null()) {
    return std::optional<bool>();
  }
  if (!v->is_bool()) {
    return core::fail(Error(Code::kFormParamInvalid).with_meta("param_name", std::string(key)));
  }
  return std::optional<bool>(v->as_bool());
}

}  // namespace

Response bapi_email_get(Call& call) {
  return email_response(call, call.ctx.backend->emails.get(std::string(call.req.param("id"))));
}

Response bapi_email_create(Call& call) {
  auto body = json_body(call.req);
  if (!body) {
    return call.error(body.error());
  }
  flows::NewEmailParams p;
  for (auto [key, out] :
       {std::pair{"user_id", &p.user_id}, std::pair{"email_address", &p.email_address}}) {
    auto v = string_member(*body, key);
    if (!v) {
      return call.error(v.error());
    }
    if (!*v) {
      return call.error(Error(Code::kFormParamMissing).with_meta("param_name", key));
    }
    *out = std::move(**v);
  }
  auto verified = optional_bool(*body, "verified");
  if (!verified) {
    return call.error(verified.error());
  }
  auto primary = optional_bool(*body, "primary");
  if (!primary) {
    return call.error(primary.error());
  }
  p.verified = verified->value_or(false);
  p.primary = *primary;
  return email_response(call, call.ctx.backend->emails.create(p));
}

Response bapi_email_update(Call& call) {
  auto body = json_body(call.req);
  if (!body) {
    return call.error(body.error());
  }
  flows::EmailPatch patch;
  auto verified = optional_bool(*body, "verified");
  if (!verified) {
    return call.error(verified.error());
  }
  auto primary = optional_bool(*body, "primary");
  if (!primary) {
    return call.error(primary.error());
  }
  patch.verified = *verified;
  patch.primary = *primary;
  return email_response(call,
                        call.ctx.backend->emails.update(std::string(call.req.param("id")), patch));
}

Response bapi_email_delete(Call& call) {
  const std::string id(call.req.param("id"));
  if (auto st = call.ctx.backend->emails.remove(id); !st) {
    return call.error(st.error());
  }
  return backend::deleted_response(call, "email_address", id);
}

}  // namespace latchkey::api
