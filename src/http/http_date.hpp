#pragma once
// IMF-fixdate (RFC 9110 §5.6.7): "Sun, 06 Nov 1994 08:49:37 GMT", for Date, Expires, Last-Modified.
#include <chrono>
#include <string>

namespace latchkey::http {

[[nodiscard]] std::string format_http_date(std::chrono::system_clock::time_point t);
// Writes exactly 29 characters into `out` (no NUL terminator).
void format_http_date(std::chrono::system_clock::time_point t, char out[29]);

}  // namespace latchkey::http
