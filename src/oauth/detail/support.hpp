#pragma once
// Internal to oauth/: the small helpers its parts share - errors with their log text, provider
// text made safe for logs, and reading JSON members the way every provider response is read.
#include <boost/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace latchkey::oauth::detail {

// A failure the client sees as `code`; `internal` is what the log says.
core::Error err(core::Code code, std::string internal);
// A failure with a typed reason (core/reason.hpp); `internal` names it again for the log.
core::Error err(core::Code code, core::Reason reason, std::string internal);

// Provider-controlled text going to logs: truncated, control characters replaced (no log
// injection, catalog H14).
std::string sanitize(std::string_view text);

std::string join(const std::vector<std::string>& parts, char sep);

// The string member `key` of `o`, "" when absent or not a string.
std::string str(const boost::json::object& o, std::string_view key);

// catalog A33: only boolean true, or the string "true" (Apple), means verified.
bool verified_flag(const boost::json::object& o, std::string_view key);

// `body` as a JSON object, or `code` naming `what` is not one.
core::Result<boost::json::object> parse_object(std::string_view body, core::Code code,
                                               std::string_view what);

// ASCII case-insensitive equality.
bool iequals(std::string_view a, std::string_view b);

}  // namespace latchkey::oauth::detail
