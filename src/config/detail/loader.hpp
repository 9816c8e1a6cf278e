#pragma once
// The loader's pieces, private to config/ (cmake/layers.txt): the raw values before conversion,
// and the four steps load() runs in order.
//   read_file.cpp   the TOML file (the only file that includes toml++) -> RawConfig
//   read_env.cpp    the LATCHKEY_* environment variables               -> RawConfig
//   convert.cpp     raw values -> the typed structs, with each value's Origin
//   validate.cpp    the semantic checks: one validate_<section>() per section, all called from
//                   validate_sections(); a new section adds one function there
// loader.cpp runs them (load()).
#include <cstddef>
#include <cstdint>
#include <expected>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/config.hpp"

namespace latchkey::config::detail {

inline constexpr std::string_view kPrefix = "LATCHKEY_";

// Where a value came from, for error messages.
struct Origin {
  std::size_t line = 0;  // 1-based file line, 0 = not from the file
  std::string env_var;   // set when it came from the environment
};

// A TOML value type we never accept (float, date, nested table, mixed array): kept only to say
// what was found.
struct Unsupported {
  std::string type;
};

// A value before conversion. From the file it is typed; from the environment always a string.
struct Raw {
  std::variant<std::string, std::int64_t, bool, std::vector<std::string>, Unsupported> value;
  Origin origin;
  bool from_env = false;
};

using RawSection = std::map<std::string, Raw, std::less<>>;

struct RawProvider {
  RawSection keys;
  Origin origin;  // the table header, or the variable that created it
};

struct RawConfig {
  std::map<std::string, RawSection, std::less<>> sections;
  std::map<std::string, RawProvider, std::less<>> providers;
  std::map<std::string, RawProvider, std::less<>> webhook_endpoints;  // by name
};

using Fail = std::unexpected<ConfigError>;

// Origins of every value that was set, by dotted key, for the semantic checks.
using Origins = std::map<std::string, Origin, std::less<>>;

#define LATCHKEY_CONFIG_TRY(expr)  \
  do {                             \
    if (auto ok_ = (expr); !ok_) { \
      return Fail(ok_.error());    \
    }                              \
  } while (false)

// Shared helpers (loader.cpp).
[[nodiscard]] std::string lower(std::string_view s);
[[nodiscard]] ConfigError make_error(std::string key, const Origin& origin,
                                     std::string_view reason);
[[nodiscard]] std::string join(const std::vector<std::string_view>& items);
// " (did you mean 'x'?)" for the closest candidate, or "".
[[nodiscard]] std::string did_you_mean(std::string_view word,
                                       const std::vector<std::string_view>& candidates);

// read_file.cpp: the file's sections and providers into `raw`. Unknown sections and keys,
// unsupported value types and syntax errors fail with the line.
[[nodiscard]] std::expected<void, ConfigError> read_file(const std::filesystem::path& path,
                                                         RawConfig& raw);

// read_env.cpp: LATCHKEY_<SECTION>_<KEY> and LATCHKEY_PROVIDERS_<STRATEGY>_<KEY> over `raw`.
[[nodiscard]] std::expected<void, ConfigError> apply_environment(
    const std::map<std::string, std::string>& env, RawConfig& raw);

// convert.cpp: the raw values of the fixed sections into `config` (their origins into
// `origins`), and one provider's into `provider`.
[[nodiscard]] std::expected<void, ConfigError> convert_sections(const RawConfig& raw,
                                                                Config& config, Origins& origins);
[[nodiscard]] std::expected<void, ConfigError> convert_provider(const std::string& strategy,
                                                                const RawProvider& raw,
                                                                OAuthProviderConfig& provider,
                                                                Origins& origins);

[[nodiscard]] std::expected<void, ConfigError> convert_webhook_endpoint(
    const std::string& name, const RawProvider& raw, WebhookEndpointConfig& endpoint,
    Origins& origins);

// validate.cpp: the semantic checks of the fixed sections (which may also normalise values,
// e.g. server.public_url without its trailing slash), then those between sections.
[[nodiscard]] std::expected<void, ConfigError> validate_sections(Config& config,
                                                                 const Origins& origins);
// One provider; `table` is where its table (or the variable that made it) was.
[[nodiscard]] std::expected<void, ConfigError> validate_provider(OAuthProviderConfig& p,
                                                                 const Origin& table,
                                                                 const Origins& origins);
// One webhook endpoint (url http/https, a whsec_ signing secret, known event types).
[[nodiscard]] std::expected<void, ConfigError> validate_webhook_endpoint(
    const WebhookEndpointConfig& e, const Origin& table, const Origins& origins);

}  // namespace latchkey::config::detail
