#include "http/router.hpp"

#include <algorithm>
#include <stdexcept>

#include "http/form.hpp"

namespace latchkey::http {

namespace {

constexpr std::size_t kMaxCaptures = 16;

std::size_t method_index(Method m) { return static_cast<std::size_t>(m); }

bool valid_capture_name(std::string_view s) {
  if (s.empty()) {
    return false;
  }
  for (char c : s) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) {
      return false;
    }
  }
  return true;
}

// Splits "/a/b/c" into segments; "/" gives no segments. `fn` returns false to stop.
template <typename Fn>
void for_each_segment(std::string_view path, Fn&& fn) {
  if (path.size() <= 1) {
    return;
  }
  std::size_t pos = 1;
  while (true) {
    std::size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) {
      fn(path.substr(pos));
      return;
    }
    fn(path.substr(pos, slash - pos));
    pos = slash + 1;
  }
}

std::string join_prefix(std::string_view prefix, std::string_view pattern) {
  while (!prefix.empty() && prefix.back() == '/') {
    prefix.remove_suffix(1);
  }
  if (!prefix.empty() && prefix.front() != '/') {
    throw std::invalid_argument("route prefix must start with '/': " + std::string(prefix));
  }
  if (pattern == "/" && !prefix.empty()) {
    return std::string(prefix);
  }
  return std::string(prefix) + std::string(pattern);
}

}  // namespace

std::string_view method_name(Method m) {
  switch (m) {
    case Method::kGet:
      return "GET";
    case Method::kHead:
      return "HEAD";
    case Method::kPost:
      return "POST";
    case Method::kPut:
      return "PUT";
    case Method::kPatch:
      return "PATCH";
    case Method::kDelete:
      return "DELETE";
    case Method::kOptions:
      return "OPTIONS";
    case Method::kOther:
      return "OTHER";
  }
  return "OTHER";
}

Method parse_method(std::string_view s) {
  if (s == "GET") {
    return Method::kGet;
  }
  if (s == "POST") {
    return Method::kPost;
  }
  if (s == "HEAD") {
    return Method::kHead;
  }
  if (s == "PUT") {
    return Method::kPut;
  }
  if (s == "PATCH") {
    return Method::kPatch;
  }
  if (s == "DELETE") {
    return Method::kDelete;
  }
  if (s == "OPTIONS") {
    return Method::kOptions;
  }
  return Method::kOther;
}

struct Router::Node {
  std::vector<std::pair<std::string, std::unique_ptr<Node>>> literals;
  std::unique_ptr<Node> capture;
  std::array<const Route*, kMethodCount> by_method{};
  std::string allow;
  const Route* any = nullptr;  // first route at this node (for 405 labels)

  [[nodiscard]] const Node* literal(std::string_view seg) const {
    for (const auto& [text, child] : literals) {
      if (text == seg) {
        return child.get();
      }
    }
    return nullptr;
  }

  void rebuild_allow(bool options_fallback) {
    allow.clear();
    static constexpr Method kOrder[] = {Method::kGet,    Method::kHead,  Method::kPost,
                                        Method::kPut,    Method::kPatch, Method::kDelete,
                                        Method::kOptions};
    for (Method m : kOrder) {
      bool has = by_method[method_index(m)] != nullptr;
      if (m == Method::kHead) {
        has = has || by_method[method_index(Method::kGet)] != nullptr;
      }
      if (m == Method::kOptions) {
        has = has || options_fallback;
      }
      if (has) {
        if (!allow.empty()) {
          allow += ", ";
        }
        allow += method_name(m);
      }
    }
  }
};

Router::Router() : root_(std::make_unique<Node>()) {}
Router::~Router() = default;
Router::Router(Router&&) noexcept = default;
Router& Router::operator=(Router&&) noexcept = default;

Router& Router::add(Method method, std::string_view pattern, Handler handler,
                    RouteOptions options) {
  if (pattern.empty() || pattern.front() != '/') {
    throw std::invalid_argument("route pattern must start with '/': " + std::string(pattern));
  }
  if (method == Method::kOther) {
    throw std::invalid_argument("route method must be a known method: " + std::string(pattern));
  }
  if (!handler) {
    throw std::invalid_argument("route without handler: " + std::string(pattern));
  }
  auto route = std::make_unique<Route>();
  route->method = method;
  route->pattern = std::string(pattern);
  route->name = options.name.empty() ? route->pattern : std::move(options.name);
  route->inline_ok = options.inline_ok;
  route->pool = options.pool;
  route->choose_pool = std::move(options.choose_pool);
  route->handler = std::move(handler);
  route->index = routes_.size();

  Node* node = root_.get();
  // A pattern may end in '/' (an empty last segment) where a client sends exactly that
  // (clerk-js posts to /v1/me/backup_codes/); it matches only with the slash, as every other
  // literal matches only itself.
  const std::string_view last_segment = pattern.substr(pattern.rfind('/') + 1);
  std::size_t seen = 0;
  const std::size_t segments =
      static_cast<std::size_t>(std::count(pattern.begin(), pattern.end(), '/'));
  for_each_segment(pattern, [&](std::string_view seg) {
    ++seen;
    if (seg.empty() && seen == segments && last_segment.empty() && segments > 1) {
      const Node* existing = node->literal(seg);
      if (existing == nullptr) {
        node->literals.emplace_back(std::string(), std::make_unique<Node>());
        existing = node->literals.back().second.get();
      }
      node = const_cast<Node*>(existing);
      return;
    }
    if (seg.size() >= 2 && seg.front() == '{' && seg.back() == '}') {
      std::string_view name = seg.substr(1, seg.size() - 2);
      if (!valid_capture_name(name)) {
        throw std::invalid_argument("bad capture name in route: " + std::string(pattern));
      }
      if (route->capture_names.size() >= kMaxCaptures) {
        throw std::invalid_argument("too many captures in route: " + std::string(pattern));
      }
      route->capture_names.emplace_back(name);
      if (!node->capture) {
        node->capture = std::make_unique<Node>();
      }
      node = node->capture.get();
      return;
    }
    if (seg.empty() || seg.find_first_of("{}%?#") != std::string_view::npos) {
      throw std::invalid_argument("bad literal segment in route: " + std::string(pattern));
    }
    const Node* existing = node->literal(seg);
    if (existing != nullptr) {
      node = const_cast<Node*>(existing);
      return;
    }
    node->literals.emplace_back(std::string(seg), std::make_unique<Node>());
    node = node->literals.back().second.get();
  });
  auto& slot = node->by_method[method_index(method)];
  if (slot != nullptr) {
    throw std::invalid_argument("duplicate route: " + std::string(method_name(method)) + " " +
                                std::string(pattern));
  }
  slot = route.get();
  if (node->any == nullptr) {
    node->any = route.get();
  }
  node->rebuild_allow(options_route_ != nullptr);
  routes_.push_back(std::move(route));
  return *this;
}

