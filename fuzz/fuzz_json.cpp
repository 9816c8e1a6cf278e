// crypto::parse_strict_object (src/crypto/json.hpp): the strict JSON reader under every JOSE
// header, JWT claim set and JWKS. Checks, besides "no crash, no sanitizer report":
//  - differential: whatever the strict reader accepts, Boost.JSON's own parser accepts too and
//    builds the same value (the strict reader is a custom basic_parser handler);
//  - round trip: serialize(accepted) parses back, strictly, to the same value (doubles to within
//    2 ulp-ish: Boost 1.81 does not parse decimal numbers correctly rounded, see docs/fuzzing.md);
//  - limits: accepted documents are objects within max_bytes and max_depth.
#include <algorithm>
#include <boost/json.hpp>
#include <cmath>

#include "crypto/json.hpp"
#include "fuzz_check.hpp"

namespace {

namespace json = boost::json;

std::size_t depth_of(const json::value& v) {
  std::size_t d = 0;
  if (const auto* o = v.if_object()) {
    for (const auto& m : *o) {
      d = std::max(d, depth_of(m.value()));
    }
    return d + 1;
  }
  if (const auto* a = v.if_array()) {
    for (const auto& e : *a) {
      d = std::max(d, depth_of(e));
    }
    return d + 1;
  }
  return 0;
}

// Equal, except that doubles may differ in the last bits (Boost.JSON 1.81's number parser is not
// correctly rounded: "-372223958306477580930" and its shortest re-serialisation can parse to
// neighbouring doubles; found by this harness).
bool same(const json::value& a, const json::value& b) {
  if (a.is_double() && b.is_double()) {
    const double x = a.get_double();
    const double y = b.get_double();
    return x == y || std::fabs(x - y) <= 1e-15 * std::max(std::fabs(x), std::fabs(y));
  }
  if (a.kind() != b.kind()) {
    return false;
  }
  if (const auto* o = a.if_object()) {
    const auto& p = b.get_object();
    if (o->size() != p.size()) {
      return false;
    }
    for (const auto& m : *o) {
      const auto* other = p.if_contains(m.key());
      if (other == nullptr || !same(m.value(), *other)) {
        return false;
      }
    }
    return true;
  }
  if (const auto* arr = a.if_array()) {
    const auto& brr = b.get_array();
    if (arr->size() != brr.size()) {
      return false;
    }
    for (std::size_t i = 0; i < arr->size(); ++i) {
      if (!same((*arr)[i], brr[i])) {
        return false;
      }
    }
    return true;
  }
  return a == b;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace latchkey;
  const std::string_view text = fuzz::as_view(data, size);
  const crypto::JsonLimits limits{.max_bytes = 4096, .max_depth = 8};
  auto strict = crypto::parse_strict_object(text, limits);
  if (!strict) {
    FUZZ_CHECK(strict.error().code == core::Code::kMalformedRequest);
    return 0;
  }
  FUZZ_CHECK(text.size() <= limits.max_bytes);
  FUZZ_CHECK(depth_of(*strict) <= limits.max_depth);

  json::error_code ec;
  json::value reference = json::parse(text, ec);
  FUZZ_CHECK(!ec);
  FUZZ_CHECK(reference.is_object());
  FUZZ_CHECK(reference.get_object() == *strict);

  const std::string again = json::serialize(*strict);
  auto reparsed = crypto::parse_strict_object(again, {.max_bytes = 1 << 20, .max_depth = 8});
  FUZZ_CHECK(reparsed.has_value());
  FUZZ_CHECK(same(json::value(*reparsed), json::value(*strict)));
  return 0;
}
