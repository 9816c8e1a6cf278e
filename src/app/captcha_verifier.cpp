#include "app/captcha_verifier.hpp"

#include <algorithm>
#include <boost/json.hpp>

namespace latchkey::app {

namespace json = boost::json;
using core::Code;
using core::Error;
using core::fail;
using core::Status;

namespace {

constexpr std::size_t kMaxTokenBytes = 4096;  // Turnstile: 2048

Error invalid(std::string why) {
  return Error(Code::kCaptchaInvalid).with_internal(std::move(why));
}
Error unavailable(std::string why) {
  return Error(Code::kCaptchaUnavailable).with_internal(std::move(why));
}

const json::string* string_at(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr ? v->if_string() : nullptr;
}

std::string error_codes(const json::object& o) {
  std::string out;
  if (const json::value* v = o.if_contains("error-codes"); v != nullptr && v->is_array()) {
    for (const auto& e : v->get_array()) {
      if (e.is_string()) {
        out += out.empty() ? "" : ",";
        out += std::string(e.get_string());
      }
    }
  }
  return out;
}

}  // namespace

std::string default_verify_url(std::string_view provider) {
  if (provider == "turnstile") {
    return "https://challenges.cloudflare.com/turnstile/v0/siteverify";
  }
  if (provider == "hcaptcha") {
    return "https://api.hcaptcha.com/siteverify";
  }
  if (provider == "recaptcha") {
    return "https://www.google.com/recaptcha/api/siteverify";
  }
  return {};
}

bool SiteverifyCaptchaVerifier::remember(const std::string& token, std::int64_t now_ms) {
  const std::lock_guard lock(mu_);
  std::erase_if(seen_, [&](const auto& e) { return e.second <= now_ms; });
  if (seen_.contains(token)) {
    return false;
  }
  if (seen_.size() >= s_.max_remembered) {
    seen_.erase(std::min_element(seen_.begin(), seen_.end(),
                                 [](const auto& a, const auto& b) { return a.second < b.second; }));
  }
  seen_.emplace(token, now_ms + s_.token_lifetime.count());
  return true;
}

void SiteverifyCaptchaVerifier::forget(const std::string& token) {
  const std::lock_guard lock(mu_);
  seen_.erase(token);
}

Status SiteverifyCaptchaVerifier::verify(std::string_view token_view, std::string_view remote_ip) {
  if (token_view.empty() || token_view.size() > kMaxTokenBytes) {
    return fail(invalid("captcha token empty or too long"));
  }
  const std::string token(token_view);
  if (!remember(token, clock_.now_ms())) {
    return fail(invalid("captcha token replayed"));
  }
  std::vector<std::pair<std::string, std::string>> form{{"secret", std::string(s_.secret.reveal())},
                                                        {"response", token}};
  if (!remote_ip.empty()) {
    form.emplace_back("remoteip", std::string(remote_ip));
  }
  net::HttpRequest req;
  req.method = "POST";
  req.url = s_.verify_url;
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  req.body = net::form_encode(form);
  req.timeout = s_.timeout;
  req.connect_timeout = std::min(s_.timeout, req.connect_timeout);
  req.max_response_bytes = 64 * 1024;
  auto resp = http_.send(req);
  if (!resp) {
    // Siteverify did not look at the token: it may be tried again.
    forget(token);
    return fail(unavailable("siteverify unreachable: " + resp.error().internal));
  }
  if (resp->status < 200 || resp->status >= 300) {
    forget(token);
    return fail(unavailable("siteverify answered HTTP " + std::to_string(resp->status)));
  }
  boost::system::error_code ec;
  json::value v = json::parse(resp->body, ec);
  if (ec || !v.is_object()) {
    forget(token);
    return fail(unavailable("siteverify answered no JSON object"));
  }
  const json::object& o = v.get_object();
  const json::value* success = o.if_contains("success");
  if (success == nullptr || !success->is_bool()) {
    forget(token);
    return fail(unavailable("siteverify answer has no success"));
  }
  if (!success->get_bool()) {
    const std::string codes = error_codes(o);
    if (codes.find("internal-error") != std::string::npos) {
      forget(token);
      return fail(unavailable("siteverify internal-error"));
    }
    if (codes.find("invalid-input-secret") != std::string::npos ||
        codes.find("missing-input-secret") != std::string::npos) {
      return fail(unavailable("siteverify refused the configured secret: " + codes));
    }
    return fail(invalid("siteverify refused the token: " + codes));
  }
  if (!s_.hostnames.empty()) {
    const json::string* host = string_at(o, "hostname");
    if (host == nullptr || std::find(s_.hostnames.begin(), s_.hostnames.end(),
                                     std::string_view(*host)) == s_.hostnames.end()) {
      return fail(invalid("captcha solved on another host: " +
                          (host != nullptr ? std::string(*host) : std::string("(none)"))));
    }
  }
  if (const json::string* action = string_at(o, "action"); action != nullptr && !action->empty() &&
                                                           !s_.action.empty() &&
                                                           std::string_view(*action) != s_.action) {
    return fail(invalid("captcha action " + std::string(*action) + ", expected " + s_.action));
  }
  return {};
}

}  // namespace latchkey::app
