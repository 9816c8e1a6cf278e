// http::Router::match (src/http/router.hpp) on a fixed table shaped like the FAPI routes (literal
// and capture segments, a literal that competes with a capture, a prefix, an OPTIONS fallback).
// The first input byte picks the method, the rest is the raw path. Oracle: a naive matcher that
// tries every pattern in turn. Checks, besides "no crash, no sanitizer report":
//  - kFound / kMethodNotAllowed exactly when some pattern matches the path's segments (paths of
//    more than 32 segments never match), with a literal preferred over a capture;
//  - a found route accepts the method (HEAD via GET, OPTIONS via the fallback);
//  - captures: one per capture name, each the percent-decoding of the raw segment, and a raw
//    segment never spans a '/'.
#include "fuzz_check.hpp"
#include "http/form.hpp"
#include "http/router.hpp"

namespace {

using namespace latchkey;
using http::Method;

std::vector<std::string_view> split(std::string_view path) {
  std::vector<std::string_view> out;
  if (path.size() <= 1) {
    return out;
  }
  std::size_t pos = 1;
  for (;;) {
    const std::size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) {
      out.push_back(path.substr(pos));
      return out;
    }
    out.push_back(path.substr(pos, slash - pos));
    pos = slash + 1;
  }
}

bool is_capture(std::string_view seg) { return seg.starts_with('{') && seg.ends_with('}'); }

// Segment-wise match of one pattern; raw capture values out.
bool naive_match(std::string_view pattern, const std::vector<std::string_view>& segs,
                 std::vector<std::string_view>* values) {
  const auto pat = split(pattern);
  if (pat.size() != segs.size()) {
    return false;
  }
  for (std::size_t i = 0; i < pat.size(); ++i) {
    if (is_capture(pat[i])) {
      if (segs[i].empty()) {
        return false;
      }
      if (values != nullptr) {
        values->push_back(segs[i]);
      }
    } else if (pat[i] != segs[i]) {
      return false;
    }
  }
  return true;
}

// Literal-first preference as a sort key: at the first differing position a literal wins.
bool more_literal(std::string_view a, std::string_view b) {
  const auto pa = split(a);
  const auto pb = split(b);
  for (std::size_t i = 0; i < pa.size() && i < pb.size(); ++i) {
    if (is_capture(pa[i]) != is_capture(pb[i])) {
      return !is_capture(pa[i]);
    }
  }
  return false;
}

http::Response ok(http::Request&) { return {}; }

const http::Router& router() {
  static const http::Router r = [] {
    http::Router out;
    auto g = out.group("/__clerk");
    g.add(Method::kGet, "/v1/environment", ok);
    g.add(Method::kPost, "/v1/environment", ok);
    g.add(Method::kGet, "/v1/client", ok);
    g.add(Method::kPost, "/v1/client", ok);
    g.add(Method::kDelete, "/v1/client", ok);
    g.add(Method::kPost, "/v1/client/sign_ins", ok);
    g.add(Method::kGet, "/v1/client/sign_ins/{id}", ok);
    g.add(Method::kPatch, "/v1/client/sign_ups/{id}", ok);
    g.add(Method::kPost, "/v1/client/sessions/{id}/touch", ok);
    g.add(Method::kPost, "/v1/client/sessions/{id}/tokens", ok);
    g.add(Method::kPost, "/v1/client/sessions/{id}/tokens/{template}", ok);
    g.add(Method::kGet, "/v1/client/sessions/active/tokens", ok);  // literal vs {id}
    g.add(Method::kGet, "/v1/oauth_callback", ok);
    out.add(Method::kGet, "/", ok);
    out.add(Method::kGet, "/healthz", ok);
    out.add(Method::kGet, "/.well-known/jwks.json", ok);
    out.add(Method::kGet, "/{a}/{b}/{c}", ok);
    out.set_options_handler(ok);
    return out;
  }();
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Reader in(data, size);
  const auto method = static_cast<Method>(in.byte() % 8);
  const std::string path = in.rest();
  const http::Router& r = router();

  std::vector<std::pair<std::string, std::string>> captures;
  const http::Match m = r.match(method, path, &captures);

  // The oracle's answer: the most literal pattern that matches.
  const http::Route* best = nullptr;
  const auto segs = split(path);
  if (!path.empty() && path.front() == '/' && segs.size() <= 32) {
    for (const auto& route : r.routes()) {
      if (naive_match(route->pattern, segs, nullptr) &&
          (best == nullptr || more_literal(route->pattern, best->pattern))) {
        best = route.get();
      }
    }
  }
  if (best == nullptr) {
    FUZZ_CHECK(m.status == http::MatchStatus::kNotFound);
    return 0;
  }
  if (m.status == http::MatchStatus::kNotFound) {
    // Only a bad escape in a captured segment may turn a match into "not found".
    bool bad_escape = false;
    std::vector<std::string_view> values;
    FUZZ_CHECK(naive_match(best->pattern, segs, &values));
    for (auto v : values) {
      bad_escape = bad_escape || !http::percent_decode(v).has_value();
    }
    FUZZ_CHECK(bad_escape);
    return 0;
  }
  FUZZ_CHECK(m.route != nullptr);
  if (m.status == http::MatchStatus::kMethodNotAllowed) {
    FUZZ_CHECK(m.route->pattern == best->pattern || !more_literal(best->pattern, m.route->pattern));
    FUZZ_CHECK(method != Method::kOptions);
    return 0;
  }
  FUZZ_CHECK(m.status == http::MatchStatus::kFound);
  if (m.route == r.options_route()) {
    FUZZ_CHECK(method == Method::kOptions);
    return 0;
  }
  FUZZ_CHECK(m.route->method == method ||
             (method == Method::kHead && m.route->method == Method::kGet));
  std::vector<std::string_view> values;
  FUZZ_CHECK(naive_match(m.route->pattern, segs, &values));
  FUZZ_CHECK(!more_literal(best->pattern, m.route->pattern));
  FUZZ_CHECK(captures.size() == m.route->capture_names.size());
  FUZZ_CHECK(values.size() == captures.size());
  for (std::size_t i = 0; i < captures.size(); ++i) {
    FUZZ_CHECK(captures[i].first == m.route->capture_names[i]);
    FUZZ_CHECK(values[i].find('/') == std::string_view::npos);
    FUZZ_CHECK(http::percent_decode(values[i]) == captures[i].second);
  }
  return 0;
}
