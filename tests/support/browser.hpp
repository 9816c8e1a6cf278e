#pragma once
// The Frontend API seen from a browser: a client that keeps cookies, sends Origin on state changes
// like fetch() does, and remembers every response body (for the "no secret leaks" checks); plus
// the JSON and Clerk-envelope helpers the FAPI tests read answers with.
#include <boost/json.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/http_client.hpp"
#include "support/server.hpp"

namespace latchkey::test {

class Browser {
 public:
  explicit Browser(const Server& server);
  Browser(int port, std::string origin);

  HttpResponse get(const std::string& target);
  // POST with a form body (possibly empty); `target` may carry ?_method=...
  HttpResponse post(const std::string& target,
                    const std::vector<std::pair<std::string, std::string>>& form = {});
  HttpResponse post_raw_body(const std::string& target, const std::string& body,
                             const std::string& content_type = "application/x-www-form-urlencoded");
  HttpResponse send(HttpRequest request);

  // GET /__clerk/v1/client → the "response" member (null when no client).
  boost::json::value client();

  std::optional<std::string> cookie(const std::string& name) const;
  void set_cookie(const std::string& name, const std::string& value) { cookies_[name] = value; }
  void clear_cookies() { cookies_.clear(); }
  std::string origin_header;  // "" = send no Origin
  [[nodiscard]] const std::vector<std::string>& bodies() const { return bodies_; }

 private:
  void absorb(const HttpResponse& r);

  int port_;
  std::map<std::string, std::string> cookies_;
  std::vector<std::string> bodies_;
};

// ---- JSON helpers -------------------------------------------------------------------------------

// Path lookup "a.b.0.c" ("" members are objects keys, digits index arrays); null when absent.
const boost::json::value& at(const boost::json::value& v, std::string_view path);
std::string str(const boost::json::value& v, std::string_view path);   // "" unless a string
std::int64_t num(const boost::json::value& v, std::string_view path);  // 0 unless a number

// The first error of a Clerk error envelope, checking its shape: {"errors":[{"code","message",
// "long_message","meta"}]}. Returns null (and adds a gtest failure) when the shape is wrong.
boost::json::value error_of(const HttpResponse& r);

// A compact, comparable description of a client: ids and statuses of everything in it.
std::string client_snapshot(const boost::json::value& client);

}  // namespace latchkey::test
