#pragma once
// Cookie header parsing (RFC 6265 §4.2, §5.4) and a Set-Cookie builder (RFC 6265 §4.1,
// RFC 6265bis for SameSite). Parsing never throws on bad input: malformed pairs are skipped.
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "http/message.hpp"

namespace latchkey::http {

struct Cookie {
  std::string name;
  std::string value;  // surrounding DQUOTEs removed; otherwise as sent (no percent-decoding)
};

// Parses one Cookie header value ("a=1; b=2"). Tolerates extra spaces/tabs; skips pairs without
// '=', with an empty or non-token name, or with control characters in the value. At most
// `max_cookies` are returned (the rest ignored). Duplicate names are kept in order.
[[nodiscard]] std::vector<Cookie> parse_cookies(std::string_view header,
                                                std::size_t max_cookies = 64);

// The first cookie called `name` across all Cookie headers of `req`.
[[nodiscard]] std::optional<std::string> find_cookie(const Request& req, std::string_view name);

// The first cookie called `name` and how many cookies of that name the request carries, across
// all Cookie headers (a browser sends one per stored (domain, path) variant; more than one means
// somebody else set a variant too).
struct CookieMatch {
  std::optional<std::string> first;
  std::size_t count = 0;
};
[[nodiscard]] CookieMatch match_cookie(const Request& req, std::string_view name);

enum class SameSite { kUnset, kLax, kStrict, kNone };

struct SetCookie {
  std::string name;
  std::string value;
  std::string path = "/";
  std::string domain;                           // empty = host-only
  std::optional<std::chrono::seconds> max_age;  // Max-Age (negative treated as 0)
  std::optional<std::chrono::system_clock::time_point> expires;
  bool http_only = false;
  bool secure = false;
  SameSite same_site = SameSite::kUnset;
  bool partitioned = false;  // CHIPS; requires Secure

  // The header value. Fails (kInternal: a programming error, never user input reaching here
  // unchecked) when the name is not an RFC 7230 token, the value has bytes outside cookie-octet,
  // path/domain contain ';' or control characters, or SameSite=None / Partitioned lack Secure.
  // So a CR/LF can never reach a response header (security catalog K5).
  [[nodiscard]] core::Result<std::string> to_string() const;

  // A cookie that deletes `name` (empty value, Max-Age=0, Expires in 1970). Set Domain, Secure,
  // SameSite as on the cookie being deleted.
  [[nodiscard]] static SetCookie removal(std::string name, std::string path = "/");
};

}  // namespace latchkey::http
