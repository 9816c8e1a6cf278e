// passwords::Hasher: argon2id round trips, rehash on changed parameters, bcrypt vectors, and
// digests that are garbled, truncated or too costly (issue 11, item 2).
#include "passwords/hasher.hpp"

#include <gtest/gtest.h>

#include <string>

namespace latchkey::passwords {
namespace {

// Cheap parameters for the tests (libsodium's argon2id floor is t=1): m=8 MiB, t=1.
constexpr HashSettings kCheap{.opslimit = 1, .memlimit_bytes = 8 * 1024 * 1024};

core::Secret secret(std::string s) { return core::Secret(std::move(s)); }

TEST(Hasher, DefaultsAreOwaspArgon2idFloor) {
  const HashSettings s;
  EXPECT_EQ(s.opslimit, 2U);
  EXPECT_EQ(s.memlimit_bytes, 19U * 1024 * 1024);
}

TEST(Hasher, RoundTripAtDefaultCost) {
  const Hasher hasher(HashSettings{});
  const auto digest = hasher.hash(secret("correct horse battery staple"));
  ASSERT_TRUE(digest) << digest.error().internal;
  EXPECT_TRUE(digest->starts_with("$argon2id$v=19$m=19456,t=2,p=1$")) << *digest;
  const auto v = hasher.verify(secret("correct horse battery staple"), *digest);
  EXPECT_TRUE(v.match);
  EXPECT_FALSE(v.needs_rehash);
}

TEST(Hasher, WrongPasswordDoesNotMatch) {
  const Hasher hasher(kCheap);
  const auto digest = hasher.hash(secret("correct horse battery staple"));
  ASSERT_TRUE(digest);
  EXPECT_TRUE(digest->starts_with("$argon2id$v=19$m=8192,t=1,p=1$")) << *digest;
  for (const char* wrong : {"correct horse battery stapl", "Correct horse battery staple", "",
                            "correct horse battery staple "}) {
    const auto v = hasher.verify(secret(wrong), *digest);
    EXPECT_FALSE(v.match) << wrong;
    EXPECT_FALSE(v.needs_rehash) << wrong;
  }
}

TEST(Hasher, SaltIsFreshEachTime) {
  const Hasher hasher(kCheap);
  const auto a = hasher.hash(secret("same password"));
  const auto b = hasher.hash(secret("same password"));
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);
  EXPECT_TRUE(hasher.verify(secret("same password"), *a).match);
  EXPECT_TRUE(hasher.verify(secret("same password"), *b).match);
}

TEST(Hasher, PasswordWithNulAndNonAsciiBytes) {
  const Hasher hasher(kCheap);
  const std::string with_nul("abc\0def", 7);
  const auto digest = hasher.hash(secret(with_nul));
  ASSERT_TRUE(digest);
  EXPECT_TRUE(hasher.verify(secret(with_nul), *digest).match);
  EXPECT_FALSE(hasher.verify(secret("abc"), *digest).match);
  const auto unicode = hasher.hash(secret("pässwörd ünïcode"));
  ASSERT_TRUE(unicode);
  EXPECT_TRUE(hasher.verify(secret("pässwörd ünïcode"), *unicode).match);
}

TEST(Hasher, NeedsRehashWhenParametersChange) {
  const Hasher old_cost(kCheap);
  const auto digest = old_cost.hash(secret("a password"));
  ASSERT_TRUE(digest);
  EXPECT_FALSE(old_cost.verify(secret("a password"), *digest).needs_rehash);

  const Hasher more_ops(HashSettings{.opslimit = 2, .memlimit_bytes = 8 * 1024 * 1024});
  auto v = more_ops.verify(secret("a password"), *digest);
  EXPECT_TRUE(v.match);
  EXPECT_TRUE(v.needs_rehash);

  const Hasher more_memory(HashSettings{.opslimit = 1, .memlimit_bytes = 9 * 1024 * 1024});
  v = more_memory.verify(secret("a password"), *digest);
  EXPECT_TRUE(v.match);
  EXPECT_TRUE(v.needs_rehash);

  // A wrong password never asks for a rehash: there is nothing to rehash.
  v = more_ops.verify(secret("not the password"), *digest);
  EXPECT_FALSE(v.match);
  EXPECT_FALSE(v.needs_rehash);
}

TEST(Hasher, SettingsBelowLibsodiumFloorAreRaised) {
  const Hasher hasher(HashSettings{.opslimit = 0, .memlimit_bytes = 1});
  EXPECT_EQ(hasher.settings().opslimit, 1U);
  EXPECT_EQ(hasher.settings().memlimit_bytes, 8U * 1024);
  const auto digest = hasher.hash(secret("x"));
  ASSERT_TRUE(digest);
  EXPECT_TRUE(hasher.verify(secret("x"), *digest).match);
}

TEST(Hasher, OwnCostAboveTheBoundsStillVerifies) {
  // t=70 is beyond kMaxArgon2Ops for a stored digest, but it is what this Hasher makes itself
  // (at 8 KiB, so cheap). A digest asking for more than both is refused.
  const Hasher hasher(HashSettings{.opslimit = 70, .memlimit_bytes = 8 * 1024});
  const auto digest = hasher.hash(secret("pw"));
  ASSERT_TRUE(digest);
  EXPECT_TRUE(digest->starts_with("$argon2id$v=19$m=8,t=70,p=1$")) << *digest;
  EXPECT_TRUE(hasher.verify(secret("pw"), *digest).match);
  EXPECT_FALSE(Hasher(kCheap).verify(secret("pw"), *digest).match);
}

// Argon2i digests (another system's, imported) verify and are always rehashed to argon2id.
// Made with libsodium's crypto_pwhash_argon2i_str at t=3, m=8 MiB when this test was written.
TEST(Hasher, Argon2iDigestMatchesAndNeedsRehash) {
  const Hasher hasher(kCheap);
  const std::string digest =
      "$argon2i$v=19$m=8192,t=3,p=1$exV4FwfrLUxJwx+Gi5WNfg$gAO5hqp6LcYZEd/"
      "Yc8mEpRWQn61sV+XI5i+gJbUex1k";
  auto v = hasher.verify(secret("imported password"), digest);
  EXPECT_TRUE(v.match);
  EXPECT_TRUE(v.needs_rehash);
  v = hasher.verify(secret("imported passworD"), digest);
  EXPECT_FALSE(v.match);
  EXPECT_FALSE(v.needs_rehash);
}

// bcrypt test vectors of Openwall's crypt_blowfish (wrapper.c), computed independently of
// libcrypt, and digests made with `mkpasswd -m bcrypt -R 5` (Debian's whois) and Python's crypt
// module when these tests were written.
struct BcryptVector {
  const char* password;
  const char* digest;
};
constexpr BcryptVector kBcrypt[] = {
    {"U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"},
    {"U*U*", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK"},
    {"U*U*U", "$2a$05$XXXXXXXXXXXXXXXXXXXXXOAcXxm9kjPGEMsLznoKqmqw7tc8WCx4a"},
    {"correct horse battery staple",
     "$2b$05$v4I0tIsYotHvKpAF8eYVdeGPEotk4DtQqxdELC592PqaCbtcesyAe"},
    {"hunter22", "$2b$05$A1zds/f0CJeD4IL.2f1a7.vesmkqUlRKppSd5DblFuhVZ/DLafWTq"},
    {"pässwörd ünïcode", "$2b$05$IrEdejrLsjk6ok4gXKHYEumFjYnEW1/DVRXs81nmloG9qyrqrq336"},
    {"hunter22", "$2a$04$abcdefghijklmnopqrstuunBMgByaIAZYuFgMUjBx8aaeU/9We5xa"},
    {"hunter22", "$2y$05$abcdefghijklmnopqrstuuZ6QNu0NKXZkZHC5hsQUItfxcGamvB8i"},
};

TEST(Hasher, BcryptVectorsMatchAndNeedRehash) {
  const Hasher hasher(kCheap);
  for (const auto& [password, digest] : kBcrypt) {
    const auto v = hasher.verify(secret(password), digest);
    EXPECT_TRUE(v.match) << digest;
    EXPECT_TRUE(v.needs_rehash) << digest;
    const auto wrong = hasher.verify(secret(std::string(password) + "x"), digest);
    EXPECT_FALSE(wrong.match) << digest;
    EXPECT_FALSE(wrong.needs_rehash) << digest;
  }
}

TEST(Hasher, BcryptIgnoresBytesAfterTheSeventySecond) {
  // bcrypt's own limit, as the system that made the digest applied it.
  const Hasher hasher(kCheap);
  const std::string digest = "$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui";
  const std::string password =
      "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789chars after 72 are "
      "ignored";
  EXPECT_TRUE(hasher.verify(secret(password), digest).match);
  EXPECT_TRUE(hasher.verify(secret(password.substr(0, 72)), digest).match);
  EXPECT_FALSE(hasher.verify(secret(password.substr(0, 71)), digest).match);
}

TEST(Hasher, BcryptRefusesAPasswordWithANul) {
  // crypt reads a C string: "hunter22\0anything" must not pass as "hunter22".
  const Hasher hasher(kCheap);
  const std::string with_nul("hunter22\0anything", 17);
  EXPECT_FALSE(
      hasher
          .verify(secret(with_nul), "$2b$05$A1zds/f0CJeD4IL.2f1a7.vesmkqUlRKppSd5DblFuhVZ/DLafWTq")
          .match);
}

TEST(Hasher, GarbledDigestsNeverMatch) {
  const Hasher hasher(kCheap);
  const auto good = hasher.hash(secret("pw"));
  ASSERT_TRUE(good);
  const std::string& g = *good;
  const std::string garbled[] = {
      "",
      "pw",
      "$",
      "$argon2id$",
      "$argon2id$v=19$",
      "$argon2id$v=19$m=8192,t=1,p=1$",
      g.substr(0, g.size() - 1),                       // truncated
      g.substr(0, g.size() - 10),                      // truncated more
      g + "A",                                         // extended
      g + std::string(200, 'A'),                       // too long for libsodium's buffer
      std::string(g).replace(g.size() - 3, 3, "!!!"),  // not base64
      std::string("$argon2id$v=19$m=8192,t=1,p=1$\0abc", 34),
      "$argon2id$v=19$m=99999999999999999999,t=1,p=1$c29tZXNhbHQ$aGFzaA",
      "$argon2id$v=19$m=4194304,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaA",  // 4 GiB
      "$argon2id$v=19$m=8192,t=100000,p=1$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaA",
      "$argon2id$v=19$m=8192,t=1,p=0$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaA",
      "$argon2id$v=16$m=8192,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaA",
      "$argon2id$m=8192,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaA",
      "$argon2d$v=19$m=8192,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaA",
      "$argon2i$v=19$m=8192,t=1,p=1$$",
      "$2b$05$A1zds/f0CJeD4IL.2f1a7.vesmkqUlRKppSd5DblFuhVZ/DLafWT",    // 59 characters
      "$2b$05$A1zds/f0CJeD4IL.2f1a7.vesmkqUlRKppSd5DblFuhVZ/DLafWTqq",  // 61 characters
      "$2b$05$A1zds/f0CJeD4IL.2f1a7.vesmkqUlRKppSd5DblFuhVZ/DLafWT!",   // not bcrypt base64
      "$2x$05$A1zds/f0CJeD4IL.2f1a7.vesmkqUlRKppSd5DblFuhVZ/DLafWTq",   // $2x$ is not accepted
      "$2b$03$A1zds/f0CJeD4IL.2f1a7.vesmkqUlRKppSd5DblFuhVZ/DLafWTq",   // cost below bcrypt's 4
      "$2b$31$A1zds/f0CJeD4IL.2f1a7.vesmkqUlRKppSd5DblFuhVZ/DLafWTq",   // cost beyond the bound
      "$2b$5$$A1zds/f0CJeD4IL.2f1a7.vesmkqUlRKppSd5DblFuhVZ/DLafWTq",
      "$1$abcdefgh$abcdefghijklmnopqrstuv",  // md5-crypt
      "$6$rounds=5000$salt$hash",            // sha512-crypt
      "plaintext-password",
  };
  for (const auto& d : garbled) {
    const auto v = hasher.verify(secret("pw"), d);
    EXPECT_FALSE(v.match) << d;
    EXPECT_FALSE(v.needs_rehash) << d;
  }
  EXPECT_TRUE(hasher.verify(secret("pw"), g).match);  // the original still does
}

TEST(Hasher, VerifyDummyNeverCrashesOnAnyPassword) {
  const Hasher hasher(kCheap);
  hasher.verify_dummy(secret(""));
  hasher.verify_dummy(secret("a password"));
  hasher.verify_dummy(secret(std::string(10000, 'x')));
  hasher.verify_dummy(secret(std::string("a\0b", 3)));
  SUCCEED();
}

}  // namespace
}  // namespace latchkey::passwords
