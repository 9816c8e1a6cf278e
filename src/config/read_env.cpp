// The LATCHKEY_* environment variables into RawConfig (over what the file set).
#include <algorithm>
#include <cctype>

#include "config/detail/loader.hpp"
#include "config/schema.hpp"

namespace latchkey::config::detail {
namespace {

ConfigError unknown_variable(const std::string& name, std::string_view why) {
  std::vector<std::string> known;
  for (const auto section : schema::sections()) {
    for (const auto key : schema::key_names(section)) {
      known.push_back(schema::env_var_name(section, key));
    }
  }
  std::vector<std::string_view> views(known.begin(), known.end());
  ConfigError e;
  e.key = name;
  e.env_var = name;
  e.message = name + ": unknown configuration variable" + did_you_mean(name, views) + "; " +
              std::string(why) + " (see docs/configuration.md)";
  return e;
}

std::expected<void, ConfigError> apply_provider_variable(const std::string& name,
                                                         std::string_view rest,
                                                         const std::string& value, RawConfig& raw) {
  // Strategy names contain underscores (oauth_custom_my_idp), so the key is found as a suffix:
  // the longest key name whose remaining prefix is a valid strategy.
  std::string best_strategy;
  std::string_view best_key;
  for (const auto key : schema::key_names(schema::kProviders)) {
    std::string suffix = "_" + std::string(key);
    for (char& c : suffix) {
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    if (rest.size() <= suffix.size() || !rest.ends_with(suffix)) {
      continue;
    }
    const std::string_view upper_strategy = rest.substr(0, rest.size() - suffix.size());
    const std::string strategy = lower(upper_strategy);
    // The variable must be exactly upper case: LATCHKEY_PROVIDERS_oauth_google_... is a typo.
    if (schema::env_var_name("providers." + strategy, key) != name) {
      continue;
    }
    if (schema::is_known_strategy(strategy) && key.size() > best_key.size()) {
      best_strategy = strategy;
      best_key = key;
    }
  }
  if (best_key.empty()) {
    return Fail(unknown_variable(
        name,
        "provider variables are LATCHKEY_PROVIDERS_<STRATEGY>_<KEY> with STRATEGY one of "
        "OAUTH_GOOGLE, OAUTH_GITHUB, OAUTH_MICROSOFT, OAUTH_CUSTOM_<NAME> and KEY one of " +
            join(schema::key_names(schema::kProviders))));
  }
  auto [it, created] = raw.providers.try_emplace(best_strategy);
  if (created) {
    it->second.origin.env_var = name;
  }
  Raw r;
  r.value = value;
  r.origin.env_var = name;
  r.from_env = true;
  it->second.keys[std::string(best_key)] = std::move(r);
  return {};
}

// LATCHKEY_WEBHOOK_ENDPOINTS_<NAME>_<KEY>: names hold underscores, so the key is found as a
// suffix, as for providers.
std::expected<void, ConfigError> apply_endpoint_variable(const std::string& name,
                                                         std::string_view rest,
                                                         const std::string& value, RawConfig& raw) {
  std::string best_name;
  std::string_view best_key;
  for (const auto key : schema::key_names(schema::kWebhookEndpoints)) {
    std::string suffix = "_" + std::string(key);
    for (char& c : suffix) {
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    if (rest.size() <= suffix.size() || !rest.ends_with(suffix)) {
      continue;
    }
    const std::string endpoint = lower(rest.substr(0, rest.size() - suffix.size()));
    if (schema::env_var_name(std::string(schema::kWebhookEndpoints) + "." + endpoint, key) !=
        name) {
      continue;
    }
    if (schema::is_valid_endpoint_name(endpoint) && key.size() > best_key.size()) {
      best_name = endpoint;
      best_key = key;
    }
  }
  if (best_key.empty()) {
    return Fail(unknown_variable(
        name,
        "webhook endpoint variables are LATCHKEY_WEBHOOK_ENDPOINTS_<NAME>_<KEY> with KEY one "
        "of " +
            join(schema::key_names(schema::kWebhookEndpoints))));
  }
  auto [it, created] = raw.webhook_endpoints.try_emplace(best_name);
  if (created) {
    it->second.origin.env_var = name;
  }
  Raw r;
  r.value = value;
  r.origin.env_var = name;
  r.from_env = true;
  it->second.keys[std::string(best_key)] = std::move(r);
  return {};
}

}  // namespace

std::expected<void, ConfigError> apply_environment(const std::map<std::string, std::string>& env,
                                                   RawConfig& raw) {
  for (const auto& [name, value] : env) {
    if (!name.starts_with(kPrefix) || name == kConfigFileEnv) {
      continue;
    }
    const std::string_view rest = std::string_view(name).substr(kPrefix.size());
    constexpr std::string_view kProvidersPrefix = "PROVIDERS_";
    if (rest.starts_with(kProvidersPrefix)) {
      if (auto ok = apply_provider_variable(name, rest.substr(kProvidersPrefix.size()), value, raw);
          !ok) {
        return ok;
      }
      continue;
    }
    constexpr std::string_view kEndpointsPrefix = "WEBHOOK_ENDPOINTS_";
    if (rest.starts_with(kEndpointsPrefix)) {
      if (auto ok = apply_endpoint_variable(name, rest.substr(kEndpointsPrefix.size()), value, raw);
          !ok) {
        return ok;
      }
      continue;
    }
    // A section's name may itself hold an underscore (bot_protection): try every split.
    bool matched = false;
    for (std::size_t underscore = rest.find('_'); !matched && underscore != std::string_view::npos;
         underscore = rest.find('_', underscore + 1)) {
      const std::string section = lower(rest.substr(0, underscore));
      const std::string key = lower(rest.substr(underscore + 1));
      const auto names = schema::key_names(section);
      if (section != schema::kProviders && std::ranges::find(names, key) != names.end() &&
          schema::env_var_name(section, key) == name) {
        Raw r;
        r.value = value;
        r.origin.env_var = name;
        r.from_env = true;
        raw.sections[section][key] = std::move(r);
        matched = true;
      }
    }
    if (!matched) {
      // Only a variable that names one of our sections is ours: a typo there stops start-up.
      // Others (LATCHKEY_BIN for test harnesses, LATCHKEY_JOBS for scripts) are not config.
      const std::string lowered = lower(rest);
      const bool ours = std::ranges::any_of(schema::sections(), [&](std::string_view section) {
        return lowered == section || lowered.starts_with(std::string(section) + "_");
      });
      if (!ours) {
        continue;
      }
      return Fail(
          unknown_variable(name, "every variable must name a key as LATCHKEY_<SECTION>_<KEY>"));
    }
  }
  return {};
}

}  // namespace latchkey::config::detail
