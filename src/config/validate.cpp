// Semantic validation, after conversion: one function per section, all called from
// validate_sections() (a new section adds its validate_<section>() here and one call), then the
// checks between sections; one provider at a time by validate_provider().
#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <optional>
#include <set>

#include "config/checks.hpp"
#include "config/detail/loader.hpp"
#include "config/schema.hpp"
#include "core/base64.hpp"

namespace latchkey::config::detail {
namespace {

class Validator {
 public:
  explicit Validator(const Origins& origins) : origins_(origins) {}

  [[nodiscard]] std::optional<Origin> origin(const std::string& key) const {
    const auto it = origins_.find(key);
    if (it == origins_.end()) {
      return std::nullopt;
    }
    return it->second;
  }

  [[nodiscard]] ConfigError error(const std::string& key, std::string_view reason) const {
    return make_error(key, origin(key).value_or(Origin{}), reason);
  }

  [[nodiscard]] std::expected<void, ConfigError> check(const std::string& key,
                                                       const checks::Reason& reason) const {
    if (reason) {
      return Fail(error(key, *reason));
    }
    return {};
  }

  template <typename Container>
  [[nodiscard]] std::expected<void, ConfigError> one_of(const std::string& key,
                                                        const std::string& value,
                                                        const Container& allowed) const {
    if (std::ranges::find(allowed, value) != std::ranges::end(allowed)) {
      return {};
    }
    std::string list;
    for (const auto& a : allowed) {
      list += list.empty() ? "" : ", ";
      list += a;
    }
    return Fail(error(key, "must be one of " + list + ", got " + checks::quote(value)));
  }

