#pragma once
// Route table: literal segments and `{name}` captures (one segment each), matched on the RAW
// (still percent-encoded) path so an encoded "%2F" can never act as a separator (security
// catalog K11); captured values are percent-decoded afterwards. No regex, no allocation when
// matching apart from the captured strings themselves.
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/message.hpp"

namespace latchkey::http {

using Handler = std::function<Response(Request&)>;

// Which handler pool runs a route that is not inline_ok (server.hpp). kOutbound is the bulkhead
// for handlers that wait on another party (identity providers): a hung provider holds only
// outbound threads, never the pool every other route needs.
enum class Pool : std::uint8_t { kWorkers, kOutbound };
// Picks the pool per request (e.g. only sign-ins with an OAuth strategy call out). Runs on the
// I/O thread: cheap, non-blocking, no throw.
using PoolChooser = std::function<Pool(const Request&)>;

struct RouteOptions {
  // Metrics label and access-log route name. Empty = the full pattern (prefix included). Never
  // derived from the raw path, so label cardinality stays bounded.
  std::string name;
  // true: cheap and non-blocking (health, metrics, JWKS): runs on the I/O thread, no thread hop.
  bool inline_ok = false;
  Pool pool = Pool::kWorkers;
  PoolChooser choose_pool{};  // when set, decides instead of `pool`
};

struct Route {
  Method method = Method::kGet;
  std::string pattern;  // full pattern including any prefix
  std::string name;     // metrics label
  bool inline_ok = false;
  Pool pool = Pool::kWorkers;
  PoolChooser choose_pool;
  Handler handler;
  std::vector<std::string> capture_names;  // in path order
  std::size_t index = 0;                   // dense index in Router::routes(), for per-route stats
};

enum class MatchStatus { kFound, kNotFound, kMethodNotAllowed };

struct Match {
  MatchStatus status = MatchStatus::kNotFound;
  // kFound: the route to run. kMethodNotAllowed: some route at that path (for the metrics label).
  const Route* route = nullptr;
  // kMethodNotAllowed and kFound: the methods the path accepts, for an `allow` header
  // ("GET, HEAD, POST").
  std::string_view allow;
};

inline constexpr std::size_t kMethodCount = 8;
[[nodiscard]] std::string_view method_name(Method m);
// "GET" -> kGet ...; anything unknown -> kOther.
[[nodiscard]] Method parse_method(std::string_view s);

class RouteGroup;

class Router {
 public:
  Router();
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;
  Router(Router&&) noexcept;
  Router& operator=(Router&&) noexcept;

  // Registers a route. Start-up only: throws std::invalid_argument on a malformed pattern
  // (must start with '/', captures must fill a whole segment, names must be [A-Za-z0-9_]+)
  // or a duplicate (method, pattern shape).
  Router& add(Method method, std::string_view pattern, Handler handler, RouteOptions options = {});

  // Routes under a prefix such as "/__clerk" (no trailing slash; "" or "/" = no prefix).
  [[nodiscard]] RouteGroup group(std::string_view prefix);
  // Copies every route of `other` under `prefix`.
  Router& mount(std::string_view prefix, const Router& other);

  // Handler used for OPTIONS on any path that exists but has no explicit OPTIONS route
  // (CORS preflight, see cors.hpp). Without one, such an OPTIONS gets kMethodNotAllowed.
  Router& set_options_handler(Handler handler,
                              RouteOptions options = {"cors_preflight", true, Pool::kWorkers, {}});

  // `raw_path` is the path as received (percent-encoded, no query). On kFound, `captures` (if
  // not null) receives {name, decoded value} pairs. A HEAD request matches a GET route.
  [[nodiscard]] Match match(Method method, std::string_view raw_path,
                            std::vector<std::pair<std::string, std::string>>* captures) const;

  [[nodiscard]] const std::vector<std::unique_ptr<Route>>& routes() const { return routes_; }
  // The OPTIONS fallback route, if set (its index is routes().size()).
  [[nodiscard]] const Route* options_route() const { return options_route_.get(); }

 private:
  struct Node;
  std::unique_ptr<Node> root_;
  std::vector<std::unique_ptr<Route>> routes_;
  std::unique_ptr<Route> options_route_;
};

class RouteGroup {
 public:
  RouteGroup(Router& router, std::string prefix) : router_(&router), prefix_(std::move(prefix)) {}
  RouteGroup& add(Method method, std::string_view pattern, Handler handler,
                  RouteOptions options = {});
  [[nodiscard]] const std::string& prefix() const { return prefix_; }

 private:
  Router* router_;
  std::string prefix_;
};

}  // namespace latchkey::http
