#include "http/cookies.hpp"

#include "http/http_date.hpp"

namespace latchkey::http {
namespace {

// RFC 9110 §5.6.2 tchar.
bool is_tchar(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
    return true;
  }
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

bool is_token(std::string_view s) {
  if (s.empty()) {
    return false;
  }
  for (char c : s) {
    if (!is_tchar(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

// RFC 6265 §4.1.1 cookie-octet: %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E.
bool is_cookie_octet(unsigned char c) {
  return c == 0x21 || (c >= 0x23 && c <= 0x2B) || (c >= 0x2D && c <= 0x3A) ||
         (c >= 0x3C && c <= 0x5B) || (c >= 0x5D && c <= 0x7E);
}

bool is_ws(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_ws(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && is_ws(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

bool has_ctl(std::string_view s) {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) {
      return true;
    }
  }
  return false;
}

// Attribute values (Path, Domain) may hold anything but CTLs and ';' (RFC 6265 §4.1.1 av-octet).
bool valid_av(std::string_view s) { return !has_ctl(s) && s.find(';') == std::string_view::npos; }

// Calls fn(name, value) for each well-formed pair of one Cookie header, up to `max_cookies`
// pairs; fn returns false to stop early. No allocation.
template <typename Fn>
void for_each_cookie(std::string_view header, std::size_t max_cookies, Fn&& fn) {
  std::size_t pos = 0;
  std::size_t count = 0;
  while (pos < header.size() && count < max_cookies) {
    std::size_t semi = header.find(';', pos);
    if (semi == std::string_view::npos) {
      semi = header.size();
    }
    std::string_view pair = trim(header.substr(pos, semi - pos));
    pos = semi + 1;
    std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos) {
      continue;
    }
    std::string_view name = trim(pair.substr(0, eq));
    std::string_view value = trim(pair.substr(eq + 1));
    if (!is_token(name)) {
      continue;
    }
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (has_ctl(value)) {
      continue;
    }
    ++count;
    if (!fn(name, value)) {
      return;
    }
  }
}

constexpr std::size_t kDefaultMaxCookies = 64;

}  // namespace

std::vector<Cookie> parse_cookies(std::string_view header, std::size_t max_cookies) {
  std::vector<Cookie> out;
  for_each_cookie(header, max_cookies, [&](std::string_view name, std::string_view value) {
    out.push_back(Cookie{std::string(name), std::string(value)});
    return true;
  });
  return out;
}

std::optional<std::string> find_cookie(const Request& req, std::string_view name) {
  // The same pairs parse_cookies(h.value) returns, without building them.
  for (const auto& h : req.headers) {
    if (h.name != "cookie") {
      continue;
    }
    std::optional<std::string> found;
    for_each_cookie(h.value, kDefaultMaxCookies, [&](std::string_view n, std::string_view v) {
      if (n == name) {
        found.emplace(v);
        return false;
      }
      return true;
    });
    if (found) {
      return found;
    }
  }
  return std::nullopt;
}

CookieMatch match_cookie(const Request& req, std::string_view name) {
  CookieMatch m;
  for (const auto& h : req.headers) {
    if (h.name != "cookie") {
      continue;
    }
    for_each_cookie(h.value, kDefaultMaxCookies, [&](std::string_view n, std::string_view v) {
      if (n == name) {
        if (m.count++ == 0) {
          m.first.emplace(v);
        }
      }
      return true;
    });
  }
  return m;
}

core::Result<std::string> SetCookie::to_string() const {
  if (!is_token(name)) {
    return core::fail(core::Error(core::Code::kInternal).with_internal("set-cookie: bad name"));
  }
  for (char c : value) {
    if (!is_cookie_octet(static_cast<unsigned char>(c))) {
      return core::fail(core::Error(core::Code::kInternal)
                            .with_internal("set-cookie: value outside cookie-octet for " + name));
    }
  }
  if (!valid_av(path) || !valid_av(domain)) {
    return core::fail(core::Error(core::Code::kInternal)
                          .with_internal("set-cookie: bad path/domain for " + name));
  }
  if ((same_site == SameSite::kNone || partitioned) && !secure) {
    return core::fail(core::Error(core::Code::kInternal)
                          .with_internal("set-cookie: SameSite=None/Partitioned need Secure"));
  }
  std::string out;
  out.reserve(name.size() + value.size() + 96);
  out += name;
  out += '=';
  out += value;
  if (!path.empty()) {
    out += "; Path=";
    out += path;
  }
  if (!domain.empty()) {
    out += "; Domain=";
    out += domain;
  }
  if (max_age) {
    long long s = max_age->count();
    out += "; Max-Age=";
    out += std::to_string(s < 0 ? 0 : s);
  }
  if (expires) {
    out += "; Expires=";
    out += format_http_date(*expires);
  }
  if (http_only) {
    out += "; HttpOnly";
  }
  if (secure) {
    out += "; Secure";
  }
  switch (same_site) {
    case SameSite::kLax:
      out += "; SameSite=Lax";
      break;
    case SameSite::kStrict:
      out += "; SameSite=Strict";
      break;
    case SameSite::kNone:
      out += "; SameSite=None";
      break;
    case SameSite::kUnset:
      break;
  }
  if (partitioned) {
    out += "; Partitioned";
  }
  return out;
}

SetCookie SetCookie::removal(std::string name, std::string path) {
  SetCookie c;
  c.name = std::move(name);
  c.path = std::move(path);
  c.max_age = std::chrono::seconds(0);
  c.expires = std::chrono::system_clock::time_point{};
  return c;
}

}  // namespace latchkey::http
