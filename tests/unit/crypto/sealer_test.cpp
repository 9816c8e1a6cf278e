// Encryption at rest: round trip, tampering, wrong associated data, wrong key.
#include "crypto/sealer.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace latchkey::crypto {
namespace {

core::Secret key_of(char c) { return core::Secret(std::string(32, c)); }

TEST(Sealer, RoundTrip) {
  const Sealer s(key_of('k'));
  for (std::string plain : {std::string(), std::string("x"), std::string(5000, '\0'),
                            std::string("-----BEGIN PRIVATE KEY-----\n...")}) {
    const std::string sealed = s.seal(plain, "signing-key:abc");
    EXPECT_TRUE(sealed.starts_with("v1."));
    if (plain.size() > 8) {
      EXPECT_EQ(sealed.find(plain.substr(0, 8)), std::string::npos);  // not stored in clear
    }
    auto opened = s.open(sealed, "signing-key:abc");
    ASSERT_TRUE(opened.has_value()) << opened.error().internal;
    EXPECT_EQ(*opened, plain);
  }
}

TEST(Sealer, NonceIsFreshEachTime) {
  const Sealer s(key_of('k'));
  EXPECT_NE(s.seal("same", "aad"), s.seal("same", "aad"));
}

TEST(Sealer, TamperingAnyCharacterIsDetected) {
  const Sealer s(key_of('k'));
  const std::string sealed = s.seal("secret payload", "aad");
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    std::string bad = sealed;
    bad[i] = sealed[i] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(s.open(bad, "aad").has_value()) << "position " << i;
  }
  EXPECT_FALSE(s.open(sealed.substr(0, sealed.size() - 1), "aad").has_value());
  EXPECT_FALSE(s.open(sealed.substr(0, 20), "aad").has_value());
  EXPECT_FALSE(s.open("", "aad").has_value());
  EXPECT_FALSE(s.open("v1.", "aad").has_value());
  EXPECT_FALSE(s.open("v2." + sealed.substr(3), "aad").has_value());
  EXPECT_FALSE(s.open(sealed + "A", "aad").has_value());
}

TEST(Sealer, WrongAadOrKeyIsRejected) {
  const Sealer s(key_of('k'));
  const std::string sealed = s.seal("secret", "signing-key:kid1");
  auto wrong_aad = s.open(sealed, "signing-key:kid2");
  ASSERT_FALSE(wrong_aad.has_value());
  EXPECT_EQ(wrong_aad.error().internal.find("secret"), std::string::npos);
  EXPECT_FALSE(s.open(sealed, "").has_value());
  const Sealer other(key_of('j'));
  EXPECT_FALSE(other.open(sealed, "signing-key:kid1").has_value());
}

TEST(Sealer, KeyMustBe32Bytes) {
  EXPECT_THROW(Sealer(core::Secret(std::string(31, 'k'))), std::invalid_argument);
  EXPECT_THROW(Sealer(core::Secret(std::string(33, 'k'))), std::invalid_argument);
  EXPECT_THROW(Sealer(core::Secret()), std::invalid_argument);
}

}  // namespace
}  // namespace latchkey::crypto
