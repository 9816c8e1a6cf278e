#pragma once
// Credentialed CORS with an exact-origin allowlist (Fetch standard §3.2; security catalog F6,
// ASVS 3.4.2): the allowed origin is echoed exactly, never '*', never an arbitrary reflection.
// CORS is not a CSRF defence; state-changing routes check Origin separately (catalog §2.F).
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.hpp"

namespace latchkey::http {

struct CorsOptions {
  // Origins as "scheme://host[:port]". Normalised when the Cors object is built: scheme and host
  // lower-cased, trailing '/' removed, default ports (:80 for http, :443 for https) dropped.
  std::vector<std::string> allowed_origins;
  std::string allow_methods = "GET, POST, PUT, PATCH, DELETE, OPTIONS";
  std::string allow_headers = "authorization, content-type";
  std::string expose_headers = "x-country";
  std::chrono::seconds max_age{600};
};

class Cors {
 public:
  // Throws std::invalid_argument (start-up) on an origin that is not scheme://host[:port].
  explicit Cors(CorsOptions options);

  // Exact comparison against the normalised allowlist. "null" is never allowed.
  [[nodiscard]] bool origin_allowed(std::string_view origin) const;

  // Adds `vary: Origin` always, and for an allowed Origin header:
  // access-control-allow-origin: <origin>, access-control-allow-credentials: true,
  // access-control-expose-headers.
  void apply(const Request& req, Response& res) const;

  // A preflight is OPTIONS with Origin and Access-Control-Request-Method.
  [[nodiscard]] static bool is_preflight(const Request& req);

  // 204 for an OPTIONS request. For an allowed origin it carries the allow-origin/credentials
  // headers plus allow-methods, allow-headers and max-age; otherwise only `vary: Origin`, so
  // the browser blocks the real request.
  [[nodiscard]] Response preflight(const Request& req) const;

  [[nodiscard]] const std::vector<std::string>& allowed_origins() const { return origins_; }

 private:
  CorsOptions options_;
  std::vector<std::string> origins_;
  std::string max_age_;
};

// Normalises "HTTPS://Example.com:443/" to "https://example.com"; empty string if not an origin.
[[nodiscard]] std::string normalize_origin(std::string_view origin);

}  // namespace latchkey::http
