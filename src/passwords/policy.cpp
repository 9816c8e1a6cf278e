#include "passwords/policy.hpp"

#include <sodium.h>
#include <zxcvbn.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/utf8.hpp"
#include "passwords/common_passwords.hpp"

namespace latchkey::passwords {
namespace {

constexpr std::string_view kParam = "password";
constexpr std::string_view kAsciiPunctuation = R"(!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~)";

core::Error violation(core::Code code, const std::string& message, std::string internal) {
  return core::Error(code, message, message)
      .with_meta("param_name", std::string(kParam))
      .with_internal(std::move(internal));
}

std::size_t code_points(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) {
    n += (c & 0xC0U) != 0x80U ? 1 : 0;  // every byte but a continuation byte starts one
  }
  return n;
}

// A std::string that wipes itself: the copies zxcvbn-c needs (NUL-terminated).
struct WipedString {
  std::string value;
  ~WipedString() { sodium_memzero(value.data(), value.size()); }
};

bool alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

}  // namespace

int strength_score(const core::Secret& password, std::span<const std::string_view> user_inputs) {
  const auto pw = password.reveal();
  WipedString copy{std::string(pw.substr(0, pw.find('\0')))};

  // The known words: each input whole, and its alphanumeric runs of 3 characters or more.
  std::vector<std::string> words;
  for (const auto input : user_inputs) {
    const std::string_view in = input.substr(0, input.find('\0'));
    if (in.empty()) {
      continue;
    }
    words.emplace_back(in);
    std::size_t i = 0;
    while (i < in.size()) {
      while (i < in.size() && !alnum(in[i])) {
        ++i;
      }
      const std::size_t start = i;
      while (i < in.size() && alnum(in[i])) {
        ++i;
      }
      if (i - start >= 3 && i - start != in.size()) {
        words.emplace_back(in.substr(start, i - start));
      }
    }
  }
  std::vector<const char*> dict;
  dict.reserve(words.size() + 1);
  for (const auto& w : words) {
    dict.push_back(w.c_str());
  }
  dict.push_back(nullptr);

  const double bits = ZxcvbnMatch(copy.value.c_str(), dict.data(), nullptr);
  // zxcvbn's score from its guess count (scoring.py: guesses_to_score), here 2^bits.
  const double guesses_log10 = bits * std::log10(2.0);
  constexpr double kDelta = 5;  // zxcvbn adds 5 guesses to each threshold
  const double thresholds[] = {std::log10(1e3 + kDelta), std::log10(1e6 + kDelta),
                               std::log10(1e8 + kDelta), std::log10(1e10 + kDelta)};
  int score = 0;
  for (const double t : thresholds) {
    if (guesses_log10 >= t) {
      ++score;
    }
  }
  return score;
}

core::Status check_policy(const PolicySettings& p, const core::Secret& password,
                          std::span<const std::string_view> user_inputs) {
  const auto pw = password.reveal();
  if (!core::valid_utf8(pw) || pw.find('\0') != std::string_view::npos) {
    return core::fail(violation(core::Code::kFormPasswordValidationFailed,
                                "Passwords must be valid UTF-8 text without NUL characters.",
                                "password_invalid_utf8"));
  }
  const std::size_t length = code_points(pw);
  if (length < p.min_length) {
    return core::fail(
        violation(core::Code::kFormPasswordLengthTooShort,
                  "Passwords must be " + std::to_string(p.min_length) + " characters or more.",
                  "form_password_length_too_short"));
  }
  if (length > p.max_length) {
    return core::fail(
        violation(core::Code::kFormPasswordLengthTooLong,
                  "Passwords must be " + std::to_string(p.max_length) + " characters or fewer.",
                  "form_password_length_too_long"));
  }

  bool lower = false, upper = false, number = false, special = false;
  const std::string_view specials = p.allowed_special_characters.empty()
                                        ? kAsciiPunctuation
                                        : std::string_view(p.allowed_special_characters);
  for (const char c : pw) {
    lower = lower || (c >= 'a' && c <= 'z');
    upper = upper || (c >= 'A' && c <= 'Z');
    number = number || (c >= '0' && c <= '9');
    special = special || specials.find(c) != std::string_view::npos;
  }
  struct Rule {
    bool required;
    bool present;
    const char* message;
    const char* clerk_code;
  };
  const Rule rules[] = {
      {p.require_lowercase, lower, "Passwords must contain at least one lowercase character.",
       "form_password_no_lowercase"},
      {p.require_uppercase, upper, "Passwords must contain at least one uppercase character.",
       "form_password_no_uppercase"},
      {p.require_number, number, "Passwords must contain at least one number.",
       "form_password_no_number"},
      {p.require_special, special, "Passwords must contain at least one special character.",
       "form_password_no_special_char"},
  };
  for (const auto& r : rules) {
    if (r.required && !r.present) {
      return core::fail(
          violation(core::Code::kFormPasswordValidationFailed, r.message, r.clerk_code));
    }
  }

  if (p.reject_pwned && is_common_password(pw)) {
    return core::fail(
        violation(core::Code::kFormPasswordPwned,
                  std::string(core::error_info(core::Code::kFormPasswordPwned).message),
                  "form_password_pwned (bundled list)"));
  }
  if (p.min_zxcvbn_strength > 0) {
    const int score = strength_score(password, user_inputs);
    if (score < p.min_zxcvbn_strength) {
      return core::fail(violation(
          core::Code::kFormPasswordNotStrongEnough, "Given password is not strong enough.",
          "form_password_not_strong_enough (zxcvbn score " + std::to_string(score) + " < " +
              std::to_string(p.min_zxcvbn_strength) + ")"));
    }
  }
  return {};
}

}  // namespace latchkey::passwords
