#include "config/checks.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <cctype>
#include <cstdio>

#include "core/base64.hpp"
#include "core/secret.hpp"

namespace latchkey::config::checks {
namespace {

namespace urls = boost::urls;

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

// RFC 1123 §2.1 host name: dot-separated labels of letters, digits and '-', 1-63 characters each,
// not starting or ending with '-', at most 253 characters in all. '_' is also accepted because
// container networks (docker compose service names) use it and resolvers return them.
bool is_hostname(std::string_view host) {
  if (host.empty() || host.size() > 253) {
    return false;
  }
  std::size_t start = 0;
  while (start <= host.size()) {
    std::size_t end = host.find('.', start);
    if (end == std::string_view::npos) {
      end = host.size();
    }
    const std::string_view label = host.substr(start, end - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    if (!std::ranges::all_of(label, [](char c) { return is_alnum(c) || c == '-' || c == '_'; })) {
      return false;
    }
    start = end + 1;
  }
  return true;
}

bool is_ipv4(std::string_view host) {
  const std::string copy(host);
  in_addr addr{};
  return inet_pton(AF_INET, copy.c_str(), &addr) == 1;
}

bool is_ipv6(std::string_view host) {
  const std::string copy(host);
  in6_addr addr{};
  return inet_pton(AF_INET6, copy.c_str(), &addr) == 1;
}

// A port that is only digits, 1-5 of them, value within [min, 65535].
bool is_port(std::string_view port, unsigned min) {
  if (port.empty() || port.size() > 5 || !std::ranges::all_of(port, is_digit)) {
    return false;
  }
  unsigned value = 0;
  for (char c : port) {
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return value >= min && value <= 65535;
}

// The host of a parsed URL must be a DNS name, an IPv4 or an IPv6 literal; percent-encoded
// reg-names and IPvFuture are refused because no resolver we use accepts them.
Reason check_url_host(const urls::url_view& url) {
  switch (url.host_type()) {
    case urls::host_type::ipv4:
    case urls::host_type::ipv6:
      break;
    case urls::host_type::name: {
      const auto host = url.encoded_host();
      if (!is_hostname(std::string_view(host.data(), host.size()))) {
        return "the host is not a valid DNS name";
      }
      break;
    }
    default:
      return "a host is required";
  }
  if (url.has_port() && !is_port(std::string_view(url.port().data(), url.port().size()), 1)) {
    return "the port must be a number between 1 and 65535";
  }
  return std::nullopt;
}

// Common part of every absolute http(s) URL: parses, checks scheme, host, userinfo.
Reason check_http_url(std::string_view value, urls::url_view& out) {
  if (value.find('#') != std::string_view::npos) {
    return "must not have a fragment ('#...')";
  }
  auto parsed = urls::parse_absolute_uri(urls::string_view(value.data(), value.size()));
  if (!parsed) {
    return "is not an absolute URL";
  }
  out = *parsed;
  const std::string scheme = lower(std::string_view(out.scheme().data(), out.scheme().size()));
  if (scheme != "http" && scheme != "https") {
    return "must use http or https";
  }
  if (!out.has_authority()) {
    return "a host is required";
  }
  if (out.has_userinfo()) {
    return "must not contain user information ('user:password@')";
  }
  return check_url_host(out);
}

}  // namespace

std::string quote(std::string_view value) {
  std::string out = "\"";
  std::size_t n = 0;
  for (char c : value) {
    if (++n > 80) {
      out += "...";
      break;
    }
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", u);
      out += buf;
    } else if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else {
      out.push_back(c);
    }
  }
  out += "\"";
  return out;
}

Reason listen(std::string_view value) {
  const std::string hint =
      "expected host:port (e.g. 127.0.0.1:8787, [::1]:8787, localhost:8787), got " + quote(value);
  std::string_view host;
  std::string_view port;
  if (value.starts_with('[')) {
    const std::size_t close = value.find(']');
    if (close == std::string_view::npos || close + 1 >= value.size() || value[close + 1] != ':') {
      return hint;
    }
    host = value.substr(1, close - 1);
    port = value.substr(close + 2);
    if (!is_ipv6(host)) {
      return "the address in brackets is not an IPv6 address; " + hint;
    }
  } else {
    const std::size_t colon = value.rfind(':');
    if (colon == std::string_view::npos) {
      return hint;
    }
    host = value.substr(0, colon);
    port = value.substr(colon + 1);
    if (host.empty()) {
      return "the host is empty (use 0.0.0.0 to listen on every interface); " + hint;
    }
    if (host.find(':') != std::string_view::npos) {
      return "an IPv6 address must be written in brackets ([::1]:8787); " + hint;
    }
    // All digits and dots: it means to be an IPv4 address, so it has to be a valid one.
    const bool numeric = std::ranges::all_of(host, [](char c) { return is_digit(c) || c == '.'; });
    if (numeric ? !is_ipv4(host) : !is_hostname(host)) {
      return "the host is not an IPv4 address or DNS name; " + hint;
    }
  }
  if (!is_port(port, 0)) {
    return "the port must be a number between 0 and 65535; " + hint;
  }
  return std::nullopt;
}

Reason public_url(std::string_view value) {
  urls::url_view url;
  if (auto reason = check_http_url(value, url)) {
    return *reason + ", got " + quote(value);
  }
  if (url.has_query()) {
    return "must not have a query ('?...'), got " + quote(value);
  }
  return std::nullopt;
}

Reason endpoint_url(std::string_view value) {
  urls::url_view url;
  if (auto reason = check_http_url(value, url)) {
    return "must be an absolute http or https URL: " + *reason + ", got " + quote(value);
  }
  return std::nullopt;
}

Reason origin(std::string_view value) {
  const std::string expected =
      "expected an origin scheme://host[:port] (e.g. https://app.example.com)";
  urls::url_view url;
  if (auto reason = check_http_url(value, url)) {
    return expected + ": " + *reason + ", got " + quote(value);
  }
  if (!url.encoded_path().empty() || url.has_query()) {
    return expected + " with no path, query or trailing '/', got " + quote(value);
  }
  return std::nullopt;
}

std::string normalize_origin(std::string_view value) {
  std::string out = lower(value);
  // RFC 6454 §6.2: the serialisation omits the scheme's default port, as browsers send it.
  if (out.starts_with("https://") && out.ends_with(":443")) {
    out.resize(out.size() - 4);
  } else if (out.starts_with("http://") && out.ends_with(":80")) {
    out.resize(out.size() - 3);
  }
  return out;
}

Reason issuer(std::string_view value) {
  urls::url_view url;
  if (auto reason = check_http_url(value, url)) {
    return "must be an absolute https URL: " + *reason + ", got " + quote(value);
  }
  // OIDC Discovery 1.0 §3: the issuer is an https URL with no query or fragment. Plain http is
  // allowed only for loopback test providers.
  if (url.has_query()) {
    return "must not have a query ('?...'), got " + quote(value);
  }
  if (url.scheme_id() != urls::scheme::https) {
    const auto host = url.encoded_host();
    const std::string h = lower(std::string_view(host.data(), host.size()));
    if (h != "127.0.0.1" && h != "localhost" && h != "[::1]") {
      return "must use https (http is allowed only for 127.0.0.1, [::1] and localhost), got " +
             quote(value);
    }
  }
  return std::nullopt;
}

Reason database_url(std::string_view value) {
  if (value.empty()) {
    return std::nullopt;
  }
  if (std::ranges::any_of(value, [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u <= 0x20 || u == 0x7f;
      })) {
    return "must not contain spaces or control characters";
  }
  const std::string scheme = lower(value.substr(0, value.find("://")));
  if (scheme == "sqlite") {
    if (value.size() <= std::string_view("sqlite://").size()) {
      return "sqlite:// needs a file path (sqlite:///var/lib/latchkey/latchkey.db)";
    }
    return std::nullopt;
  }
  if ((scheme == "postgres" || scheme == "postgresql") && value.find("://") != std::string::npos) {
    return std::nullopt;
  }
  return "must be empty (SQLite under data_dir), sqlite:///path/to/file.db, postgres://... or "
         "postgresql://...";
}

Reason path_prefix(std::string_view value) {
  if (value.empty()) {
    return std::nullopt;
  }
  const std::string expected =
      "must be empty or a path like /__clerk (starts with '/', no trailing "
      "'/', letters, digits and -._~ only), got " +
      quote(value);
  if (!value.starts_with('/') || value.ends_with('/')) {
    return expected;
  }
  std::size_t start = 1;
  while (start <= value.size()) {
    std::size_t end = value.find('/', start);
    if (end == std::string_view::npos) {
      end = value.size();
    }
    const std::string_view segment = value.substr(start, end - start);
    if (segment.empty() || segment == "." || segment == "..") {
      return expected;
    }
    if (!std::ranges::all_of(segment, [](char c) {
          return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
        })) {
      return expected;
    }
    start = end + 1;
  }
  return std::nullopt;
}

Reason app_url(std::string_view value) {
  if (value.starts_with('/')) {
    // "//host/path" is a network-path reference: it would leave our origin.
    if (value.starts_with("//") || value.starts_with("/\\")) {
      return "must be a path on this site (/sign-in) or an absolute http(s) URL, got " +
             quote(value);
    }
    if (std::ranges::any_of(value, [](char c) {
          const auto u = static_cast<unsigned char>(c);
          return u <= 0x20 || u == 0x7f || c == '\\';
        })) {
      return "must not contain spaces, control characters or '\\', got " + quote(value);
    }
    return std::nullopt;
  }
  urls::url_view url;
  if (auto reason = check_http_url(value, url)) {
    return "must be a path on this site (/sign-in) or an absolute http(s) URL: " + *reason +
           ", got " + quote(value);
  }
  return std::nullopt;
}

Reason scope(std::string_view value) {
  if (value.empty()) {
    return std::string("an empty scope is not allowed");
  }
  const bool ok = std::ranges::all_of(value, [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u == 0x21 || (u >= 0x23 && u <= 0x5b) || (u >= 0x5d && u <= 0x7e);
  });
  if (!ok) {
    return "a scope must not contain spaces, '\"' or '\\' (RFC 6749 §3.3), got " + quote(value);
  }
  return std::nullopt;
}

Reason encryption_key(std::string_view value) {
  if (value.empty()) {
    return std::nullopt;
  }
  auto bytes = core::base64_decode(value);
  if (!bytes) {
    return std::string("is not valid standard base64 (generate one with: openssl rand -base64 32)");
  }
  // Hand the decoded key to a Secret so it is wiped when this check returns.
  const core::Secret decoded(std::move(*bytes));
  if (decoded.reveal().size() != 32) {
    return "must decode to exactly 32 bytes, got " + std::to_string(decoded.reveal().size()) +
           " (generate one with: openssl rand -base64 32)";
  }
  return std::nullopt;
}

}  // namespace latchkey::config::checks
