#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "config/config.hpp"
#include "test_util.hpp"

namespace latchkey::config {
namespace {

using test::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

using Env = std::map<std::string, std::string>;

TEST(ConfigEnv, OverridesFileValues) {
  const TempDir dir;
  const auto file = dir.write("c.toml", "[server]\nlisten = \"127.0.0.1:1\"\nthreads = 2\n");
  const auto config = load(file, Env{{"LATCHKEY_SERVER_LISTEN", "0.0.0.0:8080"}});
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->server.listen, "0.0.0.0:8080");
  EXPECT_EQ(config->server.threads, 2U);  // untouched by the environment
}

TEST(ConfigEnv, EveryKindOfValue) {
  const Env env{
      {"LATCHKEY_SERVER_THREADS", "8"},
      {"LATCHKEY_SERVER_READ_TIMEOUT", "750ms"},
      {"LATCHKEY_STORAGE_DATABASE_URL", "postgresql://u:p@db/latchkey"},
      {"LATCHKEY_STORAGE_DATA_DIR", "/data"},
      {"LATCHKEY_KEYS_ENCRYPTION_KEY", std::string(testing::kKey32)},
      {"LATCHKEY_LOGGING_ACCESS_LOG", "false"},
      {"LATCHKEY_FRONTEND_SINGLE_SESSION_MODE", "0"},
      {"LATCHKEY_FRONTEND_SESSION_LIFETIME", "14d"},
      {"LATCHKEY_FRONTEND_ALLOWED_ORIGINS",
       "https://a.example.com, http://localhost:3000 ,"
       "https://b.example.com"},
      {"LATCHKEY_FRONTEND_REQUIRED_FIELDS", "username"},
  };
  const auto config = load({}, env);
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->server.threads, 8U);
  EXPECT_EQ(config->server.read_timeout, 750ms);
  EXPECT_EQ(config->storage.database_url, "postgresql://u:p@db/latchkey");
  EXPECT_EQ(config->storage.data_dir, std::filesystem::path("/data"));
  EXPECT_EQ(config->keys.encryption_key.reveal(), testing::kKey32);
  EXPECT_FALSE(config->logging.access_log);
  EXPECT_FALSE(config->frontend.single_session_mode);
  EXPECT_EQ(config->frontend.session_lifetime, 14 * 24h);
  EXPECT_EQ(config->frontend.allowed_origins,
            (std::vector<std::string>{"https://a.example.com", "http://localhost:3000",
                                      "https://b.example.com"}));
  EXPECT_EQ(config->frontend.required_fields, std::vector<std::string>{"username"});
}

TEST(ConfigEnv, EmptyListClearsFileList) {
  const TempDir dir;
  const auto file =
      dir.write("c.toml", "[frontend]\nallowed_origins = [\"https://a.example.com\"]\n");
  const auto config = load(file, Env{{"LATCHKEY_FRONTEND_ALLOWED_ORIGINS", ""}});
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_TRUE(config->frontend.allowed_origins.empty());
}

TEST(ConfigEnv, EmptyListItemIsRejected) {
  const auto config =
      load({}, Env{{"LATCHKEY_FRONTEND_ALLOWED_ORIGINS", "https://a.example.com,,https://b.com"}});
  ASSERT_FALSE(config.has_value());
  EXPECT_EQ(config.error().key, "frontend.allowed_origins");
  EXPECT_EQ(config.error().env_var, "LATCHKEY_FRONTEND_ALLOWED_ORIGINS");
  EXPECT_THAT(config.error().message, HasSubstr("empty item"));
}

TEST(ConfigEnv, ProviderSecretFromEnvironment) {
  const TempDir dir;
  const auto file = dir.write("c.toml", "[providers.oauth_google]\nclient_id = \"gid\"\n");
  const auto config =
      load(file, Env{{"LATCHKEY_PROVIDERS_OAUTH_GOOGLE_CLIENT_SECRET", "from-env"}});
  ASSERT_TRUE(config.has_value()) << config.error().message;
  ASSERT_EQ(config->providers.size(), 1U);
  EXPECT_EQ(config->providers[0].client_id, "gid");
  EXPECT_EQ(config->providers[0].client_secret.reveal(), "from-env");
}

