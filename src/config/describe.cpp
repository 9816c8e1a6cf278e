// describe(): the effective configuration as TOML text for `latchkey config check`. It walks the
// same key tables as the loader, so every key is printed; secrets never are.
#include <cstdio>
#include <string>
#include <type_traits>
#include <variant>

#include "config/config.hpp"
#include "config/schema.hpp"

namespace latchkey::config {
namespace {

constexpr std::string_view kRedacted = "[redacted]";

// TOML basic string (TOML 1.0 §String): escape '"', '\' and control characters.
std::string toml_string(std::string_view value) {
  std::string out = "\"";
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", u);
      out += buf;
    } else {
      out.push_back(c);
    }
  }
  out += "\"";
  return out;
}

// postgres://user:password@host/db?sslpassword=x ->
// postgres://user:[redacted]@host/db?sslpassword=[redacted]
std::string redact_database_url(std::string url) {
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) {
    return url;
  }
  const std::size_t authority = scheme_end + 3;
  std::size_t authority_end = url.find_first_of("/?#", authority);
  if (authority_end == std::string::npos) {
    authority_end = url.size();
  }
  const std::size_t at = url.rfind('@', authority_end);
  if (at != std::string::npos && at >= authority) {
    const std::size_t colon = url.find(':', authority);
    if (colon < at) {
      url.replace(colon + 1, at - colon - 1, kRedacted);
    }
  }
  // libpq also takes passwords as query parameters (password=, sslpassword=).
  std::size_t query = url.find('?');
  while (query != std::string::npos && query < url.size()) {
    const std::size_t start = query + 1;
    std::size_t end = url.find('&', start);
    if (end == std::string::npos) {
      end = url.size();
    }
    const std::size_t eq = url.find('=', start);
    if (eq != std::string::npos && eq < end) {
      const std::string name = url.substr(start, eq - start);
      if (name.find("password") != std::string::npos) {
        url.replace(eq + 1, end - eq - 1, kRedacted);
        end = eq + 1 + kRedacted.size();
      }
    }
    query = end < url.size() ? end : std::string::npos;
  }
  return url;
}

template <typename S>
void render(std::string& out, std::string_view section, const S& value,
            std::span<const schema::Field<S>> fields) {
  out += "\n[" + std::string(section) + "]\n";
  for (const auto& field : fields) {
    out += std::string(field.name) + " = ";
    std::visit(
        [&](auto member) {
          const auto& slot = value.*member;
          using M = std::decay_t<decltype(slot)>;
          if constexpr (std::is_same_v<M, std::string>) {
            if (section == schema::kStorage && field.name == "database_url") {
              out += toml_string(redact_database_url(slot));
            } else {
              out += toml_string(slot);
            }
          } else if constexpr (std::is_same_v<M, core::Secret>) {
            // An unset secret prints as "" so `config check` shows that it is missing.
            out += slot.empty() ? std::string("\"\"") : toml_string(kRedacted);
          } else if constexpr (std::is_same_v<M, std::filesystem::path>) {
            out += toml_string(slot.string());
          } else if constexpr (std::is_same_v<M, bool>) {
            out += slot ? "true" : "false";
          } else if constexpr (std::is_same_v<M, unsigned> || std::is_same_v<M, std::size_t>) {
            out += std::to_string(slot);
          } else if constexpr (std::is_same_v<M, std::chrono::milliseconds>) {
            out += toml_string(schema::format_duration_ms(slot.count()));
          } else if constexpr (std::is_same_v<M, std::chrono::seconds>) {
            out += toml_string(schema::format_duration_ms(slot.count() * 1000));
          } else {
            static_assert(std::is_same_v<M, std::vector<std::string>>);
            out += "[";
            for (std::size_t i = 0; i < slot.size(); ++i) {
              out += (i == 0 ? "" : ", ") + toml_string(slot[i]);
            }
            out += "]";
          }
        },
        field.member);
    out += "  # " + schema::env_var_name(section, field.name) + "\n";
  }
}

}  // namespace

std::string describe(const Config& config) {
  std::string out =
      "# Effective Latchkey configuration (defaults included). Secrets are shown as [redacted];\n"
      "# an empty secret (\"\") is not set. After each key: the variable that overrides it.\n";
  render(out, schema::kServer, config.server, schema::server_fields());
  render(out, schema::kStorage, config.storage, schema::storage_fields());
  render(out, schema::kKeys, config.keys, schema::keys_fields());
  render(out, schema::kLogging, config.logging, schema::logging_fields());
  render(out, schema::kFrontend, config.frontend, schema::frontend_fields());
  render(out, schema::kRateLimits, config.ratelimit, schema::rate_limit_fields());
  render(out, schema::kDelivery, config.delivery, schema::delivery_fields());
  render(out, schema::kSmtp, config.smtp, schema::smtp_fields());
  render(out, schema::kSms, config.sms, schema::sms_fields());
  render(out, schema::kIdentifiers, config.identifiers, schema::identifiers_fields());
  render(out, schema::kMfa, config.mfa, schema::mfa_fields());
  render(out, schema::kPasswords, config.passwords, schema::passwords_fields());
  render(out, schema::kTesting, config.testing, schema::testing_fields());
  render(out, schema::kBackendApi, config.backend_api, schema::backend_api_fields());
  render(out, schema::kBotProtection, config.bot_protection, schema::bot_protection_fields());
  render(out, schema::kOAuth, config.oauth, schema::oauth_fields());
  for (const auto& provider : config.providers) {
    render(out, "providers." + provider.strategy, provider, schema::provider_fields());
  }
  render(out, schema::kWebhooks, config.webhooks, schema::webhooks_fields());
  for (const auto& endpoint : config.webhook_endpoints) {
    render(out, std::string(schema::kWebhookEndpoints) + "." + endpoint.name, endpoint,
           schema::webhook_endpoint_fields());
  }
  return out;
}

}  // namespace latchkey::config
