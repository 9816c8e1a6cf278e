// The only translation unit that includes toml++ (slow to compile, design.md §3.14).
#include <arpa/inet.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <system_error>
#include <type_traits>
#include <variant>

#include "config/checks.hpp"
#include "config/config.hpp"
#include "config/schema.hpp"

namespace latchkey::config {
namespace {

constexpr std::uintmax_t kMaxFileBytes = 1024 * 1024;
constexpr std::string_view kPrefix = "LATCHKEY_";

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
};

using Fail = std::unexpected<ConfigError>;

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

// ---------------------------------------------------------------------------------------------
// The file

std::string type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table:
      return "table";
    case toml::node_type::array:
      return "array";
    case toml::node_type::string:
      return "string";
    case toml::node_type::integer:
      return "integer";
    case toml::node_type::floating_point:
      return "float";
    case toml::node_type::boolean:
      return "boolean";
    case toml::node_type::date:
      return "date";
    case toml::node_type::time:
      return "time";
    case toml::node_type::date_time:
      return "date-time";
    default:
      return "unknown";
  }
}

Raw to_raw(const toml::node& node, std::size_t line) {
  Raw raw;
  raw.origin.line = line;
  if (const auto* s = node.as_string()) {
    raw.value = s->get();
  } else if (const auto* i = node.as_integer()) {
    raw.value = i->get();
  } else if (const auto* b = node.as_boolean()) {
    raw.value = b->get();
  } else if (const auto* a = node.as_array()) {
    std::vector<std::string> items;
    for (const auto& item : *a) {
      const auto* s_item = item.as_string();
      if (s_item == nullptr) {
        raw.value = Unsupported{"array with a non-string item (" + type_name(item) + ")"};
        return raw;
      }
      items.push_back(s_item->get());
    }
    raw.value = std::move(items);
  } else {
    raw.value = Unsupported{type_name(node)};
  }
  return raw;
}

std::size_t line_of(const toml::key& key) { return key.source().begin.line; }

std::expected<void, ConfigError> collect_keys(std::string_view section_key,
                                              std::string_view schema_section,
                                              const toml::table& table, RawSection& out) {
  const auto names = schema::key_names(schema_section);
  for (const auto& [k, node] : table) {
    const std::string name(k.str());
    const std::string full = std::string(section_key) + "." + name;
    const Origin origin{line_of(k), {}};
    if (schema_section == schema::kProviders && name == "strategy") {
      return Fail(make_error(full, origin,
                             "unknown key: the strategy is the table name ([" +
                                 std::string(section_key) + "]), remove this key"));
    }
    if (std::ranges::find(names, name) == names.end()) {
      return Fail(make_error(full, origin,
                             "unknown key" + did_you_mean(name, names) + "; known keys in [" +
                                 std::string(section_key) + "]: " + join(names)));
    }
    out[name] = to_raw(node, line_of(k));
  }
  return {};
}

std::expected<void, ConfigError> collect_file(const toml::table& root, RawConfig& raw) {
  std::vector<std::string_view> section_names(schema::sections().begin(), schema::sections().end());
  section_names.push_back(schema::kProviders);
  for (const auto& [k, node] : root) {
    const std::string name(k.str());
    const Origin origin{line_of(k), {}};
    if (std::ranges::find(section_names, name) == section_names.end()) {
      return Fail(make_error(name, origin,
                             "unknown section" + did_you_mean(name, section_names) +
                                 "; known sections: " + join(section_names)));
    }
    const auto* table = node.as_table();
    if (table == nullptr) {
      return Fail(
          make_error(name, origin, "expected a table [" + name + "], got " + type_name(node)));
    }
    if (name != schema::kProviders) {
      if (auto ok = collect_keys(name, name, *table, raw.sections[name]); !ok) {
        return ok;
      }
      continue;
    }
    for (const auto& [pk, pnode] : *table) {
      const std::string strategy(pk.str());
      const std::string full = "providers." + strategy;
      const Origin porigin{line_of(pk), {}};
      if (!schema::is_known_strategy(strategy)) {
        return Fail(make_error(full, porigin,
                               "unknown provider strategy; expected oauth_google, oauth_github, "
                               "oauth_microsoft or oauth_custom_<name> (name: a-z, 0-9, _; 1-32 "
                               "characters)"));
      }
      const auto* ptable = pnode.as_table();
      if (ptable == nullptr) {
        return Fail(
            make_error(full, porigin, "expected a table [" + full + "], got " + type_name(pnode)));
      }
      auto& provider = raw.providers[strategy];
      provider.origin = porigin;
      if (auto ok = collect_keys(full, schema::kProviders, *ptable, provider.keys); !ok) {
        return ok;
      }
    }
  }
  return {};
}