RouteGroup Router::group(std::string_view prefix) {
  std::string p(prefix);
  while (!p.empty() && p.back() == '/') {
    p.pop_back();
  }
  return RouteGroup(*this, std::move(p));
}

Router& Router::mount(std::string_view prefix, const Router& other) {
  for (const auto& r : other.routes_) {
    RouteOptions opts{r->name == r->pattern ? std::string() : r->name, r->inline_ok, r->pool,
                      r->choose_pool};
    add(r->method, join_prefix(prefix, r->pattern), r->handler, std::move(opts));
  }
  return *this;
}

Router& Router::set_options_handler(Handler handler, RouteOptions options) {
  if (!handler) {
    throw std::invalid_argument("options handler must not be empty");
  }
  options_route_ = std::make_unique<Route>();
  options_route_->method = Method::kOptions;
  options_route_->pattern = "*";
  options_route_->name = options.name.empty() ? "cors_preflight" : std::move(options.name);
  options_route_->inline_ok = options.inline_ok;
  options_route_->handler = std::move(handler);
  // Every node's allow list now includes OPTIONS.
  std::vector<Node*> stack{root_.get()};
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    if (n->any != nullptr) {
      n->rebuild_allow(true);
    }
    for (auto& [text, child] : n->literals) {
      stack.push_back(child.get());
    }
    if (n->capture) {
      stack.push_back(n->capture.get());
    }
  }
  return *this;
}

Match Router::match(Method method, std::string_view raw_path,
                    std::vector<std::pair<std::string, std::string>>* captures) const {
  Match result;
  if (raw_path.empty() || raw_path.front() != '/') {
    return result;
  }
  // Split once into a bounded array of segments; longer paths than any route cannot match
  // anyway, so cap the work instead of allocating.
  constexpr std::size_t kMaxSegments = 32;
  std::array<std::string_view, kMaxSegments> segs;
  std::size_t nsegs = 0;
  bool too_long = false;
  for_each_segment(raw_path, [&](std::string_view s) {
    if (nsegs == kMaxSegments) {
      too_long = true;
      return;
    }
    segs[nsegs++] = s;
  });
  if (too_long) {
    return result;
  }

  // Depth-first with backtracking: a literal beats a capture at the same position.
  std::array<std::string_view, kMaxSegments> values;
  const Node* found = nullptr;
  std::size_t ncaps_found = 0;
  auto dfs = [&](auto& self, const Node* node, std::size_t depth, std::size_t ncaps) -> bool {
    if (depth == nsegs) {
      if (node->any != nullptr) {
        found = node;
        ncaps_found = ncaps;
        return true;
      }
      return false;
    }
    std::string_view seg = segs[depth];
    if (const Node* lit = node->literal(seg); lit != nullptr) {
      if (self(self, lit, depth + 1, ncaps)) {
        return true;
      }
    }
    if (node->capture && !seg.empty()) {
      values[ncaps] = seg;
      if (self(self, node->capture.get(), depth + 1, ncaps + 1)) {
        return true;
      }
    }
    return false;
  };
  if (!dfs(dfs, root_.get(), 0, 0)) {
    return result;
  }

  const Route* route = found->by_method[method_index(method)];
  if (route == nullptr && method == Method::kHead) {
    route = found->by_method[method_index(Method::kGet)];
  }
  if (route == nullptr && method == Method::kOptions && options_route_) {
    result.status = MatchStatus::kFound;
    result.route = options_route_.get();
    result.allow = found->allow;
    return result;
  }
  result.allow = found->allow;
  if (route == nullptr) {
    result.status = MatchStatus::kMethodNotAllowed;
    result.route = found->any;
    return result;
  }
  result.status = MatchStatus::kFound;
  result.route = route;
  if (captures != nullptr) {
    captures->clear();
    for (std::size_t i = 0; i < ncaps_found && i < route->capture_names.size(); ++i) {
      std::string value;
      if (!percent_decode_append(values[i], false, value)) {
        // An invalid escape cannot name any resource.
        result.status = MatchStatus::kNotFound;
        result.route = nullptr;
        result.allow = {};
        captures->clear();
        return result;
      }
      captures->emplace_back(route->capture_names[i], std::move(value));
    }
  }
  return result;
}

RouteGroup& RouteGroup::add(Method method, std::string_view pattern, Handler handler,
                            RouteOptions options) {
  router_->add(method, join_prefix(prefix_, pattern), std::move(handler), std::move(options));
  return *this;
}

}  // namespace latchkey::http
