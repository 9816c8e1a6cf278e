// The server's plain wire helpers (detail/wire.hpp); no Beast/Asio.
#include "http/detail/wire.hpp"

#include <charconv>
#include <functional>
#include <random>
#include <thread>

namespace latchkey::http::detail {

bool valid_request_id(std::string_view s) {
  if (s.empty() || s.size() > 64) {
    return false;
  }
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) {
      return false;
    }
  }
  return true;
}

void generate_request_id(std::string& out) {
  thread_local std::mt19937_64 rng{[] {
    std::random_device rd;
    return (static_cast<std::uint64_t>(rd()) << 32) ^ rd() ^
           static_cast<std::uint64_t>(std::hash<std::thread::id>{}(std::this_thread::get_id()));
  }()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::uint64_t v = rng();
  out.resize(16);
  for (std::size_t i = 0; i < 16; ++i) {
    out[i] = kHex[(v >> (i * 4)) & 0xF];
  }
}

void ascii_lower_assign(std::string& out, std::string_view in) {
  out.resize(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    out[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    x = (x >= 'A' && x <= 'Z') ? static_cast<char>(x - 'A' + 'a') : x;
    y = (y >= 'A' && y <= 'Z') ? static_cast<char>(y - 'A' + 'a') : y;
    if (x != y) {
      return false;
    }
  }
  return true;
}

bool tchar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// RFC 9110 §5.1: field-name = token.
bool valid_header_name(std::string_view s) {
  if (s.empty()) {
    return false;
  }
  for (char c : s) {
    if (!tchar(c)) {
      return false;
    }
  }
  return true;
}

// RFC 9110 §5.5: CR, LF and NUL are never allowed in a field value (response splitting, K5).
bool valid_header_value(std::string_view s) {
  for (char c : s) {
    if (c == '\r' || c == '\n' || c == '\0') {
      return false;
    }
  }
  return true;
}

HeadScan scan_head(std::string_view data, std::size_t limit) {
  const std::string_view window = data.substr(0, limit);
  // RFC 9112 §3: request-line = method SP request-target SP HTTP-version; method = token.
  // Anything else (a TLS hello, garbage) is refused now instead of waiting for an empty line.
  std::size_t method_end = 0;
  while (method_end < window.size() && window[method_end] != ' ') {
    if (!tchar(window[method_end])) {
      return HeadScan::kMalformed;
    }
    ++method_end;
  }
  if (method_end == 0 && !window.empty()) {
    return HeadScan::kMalformed;
  }
  const std::size_t end = window.find("\r\n\r\n");
  const std::string_view head = end == std::string_view::npos ? window : window.substr(0, end + 2);
  for (std::size_t lf = head.find('\n'); lf != std::string_view::npos;
       lf = head.find('\n', lf + 1)) {
    // RFC 9112 §2.2: lines end with CRLF. A bare LF is refused (Beast refuses it as well).
    if (lf == 0 || head[lf - 1] != '\r') {
      return HeadScan::kMalformed;
    }
    // RFC 9112 §5.2: a line that starts with SP or HTAB is obs-fold (or, after the request line,
    // §2.2 whitespace before the first field): refused with 400, never unfolded.
    if (lf + 1 < head.size() && (head[lf + 1] == ' ' || head[lf + 1] == '\t')) {
      return HeadScan::kObsFold;
    }
  }
  if (end != std::string_view::npos) {
    return HeadScan::kComplete;
  }
  if (data.size() >= limit) {
    // RFC 9112 §3: a request line longer than we parse is 414; a longer head is 431 (RFC 6585
    // §5).
    return window.find("\r\n") == std::string_view::npos ? HeadScan::kLineTooLong
                                                         : HeadScan::kTooLarge;
  }
  return HeadScan::kNeedMore;
}

core::Error head_error(HeadScan scan) {
  switch (scan) {
    case HeadScan::kObsFold:
      return core::Error(core::Code::kMalformedRequest, "obsolete line folding in request head");
    case HeadScan::kTooLarge:
      return core::Error(core::Code::kRequestHeadersTooLarge, "request headers too large");
    case HeadScan::kLineTooLong:
      return core::Error(core::Code::kRequestLineTooLong, "request line too long");
    default:
      return core::Error(core::Code::kMalformedRequest, "malformed HTTP request");
  }
}

bool server_owned_header(std::string_view name) {
  return iequals(name, "content-length") || iequals(name, "transfer-encoding") ||
         iequals(name, "connection") || iequals(name, "date") || iequals(name, "server") ||
         iequals(name, "x-request-id") || iequals(name, "keep-alive");
}

void append_decimal(std::string& out, std::uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  out.append(buf, end);
}

}  // namespace latchkey::http::detail