TEST(ConfigEnv, ProviderOnlyInEnvironmentIsCreated) {
  const Env env{
      {"LATCHKEY_PROVIDERS_OAUTH_CUSTOM_MY_IDP_CLIENT_ID", "cid"},
      {"LATCHKEY_PROVIDERS_OAUTH_CUSTOM_MY_IDP_CLIENT_SECRET", "csecret"},
      {"LATCHKEY_PROVIDERS_OAUTH_CUSTOM_MY_IDP_ISSUER", "https://idp.example.com"},
      {"LATCHKEY_PROVIDERS_OAUTH_CUSTOM_MY_IDP_SCOPES", "openid,email"},
      {"LATCHKEY_PROVIDERS_OAUTH_CUSTOM_MY_IDP_TOKEN_AUTH_METHOD", "client_secret_basic"},
      {"LATCHKEY_PROVIDERS_OAUTH_CUSTOM_MY_IDP_NAME", "My IdP"},
  };
  const auto config = load({}, env);
  ASSERT_TRUE(config.has_value()) << config.error().message;
  ASSERT_EQ(config->providers.size(), 1U);
  const auto& p = config->providers[0];
  EXPECT_EQ(p.strategy, "oauth_custom_my_idp");
  EXPECT_EQ(p.name, "My IdP");
  EXPECT_EQ(p.client_id, "cid");
  EXPECT_EQ(p.client_secret.reveal(), "csecret");
  EXPECT_EQ(p.issuer, "https://idp.example.com");
  EXPECT_EQ(p.scopes, (std::vector<std::string>{"openid", "email"}));
  EXPECT_EQ(p.token_auth_method, "client_secret_basic");
}

TEST(ConfigEnv, CustomNameEndingLikeAKeyResolvesToLongestKey) {
  // "..._TOKEN_ENDPOINT" must be the key token_endpoint of oauth_custom_acme, not a strategy
  // "oauth_custom_acme_token" with an unknown key "endpoint".
  const Env env{
      {"LATCHKEY_PROVIDERS_OAUTH_CUSTOM_ACME_CLIENT_ID", "a"},
      {"LATCHKEY_PROVIDERS_OAUTH_CUSTOM_ACME_CLIENT_SECRET", "b"},
      {"LATCHKEY_PROVIDERS_OAUTH_CUSTOM_ACME_ISSUER", "https://acme.example.com"},
      {"LATCHKEY_PROVIDERS_OAUTH_CUSTOM_ACME_TOKEN_ENDPOINT", "https://acme.example.com/t"},
  };
  const auto config = load({}, env);
  ASSERT_TRUE(config.has_value()) << config.error().message;
  ASSERT_EQ(config->providers.size(), 1U);
  EXPECT_EQ(config->providers[0].token_endpoint, "https://acme.example.com/t");
}

TEST(ConfigEnv, MissingSecretOfEnvProviderNamesVariable) {
  const auto config = load({}, Env{{"LATCHKEY_PROVIDERS_OAUTH_GITHUB_CLIENT_ID", "x"}});
  ASSERT_FALSE(config.has_value());
  EXPECT_EQ(config.error().key, "providers.oauth_github.client_secret");
  EXPECT_THAT(config.error().message,
              HasSubstr("missing required secret; set the environment variable "
                        "LATCHKEY_PROVIDERS_OAUTH_GITHUB_CLIENT_SECRET"));
}

TEST(ConfigEnv, InvalidValueNamesVariable) {
  const auto config = load({}, Env{{"LATCHKEY_SERVER_WORKERS", "many"}});
  ASSERT_FALSE(config.has_value());
  EXPECT_EQ(config.error().key, "server.workers");
  EXPECT_EQ(config.error().env_var, "LATCHKEY_SERVER_WORKERS");
  EXPECT_EQ(config.error().line, 0U);
  EXPECT_THAT(config.error().message,
              HasSubstr("server.workers (from LATCHKEY_SERVER_WORKERS): expected a whole number"));
}

TEST(ConfigEnv, InvalidSemanticValueNamesVariable) {
  const auto config = load({}, Env{{"LATCHKEY_SERVER_PUBLIC_URL", "auth.example.com"}});
  ASSERT_FALSE(config.has_value());
  EXPECT_EQ(config.error().key, "server.public_url");
  EXPECT_THAT(config.error().message, HasSubstr("(from LATCHKEY_SERVER_PUBLIC_URL)"));
}