 private:
  const Origins& origins_;
};

std::expected<void, ConfigError> validate_server(ServerConfig& s, const Validator& v) {
  LATCHKEY_CONFIG_TRY(v.check("server.listen", checks::listen(s.listen)));
  LATCHKEY_CONFIG_TRY(v.check("server.public_url", checks::public_url(s.public_url)));
  // One spelling of the base URL: "https://auth.example.com/" and ".../" become "...com".
  while (s.public_url.ends_with('/')) {
    s.public_url.pop_back();
  }
  return {};
}

std::expected<void, ConfigError> validate_storage(const StorageConfig& s, const Validator& v) {
  LATCHKEY_CONFIG_TRY(v.check("storage.database_url", checks::database_url(s.database_url)));
  if (s.data_dir.empty()) {
    return Fail(v.error("storage.data_dir", "must not be empty"));
  }
  return {};
}

std::expected<void, ConfigError> validate_keys(const KeysConfig& k, const Validator& v) {
  LATCHKEY_CONFIG_TRY(
      v.check("keys.encryption_key", checks::encryption_key(k.encryption_key.reveal())));
  constexpr std::array<std::string_view, 3> kAlgorithms{"RS256", "ES256", "EdDSA"};
  LATCHKEY_CONFIG_TRY(v.one_of("keys.algorithm", k.algorithm, kAlgorithms));
  if (k.rsa_bits != 2048 && k.rsa_bits != 3072 && k.rsa_bits != 4096) {
    return Fail(
        v.error("keys.rsa_bits", "must be 2048, 3072 or 4096, got " + std::to_string(k.rsa_bits)));
  }
  return {};
}

std::expected<void, ConfigError> validate_logging(const LoggingConfig& l, const Validator& v) {
  constexpr std::array<std::string_view, 6> kLevels{"trace", "debug", "info",
                                                    "warn",  "error", "off"};
  LATCHKEY_CONFIG_TRY(v.one_of("logging.level", l.level, kLevels));
  constexpr std::array<std::string_view, 2> kFormats{"json", "text"};
  LATCHKEY_CONFIG_TRY(v.one_of("logging.format", l.format, kFormats));
  return {};
}

std::expected<void, ConfigError> validate_ratelimit(const RateLimitConfig& r, const Validator& v) {
  constexpr std::array<std::string_view, 3> kCounters{"auto", "memory", "database"};
  LATCHKEY_CONFIG_TRY(v.one_of("ratelimit.counters", r.counters, kCounters));
  // Trusted proxies are exact IP addresses: a name or a range would silently widen who may set the
  // address a rate limit is keyed on (RFC 9700 §4.13).
  for (std::size_t i = 0; i < r.trusted_proxies.size(); ++i) {
    const std::string& a = r.trusted_proxies[i];
    in_addr v4{};
    in6_addr v6{};
    if (::inet_pton(AF_INET, a.c_str(), &v4) != 1 && ::inet_pton(AF_INET6, a.c_str(), &v6) != 1) {
      return Fail(v.error("ratelimit.trusted_proxies",
                          "item " + std::to_string(i + 1) +
                              ": expected an IPv4 or IPv6 address, got " + checks::quote(a)));
    }
  }
  return {};
}

// [delivery], [smtp] and [sms] together (issue 11 item 4).
std::expected<void, ConfigError> validate_delivery(const DeliveryConfig& d, const SmtpConfig& m,
                                                   const SmsConfig& t, const Validator& v) {
  if (d.backoff_max < d.backoff_base) {
    return Fail(v.error("delivery.backoff_max", "must be at least delivery.backoff_base"));
  }
  for (std::size_t i = 0; i < d.sms_countries.size(); ++i) {
    const std::string& c = d.sms_countries[i];
    if (c.empty() || c.size() > 3 || c[0] == '0' ||
        !std::ranges::all_of(c, [](char ch) { return ch >= '0' && ch <= '9'; })) {
      return Fail(v.error("delivery.sms_countries",
                          "item " + std::to_string(i + 1) +
                              ": expected a calling code of 1 to 3 digits (\"1\", \"44\"), got " +
                              checks::quote(c)));
    }
  }
  constexpr std::array<std::string_view, 3> kTls{"starttls", "implicit", "none"};
  LATCHKEY_CONFIG_TRY(v.one_of("smtp.tls", m.tls, kTls));
  auto no_controls = [](const std::string& s) {
    return std::ranges::none_of(s, [](char c) { return static_cast<unsigned char>(c) < 0x20; });
  };
  if (!no_controls(m.host) || m.host.find_first_of(" /:@") != std::string::npos) {
    return Fail(v.error("smtp.host", "must be a host name or address, without port or scheme"));
  }
  if (!no_controls(m.from)) {
    return Fail(v.error("smtp.from", "must not contain control characters"));
  }
  if (!no_controls(m.username)) {
    return Fail(v.error("smtp.username", "must not contain control characters"));
  }
  if (!m.from.empty() && m.from.find('@') == std::string::npos) {
    return Fail(v.error("smtp.from", "must contain an address, e.g. \"Acme <no-reply@acme.com>\""));
  }
  if (!m.username.empty() && m.password.empty()) {
    return Fail(v.error("smtp.password",
                        "required with smtp.username; set the environment variable "
                        "LATCHKEY_SMTP_PASSWORD (preferred: keeps the secret out of the file)"));
  }
  constexpr std::array<std::string_view, 3> kProviders{"", "twilio", "webhook"};
  LATCHKEY_CONFIG_TRY(v.one_of("sms.provider", t.provider, kProviders));
  if (!t.url.empty()) {
    LATCHKEY_CONFIG_TRY(v.check("sms.url", checks::endpoint_url(t.url)));
  }
  if (t.provider == "webhook" && t.url.empty()) {
    return Fail(v.error("sms.url", "required with sms.provider = \"webhook\""));
  }
  if (t.provider == "twilio") {
    if (t.account_sid.empty()) {
      return Fail(v.error("sms.account_sid", "required with sms.provider = \"twilio\""));
    }
    if (t.auth_token.empty()) {
      return Fail(v.error("sms.auth_token",
                          "required with sms.provider = \"twilio\"; set the environment variable "
                          "LATCHKEY_SMS_AUTH_TOKEN"));
    }
    if (t.from.empty()) {
      return Fail(v.error("sms.from", "required with sms.provider = \"twilio\""));
    }
  }
  return {};
}

std::expected<void, ConfigError> validate_frontend(FrontendApiConfig& f, const Validator& v) {
  LATCHKEY_CONFIG_TRY(v.check("frontend.path_prefix", checks::path_prefix(f.path_prefix)));
  if (f.application_name.empty() || f.application_name.size() > 128) {
    return Fail(v.error("frontend.application_name", "must be 1 to 128 characters"));
  }
  if (std::ranges::any_of(f.application_name,
                          [](char c) { return static_cast<unsigned char>(c) < 0x20; })) {
    return Fail(v.error("frontend.application_name", "must not contain control characters"));
  }
  LATCHKEY_CONFIG_TRY(v.check("frontend.sign_in_url", checks::app_url(f.sign_in_url)));
  LATCHKEY_CONFIG_TRY(v.check("frontend.sign_up_url", checks::app_url(f.sign_up_url)));
  LATCHKEY_CONFIG_TRY(v.check("frontend.home_url", checks::app_url(f.home_url)));

  std::vector<std::string> origins;
  for (std::size_t i = 0; i < f.allowed_origins.size(); ++i) {
    const auto& o = f.allowed_origins[i];
    if (auto reason = checks::origin(o)) {
      return Fail(
          v.error("frontend.allowed_origins", "item " + std::to_string(i + 1) + ": " + *reason));
    }
    std::string normalized = checks::normalize_origin(o);
    if (std::ranges::find(origins, normalized) == origins.end()) {
      origins.push_back(std::move(normalized));
    }
  }
  f.allowed_origins = std::move(origins);

  constexpr std::array<std::string_view, 4> kFields{"first_name", "last_name", "username",
                                                    "legal_accepted"};
  std::set<std::string> seen;
  for (const auto& field : f.required_fields) {
    LATCHKEY_CONFIG_TRY(v.one_of("frontend.required_fields", field, kFields));
    if (!seen.insert(field).second) {
      return Fail(v.error("frontend.required_fields", "lists " + checks::quote(field) + " twice"));
    }
  }
  // A client (the __client cookie) that dies before its sessions would orphan them.
  if (f.client_lifetime < f.session_lifetime) {
    return Fail(v.error("frontend.client_lifetime",
                        "must be at least frontend.session_lifetime (" +
                            schema::format_duration_ms(f.session_lifetime.count() * 1000) + ")"));
  }
  return {};
}

// Between sections, after each section's own checks.
std::expected<void, ConfigError> validate_key_lifetimes(const Config& config, const Validator& v) {
  // A signing key must stay published for as long as a token it signed can still be presented.
  if (config.keys.retire_after < config.frontend.session_token_lifetime) {
    return Fail(v.error(
        "keys.retire_after",
        "must be at least frontend.session_token_lifetime (" +
            schema::format_duration_ms(config.frontend.session_token_lifetime.count() * 1000) +
            ")"));
  }
  // Staged rotation: the key being replaced keeps signing until its successor activates, so it
  // must still be published then (it stays published for retire_after after the rotation).
  if (config.keys.activation_delay >= config.keys.retire_after) {
    return Fail(v.error("keys.activation_delay",
                        "must be shorter than keys.retire_after (" +
                            schema::format_duration_ms(config.keys.retire_after.count() * 1000) +
                            ")"));
  }
  return {};
}

std::expected<void, ConfigError> check_provider(OAuthProviderConfig& p, const Origin& table,
                                                const Validator& v) {
  const std::string prefix = "providers." + p.strategy + ".";
  const std::string section = "[providers." + p.strategy + "]";
  auto required = [&](std::string_view key, bool secret) {
    const std::string full = prefix + std::string(key);
    const std::string env = schema::env_var_name("providers." + p.strategy, key);
    std::string reason;
    if (secret) {
      reason = "missing required secret; set the environment variable " + env +
               " (preferred: keeps the secret out of the file) or " + std::string(key) + " in " +
               section;
    } else {
      reason = "required; set " + std::string(key) + " in " + section +
               " or the environment variable " + env;
    }
    // When the key was never set, point at the provider's table (or the variable that made it).
    return make_error(full, v.origin(full).value_or(table), reason);
  };
  if (p.client_id.empty()) {
    return Fail(required("client_id", false));
  }
  if (p.client_secret.empty()) {
    return Fail(required("client_secret", true));
  }
  if (p.name.empty()) {
    p.name = schema::default_provider_name(p.strategy);
  }
  if (p.name.size() > 64 ||
      std::ranges::any_of(p.name, [](char c) { return static_cast<unsigned char>(c) < 0x20; })) {
    return Fail(v.error(prefix + "name", "must be 1 to 64 characters without control characters"));
  }
  if (p.strategy.starts_with("oauth_custom_") && p.issuer.empty()) {
    ConfigError e = required("issuer", false);
    e.message += " (a custom OIDC provider is found through its issuer's discovery document)";
    return Fail(std::move(e));
  }
  if (!p.issuer.empty()) {
    LATCHKEY_CONFIG_TRY(v.check(prefix + "issuer", checks::issuer(p.issuer)));
  }
  const std::array<std::pair<std::string_view, const std::string*>, 5> endpoints{{
      {"authorization_endpoint", &p.authorization_endpoint},
      {"token_endpoint", &p.token_endpoint},
      {"userinfo_endpoint", &p.userinfo_endpoint},
      {"jwks_uri", &p.jwks_uri},
      {"api_base", &p.api_base},
  }};
  for (const auto& [key, value] : endpoints) {
    if (!value->empty()) {
      LATCHKEY_CONFIG_TRY(v.check(prefix + std::string(key), checks::endpoint_url(*value)));
    }
  }
  for (const auto& s : p.scopes) {
    LATCHKEY_CONFIG_TRY(v.check(prefix + "scopes", checks::scope(s)));
  }
  constexpr std::array<std::string_view, 2> kMethods{"client_secret_post", "client_secret_basic"};
  LATCHKEY_CONFIG_TRY(v.one_of(prefix + "token_auth_method", p.token_auth_method, kMethods));
  return {};
}

}  // namespace

std::expected<void, ConfigError> validate_passwords(const PasswordsConfig& p,
                                                    const IdentifiersConfig& ids,
                                                    const Validator& v) {
  if (p.max_length < p.min_length) {
    return Fail(v.error("passwords.max_length", "must not be below passwords.min_length (" +
                                                    std::to_string(p.min_length) + ")"));
  }
  if (ids.password && !ids.email_address) {
    return Fail(v.error("identifiers.password",
                        "needs identifiers.email_address: a password signs in with an address"));
  }
  if (ids.email_code && !ids.email_address) {
    return Fail(v.error("identifiers.email_code", "needs identifiers.email_address"));
  }
  if (ids.email_link && !ids.email_address) {
    return Fail(v.error("identifiers.email_link", "needs identifiers.email_address"));
  }
  return {};
}

std::expected<void, ConfigError> validate_testing(const TestingConfig& t, const ServerConfig& s,
                                                  const Validator& v) {
  if (t.enabled && s.public_url.starts_with("https://") && !t.allow_production) {
    return Fail(v.error("testing.enabled",
                        "test mode (code 424242 for +clerk_test addresses) is refused with an "
                        "https server.public_url, a production marker; set "
                        "testing.allow_production = true to force it"));
  }
  return {};
}

// [bot_protection] (issue 11 item 6): a known provider and widget; when on, both keys.
std::expected<void, ConfigError> validate_bot_protection(const BotProtectionConfig& b,
                                                         const Validator& v) {
  constexpr std::array<std::string_view, 3> kProviders{"turnstile", "hcaptcha", "recaptcha"};
  LATCHKEY_CONFIG_TRY(v.one_of("bot_protection.provider", b.provider, kProviders));
  constexpr std::array<std::string_view, 2> kWidgets{"smart", "invisible"};
  LATCHKEY_CONFIG_TRY(v.one_of("bot_protection.widget", b.widget, kWidgets));
  if (!b.verify_url.empty()) {
    LATCHKEY_CONFIG_TRY(v.check("bot_protection.verify_url", checks::endpoint_url(b.verify_url)));
  }
  if (!b.enabled) {
    return {};
  }
  if (b.site_key.empty()) {
    return Fail(v.error("bot_protection.site_key", "required with bot_protection.enabled"));
  }
  if (b.secret_key.empty()) {
    return Fail(v.error("bot_protection.secret_key",
                        "required with bot_protection.enabled; set the environment variable "
                        "LATCHKEY_BOT_PROTECTION_SECRET_KEY"));
  }
  return {};
}

// [oauth] (issue 15 item 1): one provider's slots must leave outbound threads for the others.
std::expected<void, ConfigError> validate_oauth(const OAuthConfig& o, const ServerConfig& s,
                                                const Validator& v) {
  if (o.max_concurrent_per_provider >= s.outbound_workers) {
    return Fail(v.error("oauth.max_concurrent_per_provider",
                        "must be below server.outbound_workers (" +
                            std::to_string(s.outbound_workers) +
                            "), or one provider that does not answer holds every outbound "
                            "thread, got " +
                            std::to_string(o.max_concurrent_per_provider)));
  }
  return {};
}

namespace {

std::expected<void, ConfigError> validate_webhooks(const WebhooksConfig& w, const Validator& v) {
  if (w.retry_schedule.size() > 20) {
    return Fail(v.error("webhooks.retry_schedule", "at most 20 retries"));
  }
  for (const auto& d : w.retry_schedule) {
    const auto ms = schema::parse_duration_ms(d);
    if (!ms || *ms < 0 || *ms > 7LL * 24 * 3'600'000) {
      return Fail(v.error(
          "webhooks.retry_schedule",
          "expected durations (\"5s\", \"5m\", \"2h\") of at most 7d, got " + checks::quote(d)));
    }
  }
  for (const char c : w.instance_id) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) {
      return Fail(v.error("webhooks.instance_id", "expected letters, digits and _ (ins_...)"));
    }
  }
  return {};
}

