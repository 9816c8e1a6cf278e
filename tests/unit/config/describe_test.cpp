#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include "config/config.hpp"
#include "test_util.hpp"

namespace latchkey::config {
namespace {

using test::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

using Env = std::map<std::string, std::string>;

Config with_secrets() {
  const Env env{
      {"LATCHKEY_KEYS_ENCRYPTION_KEY", std::string(testing::kKey32)},
      {"LATCHKEY_STORAGE_DATABASE_URL",
       "postgres://latchkey:db-pass-123@db:5432/latchkey?sslmode=require&sslpassword=ssl-pass-456"},
      {"LATCHKEY_PROVIDERS_OAUTH_GOOGLE_CLIENT_ID", "google-client-id"},
      {"LATCHKEY_PROVIDERS_OAUTH_GOOGLE_CLIENT_SECRET", "google-secret-789"},
      {"LATCHKEY_PROVIDERS_OAUTH_CUSTOM_ACME_CLIENT_ID", "acme-id"},
      {"LATCHKEY_PROVIDERS_OAUTH_CUSTOM_ACME_CLIENT_SECRET", "acme-secret-000"},
      {"LATCHKEY_PROVIDERS_OAUTH_CUSTOM_ACME_ISSUER", "https://acme.example.com"},
      {"LATCHKEY_WEBHOOK_ENDPOINTS_APP_URL", "https://app.example.com/api/webhooks"},
      {"LATCHKEY_WEBHOOK_ENDPOINTS_APP_SIGNING_SECRET", "whsec_d2ViaG9vay1zZWNyZXQ="},
  };
  auto config = load({}, env);
  EXPECT_TRUE(config.has_value()) << config.error().message;
  return std::move(*config);
}

TEST(ConfigDescribe, RedactsEverySecret) {
  const std::string text = describe(with_secrets());
  for (const auto* secret :
       {"db-pass-123", "ssl-pass-456", "google-secret-789", "acme-secret-000",
        "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "d2ViaG9vay1zZWNyZXQ="}) {
    EXPECT_THAT(text, Not(HasSubstr(secret))) << secret;
  }
  EXPECT_THAT(text, HasSubstr("encryption_key = \"[redacted]\""));
  EXPECT_THAT(text, HasSubstr("client_secret = \"[redacted]\""));
  EXPECT_THAT(text, HasSubstr("signing_secret = \"[redacted]\""));
  EXPECT_THAT(text, HasSubstr("database_url = \"postgres://latchkey:[redacted]@db:5432/"
                              "latchkey?sslmode=require&sslpassword=[redacted]\""));
  // Non-secret values are shown as they are.
  EXPECT_THAT(text, HasSubstr("client_id = \"google-client-id\""));
  EXPECT_THAT(text, HasSubstr("[providers.oauth_custom_acme]"));
  EXPECT_THAT(text, HasSubstr("issuer = \"https://acme.example.com\""));
}

TEST(ConfigDescribe, ShowsEveryKeyWithItsVariable) {
  const std::string text = describe(Config{});
  EXPECT_THAT(text, HasSubstr("[server]\nlisten = \"127.0.0.1:8787\"  # LATCHKEY_SERVER_LISTEN\n"));
  EXPECT_THAT(text, HasSubstr("read_timeout = \"10s\""));
  EXPECT_THAT(text, HasSubstr("session_lifetime = \"7d\""));
  EXPECT_THAT(text, HasSubstr("single_session_mode = true"));
  EXPECT_THAT(text, HasSubstr("allowed_origins = []"));
  // An unset secret is shown as empty so `config check` reveals that it is missing.
  EXPECT_THAT(text, HasSubstr("encryption_key = \"\""));
}

TEST(ConfigDescribe, OutputLoadsBackToTheSameConfig) {
  const Env env{
      {"LATCHKEY_SERVER_WRITE_TIMEOUT", "1500ms"},
      {"LATCHKEY_FRONTEND_ALLOWED_ORIGINS", "https://a.example.com,http://localhost:3000"},
      {"LATCHKEY_FRONTEND_APPLICATION_NAME", "Quote \" and \\ backslash"},
  };
  const auto original = load({}, env);
  ASSERT_TRUE(original.has_value()) << original.error().message;
  const std::string text = describe(*original);
  const TempDir dir;
  const auto reloaded = load(dir.write("described.toml", text), {});
  ASSERT_TRUE(reloaded.has_value()) << reloaded.error().message << "\n" << text;
  EXPECT_EQ(describe(*reloaded), text);
  EXPECT_EQ(reloaded->frontend.application_name, "Quote \" and \\ backslash");
}

TEST(ConfigDocs, DocumentsEveryKeyAndVariable) {
  std::ifstream in(std::string(LATCHKEY_DOCS_DIR) + "/configuration.md");
  ASSERT_TRUE(in) << "docs/configuration.md is missing";
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string docs = buffer.str();

  // Every line of describe() is "key = value  # VARIABLE"; providers' variables are documented
  // with <STRATEGY> in place of the strategy.
  const std::string text = describe(with_secrets());
  const std::regex line(R"(^([a-z_]+) = .*  # (LATCHKEY_[A-Z0-9_]+)$)");
  std::istringstream lines(text);
  std::string l;
  int checked = 0;
  while (std::getline(lines, l)) {
    std::smatch m;
    if (!std::regex_match(l, m, line)) {
      continue;
    }
    ++checked;
    const std::string key = m[1];
    std::string variable = m[2];
    for (const auto* strategy : {"OAUTH_GOOGLE_", "OAUTH_CUSTOM_ACME_"}) {
      if (const auto pos = variable.find(strategy); pos != std::string::npos) {
        variable.replace(pos, std::string(strategy).size(), "<STRATEGY>_");
      }
    }
    if (const auto pos = variable.find("WEBHOOK_ENDPOINTS_APP_"); pos != std::string::npos) {
      variable.replace(pos, std::string("WEBHOOK_ENDPOINTS_APP_").size(),
                       "WEBHOOK_ENDPOINTS_<NAME>_");
    }
    EXPECT_THAT(docs, HasSubstr("`" + key + "`")) << key;
    EXPECT_THAT(docs, HasSubstr(variable)) << variable;
  }
  EXPECT_GT(checked, 40);
}

TEST(ConfigDocs, ExampleFileLoads) {
  std::ifstream in(std::string(LATCHKEY_DOCS_DIR) + "/configuration.md");
  ASSERT_TRUE(in) << "docs/configuration.md is missing";
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string docs = buffer.str();
  const std::string fence = "```toml\n";
  const auto start = docs.find(fence);
  ASSERT_NE(start, std::string::npos);
  const auto end = docs.find("```", start + fence.size());
  ASSERT_NE(end, std::string::npos);
  const std::string example = docs.substr(start + fence.size(), end - start - fence.size());

  const TempDir dir;
  const auto file = dir.write("example.toml", example);
  // Without the secrets from the environment the example must stop at the first provider.
  const auto without = load(file, {});
  ASSERT_FALSE(without.has_value());
  EXPECT_THAT(without.error().message, HasSubstr("missing required secret"));

  const Env env{
      {"LATCHKEY_KEYS_ENCRYPTION_KEY", std::string(testing::kKey32)},
      {"LATCHKEY_PROVIDERS_OAUTH_GOOGLE_CLIENT_SECRET", "a"},
      {"LATCHKEY_PROVIDERS_OAUTH_GITHUB_CLIENT_SECRET", "b"},
      {"LATCHKEY_PROVIDERS_OAUTH_CUSTOM_KEYCLOAK_CLIENT_SECRET", "c"},
  };
  const auto config = load(file, env);
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->server.public_url, "https://auth.example.com");
  EXPECT_EQ(config->providers.size(), 3U);
}

}  // namespace
}  // namespace latchkey::config