std::expected<void, ConfigError> read_file(const std::filesystem::path& path, RawConfig& raw) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) {
    return Fail(ConfigError{"", "config file " + path.string() + ": not found", 0, ""});
  }
  if (!std::filesystem::is_regular_file(status)) {
    return Fail(ConfigError{"", "config file " + path.string() + ": not a regular file", 0, ""});
  }
  const auto size = std::filesystem::file_size(path, ec);
  if (ec || size > kMaxFileBytes) {
    return Fail(ConfigError{"", "config file " + path.string() + ": larger than 1 MiB", 0, ""});
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Fail(ConfigError{"", "config file " + path.string() + ": cannot be read", 0, ""});
  }
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // toml++ reports syntax errors by exception (TOML_EXCEPTIONS); this is start-up code.
  try {
    const toml::table root = toml::parse(text, path.string());
    return collect_file(root, raw);
  } catch (const toml::parse_error& e) {
    ConfigError error;
    error.line = e.source().begin.line;
    error.message = path.string() + ":" + std::to_string(e.source().begin.line) + ":" +
                    std::to_string(e.source().begin.column) +
                    ": TOML syntax error: " + std::string(e.description());
    return Fail(std::move(error));
  }
}

// ---------------------------------------------------------------------------------------------
// The environment

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
    const std::size_t underscore = rest.find('_');
    bool matched = false;
    if (underscore != std::string_view::npos) {
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
      const std::string section =
          lower(underscore == std::string_view::npos ? rest : rest.substr(0, underscore));
      if (std::ranges::find(schema::sections(), section) == schema::sections().end()) {
        continue;
      }
      return Fail(
          unknown_variable(name, "every variable must name a key as LATCHKEY_<SECTION>_<KEY>"));
    }
  }
  return {};
}

// ---------------------------------------------------------------------------------------------
// Conversion of raw values into the typed structs

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

// Origins of every value that was set, by dotted key, for the semantic checks.
using Origins = std::map<std::string, Origin, std::less<>>;

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

// ---------------------------------------------------------------------------------------------
// Semantic validation

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

#define LATCHKEY_CONFIG_TRY(expr)  \
  do {                             \
    if (auto ok_ = (expr); !ok_) { \
      return Fail(ok_.error());    \
    }                              \
  } while (false)

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

std::expected<void, ConfigError> validate_provider(OAuthProviderConfig& p, const Origin& table,
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

std::expected<Config, ConfigError> build(const RawConfig& raw) {
  Config config;
  Origins origins;
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

  const Validator v(origins);
  LATCHKEY_CONFIG_TRY(validate_server(config.server, v));
  LATCHKEY_CONFIG_TRY(validate_storage(config.storage, v));
  LATCHKEY_CONFIG_TRY(validate_keys(config.keys, v));
  LATCHKEY_CONFIG_TRY(validate_logging(config.logging, v));
  LATCHKEY_CONFIG_TRY(validate_frontend(config.frontend, v));
  LATCHKEY_CONFIG_TRY(validate_ratelimit(config.ratelimit, v));
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

  // Providers in strategy order (the map's order), so the result does not depend on whether a
  // provider came from the file or the environment.
  for (const auto& [strategy, rp] : raw.providers) {
    OAuthProviderConfig provider;
    provider.strategy = strategy;
    const std::string section_name = "providers." + strategy;
    LATCHKEY_CONFIG_TRY(
        apply_section(section_name, &rp.keys, schema::provider_fields(), provider, origins));
    LATCHKEY_CONFIG_TRY(validate_provider(provider, rp.origin, v));
    config.providers.push_back(std::move(provider));
  }
  return config;
}

#undef LATCHKEY_CONFIG_TRY

}  // namespace

std::expected<Config, ConfigError> load(const std::filesystem::path& path,
                                        const std::map<std::string, std::string>& env) {
  RawConfig raw;
  if (!path.empty()) {
    if (auto ok = read_file(path, raw); !ok) {
      return Fail(std::move(ok.error()));
    }
  }
  if (auto ok = apply_environment(env, raw); !ok) {
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
    if (name.starts_with(kPrefix)) {
      out.emplace(std::string(name), std::string(item.substr(eq + 1)));
    }
  }
  return out;
}

}  // namespace latchkey::config
