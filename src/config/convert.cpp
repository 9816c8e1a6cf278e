// Conversion of raw values (typed from the file, strings from the environment) into the typed
// configuration structs, driven by the schema's field tables.
#include <algorithm>
#include <span>
#include <type_traits>

#include "config/checks.hpp"
#include "config/detail/loader.hpp"
#include "config/schema.hpp"

namespace latchkey::config::detail {
namespace {

std::string raw_type_name(const Raw& raw) {
  return std::visit(
      [](const auto& v) -> std::string {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, std::string>) {
          return "string";
        } else if constexpr (std::is_same_v<V, std::int64_t>) {
          return "integer";
        } else if constexpr (std::is_same_v<V, bool>) {
          return "boolean";
        } else if constexpr (std::is_same_v<V, std::vector<std::string>>) {
          return "array of strings";
        } else {
          return v.type;
        }
      },
      raw.value);
}

template <typename T>
using Converted = std::expected<T, ConfigError>;

Converted<std::string> as_string(const std::string& key, const Raw& raw) {
  if (const auto* s = std::get_if<std::string>(&raw.value)) {
    return *s;
  }
  return Fail(make_error(key, raw.origin, "expected a string, got " + raw_type_name(raw)));
}

Converted<std::int64_t> as_integer(const std::string& key, const Raw& raw, std::int64_t min,
                                   std::int64_t max) {
  std::int64_t value = 0;
  if (raw.from_env) {
    const auto& s = std::get<std::string>(raw.value);
    if (s.empty() || s.size() > 18 ||
        !std::ranges::all_of(s, [](char c) { return c >= '0' && c <= '9'; })) {
      return Fail(make_error(key, raw.origin, "expected a whole number, got " + checks::quote(s)));
    }
    for (char c : s) {
      value = value * 10 + (c - '0');
    }
  } else if (const auto* i = std::get_if<std::int64_t>(&raw.value)) {
    value = *i;
  } else {
    return Fail(make_error(key, raw.origin, "expected an integer, got " + raw_type_name(raw)));
  }
  if (value < min || value > max) {
    return Fail(make_error(key, raw.origin,
                           "must be between " + std::to_string(min) + " and " +
                               std::to_string(max) + ", got " + std::to_string(value)));
  }
  return value;
}

Converted<bool> as_bool(const std::string& key, const Raw& raw) {
  if (raw.from_env) {
    const auto& s = std::get<std::string>(raw.value);
    if (s == "true" || s == "1") {
      return true;
    }
    if (s == "false" || s == "0") {
      return false;
    }
    return Fail(
        make_error(key, raw.origin, "expected true, false, 1 or 0, got " + checks::quote(s)));
  }
  if (const auto* b = std::get_if<bool>(&raw.value)) {
    return *b;
  }
  return Fail(make_error(key, raw.origin, "expected a boolean, got " + raw_type_name(raw)));
}

Converted<std::int64_t> as_duration_ms(const std::string& key, const Raw& raw, std::int64_t min,
                                       std::int64_t max, bool whole_seconds) {
  const auto* s = std::get_if<std::string>(&raw.value);
  const std::string expected =
      R"(expected a duration string like "500ms", "10s", "5m", "1h" or "7d")";
  if (s == nullptr) {
    return Fail(make_error(key, raw.origin, expected + ", got " + raw_type_name(raw)));
  }
  const auto ms = schema::parse_duration_ms(*s);
  if (!ms) {
    return Fail(make_error(key, raw.origin, expected + ", got " + checks::quote(*s)));
  }
  if (whole_seconds && *ms % 1000 != 0) {
    return Fail(
        make_error(key, raw.origin, "must be a whole number of seconds, got " + checks::quote(*s)));
  }
  if (*ms < min || *ms > max) {
    return Fail(make_error(key, raw.origin,
                           "must be between " + schema::format_duration_ms(min) + " and " +
                               schema::format_duration_ms(max) + ", got " + checks::quote(*s)));
  }
  return *ms;
}

Converted<std::vector<std::string>> as_list(const std::string& key, const Raw& raw) {
  if (raw.from_env) {
    // Lists from the environment are comma-separated; blanks around items are ignored.
    const auto& s = std::get<std::string>(raw.value);
    std::vector<std::string> items;
    if (s.find_first_not_of(" \t") == std::string::npos) {
      return items;
    }
    std::size_t start = 0;
    while (start <= s.size()) {
      std::size_t end = s.find(',', start);
      if (end == std::string::npos) {
        end = s.size();
      }
      std::string item = s.substr(start, end - start);
      const auto first = item.find_first_not_of(" \t");
      const auto last = item.find_last_not_of(" \t");
      if (first == std::string::npos) {
        return Fail(make_error(key, raw.origin, "empty item in comma-separated list"));
      }
      items.push_back(item.substr(first, last - first + 1));
      start = end + 1;
    }
    return items;
  }
  if (const auto* v = std::get_if<std::vector<std::string>>(&raw.value)) {
    return *v;
  }
  return Fail(
      make_error(key, raw.origin, "expected an array of strings, got " + raw_type_name(raw)));
}

template <typename S>
std::expected<void, ConfigError> assign(S& target, const schema::Field<S>& field,
                                        const std::string& key, const Raw& raw) {
  return std::visit(
      [&](auto member) -> std::expected<void, ConfigError> {
        auto& slot = target.*member;
        using M = std::decay_t<decltype(slot)>;
        if constexpr (std::is_same_v<M, std::string>) {
          auto v = as_string(key, raw);
          if (!v) {
            return Fail(std::move(v.error()));
          }
          slot = std::move(*v);
        } else if constexpr (std::is_same_v<M, core::Secret>) {
          auto v = as_string(key, raw);
          if (!v) {
            return Fail(std::move(v.error()));
          }
          slot = core::Secret(std::move(*v));
        } else if constexpr (std::is_same_v<M, std::filesystem::path>) {
          auto v = as_string(key, raw);
          if (!v) {
            return Fail(std::move(v.error()));
          }
          slot = std::filesystem::path(*v);
        } else if constexpr (std::is_same_v<M, unsigned> || std::is_same_v<M, std::size_t>) {
          auto v = as_integer(key, raw, field.min, field.max);
          if (!v) {
            return Fail(std::move(v.error()));
          }
          slot = static_cast<M>(*v);
        } else if constexpr (std::is_same_v<M, bool>) {
          auto v = as_bool(key, raw);
          if (!v) {
            return Fail(std::move(v.error()));
          }
          slot = *v;
        } else if constexpr (std::is_same_v<M, std::chrono::milliseconds>) {
          auto v = as_duration_ms(key, raw, field.min, field.max, false);
          if (!v) {
            return Fail(std::move(v.error()));
          }
          slot = std::chrono::milliseconds(*v);
        } else if constexpr (std::is_same_v<M, std::chrono::seconds>) {
          auto v = as_duration_ms(key, raw, field.min, field.max, true);
          if (!v) {
            return Fail(std::move(v.error()));
          }
          slot = std::chrono::seconds(*v / 1000);
        } else {
          static_assert(std::is_same_v<M, std::vector<std::string>>);
          auto v = as_list(key, raw);
          if (!v) {
            return Fail(std::move(v.error()));
          }
          slot = std::move(*v);
        }
        return {};
      },
      field.member);
}

template <typename S>
std::expected<void, ConfigError> apply_section(std::string_view section, const RawSection* raw,
                                               std::span<const schema::Field<S>> fields, S& target,
                                               Origins& origins) {
  if (raw == nullptr) {
    return {};
  }
  for (const auto& field : fields) {
    const auto it = raw->find(field.name);
    if (it == raw->end()) {
      continue;
    }
    const std::string key = std::string(section) + "." + std::string(field.name);
    if (auto ok = assign(target, field, key, it->second); !ok) {
      return ok;
    }
    origins[key] = it->second.origin;
  }
  return {};
}

}  // namespace

