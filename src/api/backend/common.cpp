// The Backend API's decoding and answers (api/backend/common.hpp).
#include "api/backend/common.hpp"

#include <charconv>
#include <utility>

namespace latchkey::api::backend {
namespace json = boost::json;
using core::Code;
using core::Error;
using core::fail;

namespace {

Error invalid(std::string_view param) {
  return Error(Code::kFormParamInvalid).with_meta("param_name", std::string(param));
}

}  // namespace

core::Result<json::object> json_body(const http::Request& req) {
  if (req.body.empty()) {
    return json::object{};
  }
  boost::system::error_code ec;
  json::value v = json::parse(req.body, ec);
  if (ec || !v.is_object()) {
    return fail(Error(Code::kMalformedRequest, "The request body is not a JSON object")
                    .with_internal("backend api: body is not a JSON object"));
  }
  return std::move(v.as_object());
}

core::Result<std::optional<std::string>> string_member(const json::object& o,
                                                       std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) {
    return std::optional<std::string>();
  }
  if (!v->is_string()) {
    return fail(invalid(key));
  }
  return std::optional<std::string>(std::string(v->as_string()));
}

core::Result<bool> bool_member(const json::object& o, std::string_view key, bool fallback) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) {
    return fallback;
  }
  if (!v->is_bool()) {
    return fail(invalid(key));
  }
  return v->as_bool();
}

core::Result<std::optional<std::string>> object_member(const json::object& o,
                                                       std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) {
    return std::optional<std::string>();
  }
  if (v->is_null()) {
    return std::optional<std::string>("{}");
  }
  if (!v->is_object()) {
    return fail(invalid(key));
  }
  return std::optional<std::string>(json::serialize(*v));
}

core::Result<std::int64_t> int_param(const http::Fields& query, std::string_view key,
                                     std::int64_t fallback, std::int64_t min, std::int64_t max) {
  const auto v = http::find_field(query, key);
  if (!v) {
    return fallback;
  }
  std::int64_t n = 0;
  const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || end != v->data() + v->size() || n < min || n > max) {
    return fail(invalid(key));
  }
  return n;
}

http::Response resource(Call& call, const std::string& body, int status) {
  (void)call;
  return json_response(status, body);
}

http::Response user_response(Call& call, const flows::UserView& user) {
  std::string body = call.body_storage();
  dto::JsonWriter w(body);
  const dto::BackendUser extras{call.ctx.flows.deps.clock.now_ms()};
  dto::write_user(w, user, &extras);
  return json_response(200, std::move(body));
}

http::Response deleted_response(Call& call, std::string_view object, const std::string& id) {
  std::string body = call.body_storage();
  dto::JsonWriter w(body);
  w.begin_object();
  w.field("object", object);
  w.field("id", id);
  w.field("deleted", true);
  w.end_object();
  return json_response(200, std::move(body));
}

}  // namespace latchkey::api::backend
