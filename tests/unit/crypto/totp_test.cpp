// crypto/totp.hpp against RFC 6238 Appendix B (SHA1, the 20-byte ASCII secret "1234567890..."),
// taking the last 6 of its 8-digit codes, which is what a 6-digit generator gives.
#include "crypto/totp.hpp"

#include <gtest/gtest.h>

namespace latchkey::crypto::totp {
namespace {

const core::Secret kRfcSecret(std::string("12345678901234567890"));

TEST(Totp, MatchesTheRfc6238TestVectors) {
  const std::pair<std::int64_t, std::string> vectors[] = {
      {59, "287082"},         {1111111109, "081804"}, {1111111111, "050471"},
      {1234567890, "005924"}, {2000000000, "279037"}, {20000000000, "353130"},
  };
  for (const auto& [t, code] : vectors) {
    EXPECT_EQ(code_at(kRfcSecret, t / kStepSeconds), code) << t;
    EXPECT_EQ(match(kRfcSecret, code, t, 0), t / kStepSeconds) << t;
  }
}

TEST(Totp, AcceptsOneStepOfDriftEitherSideAndNothingElse) {
  const std::int64_t now = 1'800'000'015;
  const std::int64_t step = now / kStepSeconds;
  for (const std::int64_t d : {-1, 0, 1}) {
    EXPECT_EQ(match(kRfcSecret, code_at(kRfcSecret, step + d), now), step + d) << d;
  }
  for (const std::int64_t d : {-3, -2, 2, 3}) {
    EXPECT_FALSE(match(kRfcSecret, code_at(kRfcSecret, step + d), now)) << d;
  }
}

TEST(Totp, RefusesWhatIsNotSixDigits) {
  const std::int64_t now = 1'800'000'015;
  const std::string good = code_at(kRfcSecret, now / kStepSeconds);
  for (const std::string& bad :
       {std::string(""), good.substr(0, 5), good + "0", " " + good, std::string("12a456"),
        std::string("\0"
                    "23456",
                    6)}) {
    EXPECT_FALSE(match(kRfcSecret, bad, now)) << bad;
  }
}

TEST(Totp, Base32RoundTripsAndReadsWhatAppsWrite) {
  constexpr char kRaw[] =
      "\x00\x01\xfe\xff"
      "latchkey-secret!";
  const std::string raw(kRaw, sizeof(kRaw) - 1);
  const std::string b32 = base32(raw);
  EXPECT_EQ(b32.find('='), std::string::npos);
  EXPECT_EQ(from_base32(b32), raw);
  std::string lower;
  for (const char c : b32) {
    lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  EXPECT_EQ(from_base32(lower), raw);
  EXPECT_EQ(base32("12345678901234567890"), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
  EXPECT_FALSE(from_base32("not base32!"));
  EXPECT_FALSE(from_base32(""));
}

}  // namespace
}  // namespace latchkey::crypto::totp
