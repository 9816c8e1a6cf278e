#pragma once
// Internal to the config module: the one table of every key (name, member, bounds). The loader, the
// environment mapping and describe() all walk these tables, so a key added here is parsed,
// overridable by LATCHKEY_* and printed without further code.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/config.hpp"
#include "core/secret.hpp"

namespace latchkey::config::schema {

template <typename S>
using Member = std::variant<std::string S::*, core::Secret S::*, unsigned S::*, std::size_t S::*,
                            bool S::*, std::chrono::milliseconds S::*, std::chrono::seconds S::*,
                            std::vector<std::string> S::*, std::filesystem::path S::*>;

// Inclusive bounds: for integers in their unit, for durations in milliseconds.
template <typename S>
struct Field {
  std::string_view name;
  Member<S> member;
  std::int64_t min = 0;
  std::int64_t max = 0;
};

inline constexpr std::string_view kServer = "server";
inline constexpr std::string_view kStorage = "storage";
inline constexpr std::string_view kKeys = "keys";
inline constexpr std::string_view kLogging = "logging";
inline constexpr std::string_view kFrontend = "frontend";
inline constexpr std::string_view kRateLimits = "ratelimit";
inline constexpr std::string_view kDelivery = "delivery";
inline constexpr std::string_view kSmtp = "smtp";
inline constexpr std::string_view kSms = "sms";
inline constexpr std::string_view kIdentifiers = "identifiers";
inline constexpr std::string_view kMfa = "mfa";
inline constexpr std::string_view kPasswords = "passwords";
inline constexpr std::string_view kTesting = "testing";
inline constexpr std::string_view kBotProtection = "bot_protection";
inline constexpr std::string_view kOAuth = "oauth";
inline constexpr std::string_view kBackendApi = "backend_api";
inline constexpr std::string_view kProviders = "providers";
inline constexpr std::string_view kWebhooks = "webhooks";
inline constexpr std::string_view kWebhookEndpoints = "webhook_endpoints";

std::span<const Field<ServerConfig>> server_fields();
std::span<const Field<StorageConfig>> storage_fields();
std::span<const Field<KeysConfig>> keys_fields();
std::span<const Field<LoggingConfig>> logging_fields();
std::span<const Field<FrontendApiConfig>> frontend_fields();
std::span<const Field<RateLimitConfig>> rate_limit_fields();
std::span<const Field<DeliveryConfig>> delivery_fields();
std::span<const Field<SmtpConfig>> smtp_fields();
std::span<const Field<SmsConfig>> sms_fields();
std::span<const Field<IdentifiersConfig>> identifiers_fields();
std::span<const Field<MfaConfig>> mfa_fields();
std::span<const Field<PasswordsConfig>> passwords_fields();
std::span<const Field<TestingConfig>> testing_fields();
std::span<const Field<BackendApiConfig>> backend_api_fields();
std::span<const Field<BotProtectionConfig>> bot_protection_fields();
std::span<const Field<OAuthConfig>> oauth_fields();
// Every provider key except `strategy`, which is the name of the provider's table.
std::span<const Field<OAuthProviderConfig>> provider_fields();

std::span<const Field<WebhooksConfig>> webhooks_fields();
// Every endpoint key; the endpoint's name is the name of its table.
std::span<const Field<WebhookEndpointConfig>> webhook_endpoint_fields();
// a-z, 0-9, _; 1-32 characters.
bool is_valid_endpoint_name(std::string_view name);

// The plain sections in file order (not `providers` nor `webhook_endpoints`).
std::span<const std::string_view> sections();
// Key names of a plain section or of "providers" (a provider table); empty for an unknown section.
std::vector<std::string_view> key_names(std::string_view section);

// "LATCHKEY_SERVER_LISTEN" for ("server", "listen"); providers: ("providers.oauth_google",
// "client_id").
std::string env_var_name(std::string_view section, std::string_view key);

// oauth_google, oauth_github, oauth_microsoft, oauth_custom_<[a-z0-9_]{1,32}>.
bool is_known_strategy(std::string_view strategy);
// "Google", "GitHub", "Microsoft", or the <name> of oauth_custom_<name>.
std::string default_provider_name(std::string_view strategy);

// Durations are strings with one unit: "500ms", "10s", "5m", "1h", "7d". Returns milliseconds.
std::optional<std::int64_t> parse_duration_ms(std::string_view text);
// The largest unit that represents `ms` exactly ("7d", "90s", "1500ms").
std::string format_duration_ms(std::int64_t ms);

// The closest candidate (edit distance <= 2) for "did you mean" hints; empty when none.
std::string closest(std::string_view word, const std::vector<std::string_view>& candidates);

}  // namespace latchkey::config::schema
