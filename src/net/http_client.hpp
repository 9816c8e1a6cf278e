#pragma once
// Outbound HTTP: identity providers, and next siteverify and SMS gateways (design.md §1 "outbound
// HTTP", §3.6: injected).
// Every call has a deadline and a response size cap (design.md §3.12); redirects are never
// followed and only http/https are spoken.
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace latchkey::net {

struct HttpRequest {
  std::string method = "GET";  // GET or POST
  std::string url;
  // Extra request headers. `Accept: application/json` and a User-Agent are added unless given here.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // sent as is (already form-encoded); Content-Type comes from `headers`
  std::chrono::milliseconds timeout{10'000};         // whole exchange
  std::chrono::milliseconds connect_timeout{5'000};  // TCP + TLS handshake
  std::size_t max_response_bytes = 1024 * 1024;      // abort (error) when the body grows past this
};

struct HttpResponse {
  long status = 0;
  std::string content_type;  // as sent by the server, may be empty
  std::string body;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // Transport failures (DNS, connect, TLS, timeout, size cap) are errors with
  // Code::kOAuthProviderUnavailable (what oauth/ answers; a caller outside oauth/ maps it to its
  // own code) and the reason in `internal`. Any HTTP status is a response.
  virtual core::Result<HttpResponse> send(const HttpRequest& request) = 0;
};

// libcurl implementation: one easy handle per call (thread-safe), TLS peer and host verification
// on, redirects off, protocols limited to http and https.
std::unique_ptr<HttpClient> make_curl_http_client(std::string user_agent = "Latchkey/0.1");

// application/x-www-form-urlencoded (RFC 6749 Appendix B): unreserved characters kept, space as
// '+', everything else %XX (upper-case hex).
std::string form_urlencode(std::string_view value);
std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace latchkey::net