std::expected<void, ConfigError> convert_sections(const RawConfig& raw, Config& config,
                                                  Origins& origins) {
  auto section = [&](std::string_view name) -> const RawSection* {
    const auto it = raw.sections.find(name);
    return it == raw.sections.end() ? nullptr : &it->second;
  };
  LATCHKEY_CONFIG_TRY(apply_section(schema::kServer, section(schema::kServer),
                                    schema::server_fields(), config.server, origins));
  LATCHKEY_CONFIG_TRY(apply_section(schema::kStorage, section(schema::kStorage),
                                    schema::storage_fields(), config.storage, origins));
  LATCHKEY_CONFIG_TRY(apply_section(schema::kKeys, section(schema::kKeys), schema::keys_fields(),
                                    config.keys, origins));
  LATCHKEY_CONFIG_TRY(apply_section(schema::kLogging, section(schema::kLogging),
                                    schema::logging_fields(), config.logging, origins));
  LATCHKEY_CONFIG_TRY(apply_section(schema::kFrontend, section(schema::kFrontend),
                                    schema::frontend_fields(), config.frontend, origins));
  LATCHKEY_CONFIG_TRY(apply_section(schema::kRateLimits, section(schema::kRateLimits),
                                    schema::rate_limit_fields(), config.ratelimit, origins));
  LATCHKEY_CONFIG_TRY(apply_section(schema::kDelivery, section(schema::kDelivery),
                                    schema::delivery_fields(), config.delivery, origins));
  LATCHKEY_CONFIG_TRY(apply_section(schema::kSmtp, section(schema::kSmtp), schema::smtp_fields(),
                                    config.smtp, origins));
  LATCHKEY_CONFIG_TRY(apply_section(schema::kSms, section(schema::kSms), schema::sms_fields(),
                                    config.sms, origins));
  LATCHKEY_CONFIG_TRY(apply_section(schema::kIdentifiers, section(schema::kIdentifiers),
                                    schema::identifiers_fields(), config.identifiers, origins));
  LATCHKEY_CONFIG_TRY(apply_section(schema::kMfa, section(schema::kMfa), schema::mfa_fields(),
                                    config.mfa, origins));
  LATCHKEY_CONFIG_TRY(apply_section(schema::kPasswords, section(schema::kPasswords),
                                    schema::passwords_fields(), config.passwords, origins));
  LATCHKEY_CONFIG_TRY(apply_section(schema::kTesting, section(schema::kTesting),
                                    schema::testing_fields(), config.testing, origins));
  LATCHKEY_CONFIG_TRY(apply_section(schema::kBackendApi, section(schema::kBackendApi),
                                    schema::backend_api_fields(), config.backend_api, origins));
  LATCHKEY_CONFIG_TRY(apply_section(schema::kBotProtection, section(schema::kBotProtection),
                                    schema::bot_protection_fields(), config.bot_protection,
                                    origins));
  LATCHKEY_CONFIG_TRY(apply_section(schema::kOAuth, section(schema::kOAuth), schema::oauth_fields(),
                                    config.oauth, origins));
  LATCHKEY_CONFIG_TRY(apply_section(schema::kWebhooks, section(schema::kWebhooks),
                                    schema::webhooks_fields(), config.webhooks, origins));
  return {};
}

std::expected<void, ConfigError> convert_provider(const std::string& strategy,
                                                  const RawProvider& raw,
                                                  OAuthProviderConfig& provider, Origins& origins) {
  provider.strategy = strategy;
  const std::string section_name = "providers." + strategy;
  return apply_section(section_name, &raw.keys, schema::provider_fields(), provider, origins);
}

std::expected<void, ConfigError> convert_webhook_endpoint(const std::string& name,
                                                          const RawProvider& raw,
                                                          WebhookEndpointConfig& endpoint,
                                                          Origins& origins) {
  endpoint.name = name;
  const std::string section_name = std::string(schema::kWebhookEndpoints) + "." + name;
  return apply_section(section_name, &raw.keys, schema::webhook_endpoint_fields(), endpoint,
                       origins);
}

}  // namespace latchkey::config::detail