std::expected<void, ConfigError> check_webhook_endpoint(const WebhookEndpointConfig& e,
                                                        const Origin& table, const Validator& v) {
  const std::string section = std::string(schema::kWebhookEndpoints) + "." + e.name;
  const std::string prefix = section + ".";
  if (e.url.empty()) {
    return Fail(make_error(prefix + "url", v.origin(prefix + "url").value_or(table),
                           "required; set url in [" + section + "]"));
  }
  LATCHKEY_CONFIG_TRY(v.check(prefix + "url", checks::endpoint_url(e.url)));
  const std::string_view secret = e.signing_secret.reveal();
  const std::string env = schema::env_var_name(section, "signing_secret");
  if (secret.empty()) {
    return Fail(make_error(prefix + "signing_secret",
                           v.origin(prefix + "signing_secret").value_or(table),
                           "missing required secret; set the environment variable " + env +
                               " (preferred: keeps the secret out of the file) or signing_secret "
                               "in [" +
                               section + "]"));
  }
  const auto key = secret.starts_with("whsec_") ? core::base64_decode(secret.substr(6))
                                                : std::optional<std::string>();
  const bool shaped = key && !key->empty();
  if (!shaped) {
    return Fail(v.error(prefix + "signing_secret",
                        "expected whsec_ followed by standard base64 (the value is not shown)"));
  }
  static constexpr std::array<std::string_view, 7> kEvents{
      "user.created",  "user.updated",    "user.deleted",   "session.created",
      "session.ended", "session.removed", "session.revoked"};
  for (const auto& ev : e.events) {
    if (std::ranges::find(kEvents, ev) == kEvents.end()) {
      return Fail(v.error(prefix + "events",
                          "unknown event type " + checks::quote(ev) +
                              "; known: user.created, user.updated, user.deleted, "
                              "session.created, session.ended, session.removed, session.revoked"));
    }
  }
  return {};
}

}  // namespace

