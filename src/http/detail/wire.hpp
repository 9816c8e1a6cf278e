#pragma once
// The server's plain helpers for the HTTP/1.1 wire (RFC 9110/9112): token and field checks, the
// raw request-head scan, request ids. No Beast/Asio here; private to http/ (cmake/layers.txt).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace latchkey::http::detail {

[[nodiscard]] bool valid_request_id(std::string_view s);

// Request ids are correlation handles, not secrets: a per-thread fast PRNG is enough.
void generate_request_id(std::string& out);

void ascii_lower_assign(std::string& out, std::string_view in);

[[nodiscard]] bool iequals(std::string_view a, std::string_view b);

// RFC 9110 §5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_"
// / "`" / "|" / "~" / DIGIT / ALPHA.
[[nodiscard]] bool tchar(char c);

// RFC 9110 §5.1: field-name = token.
[[nodiscard]] bool valid_header_name(std::string_view s);

// RFC 9110 §5.5: CR, LF and NUL are never allowed in a field value (response splitting, K5).
[[nodiscard]] bool valid_header_value(std::string_view s);

enum class HeadScan { kNeedMore, kComplete, kMalformed, kObsFold, kTooLarge, kLineTooLong };

// Looks at the raw request head (the connection's unparsed bytes) before Beast parses it. Beast
// unfolds obs-fold silently: "Transfer-Encoding:\r\n chunked" is chunked to it, while a proxy in
// front may see an empty Transfer-Encoding and a stray line. Only the raw bytes show the fold.
// kComplete: the request line, the fields and the empty line are buffered, within `limit`.
[[nodiscard]] HeadScan scan_head(std::string_view data, std::size_t limit);

[[nodiscard]] core::Error head_error(HeadScan scan);

// Headers the server owns; a handler's copy is dropped (any letter case).
[[nodiscard]] bool server_owned_header(std::string_view name);

void append_decimal(std::string& out, std::uint64_t v);

[[nodiscard]] inline bool status_without_body(int status) {
  return (status >= 100 && status < 200) || status == 204 || status == 304;
}

}  // namespace latchkey::http::detail
