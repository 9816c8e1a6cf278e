#include "api/errors.hpp"

#include <boost/json.hpp>

#include <utility>

namespace latchkey::api {
namespace {

boost::json::object error_object(const core::Error& error) {
  const ErrorInfo& info = error_info(error.code);
  boost::json::object meta;
  for (const auto& [k, v] : error.meta) {
    meta[k] = v;
  }
  boost::json::object o;
  o["code"] = info.wire_code;
  o["message"] = error.message.empty() ? info.message : std::string_view(error.message);
  o["long_message"] =
      error.long_message.empty() ? info.long_message : std::string_view(error.long_message);
  o["meta"] = std::move(meta);
  return o;
}

}  // namespace

std::string error_json(const core::Error& error) {
  return boost::json::serialize(error_object(error));
}

http::Response error_response(const core::Error& error, std::string_view request_id) {
  boost::json::object body;
  boost::json::array errors;
  errors.emplace_back(error_object(error));
  body["errors"] = std::move(errors);
  if (!request_id.empty()) {
    body["clerk_trace_id"] = request_id;
  }
  http::Response r;
  r.status = error_info(error.code).status;
  r.set("content-type", "application/json");
  r.set("cache-control", "no-store");
  if (error.code == core::Code::kTooManyRequests) {
    if (const auto* retry = error.find_meta("retry_after_seconds")) {
      r.set("retry-after", *retry);
    }
  }
  r.body = boost::json::serialize(body);
  return r;
}

}  // namespace latchkey::api
