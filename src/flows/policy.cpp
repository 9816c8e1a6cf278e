#include "flows/policy.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <algorithm>
#include <cctype>

namespace latchkey::flows {
namespace {

bool has_control_or_space(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7F || c == ' ' || c == '\\';
  });
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string origin_of(const boost::urls::url_view& u) {
  std::string o = lower(u.scheme()) + "://" + lower(u.encoded_host());
  if (u.has_port()) {
    const bool default_port = (u.scheme_id() == boost::urls::scheme::http && u.port() == "80") ||
                              (u.scheme_id() == boost::urls::scheme::https && u.port() == "443");
    if (!default_port) {
      o += ":" + std::string(u.port());
    }
  }
  return o;
}

bool valid_utf8_no_controls(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7F) {
      return false;
    }
    std::size_t len = c < 0x80           ? 1
                      : (c >> 5) == 0x6  ? 2
                      : (c >> 4) == 0xE  ? 3
                      : (c >> 3) == 0x1E ? 4
                                         : 0;
    if (len == 0 || i + len > s.size()) {
      return false;
    }
    for (std::size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) {
        return false;
      }
    }
    i += len;
  }
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

// What the URL means once percent-decoded must be clean too: an encoded CR/LF/NUL
// ("%0d%0aSet-Cookie:") or an overlong / invalid UTF-8 sequence ("%C0%AF" = "/") is refused, not
// forwarded to a browser or a header (catalog C10, C15, K4, K5).
bool decoded_is_clean(std::string_view s) {
  std::string bytes;
  bytes.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) {
        return false;
      }
      const int hi = hex_value(s[i + 1]);
      const int lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) {
        return false;
      }
      bytes.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      bytes.push_back(s[i]);
    }
  }
  std::size_t i = 0;
  while (i < bytes.size()) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c < 0x20 || c == 0x7F) {
      return false;
    }
    std::size_t len = c < 0x80                   ? 1
                      : (c >= 0xC2 && c <= 0xDF) ? 2
                      : (c >= 0xE0 && c <= 0xEF) ? 3
                      : (c >= 0xF0 && c <= 0xF4) ? 4
                                                 : 0;
    if (len == 0 || i + len > bytes.size()) {
      return false;
    }
    for (std::size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(bytes[i + k]) & 0xC0) != 0x80) {
        return false;
      }
    }
    const auto c1 = len > 1 ? static_cast<unsigned char>(bytes[i + 1]) : 0;
    if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 >= 0xA0) || (c == 0xF0 && c1 < 0x90) ||
        (c == 0xF4 && c1 >= 0x90)) {
      return false;  // overlong, surrogate, beyond U+10FFFF
    }
    if (c == 0xC2 && c1 < 0xA0) {
      return false;  // C1 controls
    }
    i += len;
  }
  return true;
}

}  // namespace

