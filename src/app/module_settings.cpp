#include "app/module_settings.hpp"

#include <algorithm>

#include "crypto/hmac.hpp"

namespace latchkey::app {

oauth::Settings oauth_settings(const config::Config& c) {
  oauth::Settings s;
  for (const auto& p : c.providers) {
    s.providers.push_back(
        oauth::ProviderSettings{.strategy = p.strategy,
                                .name = p.name,
                                .client_id = p.client_id,
                                .client_secret = p.client_secret,
                                .issuer = p.issuer,
                                .scopes = p.scopes,
                                .authorization_endpoint = p.authorization_endpoint,
                                .token_endpoint = p.token_endpoint,
                                .userinfo_endpoint = p.userinfo_endpoint,
                                .jwks_uri = p.jwks_uri,
                                .api_base = p.api_base,
                                .token_auth_method = p.token_auth_method});
  }
  s.outbound_timeout = c.frontend.outbound_timeout;
  s.outbound_max_bytes = c.frontend.outbound_max_bytes;
  s.max_concurrent_per_provider = c.oauth.max_concurrent_per_provider;
  s.callback_deadline = c.oauth.callback_deadline;
  return s;
}

tokens::KeyRingOptions key_ring_options(const config::KeysConfig& k) {
  return tokens::KeyRingOptions{.algorithm = k.algorithm,
                                .rsa_bits = k.rsa_bits,
                                .retire_after = k.retire_after,
                                .activation_delay = k.activation_delay};
}

namespace {

// The host of public_url for the default sender address; "localhost" when it is an IP address or
// a single label (neither makes a usable mail domain).
std::string mail_domain(const std::string& public_url) {
  std::string host = public_url.substr(
      public_url.find("://") == std::string::npos ? 0 : public_url.find("://") + 3);
  host = host.substr(0, host.find_first_of(":/"));
  const bool ip = host.starts_with('[') || std::ranges::all_of(host, [](char ch) {
                    return (ch >= '0' && ch <= '9') || ch == '.';
                  });
  return ip || host.find('.') == std::string::npos ? "localhost" : host;
}

}  // namespace

delivery::Settings delivery_settings(const config::Config& c) {
  delivery::Settings s;
  s.application_name = c.frontend.application_name;
  s.from = c.smtp.from.empty() ? c.frontend.application_name + " <no-reply@" +
                                     mail_domain(c.server.public_url) + ">"
                               : c.smtp.from;
  s.mail_dir = c.storage.data_dir / "mail";
  s.smtp.server.host = c.smtp.host;
  s.smtp.server.port = static_cast<int>(c.smtp.port);
  s.smtp.server.tls = c.smtp.tls == "implicit" ? net::SmtpTls::kImplicit
                      : c.smtp.tls == "none"   ? net::SmtpTls::kNone
                                               : net::SmtpTls::kStartTls;
  s.smtp.server.username = c.smtp.username;
  s.smtp.server.password = c.smtp.password;
  s.smtp.server.timeout = c.smtp.timeout;
  s.smtp.server.ca_file = c.smtp.ca_file.string();
  s.smtp.server.connect_timeout = std::min(c.smtp.timeout, std::chrono::milliseconds(10'000));
  s.sms.provider = c.sms.provider;
  s.sms.url = c.sms.url;
  s.sms.account_sid = c.sms.account_sid;
  s.sms.auth_token = c.sms.auth_token;
  s.sms.from = c.sms.from;
  const auto& d = c.delivery;
  s.limits.window = d.limit_window;
  s.limits.per_ip = d.per_ip;
  s.limits.per_recipient = d.per_recipient;
  s.limits.per_country = d.per_country;
  s.limits.sms_countries = d.sms_countries;
  s.max_attempts = static_cast<int>(d.max_attempts);
  s.max_age = d.max_age;
  s.backoff_base = d.backoff_base;
  s.backoff_max = d.backoff_max;
  s.poll_interval = d.poll_interval;
  // A claimed message is not claimed again before one send's deadline has surely passed.
  s.lease = std::max(std::chrono::milliseconds(120'000), 4 * c.smtp.timeout);
  s.outbound_timeout = c.frontend.outbound_timeout;
  return s;
}

flows::MfaSettings mfa_settings(const config::Config& c) {
  flows::MfaSettings s;
  s.authenticator_app = c.mfa.authenticator_app;
  s.backup_codes = c.mfa.backup_codes;
  s.max_attempts = static_cast<int>(c.mfa.max_attempts);
  s.required = c.mfa.required;
  s.issuer = c.frontend.application_name;
  return s;
}

flows::IdentifierSettings identifier_settings(const config::Config& c) {
  flows::IdentifierSettings s;
  s.email_address = c.identifiers.email_address;
  s.password = c.identifiers.password;
  s.email_code = c.identifiers.email_code;
  s.code_lifetime = c.identifiers.code_lifetime;
  s.code_max_attempts = static_cast<int>(c.identifiers.code_max_attempts);
  s.code_resend_cooldown = c.identifiers.code_resend_cooldown;
  s.enumeration_protection = c.identifiers.enumeration_protection;
  s.email_link = c.identifiers.email_link;
  s.email_link_lifetime = c.identifiers.email_link_lifetime;
  s.test_mode = c.testing.enabled;
  s.application_name = c.frontend.application_name;
  return s;
}

passwords::HashSettings password_hash_settings(const config::PasswordsConfig& p) {
  return passwords::HashSettings{p.hash_opslimit, std::size_t{p.hash_memlimit_kib} * 1024};
}

passwords::PolicySettings password_policy(const config::PasswordsConfig& p) {
  passwords::PolicySettings s;
  s.min_length = p.min_length;
  s.max_length = p.max_length;
  s.require_lowercase = p.require_lowercase;
  s.require_uppercase = p.require_uppercase;
  s.require_number = p.require_number;
  s.require_special = p.require_special;
  s.min_zxcvbn_strength = static_cast<int>(p.min_strength);
  s.reject_pwned = p.reject_pwned;
  return s;
}

passwords::LockoutSettings password_lockout(const config::PasswordsConfig& p) {
  passwords::LockoutSettings s;
  s.max_attempts = static_cast<int>(p.lockout_max_attempts);
  s.lockout_ms = p.lockout_duration.count();
  return s;
}

delivery::WebhookSettings webhook_settings(const config::Config& c) {
  delivery::WebhookSettings w;
  for (const auto& e : c.webhook_endpoints) {
    w.endpoints.push_back(delivery::WebhookEndpoint{
        .name = e.name, .url = e.url, .signing_secret = e.signing_secret, .events = e.events});
  }
  w.retry_schedule.clear();
  for (const auto& d : c.webhooks.retry_schedule) {
    w.retry_schedule.emplace_back(config::duration_ms(d).value_or(0));  // validated by config
  }
  w.timeout = c.webhooks.timeout;
  // A claimed row whose worker died (crash mid-POST) is claimed again after this: longer than
  // one attempt can take.
  w.lease = std::max(std::chrono::milliseconds(2'000), c.webhooks.timeout * 2);
  w.poll_interval = c.webhooks.poll_interval;
  w.retention = c.webhooks.retention;
  if (!c.webhooks.instance_id.empty()) {
    w.instance_id = c.webhooks.instance_id;
  } else {
    // Stable for one deployment (every node and restart agrees) without configuration.
    auto mac = crypto::hmac_sha256("latchkey instance id", c.server.public_url);
    std::string hex;
    static constexpr char kHex[] = "0123456789abcdef";
    for (const unsigned char b : mac ? std::string_view(*mac).substr(0, 12) : std::string_view()) {
      hex.push_back(kHex[b >> 4]);
      hex.push_back(kHex[b & 0xF]);
    }
    w.instance_id = "ins_" + hex;
  }
  return w;
}

}  // namespace latchkey::app
