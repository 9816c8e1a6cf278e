#pragma once
// Bot protection on sign-up (issue 11 item 6; fapi part2 §8): the settings flows/ applies and the
// port through which it asks the provider (Turnstile, hCaptcha, reCAPTCHA siteverify) whether a
// widget token is good. The composition root plugs in the implementation (app/captcha_verifier).
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace latchkey::flows {

struct CaptchaSettings {
  bool enabled = false;
  // OAuth strategies whose sign-ups carry no token (Clerk's captcha_oauth_bypass): the provider
  // vouches for the human.
  std::vector<std::string> oauth_bypass;
};

class CaptchaVerifier {
 public:
  virtual ~CaptchaVerifier() = default;
  // ok: the token is good, for this host and action, and seen for the first time. Otherwise
  // kCaptchaInvalid (a bad, expired or replayed token) or kCaptchaUnavailable (siteverify could
  // not answer), the reason in `internal`.
  virtual core::Status verify(std::string_view token, std::string_view remote_ip) = 0;
};

}  // namespace latchkey::flows
