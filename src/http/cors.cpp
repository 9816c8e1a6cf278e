#include "http/cors.hpp"

#include <stdexcept>

namespace latchkey::http {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '[' ||
         c == ']' || c == ':';
}

}  // namespace

std::string normalize_origin(std::string_view origin) {
  while (!origin.empty() && origin.back() == '/') {
    origin.remove_suffix(1);
  }
  std::size_t sep = origin.find("://");
  if (sep == std::string_view::npos || sep == 0) {
    return {};
  }
  std::string scheme;
  for (char c : origin.substr(0, sep)) {
    scheme.push_back(lower(c));
  }
  if (scheme != "http" && scheme != "https") {
    return {};
  }
  std::string_view rest = origin.substr(sep + 3);
  if (rest.empty() || rest.find_first_of("/?#@") != std::string_view::npos) {
    return {};
  }
  std::string host;
  for (char c : rest) {
    char l = lower(c);
    if (!host_char(l)) {
      return {};
    }
    host.push_back(l);
  }
  // Drop the scheme's default port: browsers omit it from the Origin header (RFC 6454 §6.2).
  std::string_view default_port = scheme == "https" ? ":443" : ":80";
  if (host.size() > default_port.size() && host.ends_with(default_port) && host.back() != ']') {
    host.resize(host.size() - default_port.size());
  }
  return scheme + "://" + host;
}

Cors::Cors(CorsOptions options) : options_(std::move(options)) {
  for (const auto& o : options_.allowed_origins) {
    std::string n = normalize_origin(o);
    if (n.empty()) {
      throw std::invalid_argument("not an origin (scheme://host[:port]): " + o);
    }
    origins_.push_back(std::move(n));
  }
  max_age_ = std::to_string(options_.max_age.count());
}

bool Cors::origin_allowed(std::string_view origin) const {
  if (origin.empty() || origin == "null") {
    return false;
  }
  for (const auto& o : origins_) {
    if (o == origin) {
      return true;
    }
  }
  return false;
}

void Cors::apply(const Request& req, Response& res) const {
  res.set("vary", "Origin");
  auto origin = req.header("origin");
  if (!origin || !origin_allowed(*origin)) {
    return;
  }
  res.set("access-control-allow-origin", std::string(*origin));
  res.set("access-control-allow-credentials", "true");
  if (!options_.expose_headers.empty()) {
    res.set("access-control-expose-headers", options_.expose_headers);
  }
}

bool Cors::is_preflight(const Request& req) {
  return req.method == Method::kOptions && req.header("origin").has_value() &&
         req.header("access-control-request-method").has_value();
}

Response Cors::preflight(const Request& req) const {
  Response res;
  res.status = 204;
  res.set("vary", "Origin");
  auto origin = req.header("origin");
  if (!origin || !origin_allowed(*origin)) {
    return res;
  }
  res.set("access-control-allow-origin", std::string(*origin));
  res.set("access-control-allow-credentials", "true");
  res.set("access-control-allow-methods", options_.allow_methods);
  res.set("access-control-allow-headers", options_.allow_headers);
  res.set("access-control-max-age", max_age_);
  return res;
}

}  // namespace latchkey::http
