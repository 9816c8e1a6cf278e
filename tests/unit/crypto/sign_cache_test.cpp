// The per-thread cache of initialised RSA signing contexts (crypto/jws.cpp) must never sign with
// the wrong key or padding, also when more keys are used than it holds.
#include <gtest/gtest.h>

#include <vector>

#include "crypto/jws.hpp"
#include "crypto/key.hpp"

using namespace latchkey::crypto;

TEST(SignCache, ManyKeysAndAlgorithmsInOneThreadEachSignWithTheirOwnKey) {
  std::vector<PrivateKey> keys;
  for (int i = 0; i < 6; ++i) {  // more than the cache's slots
    auto k = generate_key(Alg::kRS256, 2048);
    ASSERT_TRUE(k);
    keys.push_back(std::move(*k));
  }
  for (int round = 0; round < 3; ++round) {
    for (std::size_t i = 0; i < keys.size(); ++i) {
      for (Alg alg : {Alg::kRS256, Alg::kPS256, Alg::kRS512}) {
        const std::string input = "payload-" + std::to_string(round) + "-" + std::to_string(i);
        auto sig = sign(keys[i], alg, input);
        ASSERT_TRUE(sig);
        EXPECT_TRUE(verify_signature(keys[i].public_key(), alg, input, *sig));
        EXPECT_FALSE(verify_signature(keys[(i + 1) % keys.size()].public_key(), alg, input, *sig));
        EXPECT_FALSE(verify_signature(keys[i].public_key(), alg, input + "x", *sig));
      }
    }
  }
}

TEST(SignCache, Rs256IsDeterministicAndPs256IsRandomised) {
  auto k = generate_key(Alg::kRS256, 2048);
  ASSERT_TRUE(k);
  auto a = sign(*k, Alg::kRS256, "x");
  auto b = sign(*k, Alg::kRS256, "x");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(*a, *b);  // PKCS#1 v1.5 (RFC 8017 §8.2)
  auto c = sign(*k, Alg::kPS256, "x");
  auto d = sign(*k, Alg::kPS256, "x");
  ASSERT_TRUE(c && d);
  EXPECT_NE(*c, *d);  // PSS salt (RFC 7518 §3.5)
  EXPECT_NE(*a, *c);
}
