#pragma once
// Options of the Frontend API routes (fapi README): cookie, prefix, environment, rate limits.
#include <chrono>
#include <string>
#include <vector>

#include "ratelimit/limiter.hpp"

namespace latchkey::api {

// Per-IP and per-client limits (security catalog §2.G); a rule with limit 0 is off. Which routes
// count against which pair is the route table's Limit column (api/routes.cpp).
struct FrontendRateLimits {
  ratelimit::Rule sign_in_ip{"sign_in_ip", 0};  // sign-in / sign-up attempts
  ratelimit::Rule sign_in_client{"sign_in_client", 0};
  ratelimit::Rule verification_ip{"verification_ip", 0};  // OAuth callbacks
  ratelimit::Rule verification_client{"verification_client", 0};
  ratelimit::Rule token_ip{"token_ip", 0};  // session token minting
  ratelimit::Rule token_client{"token_client", 0};
  std::vector<std::string> trusted_proxies;
};

struct FrontendApiOptions {
  std::string prefix = "/__clerk";
  std::string public_origin;
  bool secure_cookies = false;  // public URL is https
  std::chrono::seconds client_cookie_max_age{90 * 24 * 3600};
  std::vector<std::string> required_fields;
  std::string environment_json;  // prebuilt
  std::string sign_in_url;       // absolute; the "start again" link of the callback error page
  ratelimit::Limiter* limiter = nullptr;  // null = no limits
  FrontendRateLimits limits;
};

}  // namespace latchkey::api