TEST(ConfigEnv, BadBooleanIsRejected) {
  const auto config = load({}, Env{{"LATCHKEY_LOGGING_ACCESS_LOG", "yes please"}});
  ASSERT_FALSE(config.has_value());
  EXPECT_EQ(config.error().key, "logging.access_log");
}

TEST(ConfigEnv, UnknownVariablesAreRejected) {
  for (const auto* name :
       {"LATCHKEY_SERVER_LISTN", "LATCHKEY_SERVER", "LATCHKEY_LOGGING_COLOR",
        "LATCHKEY_server_listen", "LATCHKEY_PROVIDERS_OAUTH_FACEBOOK_CLIENT_ID",
        "LATCHKEY_PROVIDERS_OAUTH_GOOGLE_SECRET", "LATCHKEY_PROVIDERS_OAUTH_GOOGLE_STRATEGY",
        "LATCHKEY_PROVIDERS_OAUTH_CUSTOM_CLIENT_ID", "LATCHKEY_PROVIDERS_CLIENT_ID"}) {
    SCOPED_TRACE(name);
    const auto config = load({}, Env{{name, "x"}});
    ASSERT_FALSE(config.has_value());
    EXPECT_EQ(config.error().key, name);
    EXPECT_EQ(config.error().env_var, name);
    EXPECT_THAT(config.error().message, HasSubstr(std::string(name) + ": unknown configuration"));
  }
}

TEST(ConfigEnv, VariablesOutsideOurSectionsAreNotConfiguration) {
  // Tools share the prefix (LATCHKEY_BIN for test harnesses, LATCHKEY_JOBS for scripts).
  const auto config =
      load({}, Env{{"LATCHKEY_BIN", "/x"}, {"LATCHKEY_JOBS", "2"}, {"LATCHKEY_", "y"}});
  ASSERT_TRUE(config.has_value()) << config.error().message;
}

TEST(ConfigEnv, UnknownVariableSuggestsTheClosest) {
  const auto config = load({}, Env{{"LATCHKEY_SERVER_LISTN", "x"}});
  ASSERT_FALSE(config.has_value());
  EXPECT_THAT(config.error().message, HasSubstr("did you mean 'LATCHKEY_SERVER_LISTEN'"));
}

TEST(ConfigEnv, ConfigFileVariableAndOtherVariablesAreIgnored) {
  const auto config =
      load({}, Env{{std::string(kConfigFileEnv), "/etc/latchkey.toml"}, {"PATH", "/bin"}});
  ASSERT_TRUE(config.has_value()) << config.error().message;
}

TEST(ConfigEnv, ErrorsNeverQuoteSecretsFromEnvironment) {
  const std::string secret = "hunter2-totally-secret";
  const auto config = load({}, Env{{"LATCHKEY_KEYS_ENCRYPTION_KEY", secret}});
  ASSERT_FALSE(config.has_value());
  EXPECT_EQ(config.error().key, "keys.encryption_key");
  EXPECT_THAT(config.error().message, Not(HasSubstr(secret)));
}

TEST(ConfigEnv, LatchkeyEnvironmentReadsOnlyLatchkeyVariables) {
  ASSERT_EQ(setenv("LATCHKEY_CONFIG_TEST_PROBE", "a=b", 1), 0);
  ASSERT_EQ(setenv("NOT_LATCHKEY_CONFIG_TEST_PROBE", "x", 1), 0);
  const auto env = latchkey_environment();
  unsetenv("LATCHKEY_CONFIG_TEST_PROBE");
  unsetenv("NOT_LATCHKEY_CONFIG_TEST_PROBE");
  ASSERT_TRUE(env.contains("LATCHKEY_CONFIG_TEST_PROBE"));
  EXPECT_EQ(env.at("LATCHKEY_CONFIG_TEST_PROBE"), "a=b");
  EXPECT_FALSE(env.contains("NOT_LATCHKEY_CONFIG_TEST_PROBE"));
  for (const auto& [name, value] : env) {
    EXPECT_TRUE(name.starts_with("LATCHKEY_")) << name;
  }
}

}  // namespace
}  // namespace latchkey::config
