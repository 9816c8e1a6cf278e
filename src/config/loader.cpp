// load(): the file, then the environment over it, then conversion and validation (the steps
// are in read_file.cpp, read_env.cpp, convert.cpp and validate.cpp; detail/loader.hpp).
#include <unistd.h>

#include <cctype>

#include "config/config.hpp"
#include "config/detail/loader.hpp"
#include "config/schema.hpp"

namespace latchkey::config {
namespace detail {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

ConfigError make_error(std::string key, const Origin& origin, std::string_view reason) {
  ConfigError e;
  std::string where = key;
  if (origin.line != 0) {
    where += " (line " + std::to_string(origin.line) + ")";
    e.line = origin.line;
  } else if (!origin.env_var.empty()) {
    where += " (from " + origin.env_var + ")";
    e.env_var = origin.env_var;
  }
  e.key = std::move(key);
  e.message = where + ": " + std::string(reason);
  return e;
}

std::string join(const std::vector<std::string_view>& items) {
  std::string out;
  for (const auto item : items) {
    if (!out.empty()) {
      out += ", ";
    }
    out += item;
  }
  return out;
}

std::string did_you_mean(std::string_view word, const std::vector<std::string_view>& candidates) {
  const std::string best = schema::closest(word, candidates);
  return best.empty() ? std::string() : " (did you mean '" + best + "'?)";
}

}  // namespace detail

using detail::Fail;

namespace {

std::expected<Config, ConfigError> build(const detail::RawConfig& raw) {
  Config config;
  detail::Origins origins;
  LATCHKEY_CONFIG_TRY(detail::convert_sections(raw, config, origins));
  LATCHKEY_CONFIG_TRY(detail::validate_sections(config, origins));
  // Providers in strategy order (the map's order), so the result does not depend on whether a
  // provider came from the file or the environment.
  for (const auto& [strategy, rp] : raw.providers) {
    OAuthProviderConfig provider;
    LATCHKEY_CONFIG_TRY(detail::convert_provider(strategy, rp, provider, origins));
    LATCHKEY_CONFIG_TRY(detail::validate_provider(provider, rp.origin, origins));
    config.providers.push_back(std::move(provider));
  }
  for (const auto& [name, re] : raw.webhook_endpoints) {
    WebhookEndpointConfig endpoint;
    LATCHKEY_CONFIG_TRY(detail::convert_webhook_endpoint(name, re, endpoint, origins));
    LATCHKEY_CONFIG_TRY(detail::validate_webhook_endpoint(endpoint, re.origin, origins));
    config.webhook_endpoints.push_back(std::move(endpoint));
  }
  return config;
}

}  // namespace

std::expected<Config, ConfigError> load(const std::filesystem::path& path,
                                        const std::map<std::string, std::string>& env) {
  detail::RawConfig raw;
  if (!path.empty()) {
    if (auto ok = detail::read_file(path, raw); !ok) {
      return Fail(std::move(ok.error()));
    }
  }
  if (auto ok = detail::apply_environment(env, raw); !ok) {
    return Fail(std::move(ok.error()));
  }
  return build(raw);
}

std::map<std::string, std::string> latchkey_environment() {
  std::map<std::string, std::string> out;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view item(*entry);
    const std::size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      continue;
    }
    const std::string_view name = item.substr(0, eq);
    if (name.starts_with(detail::kPrefix)) {
      out.emplace(std::string(name), std::string(item.substr(eq + 1)));
    }
  }
  return out;
}

}  // namespace latchkey::config
