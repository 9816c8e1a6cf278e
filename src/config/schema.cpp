#include "config/schema.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace latchkey::config::schema {
namespace {

constexpr std::int64_t kMs = 1;
constexpr std::int64_t kSec = 1000 * kMs;
constexpr std::int64_t kMin = 60 * kSec;
constexpr std::int64_t kHour = 60 * kMin;
constexpr std::int64_t kDay = 24 * kHour;
constexpr std::int64_t kKiB = 1024;
constexpr std::int64_t kMiB = 1024 * kKiB;

using S = ServerConfig;
const std::array<Field<S>, 12> kServerFields{{
    {"listen", &S::listen},
    {"public_url", &S::public_url},
    {"threads", &S::threads, 0, 256},
    {"workers", &S::workers, 1, 1024},
    {"outbound_workers", &S::outbound_workers, 2, 4096},
    {"max_header_bytes", &S::max_header_bytes, 1 * kKiB, 1 * kMiB},
    {"max_body_bytes", &S::max_body_bytes, 1 * kKiB, 64 * kMiB},
    {"read_timeout", &S::read_timeout, 100 * kMs, 1 * kHour},
    {"write_timeout", &S::write_timeout, 100 * kMs, 1 * kHour},
    {"idle_timeout", &S::idle_timeout, 1 * kSec, 1 * kDay},
    {"shutdown_timeout", &S::shutdown_timeout, 0, 10 * kMin},
    {"max_connections", &S::max_connections, 1, 1'000'000},
}};

using St = StorageConfig;
const std::array<Field<St>, 3> kStorageFields{{
    {"database_url", &St::database_url},
    {"data_dir", &St::data_dir},
    {"busy_timeout", &St::busy_timeout, 0, 10 * kMin},
}};

using K = KeysConfig;
const std::array<Field<K>, 5> kKeysFields{{
    {"encryption_key", &K::encryption_key},
    {"algorithm", &K::algorithm},
    {"rsa_bits", &K::rsa_bits, 2048, 4096},
    {"retire_after", &K::retire_after, 1 * kMin, 90 * kDay},
    {"activation_delay", &K::activation_delay, 0, 1 * kDay},
}};

using L = LoggingConfig;
const std::array<Field<L>, 3> kLoggingFields{{
    {"level", &L::level},
    {"format", &L::format},
    {"access_log", &L::access_log},
}};

using F = FrontendApiConfig;
const std::array<Field<F>, 18> kFrontendFields{{
    {"path_prefix", &F::path_prefix},
    {"application_name", &F::application_name},
    {"sign_in_url", &F::sign_in_url},
    {"sign_up_url", &F::sign_up_url},
    {"home_url", &F::home_url},
    {"allowed_origins", &F::allowed_origins},
    {"required_fields", &F::required_fields},
    {"session_token_lifetime", &F::session_token_lifetime, 10 * kSec, 1 * kHour},
    {"session_lifetime", &F::session_lifetime, 1 * kMin, 3650 * kDay},
    {"client_lifetime", &F::client_lifetime, 1 * kHour, 3650 * kDay},
    {"attempt_lifetime", &F::attempt_lifetime, 1 * kMin, 30 * kDay},
    {"oauth_state_lifetime", &F::oauth_state_lifetime, 1 * kMin, 1 * kHour},
    {"client_rotation_grace", &F::client_rotation_grace, 1 * kSec, 1 * kHour},
    {"last_active_write_interval", &F::last_active_write_interval, 0, 1 * kHour},
    {"outbound_timeout", &F::outbound_timeout, 100 * kMs, 5 * kMin},
    {"outbound_max_bytes", &F::outbound_max_bytes, 1 * kKiB, 64 * kMiB},
    {"single_session_mode", &F::single_session_mode},
    {"static_dir", &F::static_dir},
}};

using R = RateLimitConfig;
const std::array<Field<R>, 10> kRateLimitFields{{
    {"enabled", &R::enabled},
    {"counters", &R::counters},
    {"window", &R::window, 1 * kSec, 1 * kDay},
    {"sign_in_per_ip", &R::sign_in_per_ip, 0, 1'000'000},
    {"sign_in_per_client", &R::sign_in_per_client, 0, 1'000'000},
    {"verification_per_ip", &R::verification_per_ip, 0, 1'000'000},
    {"verification_per_client", &R::verification_per_client, 0, 1'000'000},
    {"token_per_ip", &R::token_per_ip, 0, 1'000'000},
    {"token_per_client", &R::token_per_client, 0, 1'000'000},
    {"trusted_proxies", &R::trusted_proxies},
}};

using D = DeliveryConfig;
const std::array<Field<D>, 10> kDeliveryFields{{
    {"limit_window", &D::limit_window, 1 * kMin, 7 * kDay},
    {"per_ip", &D::per_ip, 0, 1'000'000},
    {"per_recipient", &D::per_recipient, 0, 1'000'000},
    {"per_country", &D::per_country, 0, 100'000'000},
    {"sms_countries", &D::sms_countries},
    {"max_attempts", &D::max_attempts, 1, 100},
    {"max_age", &D::max_age, 1 * kMin, 30 * kDay},
    {"backoff_base", &D::backoff_base, 100 * kMs, 1 * kHour},
    {"backoff_max", &D::backoff_max, 100 * kMs, 1 * kDay},
    {"poll_interval", &D::poll_interval, 100 * kMs, 10 * kMin},
}};

using M = SmtpConfig;
const std::array<Field<M>, 8> kSmtpFields{{
    {"host", &M::host},
    {"port", &M::port, 1, 65535},
    {"tls", &M::tls},
    {"username", &M::username},
    {"password", &M::password},
    {"from", &M::from},
    {"timeout", &M::timeout, 1 * kSec, 10 * kMin},
    {"ca_file", &M::ca_file},
}};

using T = SmsConfig;
const std::array<Field<T>, 5> kSmsFields{{
    {"provider", &T::provider},
    {"url", &T::url},
    {"account_sid", &T::account_sid},
    {"auth_token", &T::auth_token},
    {"from", &T::from},
}};

using I = IdentifiersConfig;
const std::array<Field<I>, 9> kIdentifiersFields{{
    {"email_address", &I::email_address},
    {"password", &I::password},
    {"email_code", &I::email_code},
    {"code_lifetime", &I::code_lifetime, 1 * kMin, 1 * kDay},
    {"code_max_attempts", &I::code_max_attempts, 1, 20},
    {"code_resend_cooldown", &I::code_resend_cooldown, 0, 1 * kHour},
    {"enumeration_protection", &I::enumeration_protection},
    {"email_link", &I::email_link},
    {"email_link_lifetime", &I::email_link_lifetime, 1 * kMin, 1 * kDay},
}};

using Mf = MfaConfig;
const std::array<Field<Mf>, 4> kMfaFields{{
    {"authenticator_app", &Mf::authenticator_app},
    {"backup_codes", &Mf::backup_codes},
    {"max_attempts", &Mf::max_attempts, 1, 20},
    {"required", &Mf::required},
}};

using Pw = PasswordsConfig;
const std::array<Field<Pw>, 12> kPasswordsFields{{
    {"hash_opslimit", &Pw::hash_opslimit, 1, 64},
    {"hash_memlimit_kib", &Pw::hash_memlimit_kib, 8, 1024 * 1024},
    {"min_length", &Pw::min_length, 1, 256},
    {"max_length", &Pw::max_length, 8, 1024},
    {"require_lowercase", &Pw::require_lowercase},
    {"require_uppercase", &Pw::require_uppercase},
    {"require_number", &Pw::require_number},
    {"require_special", &Pw::require_special},
    {"min_strength", &Pw::min_strength, 0, 4},
    {"reject_pwned", &Pw::reject_pwned},
    {"lockout_max_attempts", &Pw::lockout_max_attempts, 0, 1'000'000},
    {"lockout_duration", &Pw::lockout_duration, 1 * kMin, 30 * kDay},
}};

using Te = TestingConfig;
const std::array<Field<Te>, 2> kTestingFields{{
    {"enabled", &Te::enabled},
    {"allow_production", &Te::allow_production},
}};

using B = BotProtectionConfig;
const std::array<Field<B>, 8> kBotProtectionFields{{
    {"enabled", &B::enabled},
    {"provider", &B::provider},
    {"site_key", &B::site_key},
    {"secret_key", &B::secret_key},
    {"verify_url", &B::verify_url},
    {"widget", &B::widget},
    {"timeout", &B::timeout, 100 * kMs, 1 * kMin},
    {"oauth_bypass", &B::oauth_bypass},
}};

using O = OAuthConfig;
const std::array<Field<O>, 2> kOAuthFields{{
    {"max_concurrent_per_provider", &O::max_concurrent_per_provider, 1, 4095},
    {"callback_deadline", &O::callback_deadline, 1 * kSec, 5 * kMin},
}};

using Ba = BackendApiConfig;
const std::array<Field<Ba>, 2> kBackendApiFields{{
    {"enabled", &Ba::enabled},
    {"path_prefix", &Ba::path_prefix},
}};

using P = OAuthProviderConfig;
const std::array<Field<P>, 11> kProviderFields{{
    {"name", &P::name},
    {"client_id", &P::client_id},
    {"client_secret", &P::client_secret},
    {"issuer", &P::issuer},
    {"scopes", &P::scopes},
    {"authorization_endpoint", &P::authorization_endpoint},
    {"token_endpoint", &P::token_endpoint},
    {"userinfo_endpoint", &P::userinfo_endpoint},
    {"jwks_uri", &P::jwks_uri},
    {"api_base", &P::api_base},
    {"token_auth_method", &P::token_auth_method},
}};

using W = WebhooksConfig;
const std::array<Field<W>, 5> kWebhooksFields{{
    {"retry_schedule", &W::retry_schedule},
    {"timeout", &W::timeout, 100 * kMs, 10 * kMin},
    {"poll_interval", &W::poll_interval, 100 * kMs, 10 * kMin},
    {"retention", &W::retention, 1 * kMin, 365 * kDay},
    {"instance_id", &W::instance_id},
}};

using WE = WebhookEndpointConfig;
const std::array<Field<WE>, 3> kWebhookEndpointFields{{
    {"url", &WE::url},
    {"signing_secret", &WE::signing_secret},
    {"events", &WE::events},
}};

const std::array<std::string_view, 17> kSections{
    kServer,   kStorage,       kKeys,  kLogging,     kFrontend, kRateLimits,
    kDelivery, kSmtp,          kSms,   kIdentifiers, kMfa,      kPasswords,
    kTesting,  kBotProtection, kOAuth, kBackendApi,  kWebhooks};

template <typename T>
std::vector<std::string_view> names_of(std::span<const Field<T>> fields) {
  std::vector<std::string_view> out;
  out.reserve(fields.size());
  for (const auto& f : fields) {
    out.push_back(f.name);
  }
  return out;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1);
  std::vector<std::size_t> cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) {
    prev[j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

std::span<const Field<ServerConfig>> server_fields() { return kServerFields; }
std::span<const Field<StorageConfig>> storage_fields() { return kStorageFields; }
std::span<const Field<KeysConfig>> keys_fields() { return kKeysFields; }
std::span<const Field<LoggingConfig>> logging_fields() { return kLoggingFields; }
std::span<const Field<FrontendApiConfig>> frontend_fields() { return kFrontendFields; }
std::span<const Field<RateLimitConfig>> rate_limit_fields() { return kRateLimitFields; }
std::span<const Field<IdentifiersConfig>> identifiers_fields() { return kIdentifiersFields; }
std::span<const Field<MfaConfig>> mfa_fields() { return kMfaFields; }
std::span<const Field<PasswordsConfig>> passwords_fields() { return kPasswordsFields; }
std::span<const Field<TestingConfig>> testing_fields() { return kTestingFields; }
std::span<const Field<BackendApiConfig>> backend_api_fields() { return kBackendApiFields; }
std::span<const Field<BotProtectionConfig>> bot_protection_fields() { return kBotProtectionFields; }
std::span<const Field<OAuthConfig>> oauth_fields() { return kOAuthFields; }
std::span<const Field<DeliveryConfig>> delivery_fields() { return kDeliveryFields; }
std::span<const Field<SmtpConfig>> smtp_fields() { return kSmtpFields; }
std::span<const Field<SmsConfig>> sms_fields() { return kSmsFields; }
std::span<const Field<OAuthProviderConfig>> provider_fields() { return kProviderFields; }
std::span<const Field<WebhooksConfig>> webhooks_fields() { return kWebhooksFields; }
std::span<const Field<WebhookEndpointConfig>> webhook_endpoint_fields() {
  return kWebhookEndpointFields;
}
bool is_valid_endpoint_name(std::string_view name) {
  return !name.empty() && name.size() <= 32 && std::ranges::all_of(name, [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}
std::span<const std::string_view> sections() { return kSections; }

std::vector<std::string_view> key_names(std::string_view section) {
  if (section == kServer) {
    return names_of(server_fields());
  }
  if (section == kStorage) {
    return names_of(storage_fields());
  }
  if (section == kKeys) {
    return names_of(keys_fields());
  }
  if (section == kLogging) {
    return names_of(logging_fields());
  }
  if (section == kFrontend) {
    return names_of(frontend_fields());
  }
  if (section == kRateLimits) {
    return names_of(rate_limit_fields());
  }
  if (section == kIdentifiers) {
    return names_of(identifiers_fields());
  }
  if (section == kMfa) {
    return names_of(mfa_fields());
  }
  if (section == kPasswords) {
    return names_of(passwords_fields());
  }
  if (section == kTesting) {
    return names_of(testing_fields());
  }
  if (section == kBackendApi) {
    return names_of(backend_api_fields());
  }
  if (section == kBotProtection) {
    return names_of(bot_protection_fields());
  }
  if (section == kOAuth) {
    return names_of(oauth_fields());
  }
  if (section == kDelivery) {
    return names_of(delivery_fields());
  }
  if (section == kSmtp) {
    return names_of(smtp_fields());
  }
  if (section == kSms) {
    return names_of(sms_fields());
  }
  if (section == kProviders) {
    return names_of(provider_fields());
  }
  if (section == kWebhooks) {
    return names_of(webhooks_fields());
  }
  if (section == kWebhookEndpoints) {
    return names_of(webhook_endpoint_fields());
  }
  return {};
}

std::string env_var_name(std::string_view section, std::string_view key) {
  std::string out = "LATCHKEY_";
  for (char c : section) {
    out.push_back(c == '.' ? '_' : c);
  }
  out.push_back('_');
  out.append(key);
  return upper(out);
}

bool is_known_strategy(std::string_view strategy) {
  if (strategy == "oauth_google" || strategy == "oauth_github" || strategy == "oauth_microsoft") {
    return true;
  }
  constexpr std::string_view kCustom = "oauth_custom_";
  if (!strategy.starts_with(kCustom)) {
    return false;
  }
  const std::string_view name = strategy.substr(kCustom.size());
  if (name.empty() || name.size() > 32) {
    return false;
  }
  return std::ranges::all_of(
      name, [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

std::string default_provider_name(std::string_view strategy) {
  if (strategy == "oauth_google") {
    return "Google";
  }
  if (strategy == "oauth_github") {
    return "GitHub";
  }
  if (strategy == "oauth_microsoft") {
    return "Microsoft";
  }
  constexpr std::string_view kCustom = "oauth_custom_";
  if (strategy.starts_with(kCustom)) {
    return std::string(strategy.substr(kCustom.size()));
  }
  return std::string(strategy);
}

std::optional<std::int64_t> parse_duration_ms(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
    ++digits;
  }
  // 12 digits bound the number so the multiplication below cannot overflow int64.
  if (digits == 0 || digits > 12) {
    return std::nullopt;
  }
  std::int64_t number = 0;
  for (std::size_t i = 0; i < digits; ++i) {
    number = number * 10 + (text[i] - '0');
  }
  const std::string_view unit = text.substr(digits);
  std::int64_t factor = 0;
  if (unit == "ms") {
    factor = kMs;
  } else if (unit == "s") {
    factor = kSec;
  } else if (unit == "m") {
    factor = kMin;
  } else if (unit == "h") {
    factor = kHour;
  } else if (unit == "d") {
    factor = kDay;
  } else {
    return std::nullopt;
  }
  return number * factor;
}

std::string format_duration_ms(std::int64_t ms) {
  if (ms == 0) {
    return "0s";
  }
  constexpr std::array<std::pair<std::int64_t, std::string_view>, 4> kUnits{
      {{kDay, "d"}, {kHour, "h"}, {kMin, "m"}, {kSec, "s"}}};
  for (const auto& [factor, unit] : kUnits) {
    if (ms % factor == 0) {
      return std::to_string(ms / factor) + std::string(unit);
    }
  }
  return std::to_string(ms) + "ms";
}

std::string closest(std::string_view word, const std::vector<std::string_view>& candidates) {
  std::string best;
  std::size_t best_distance = 3;
  for (const auto candidate : candidates) {
    const std::size_t d = edit_distance(word, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = std::string(candidate);
    }
  }
  return best;
}

}  // namespace latchkey::config::schema

namespace latchkey::config {
std::optional<std::int64_t> duration_ms(std::string_view text) {
  return schema::parse_duration_ms(text);
}
}  // namespace latchkey::config
