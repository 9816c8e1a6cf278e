// passwords::check_policy: one row per rule and Clerk code, the order of the rules, the breached
// list and the zxcvbn strength estimate with user inputs (issue 11, item 2).
#include "passwords/policy.hpp"

#include <gtest/gtest.h>

#include <array>
#include <random>
#include <string>

#include "passwords/common_passwords.hpp"

namespace latchkey::passwords {
namespace {

core::Secret secret(std::string s) { return core::Secret(std::move(s)); }

// The code of the first violated rule, or nullopt when the password passes.
std::optional<core::Code> violated(const PolicySettings& p, std::string password,
                                   std::span<const std::string_view> inputs = {}) {
  const auto r = check_policy(p, secret(std::move(password)), inputs);
  if (r) {
    return std::nullopt;
  }
  return r.error().code;
}

TEST(Policy, DefaultsAreClerks) {
  const PolicySettings p;
  EXPECT_EQ(p.min_length, 8U);
  EXPECT_EQ(p.max_length, 72U);
  EXPECT_FALSE(p.require_lowercase || p.require_uppercase || p.require_number || p.require_special);
  EXPECT_EQ(p.min_zxcvbn_strength, 0);
  EXPECT_TRUE(p.reject_pwned);
}

TEST(Policy, AcceptsAnOrdinaryPassword) {
  EXPECT_EQ(violated({}, "a brand new password"), std::nullopt);
  EXPECT_EQ(violated({}, "xq7-bright-lantern"), std::nullopt);
}

TEST(Policy, TooShortWithClerksMessageAndParam) {
  const auto r = check_policy({}, secret("qz7wv"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::Code::kFormPasswordLengthTooShort);
  EXPECT_EQ(r.error().message, "Passwords must be 8 characters or more.");
  ASSERT_NE(r.error().find_meta("param_name"), nullptr);
  EXPECT_EQ(*r.error().find_meta("param_name"), "password");
  EXPECT_EQ(r.error().internal.find("qz7wv"), std::string::npos);  // never the password itself

  PolicySettings p;
  p.min_length = 12;
  const auto r12 = check_policy(p, secret("elevenchars"));
  ASSERT_FALSE(r12);
  EXPECT_EQ(r12.error().message, "Passwords must be 12 characters or more.");
  EXPECT_EQ(violated({}, ""), core::Code::kFormPasswordLengthTooShort);
}

TEST(Policy, LengthCountsCodePointsNotBytes) {
  // 7 code points, 14 bytes: too short. 8 code points: long enough.
  EXPECT_EQ(violated({}, "ééééééé"), core::Code::kFormPasswordLengthTooShort);
  EXPECT_EQ(violated({}, "éééééééé"), std::nullopt);
  // 72 four-byte code points (288 bytes) are within max_length; 73 are not.
  std::string emoji;
  for (int i = 0; i < 72; ++i) {
    emoji += "\xF0\x9F\x94\x91";  // U+1F511
  }
  EXPECT_EQ(violated({}, emoji), std::nullopt);
  EXPECT_EQ(violated({}, emoji + "\xF0\x9F\x94\x91"), core::Code::kFormPasswordLengthTooLong);
}

TEST(Policy, TooLong) {
  const auto r = check_policy({}, secret(std::string(73, 'k')));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::Code::kFormPasswordLengthTooLong);
  EXPECT_EQ(r.error().message, "Passwords must be 72 characters or fewer.");
  EXPECT_EQ(*r.error().find_meta("param_name"), "password");
  EXPECT_EQ(violated({}, std::string(72, 'k') + ""), std::nullopt);
}

TEST(Policy, InvalidUtf8AndNulAreValidationFailures) {
  for (const std::string& bad : {std::string("abcdefgh\xFF"), std::string("abcdefgh\xC0\xAF"),
                                 std::string("abcdefgh\xED\xA0\x80"),  // a surrogate
                                 std::string("abcd\0efgh", 9)}) {
    const auto r = check_policy({}, secret(bad));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, core::Code::kFormPasswordValidationFailed);
    EXPECT_EQ(*r.error().find_meta("param_name"), "password");
  }
}

TEST(Policy, CharacterClasses) {
  struct Row {
    void (*set)(PolicySettings&);
    const char* failing;
    const char* passing;
    const char* message;
    const char* clerk_code;
  };
  const Row rows[] = {
      {[](PolicySettings& p) { p.require_lowercase = true; }, "ALLUPPER-7", "ALLUPPEr-7",
       "Passwords must contain at least one lowercase character.", "form_password_no_lowercase"},
      {[](PolicySettings& p) { p.require_uppercase = true; }, "alllower-7", "allloweR-7",
       "Passwords must contain at least one uppercase character.", "form_password_no_uppercase"},
      {[](PolicySettings& p) { p.require_number = true; }, "no-digits-here", "one-digit-here-1",
       "Passwords must contain at least one number.", "form_password_no_number"},
      {[](PolicySettings& p) { p.require_special = true; }, "nospecialchars7", "one~special7",
       "Passwords must contain at least one special character.", "form_password_no_special_char"},
  };
  for (const auto& row : rows) {
    PolicySettings p;
    row.set(p);
    const auto r = check_policy(p, secret(row.failing));
    ASSERT_FALSE(r) << row.failing;
    EXPECT_EQ(r.error().code, core::Code::kFormPasswordValidationFailed);
    EXPECT_EQ(r.error().message, row.message);
    EXPECT_EQ(r.error().internal, row.clerk_code);
    EXPECT_EQ(*r.error().find_meta("param_name"), "password");
    EXPECT_EQ(violated(p, row.passing), std::nullopt) << row.passing;
  }
}

TEST(Policy, NonAsciiLettersAreNoAsciiClass) {
  PolicySettings p;
  p.require_lowercase = true;
  EXPECT_EQ(violated(p, "ÉÉÉÉÉÉÉÉé"), core::Code::kFormPasswordValidationFailed);
  p = {};
  p.require_special = true;
  EXPECT_EQ(violated(p, "plain words only é"), core::Code::kFormPasswordValidationFailed);
}

TEST(Policy, AllowedSpecialCharactersNarrowTheSet) {
  PolicySettings p;
  p.require_special = true;
  p.allowed_special_characters = "#!";
  EXPECT_EQ(violated(p, "tilde~only~here"), core::Code::kFormPasswordValidationFailed);
  EXPECT_EQ(violated(p, "hash#here-now"), std::nullopt);
}

TEST(Policy, PwnedPasswordsAreRefused) {
  const auto r = check_policy({}, secret("password1"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::Code::kFormPasswordPwned);
  EXPECT_EQ(r.error().message,
            "Password has been found in an online data breach. For account safety, please use a "
            "different password.");
  EXPECT_EQ(*r.error().find_meta("param_name"), "password");
  // Case-insensitive (ASCII).
  EXPECT_EQ(violated({}, "PassWord1"), core::Code::kFormPasswordPwned);
  EXPECT_EQ(violated({}, "qwertyuiop"), core::Code::kFormPasswordPwned);
  EXPECT_EQ(violated({}, "iloveyou"), core::Code::kFormPasswordPwned);
  PolicySettings off;
  off.reject_pwned = false;
  EXPECT_EQ(violated(off, "password1"), std::nullopt);
}

TEST(Policy, RulesApplyInOrder) {
  PolicySettings p;
  p.require_uppercase = true;
  p.min_zxcvbn_strength = 3;
  // Too short beats the missing class; the missing class beats pwned; pwned beats strength.
  EXPECT_EQ(violated(p, "abc"), core::Code::kFormPasswordLengthTooShort);
  EXPECT_EQ(violated(p, "password1"), core::Code::kFormPasswordValidationFailed);
  EXPECT_EQ(violated(p, "Password1"), core::Code::kFormPasswordPwned);
  EXPECT_EQ(violated(p, "Aaaaaaaaaa"), core::Code::kFormPasswordNotStrongEnough);
}

TEST(Policy, StrengthScoreOfZxcvbn) {
  EXPECT_EQ(strength_score(secret("aaaaaaaaaa")), 0);
  EXPECT_EQ(strength_score(secret("password")), 0);
  EXPECT_EQ(strength_score(secret("kX9#mP2$vL7q")), 4);
  EXPECT_EQ(strength_score(secret("correct horse battery staple")), 4);
}

TEST(Policy, NotStrongEnough) {
  PolicySettings p;
  p.min_zxcvbn_strength = 3;  // Clerk's "enforce strength"
  const auto r = check_policy(p, secret("abcdefgh12"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::Code::kFormPasswordNotStrongEnough);
  EXPECT_EQ(r.error().message, "Given password is not strong enough.");
  EXPECT_EQ(*r.error().find_meta("param_name"), "password");
  EXPECT_EQ(violated(p, "correct horse battery staple"), std::nullopt);
  EXPECT_EQ(violated(p, "kX9#mP2$vL7q"), std::nullopt);
}

TEST(Policy, UserInputsLowerTheScore) {
  const std::array<std::string_view, 3> inputs = {"alice.liddell@example.com", "Alice", "Liddell"};
  // Without the user's own data the guess looks fine; with it, it is the user's name.
  EXPECT_GE(strength_score(secret("AliceLiddell1")), 2);
  EXPECT_EQ(strength_score(secret("AliceLiddell1"), inputs), 0);
  EXPECT_GE(strength_score(secret("alice.liddell@example.com")), 3);
  EXPECT_EQ(strength_score(secret("alice.liddell@example.com"), inputs), 0);

  PolicySettings p;
  p.min_zxcvbn_strength = 2;
  EXPECT_EQ(violated(p, "AliceLiddell1"), std::nullopt);
  EXPECT_EQ(violated(p, "AliceLiddell1", inputs), core::Code::kFormPasswordNotStrongEnough);
  // The email alone is enough: its parts count as words too.
  const std::array<std::string_view, 1> email = {"alice.liddell@example.com"};
  EXPECT_EQ(violated(p, "liddell1990", email), core::Code::kFormPasswordNotStrongEnough);
  // Empty inputs and inputs with a NUL are harmless.
  const std::array<std::string_view, 2> odd = {"", std::string_view("a\0b", 3)};
  EXPECT_EQ(violated(p, "AliceLiddell1", odd), std::nullopt);
}

TEST(Policy, ArbitraryBytesGiveAnAnswerNeverACrash) {
  // zxcvbn-c is C code fed user input: random bytes and random valid UTF-8 of every length up to
  // past max_length, with every rule on. A fixed seed: the same inputs on every run.
  PolicySettings p;
  p.require_lowercase = p.require_uppercase = p.require_number = p.require_special = true;
  p.min_zxcvbn_strength = 4;
  p.max_length = 300;
  std::mt19937 rng(20261203);
  const std::array<std::string_view, 2> inputs = {"alice@example.com", "Alice"};
  int accepted = 0;
  for (int i = 0; i < 2000; ++i) {
    std::string pw(rng() % 320, '\0');
    for (auto& c : pw) {
      // Half the inputs ASCII printable (mostly valid), half any byte (mostly invalid UTF-8).
      c = static_cast<char>(i % 2 == 0 ? 0x20 + rng() % 95 : rng() % 256);
    }
    const auto r = check_policy(p, secret(pw), inputs);
    accepted += r ? 1 : 0;
    EXPECT_TRUE(r || r.error().find_meta("param_name") != nullptr);
  }
  EXPECT_GT(accepted, 0);  // long random printable strings pass every rule
}

TEST(CommonPasswords, TableIsSortedLowerCaseAndBundled) {
  EXPECT_GT(common_password_count(), 10000U);
  EXPECT_TRUE(is_common_password("123456"));
  EXPECT_TRUE(is_common_password("password"));
  EXPECT_TRUE(is_common_password("PASSWORD"));
  EXPECT_TRUE(is_common_password("!@#$%^&*"));  // escaped in the generated table
  EXPECT_FALSE(is_common_password(""));
  EXPECT_FALSE(is_common_password("a brand new password"));
  EXPECT_FALSE(is_common_password("passwörd"));
  EXPECT_FALSE(is_common_password(std::string(1000, 'a')));
}

}  // namespace
}  // namespace latchkey::passwords