std::expected<void, ConfigError> validate_sections(Config& config, const Origins& origins) {
  const Validator v(origins);
  LATCHKEY_CONFIG_TRY(validate_server(config.server, v));
  LATCHKEY_CONFIG_TRY(validate_storage(config.storage, v));
  LATCHKEY_CONFIG_TRY(validate_keys(config.keys, v));
  LATCHKEY_CONFIG_TRY(validate_logging(config.logging, v));
  LATCHKEY_CONFIG_TRY(validate_frontend(config.frontend, v));
  LATCHKEY_CONFIG_TRY(validate_ratelimit(config.ratelimit, v));
  LATCHKEY_CONFIG_TRY(validate_delivery(config.delivery, config.smtp, config.sms, v));
  LATCHKEY_CONFIG_TRY(validate_passwords(config.passwords, config.identifiers, v));
  LATCHKEY_CONFIG_TRY(validate_testing(config.testing, config.server, v));
  LATCHKEY_CONFIG_TRY(validate_webhooks(config.webhooks, v));
  LATCHKEY_CONFIG_TRY(
      v.check("backend_api.path_prefix", checks::path_prefix(config.backend_api.path_prefix)));
  LATCHKEY_CONFIG_TRY(validate_bot_protection(config.bot_protection, v));
  LATCHKEY_CONFIG_TRY(validate_oauth(config.oauth, config.server, v));
  LATCHKEY_CONFIG_TRY(validate_key_lifetimes(config, v));
  return {};
}

std::expected<void, ConfigError> validate_provider(OAuthProviderConfig& p, const Origin& table,
                                                   const Origins& origins) {
  return check_provider(p, table, Validator(origins));
}

std::expected<void, ConfigError> validate_webhook_endpoint(const WebhookEndpointConfig& e,
                                                           const Origin& table,
                                                           const Origins& origins) {
  return check_webhook_endpoint(e, table, Validator(origins));
}

}  // namespace latchkey::config::detail
