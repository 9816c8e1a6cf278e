#pragma once
// Logging set-up (spdlog) and the access log: one line per request, JSON by default.
// The access log never contains the query string: queries carry OAuth codes and states.
#include <cstddef>
#include <iosfwd>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace latchkey::core {

enum class LogFormat { kJson, kText };

// Configures spdlog's default logger and the "access" logger. `level`: trace, debug, info, warn,
// error, critical, off. `format`: json | text. `out` null = stdout (tests pass a stream).
// Call at start-up, before any server runs. JSON lines are
// {"ts":"2025-01-01T00:00:00.000Z","level":"info","logger":"latchkey","msg":"..."} with the
// message JSON-escaped, so any spdlog::info(...) call anywhere yields valid JSON.
// Errors: kInternal with a message naming the bad value.
core::Status init_logging(std::string_view level, std::string_view format,
                          std::ostream* out = nullptr);

// Turns the access log on or off (default on).
void set_access_log_enabled(bool enabled);
[[nodiscard]] bool access_log_enabled();

struct AccessRecord {
  std::string_view request_id;
  std::string_view method;
  std::string_view route;  // route name (bounded), "unmatched" or "invalid"
  std::string_view path;   // decoded path, NO query
  int status = 0;
  std::size_t bytes = 0;  // response body bytes
  double duration_ms = 0;
  std::string_view remote;
};

// Writes one access line through the "access" logger (initialising defaults if needed).
void log_access(const AccessRecord& record);

// The fields of a JSON access line (without braces/ts/level, which the logger pattern adds):
// "request_id":"...","method":"GET",... Exposed for tests.
[[nodiscard]] std::string format_access_json_fields(const AccessRecord& record);
[[nodiscard]] std::string format_access_text(const AccessRecord& record);

// JSON string escaping (RFC 8259 §7): quotes, backslash, control characters as \uXXXX; bytes
// that are not valid UTF-8 become U+FFFD so every line stays valid JSON.
void append_json_escaped(std::string& out, std::string_view s);
[[nodiscard]] std::string json_escape(std::string_view s);

}  // namespace latchkey::core