core::Result<std::string> resolve_redirect_url(std::string_view url, std::string_view base_origin,
                                               const std::vector<std::string>& allowed_origins,
                                               std::string_view param_name) {
  auto refuse = [&](std::string why) {
    return core::fail(core::Error(core::Code::kRedirectUrlInvalid)
                          .with_meta("param_name", std::string(param_name))
                          .with_internal(std::move(why)));
  };
  if (url.empty() || url.size() > 2048 || has_control_or_space(url)) {
    return refuse("empty, oversized or control characters");
  }
  if (!decoded_is_clean(url)) {
    return refuse("percent-encoded control character or invalid UTF-8");
  }
  std::string absolute;
  if (url.front() == '/') {
    // A path. "//host" is scheme-relative and would leave our origin.
    if (url.size() > 1 && (url[1] == '/' || url[1] == '\\')) {
      return refuse("scheme-relative");
    }
    absolute = std::string(base_origin) + std::string(url);
  } else {
    absolute = std::string(url);
  }
  // The limit holds for what we hand back, too: a path near the limit under the base origin must
  // not become a URL we would refuse when it comes back to us (found by fuzz_redirect).
  if (absolute.size() > 2048) {
    return refuse("oversized");
  }
  // RFC 3986 URI (a fragment is allowed here and dropped below).
  auto parsed = boost::urls::parse_uri(absolute);
  if (!parsed) {
    return refuse("not an absolute URI");
  }
  const auto& u = *parsed;
  if (u.scheme_id() != boost::urls::scheme::http && u.scheme_id() != boost::urls::scheme::https) {
    return refuse("scheme not http(s)");
  }
  if (u.has_userinfo() || u.encoded_host().empty()) {
    return refuse("userinfo or empty host");
  }
  // RFC 3986 §3.3: after an authority the path is empty or starts with '/'. Boost.URL 1.81 reads
  // "http://[::1]:3000@evil.com/" as host [::1] with path "@evil.com/"; a browser reads userinfo
  // "[::1]:3000" and goes to evil.com (found by fuzz_discovery / fuzz_redirect).
  if (!u.encoded_path().empty() && !u.encoded_path().starts_with('/')) {
    return refuse("path does not start with '/'");
  }
  const std::string origin = origin_of(u);
  if (std::find(allowed_origins.begin(), allowed_origins.end(), origin) == allowed_origins.end()) {
    return refuse("origin not allowed: " + origin);
  }
  // Drop any fragment: it never reaches the server and only confuses the redirect.
  boost::urls::url out(u);
  out.remove_fragment();
  return std::string(out.buffer());
}

std::vector<std::string> required_fields(const std::vector<std::string>& configured) {
  std::vector<std::string> out{"email_address"};
  for (const auto& f : configured) {
    if (std::find(out.begin(), out.end(), f) == out.end()) {
      out.push_back(f);
    }
  }
  return out;
}

std::vector<std::string> sign_up_requirements(const std::vector<std::string>& configured,
                                              const SignUpData& data) {
  std::vector<std::string> out = configured;
  if (data.identity || data.external_account) {
    std::erase(out, "password");
  }
  return out;
}

std::vector<std::string> missing_fields(const SignUpData& data,
                                        const std::vector<std::string>& required) {
  std::vector<std::string> missing;
  auto empty = [](const std::optional<std::string>& v) { return !v || v->empty(); };
  for (const auto& f : required_fields(required)) {
    bool is_missing = false;
    if (f == "email_address") {
      is_missing = empty(data.email_address);
    } else if (f == "first_name") {
      is_missing = empty(data.first_name);
    } else if (f == "last_name") {
      is_missing = empty(data.last_name);
    } else if (f == "username") {
      is_missing = empty(data.username);
    } else if (f == "legal_accepted") {
      is_missing = !data.legal_accepted_at_ms.has_value();
    } else if (f == "password") {
      is_missing = !data.password_digest.has_value();
    }
    if (is_missing) {
      missing.push_back(f);
    }
  }
  return missing;
}

LinkDecision decide_link(bool provider_email_verified, bool provider_trusted,
                         bool existing_address_verified) {
  if (provider_email_verified && provider_trusted && existing_address_verified) {
    return LinkDecision::kLink;
  }
  return LinkDecision::kRefuseUnverified;
}

core::Status validate_username(std::string_view username) {
  const bool ok = username.size() >= 4 && username.size() <= 64 &&
                  std::all_of(username.begin(), username.end(), [](char c) {
                    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
                  });
  if (!ok) {
    return core::param_error(core::Code::kFormParamInvalid, "username",
                             "Username must be 4 to 64 letters, digits, '_' or '-'.");
  }
  return {};
}

core::Status validate_name(std::string_view value, std::string_view param_name) {
  if (value.size() > 256 || !valid_utf8_no_controls(value)) {
    return core::param_error(core::Code::kFormParamInvalid, std::string(param_name), "is invalid",
                             "Names must be at most 256 characters of text.");
  }
  return {};
}

}  // namespace latchkey::flows
