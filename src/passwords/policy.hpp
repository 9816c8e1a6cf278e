#pragma once
// The password policy of sign-up, reset and change (Clerk's instance password settings): length,
// character classes, the bundled breached list and a zxcvbn strength estimate.
#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "core/secret.hpp"

namespace latchkey::passwords {

struct PolicySettings {
  // Clerk's defaults. Length in Unicode code points.
  std::size_t min_length = 8;
  std::size_t max_length = 72;
  // Character classes, ASCII: a-z, A-Z, 0-9, and a special character, which is one of
  // allowed_special_characters or, when that is empty (Clerk's default), any ASCII punctuation
  // !"#$%&'()*+,-./:;<=>?@[\]^_`{|}~.
  bool require_lowercase = false, require_uppercase = false, require_number = false,
       require_special = false;
  std::string allowed_special_characters;
  // 0..4 (zxcvbn's score); 0 = no strength check. Clerk's "enforce strength" is 3.
  int min_zxcvbn_strength = 0;
  // Refuse the bundled list of the most common breached passwords (common_passwords.hpp).
  bool reject_pwned = true;
};

// zxcvbn's score (0..4) of `password` through zxcvbn-c (Debian's libzxcvbn): its entropy estimate
// as guesses, cut at zxcvbn's thresholds 10^3, 10^6, 10^8, 10^10. `user_inputs` (the email address,
// names, username) count as known words, each whole and split at its non-alphanumeric characters
// ("alice@x.com" -> "alice@x.com", "alice", "com").
[[nodiscard]] int strength_score(const core::Secret& password,
                                 std::span<const std::string_view> user_inputs = {});

// OK, or the first violated rule as a core::Error with Clerk's wire code and message (meta
// param_name "password"), checked in this order:
//   not UTF-8, or a NUL character   kFormPasswordValidationFailed
//   shorter than min_length          kFormPasswordLengthTooShort
//   longer than max_length           kFormPasswordLengthTooLong
//   no lowercase / uppercase / number / special character
//                                    kFormPasswordValidationFailed (Clerk's own codes for these,
//                                    form_password_no_lowercase etc., are in Error::internal)
//   on the breached list             kFormPasswordPwned
//   zxcvbn score below the minimum   kFormPasswordNotStrongEnough
// user_inputs feed the strength estimate (strength_score). Never logs the password.
[[nodiscard]] core::Status check_policy(const PolicySettings& p, const core::Secret& password,
                                        std::span<const std::string_view> user_inputs = {});

}  // namespace latchkey::passwords
