#pragma once
// flows::CaptchaVerifier over a provider's siteverify (Cloudflare Turnstile; hCaptcha and
// reCAPTCHA answer the same shape): POST secret, response, remoteip as a form; the token is good
// when success is true, the hostname is one of the instance's origins' hosts and the action, when
// the provider reports one, is "signup". Single-use: a token seen once is refused until it would
// have expired anyway (siteverify refuses a replay too; this also covers a second node's race
// only through siteverify).
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/secret.hpp"
#include "flows/captcha.hpp"
#include "net/http_client.hpp"

namespace latchkey::app {

struct CaptchaVerifierSettings {
  std::string verify_url;  // the provider's siteverify
  core::Secret secret;
  std::vector<std::string> hostnames;  // accepted `hostname` answers (empty: not checked)
  std::string action = "signup";       // checked when the answer carries one
  std::chrono::milliseconds timeout{5'000};
  std::chrono::milliseconds token_lifetime{std::chrono::minutes(5)};  // Turnstile: 300 s
  std::size_t max_remembered = 100'000;  // seen tokens kept at most (oldest dropped first)
};

// The default siteverify URL of "turnstile", "hcaptcha" or "recaptcha" ("" for another name).
std::string default_verify_url(std::string_view provider);

class SiteverifyCaptchaVerifier final : public flows::CaptchaVerifier {
 public:
  SiteverifyCaptchaVerifier(CaptchaVerifierSettings settings, net::HttpClient& http,
                            const core::Clock& clock)
      : s_(std::move(settings)), http_(http), clock_(clock) {}

  core::Status verify(std::string_view token, std::string_view remote_ip) override;

 private:
  // false: seen already (a replay).
  bool remember(const std::string& token, std::int64_t now_ms);
  void forget(const std::string& token);

  CaptchaVerifierSettings s_;
  net::HttpClient& http_;
  const core::Clock& clock_;
  std::mutex mu_;
  std::map<std::string, std::int64_t> seen_;  // token -> when it may be forgotten
};

}  // namespace latchkey::app
