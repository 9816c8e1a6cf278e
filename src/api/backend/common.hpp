#pragma once
// Internal to api/backend/: decoding the Backend API's JSON bodies and query strings, and its
// answers (bare resources, Content-Type exactly application/json: part2 §9.2).
#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "api/context.hpp"
#include "api/handlers.hpp"
#include "core/error.hpp"
#include "core/secret.hpp"

namespace latchkey::api::backend {

// The body as a JSON object ({} when empty); 422 form_param_format_invalid otherwise.
core::Result<boost::json::object> json_body(const http::Request& req);

// A string member (null or absent = nullopt); a member of another type is 422 naming it.
core::Result<std::optional<std::string>> string_member(const boost::json::object& o,
                                                       std::string_view key);
// A boolean member, `fallback` when absent.
core::Result<bool> bool_member(const boost::json::object& o, std::string_view key, bool fallback);
// An object member as JSON text (absent = nullopt; null = "{}").
core::Result<std::optional<std::string>> object_member(const boost::json::object& o,
                                                       std::string_view key);
// An integer query parameter in [min, max], `fallback` when absent.
core::Result<std::int64_t> int_param(const http::Fields& query, std::string_view key,
                                     std::int64_t fallback, std::int64_t min, std::int64_t max);

// A bare resource: 200 (or `status`), application/json.
http::Response resource(Call& call, const std::string& body, int status = 200);
// The user as @clerk/backend's User.fromJSON reads it.
http::Response user_response(Call& call, const flows::UserView& user);
// {"object":"user","id":...,"deleted":true} (DeletedObject).
http::Response deleted_response(Call& call, std::string_view object, const std::string& id);

}  // namespace latchkey::api::backend
