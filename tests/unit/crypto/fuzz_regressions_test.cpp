// Regression tests for findings of the libFuzzer harnesses (fuzz/, docs/fuzzing.md).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cmath>

#include "crypto/json.hpp"

namespace latchkey::crypto {
namespace {

// fuzz_json, corpus regress-infinity: {"k":-92233720368547751e309809300} was accepted as -inf,
// and Boost.JSON 1.81 serialises that as "-Infinity", which no JSON parser reads back.
TEST(StrictJsonFuzzRegression, NumberOutOfDoubleRangeIsRefused) {
  for (const char* doc : {R"({"k":-92233720368547751e309809300})", R"({"exp":1e400})",
                          R"({"a":[1,{"b":-1E+999}]})"}) {
    auto r = parse_strict_object(doc);
    ASSERT_FALSE(r.has_value()) << doc;
    EXPECT_EQ(r.error().code, core::Code::kMalformedRequest);
  }
}

TEST(StrictJsonFuzzRegression, LargeFiniteNumbersStillParse) {
  auto r = parse_strict_object(R"({"a":1.7976931348623157e308,"b":-1e300,"c":1e-400})");
  ASSERT_TRUE(r.has_value());
  for (const char* k : {"a", "b", "c"}) {
    ASSERT_TRUE(r->at(k).is_double()) << k;
    EXPECT_TRUE(std::isfinite(r->at(k).get_double())) << k;
  }
  EXPECT_TRUE(parse_strict_object(boost::json::serialize(*r)).has_value());
}

}  // namespace
}  // namespace latchkey::crypto
