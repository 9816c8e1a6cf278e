// The TOML file into RawConfig. The only translation unit that includes toml++ (slow to
// compile, design.md §3.14).
#include <toml++/toml.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <system_error>

#include "config/detail/loader.hpp"
#include "config/schema.hpp"

namespace latchkey::config::detail {
namespace {

constexpr std::uintmax_t kMaxFileBytes = 1024 * 1024;

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
  section_names.push_back(schema::kWebhookEndpoints);
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
    if (name == schema::kWebhookEndpoints) {
      for (const auto& [ek, enode] : *table) {
        const std::string endpoint_name(ek.str());
        const std::string full = name + "." + endpoint_name;
        const Origin eorigin{line_of(ek), {}};
        if (!schema::is_valid_endpoint_name(endpoint_name)) {
          return Fail(make_error(full, eorigin,
                                 "invalid endpoint name; expected a-z, 0-9, _ (1-32 characters)"));
        }
        const auto* etable = enode.as_table();
        if (etable == nullptr) {
          return Fail(make_error(full, eorigin,
                                 "expected a table [" + full + "], got " + type_name(enode)));
        }
        auto& endpoint = raw.webhook_endpoints[endpoint_name];
        endpoint.origin = eorigin;
        if (auto ok = collect_keys(full, schema::kWebhookEndpoints, *etable, endpoint.keys); !ok) {
          return ok;
        }
      }
      continue;
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

}  // namespace

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

}  // namespace latchkey::config::detail
