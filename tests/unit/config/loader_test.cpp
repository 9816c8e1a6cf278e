#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "config/config.hpp"
#include "test_util.hpp"

namespace latchkey::config {
namespace {

using test::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

std::expected<Config, ConfigError> load_text(std::string_view text,
                                             const std::map<std::string, std::string>& env = {}) {
  const TempDir dir;
  return load(dir.write("latchkey.toml", text), env);
}

TEST(ConfigDefaults, NoFileGivesServableDefaults) {
  const auto config = load({}, {});
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->server.listen, "127.0.0.1:8787");
  EXPECT_EQ(config->server.public_url, "http://127.0.0.1:8787");
  EXPECT_EQ(config->server.threads, 1U);
  EXPECT_EQ(config->server.workers, 2U);
  EXPECT_EQ(config->server.read_timeout, 10s);
  EXPECT_EQ(config->storage.database_url, "");
  EXPECT_EQ(config->storage.data_dir, std::filesystem::path("latchkey-data"));
  EXPECT_TRUE(config->keys.encryption_key.empty());
  EXPECT_EQ(config->keys.algorithm, "RS256");
  EXPECT_EQ(config->logging.level, "info");
  EXPECT_EQ(config->logging.format, "json");
  EXPECT_EQ(config->frontend.path_prefix, "/__clerk");
  EXPECT_EQ(config->frontend.session_token_lifetime, 60s);
  EXPECT_EQ(config->frontend.last_active_write_interval, 60s);
  EXPECT_TRUE(config->frontend.allowed_origins.empty());
  EXPECT_TRUE(config->providers.empty());
}

TEST(ConfigDefaults, EmptyFileGivesDefaults) {
  const auto config = load_text("# nothing\n");
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->server.listen, "127.0.0.1:8787");
}

TEST(ConfigFile, ParsesEveryKey) {
  const std::string text = std::string(R"(
[server]
listen = "0.0.0.0:9000"
public_url = "https://auth.example.com/"
threads = 4
workers = 8
max_header_bytes = 8192
max_body_bytes = 131072
read_timeout = "5s"
write_timeout = "1500ms"
idle_timeout = "2m"
shutdown_timeout = "0s"
max_connections = 500

[storage]
database_url = "postgres://latchkey:pw@db.internal:5432/latchkey"
data_dir = "/var/lib/latchkey"
busy_timeout = "250ms"

[keys]
encryption_key = ")") + std::string(testing::kKey32) +
                           R"("
algorithm = "ES256"
rsa_bits = 3072
retire_after = "2h"
activation_delay = "30s"

[logging]
level = "debug"
format = "text"
access_log = false

[frontend]
path_prefix = ""
application_name = "Acme"
sign_in_url = "https://app.example.com/login"
sign_up_url = "/join"
home_url = "/home"
allowed_origins = ["https://App.Example.com:443", "http://localhost:3000", "https://app.example.com"]
required_fields = ["first_name", "legal_accepted"]
session_token_lifetime = "30s"
session_lifetime = "1d"
client_lifetime = "30d"
attempt_lifetime = "1h"
oauth_state_lifetime = "5m"
last_active_write_interval = "2m"
outbound_timeout = "3s"
outbound_max_bytes = 65536
single_session_mode = false
static_dir = "/srv/clerk-js"

[providers.oauth_google]
client_id = "google-id"
client_secret = "google-secret"
scopes = ["openid", "email", "profile"]

[providers.oauth_github]
name = "GitHub Enterprise"
client_id = "gh-id"
client_secret = "gh-secret"
api_base = "https://github.example.com/api/v3"
authorization_endpoint = "https://github.example.com/login/oauth/authorize"
token_endpoint = "https://github.example.com/login/oauth/access_token"
token_auth_method = "client_secret_basic"

[providers.oauth_custom_my_idp]
client_id = "custom-id"
client_secret = "custom-secret"
issuer = "http://127.0.0.1:4000"
jwks_uri = "http://127.0.0.1:4000/jwks"
userinfo_endpoint = "http://127.0.0.1:4000/me"
)";
  const auto config = load_text(text);
  ASSERT_TRUE(config.has_value()) << config.error().message;
  const auto& c = *config;
  EXPECT_EQ(c.server.listen, "0.0.0.0:9000");
  EXPECT_EQ(c.server.public_url, "https://auth.example.com");  // trailing '/' dropped
  EXPECT_EQ(c.server.threads, 4U);
  EXPECT_EQ(c.server.workers, 8U);
  EXPECT_EQ(c.server.max_header_bytes, 8192U);
  EXPECT_EQ(c.server.max_body_bytes, 131072U);
  EXPECT_EQ(c.server.read_timeout, 5s);
  EXPECT_EQ(c.server.write_timeout, 1500ms);
  EXPECT_EQ(c.server.idle_timeout, 2min);
  EXPECT_EQ(c.server.shutdown_timeout, 0s);
  EXPECT_EQ(c.server.max_connections, 500U);
  EXPECT_EQ(c.storage.database_url, "postgres://latchkey:pw@db.internal:5432/latchkey");
  EXPECT_EQ(c.storage.data_dir, std::filesystem::path("/var/lib/latchkey"));
  EXPECT_EQ(c.storage.busy_timeout, 250ms);
  EXPECT_EQ(c.keys.encryption_key.reveal(), testing::kKey32);
  EXPECT_EQ(c.keys.algorithm, "ES256");
  EXPECT_EQ(c.keys.rsa_bits, 3072U);
  EXPECT_EQ(c.keys.retire_after, 2h);
  EXPECT_EQ(c.keys.activation_delay, 30s);
  EXPECT_EQ(c.logging.level, "debug");
  EXPECT_EQ(c.logging.format, "text");
  EXPECT_FALSE(c.logging.access_log);
  EXPECT_EQ(c.frontend.path_prefix, "");
  EXPECT_EQ(c.frontend.application_name, "Acme");
  EXPECT_EQ(c.frontend.sign_in_url, "https://app.example.com/login");
  EXPECT_EQ(c.frontend.sign_up_url, "/join");
  EXPECT_EQ(c.frontend.home_url, "/home");
  // Origins are serialised as browsers send them (lower case, no default port) and deduplicated.
  EXPECT_EQ(c.frontend.allowed_origins,
            (std::vector<std::string>{"https://app.example.com", "http://localhost:3000"}));
  EXPECT_EQ(c.frontend.required_fields, (std::vector<std::string>{"first_name", "legal_accepted"}));
  EXPECT_EQ(c.frontend.session_token_lifetime, 30s);
  EXPECT_EQ(c.frontend.session_lifetime, 24h);
  EXPECT_EQ(c.frontend.client_lifetime, 30 * 24h);
  EXPECT_EQ(c.frontend.attempt_lifetime, 1h);
  EXPECT_EQ(c.frontend.oauth_state_lifetime, 5min);
  EXPECT_EQ(c.frontend.last_active_write_interval, 2min);
  EXPECT_EQ(c.frontend.outbound_timeout, 3s);
  EXPECT_EQ(c.frontend.outbound_max_bytes, 65536U);
  EXPECT_FALSE(c.frontend.single_session_mode);
  EXPECT_EQ(c.frontend.static_dir, std::filesystem::path("/srv/clerk-js"));

  ASSERT_EQ(c.providers.size(), 3U);
  // Sorted by strategy.
  const auto& custom = c.providers[0];
  const auto& github = c.providers[1];
  const auto& google = c.providers[2];
  EXPECT_EQ(custom.strategy, "oauth_custom_my_idp");
  EXPECT_EQ(custom.name, "my_idp");
  EXPECT_EQ(custom.issuer, "http://127.0.0.1:4000");
  EXPECT_EQ(custom.jwks_uri, "http://127.0.0.1:4000/jwks");
  EXPECT_EQ(custom.userinfo_endpoint, "http://127.0.0.1:4000/me");
  EXPECT_EQ(custom.token_auth_method, "client_secret_post");
  EXPECT_EQ(github.strategy, "oauth_github");
  EXPECT_EQ(github.name, "GitHub Enterprise");
  EXPECT_EQ(github.client_id, "gh-id");
  EXPECT_EQ(github.client_secret.reveal(), "gh-secret");
  EXPECT_EQ(github.api_base, "https://github.example.com/api/v3");
  EXPECT_EQ(github.token_auth_method, "client_secret_basic");
  EXPECT_EQ(google.strategy, "oauth_google");
  EXPECT_EQ(google.name, "Google");
  EXPECT_EQ(google.scopes, (std::vector<std::string>{"openid", "email", "profile"}));
}

TEST(ConfigFile, LastActiveWriteIntervalZeroWritesEveryTouch) {
  const auto config = load_text("[frontend]\nlast_active_write_interval = \"0s\"\n");
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->frontend.last_active_write_interval, 0s);
}

TEST(ConfigFile, DefaultProviderNames) {
  const auto config = load_text(R"(
[providers.oauth_github]
client_id = "a"
client_secret = "b"
[providers.oauth_microsoft]
client_id = "a"
client_secret = "b"
)");
  ASSERT_TRUE(config.has_value()) << config.error().message;
  ASSERT_EQ(config->providers.size(), 2U);
  EXPECT_EQ(config->providers[0].name, "GitHub");
  EXPECT_EQ(config->providers[1].name, "Microsoft");
}

TEST(ConfigFile, AcceptsEveryListenForm) {
  for (const auto* listen : {"0.0.0.0:0", "127.0.0.1:65535", "[::1]:8787", "[::]:80", "localhost:1",
                             "auth-1.internal.example.com:443", "idp_container:4000"}) {
    SCOPED_TRACE(listen);
    const auto config = load_text(std::string("[server]\nlisten = \"") + listen + "\"\n");
    ASSERT_TRUE(config.has_value()) << config.error().message;
    EXPECT_EQ(config->server.listen, listen);
  }
}

TEST(ConfigFile, MissingFileIsAnError) {
  const TempDir dir;
  const auto config = load(dir.path() / "nope.toml", {});
  ASSERT_FALSE(config.has_value());
  EXPECT_THAT(config.error().message, HasSubstr("not found"));
  EXPECT_THAT(config.error().message, HasSubstr("nope.toml"));
}

TEST(ConfigFile, DirectoryIsAnError) {
  const TempDir dir;
  const auto config = load(dir.path(), {});
  ASSERT_FALSE(config.has_value());
  EXPECT_THAT(config.error().message, HasSubstr("not a regular file"));
}

TEST(ConfigFile, SyntaxErrorGivesLine) {
  const auto config = load_text("[server]\nlisten = \"127.0.0.1:1\"\nthreads = = 3\n");
  ASSERT_FALSE(config.has_value());
  EXPECT_EQ(config.error().line, 3U);
  EXPECT_THAT(config.error().message, HasSubstr(":3:"));
  EXPECT_THAT(config.error().message, HasSubstr("TOML syntax error"));
}

// ---------------------------------------------------------------------------------------------
// Every refusal names the key and the line it came from.

struct BadCase {
  const char* name;
  const char* toml;
  const char* key;
  std::size_t line;
  const char* message_part;
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

class ConfigRejects : public ::testing::TestWithParam<BadCase> {};

TEST_P(ConfigRejects, NamesKeyAndLine) {
  const BadCase& c = GetParam();
  const auto config = load_text(c.toml);
  ASSERT_FALSE(config.has_value()) << "accepted: " << c.toml;
  const ConfigError& e = config.error();
  EXPECT_EQ(e.key, c.key);
  EXPECT_EQ(e.line, c.line);
  EXPECT_THAT(e.message, HasSubstr(std::string(c.key) + " (line " + std::to_string(c.line) + ")"));
  EXPECT_THAT(e.message, HasSubstr(c.message_part));
}

const BadCase kBadCases[] = {
    // Structure and types.
    {"UnknownSection", "\n[serverr]\nlisten = \"a:1\"\n", "serverr", 2, "did you mean 'server'"},
    {"UnknownKey", "[server]\nlisten = \"127.0.0.1:1\"\nlisen = \"x\"\n", "server.lisen", 3,
     "did you mean 'listen'"},
    {"SectionNotTable", "server = 3\n", "server", 1, "expected a table"},
    {"WrongTypeString", "[server]\nlisten = 8787\n", "server.listen", 2,
     "expected a string, got integer"},
    {"WrongTypeInteger", "[server]\nthreads = \"4\"\n", "server.threads", 2, "expected an integer"},
    {"WrongTypeFloat", "[server]\nworkers = 1.5\n", "server.workers", 2, "got float"},
    {"WrongTypeBool", "[logging]\naccess_log = \"yes\"\n", "logging.access_log", 2,
     "expected a boolean"},
    {"WrongTypeList", "[frontend]\nallowed_origins = \"https://a.com\"\n",
     "frontend.allowed_origins", 2, "expected an array of strings"},
    {"ListOfIntegers", "[frontend]\nrequired_fields = [1, 2]\n", "frontend.required_fields", 2,
     "array with a non-string item (integer)"},
    // server
    {"ListenNoPort", "[server]\nlisten = \"localhost\"\n", "server.listen", 2,
     "expected host:port"},
    {"ListenPortTooBig", "[server]\nlisten = \"127.0.0.1:70000\"\n", "server.listen", 2,
     "0 and 65535"},
    {"ListenPortNotNumber", "[server]\nlisten = \"127.0.0.1:http\"\n", "server.listen", 2, "port"},
    {"ListenBareIPv6", "[server]\nlisten = \"::1:8787\"\n", "server.listen", 2, "brackets"},
    {"ListenBadIPv6", "[server]\nlisten = \"[zz::1]:8787\"\n", "server.listen", 2, "not an IPv6"},
    {"ListenBadIPv4", "[server]\nlisten = \"999.1.1.1:80\"\n", "server.listen", 2, "not an IPv4"},
    {"ListenBadHostname", "[server]\nlisten = \"bad host!:80\"\n", "server.listen", 2, "DNS name"},
    {"ListenEmptyHost", "[server]\nlisten = \":80\"\n", "server.listen", 2, "0.0.0.0"},
    {"PublicUrlScheme", "[server]\npublic_url = \"ftp://auth.example.com\"\n", "server.public_url",
     2, "http or https"},
    {"PublicUrlRelative", "[server]\npublic_url = \"/auth\"\n", "server.public_url", 2, "absolute"},
    {"PublicUrlQuery", "[server]\npublic_url = \"https://a.example.com/?x=1\"\n",
     "server.public_url", 2, "query"},
    {"PublicUrlFragment", "[server]\npublic_url = \"https://a.example.com/#top\"\n",
     "server.public_url", 2, "fragment"},
    {"PublicUrlUserinfo", "[server]\npublic_url = \"https://u:p@a.example.com\"\n",
     "server.public_url", 2, "user information"},
    {"PublicUrlNoHost", "[server]\npublic_url = \"https:///path\"\n", "server.public_url", 2,
     "host"},
    {"ThreadsTooMany", "[server]\nthreads = 257\n", "server.threads", 2, "between 0 and 256"},
    {"WorkersZero", "[server]\nworkers = 0\n", "server.workers", 2, "between 1 and 1024"},
    {"WorkersNegative", "[server]\nworkers = -3\n", "server.workers", 2, "between 1 and 1024"},
    {"BodyTooSmall", "[server]\nmax_body_bytes = 0\n", "server.max_body_bytes", 2, "between"},
    {"HeaderTooBig", "[server]\nmax_header_bytes = 1000000000\n", "server.max_header_bytes", 2,
     "between"},
    {"ConnectionsZero", "[server]\nmax_connections = 0\n", "server.max_connections", 2, "between"},
    {"DurationNoUnit", "[server]\nread_timeout = \"10\"\n", "server.read_timeout", 2,
     "expected a duration"},
    {"DurationInteger", "[server]\nread_timeout = 10\n", "server.read_timeout", 2,
     "expected a duration string"},
    {"DurationBadUnit", "[server]\nidle_timeout = \"1w\"\n", "server.idle_timeout", 2,
     "expected a duration"},
    {"DurationNegative", "[server]\nidle_timeout = \"-1s\"\n", "server.idle_timeout", 2,
     "expected a duration"},
    {"DurationTooLong", "[server]\nshutdown_timeout = \"1h\"\n", "server.shutdown_timeout", 2,
     "between 0s and 10m"},
    // storage
    {"DatabaseUrlScheme", "[storage]\ndatabase_url = \"mysql://db/x\"\n", "storage.database_url", 2,
     "postgres://"},
    {"DatabaseUrlSqliteNoPath", "[storage]\ndatabase_url = \"sqlite://\"\n", "storage.database_url",
     2, "file path"},
    {"DataDirEmpty", "[storage]\ndata_dir = \"\"\n", "storage.data_dir", 2, "must not be empty"},
    // keys
    {"EncryptionKeyNotBase64", "[keys]\nencryption_key = \"not base64!\"\n", "keys.encryption_key",
     2, "base64"},
    {"EncryptionKeyShort", "[keys]\nencryption_key = \"MDEyMzQ1Njc4OWFiY2RlZg==\"\n",
     "keys.encryption_key", 2, "exactly 32 bytes, got 16"},
    {"AlgorithmUnknown", "[keys]\nalgorithm = \"HS256\"\n", "keys.algorithm", 2,
     "RS256, ES256, EdDSA"},
    {"RsaBitsOdd", "[keys]\nrsa_bits = 3000\n", "keys.rsa_bits", 2, "2048, 3072 or 4096"},
    {"RetireBeforeTokenExpiry",
     "[frontend]\nsession_token_lifetime = \"10m\"\n[keys]\nretire_after = \"5m\"\n",
     "keys.retire_after", 4, "at least frontend.session_token_lifetime (10m)"},
    {"ActivationDelayTooLong", "[keys]\nactivation_delay = \"2d\"\n", "keys.activation_delay", 2,
     "between"},
    {"ActivationDelayNotShorterThanRetireAfter",
     "[keys]\nretire_after = \"1h\"\nactivation_delay = \"1h\"\n", "keys.activation_delay", 3,
     "shorter than keys.retire_after (1h)"},
    // logging
    {"LevelUnknown", "[logging]\nlevel = \"verbose\"\n", "logging.level", 2, "trace, debug, info"},
    {"FormatUnknown", "[logging]\nformat = \"xml\"\n", "logging.format", 2, "json, text"},
    // ratelimit
    {"RateLimitCountersUnknown", "[ratelimit]\ncounters = \"redis\"\n", "ratelimit.counters", 2,
     "must be one of auto, memory, database, got \"redis\""},
    {"RateLimitCountersCase", "[ratelimit]\nenabled = true\ncounters = \"Database\"\n",
     "ratelimit.counters", 3, "auto, memory, database"},
    // frontend
    {"PrefixNoSlash", "[frontend]\npath_prefix = \"__clerk\"\n", "frontend.path_prefix", 2,
     "starts with '/'"},
    {"PrefixTrailingSlash", "[frontend]\npath_prefix = \"/__clerk/\"\n", "frontend.path_prefix", 2,
     "no trailing"},
    {"PrefixDotSegment", "[frontend]\npath_prefix = \"/a/../b\"\n", "frontend.path_prefix", 2,
     "path like"},
    {"OriginWithPath", "[frontend]\nallowed_origins = [\"https://a.example.com/app\"]\n",
     "frontend.allowed_origins", 2, "no path"},
    {"OriginTrailingSlash", "[frontend]\nallowed_origins = [\"https://a.example.com/\"]\n",
     "frontend.allowed_origins", 2, "trailing"},
    {"OriginNoScheme", "[frontend]\nallowed_origins = [\"https://ok.com\", \"a.example.com\"]\n",
     "frontend.allowed_origins", 2, "item 2"},
    {"OriginWildcard", "[frontend]\nallowed_origins = [\"*\"]\n", "frontend.allowed_origins", 2,
     "expected an origin"},
    {"RequiredFieldUnknown", "[frontend]\nrequired_fields = [\"email\"]\n",
     "frontend.required_fields", 2, "first_name, last_name, username, legal_accepted"},
    {"RequiredFieldTwice", "[frontend]\nrequired_fields = [\"username\", \"username\"]\n",
     "frontend.required_fields", 2, "twice"},
    {"TokenLifetimeTooShort", "[frontend]\nsession_token_lifetime = \"5s\"\n",
     "frontend.session_token_lifetime", 2, "between 10s and 1h"},
    {"TokenLifetimeTooLong", "[frontend]\nsession_token_lifetime = \"61m\"\n",
     "frontend.session_token_lifetime", 2, "between 10s and 1h"},
    {"SecondsFieldWithMillis", "[frontend]\nsession_token_lifetime = \"1500ms\"\n",
     "frontend.session_token_lifetime", 2, "whole number of seconds"},
    {"LastActiveIntervalTooLong", "[frontend]\nlast_active_write_interval = \"61m\"\n",
     "frontend.last_active_write_interval", 2, "between 0s and 1h"},
    {"ClientShorterThanSession",
     "[frontend]\nsession_lifetime = \"30d\"\nclient_lifetime = \"7d\"\n",
     "frontend.client_lifetime", 3, "at least frontend.session_lifetime"},
    {"SignInUrlNetworkPath", "[frontend]\nsign_in_url = \"//evil.example.com/x\"\n",
     "frontend.sign_in_url", 2, "path on this site"},
    {"HomeUrlJavascript", "[frontend]\nhome_url = \"javascript:alert(1)\"\n", "frontend.home_url",
     2, "http or https"},
    {"AppNameEmpty", "[frontend]\napplication_name = \"\"\n", "frontend.application_name", 2,
     "1 to 128"},
    // providers
    {"ProviderUnknownStrategy", "[providers.oauth_facebook]\nclient_id = \"x\"\n",
     "providers.oauth_facebook", 1, "unknown provider strategy"},
    {"ProviderCustomBadName", "[providers.oauth_custom_My-IdP]\nclient_id = \"x\"\n",
     "providers.oauth_custom_My-IdP", 1, "unknown provider strategy"},
    {"ProviderNotTable", "[providers]\noauth_google = \"x\"\n", "providers.oauth_google", 2,
     "expected a table"},
    {"ProviderUnknownKey", "[providers.oauth_google]\nclient_id = \"x\"\nclientsecret = \"y\"\n",
     "providers.oauth_google.clientsecret", 3, "did you mean 'client_secret'"},
    {"ProviderStrategyKey", "[providers.oauth_google]\nstrategy = \"oauth_github\"\n",
     "providers.oauth_google.strategy", 2, "table name"},
    {"ProviderMissingClientId", "\n[providers.oauth_google]\nclient_secret = \"y\"\n",
     "providers.oauth_google.client_id", 2, "LATCHKEY_PROVIDERS_OAUTH_GOOGLE_CLIENT_ID"},
    {"ProviderEmptyClientId", "[providers.oauth_google]\nclient_id = \"\"\nclient_secret = \"y\"\n",
     "providers.oauth_google.client_id", 2, "required"},
    {"ProviderMissingSecret", "\n\n[providers.oauth_github]\nclient_id = \"x\"\n",
     "providers.oauth_github.client_secret", 3,
     "missing required secret; set the environment variable "
     "LATCHKEY_PROVIDERS_OAUTH_GITHUB_CLIENT_SECRET"},
    {"ProviderSecretWrongType", "[providers.oauth_github]\nclient_id = \"x\"\nclient_secret = 5\n",
     "providers.oauth_github.client_secret", 3, "expected a string"},
    {"CustomWithoutIssuer",
     "[providers.oauth_custom_acme]\nclient_id = \"x\"\nclient_secret = \"y\"\n",
     "providers.oauth_custom_acme.issuer", 1, "required"},
    {"CustomIssuerPlainHttp",
     "[providers.oauth_custom_acme]\nclient_id = \"x\"\nclient_secret = \"y\"\n"
     "issuer = \"http://idp.example.com\"\n",
     "providers.oauth_custom_acme.issuer", 4, "must use https"},
    {"IssuerWithQuery",
     "[providers.oauth_microsoft]\nclient_id = \"x\"\nclient_secret = \"y\"\n"
     "issuer = \"https://login.example.com/?tenant=1\"\n",
     "providers.oauth_microsoft.issuer", 4, "query"},
    {"EndpointNotAbsolute",
     "[providers.oauth_google]\nclient_id = \"x\"\nclient_secret = \"y\"\n"
     "token_endpoint = \"/token\"\n",
     "providers.oauth_google.token_endpoint", 4, "absolute"},
    {"JwksUriBadScheme",
     "[providers.oauth_google]\nclient_id = \"x\"\nclient_secret = \"y\"\n"
     "jwks_uri = \"file:///etc/jwks.json\"\n",
     "providers.oauth_google.jwks_uri", 4, "http or https"},
    {"ApiBaseBad",
     "[providers.oauth_github]\nclient_id = \"x\"\nclient_secret = \"y\"\napi_base = \"github\"\n",
     "providers.oauth_github.api_base", 4, "absolute"},
    {"TokenAuthMethodUnknown",
     "[providers.oauth_google]\nclient_id = \"x\"\nclient_secret = \"y\"\n"
     "token_auth_method = \"private_key_jwt\"\n",
     "providers.oauth_google.token_auth_method", 4, "client_secret_post, client_secret_basic"},
    {"ScopeWithSpace",
     "[providers.oauth_google]\nclient_id = \"x\"\nclient_secret = \"y\"\n"
     "scopes = [\"openid email\"]\n",
     "providers.oauth_google.scopes", 4, "RFC 6749"},
};

INSTANTIATE_TEST_SUITE_P(Validation, ConfigRejects, ::testing::ValuesIn(kBadCases),
                         [](const ::testing::TestParamInfo<BadCase>& param_info) {
                           return std::string(param_info.param.name);
                         });

TEST(ConfigFile, RateLimitCountersDefaultToAutoAndTakeEachValue) {
  const auto defaults = load({}, {});
  ASSERT_TRUE(defaults.has_value()) << defaults.error().message;
  EXPECT_EQ(defaults->ratelimit.counters, "auto");
  for (const std::string value : {"auto", "memory", "database"}) {
    const auto config = load_text("[ratelimit]\ncounters = \"" + value + "\"\n");
    ASSERT_TRUE(config.has_value()) << value << ": " << config.error().message;
    EXPECT_EQ(config->ratelimit.counters, value);
  }
  const auto env = load_text("[ratelimit]\ncounters = \"memory\"\n",
                             {{"LATCHKEY_RATELIMIT_COUNTERS", "database"}});
  ASSERT_TRUE(env.has_value()) << env.error().message;
  EXPECT_EQ(env->ratelimit.counters, "database");
  const auto bad_env = load({}, {{"LATCHKEY_RATELIMIT_COUNTERS", "shared"}});
  ASSERT_FALSE(bad_env.has_value());
  EXPECT_EQ(bad_env.error().key, "ratelimit.counters");
  EXPECT_EQ(bad_env.error().env_var, "LATCHKEY_RATELIMIT_COUNTERS");
}

TEST(ConfigFile, BulkheadKeysHaveDefaultsAndTheCapStaysBelowTheOutboundPool) {
  const auto defaults = load({}, {});
  ASSERT_TRUE(defaults.has_value()) << defaults.error().message;
  EXPECT_EQ(defaults->server.outbound_workers, 32U);
  EXPECT_EQ(defaults->oauth.max_concurrent_per_provider, 16U);
  EXPECT_EQ(defaults->oauth.callback_deadline, std::chrono::seconds(10));
  const auto set = load_text(
      "[server]\noutbound_workers = 8\n[oauth]\nmax_concurrent_per_provider = 7\n"
      "callback_deadline = \"3s\"\n",
      {{"LATCHKEY_OAUTH_CALLBACK_DEADLINE", "4s"}});
  ASSERT_TRUE(set.has_value()) << set.error().message;
  EXPECT_EQ(set->server.outbound_workers, 8U);
  EXPECT_EQ(set->oauth.max_concurrent_per_provider, 7U);
  EXPECT_EQ(set->oauth.callback_deadline, std::chrono::seconds(4));
  // A cap that lets one provider hold every outbound thread is refused, naming both keys.
  const auto full =
      load_text("[server]\noutbound_workers = 8\n[oauth]\nmax_concurrent_per_provider = 8\n");
  ASSERT_FALSE(full.has_value());
  EXPECT_EQ(full.error().key, "oauth.max_concurrent_per_provider");
  EXPECT_THAT(full.error().message, HasSubstr("server.outbound_workers"));
  const auto too_short = load({}, {{"LATCHKEY_OAUTH_CALLBACK_DEADLINE", "10ms"}});
  ASSERT_FALSE(too_short.has_value());
  EXPECT_EQ(too_short.error().key, "oauth.callback_deadline");
}

TEST(ConfigFile, LoopbackIssuersMayUseHttp) {
  for (const auto* issuer : {"http://localhost:4000", "http://127.0.0.1:4000/oidc",
                             "http://[::1]:4000", "https://idp.example.com/realms/x"}) {
    SCOPED_TRACE(issuer);
    const auto config = load_text(std::string("[providers.oauth_custom_acme]\nclient_id = \"x\"\n"
                                              "client_secret = \"y\"\nissuer = \"") +
                                  issuer + "\"\n");
    ASSERT_TRUE(config.has_value()) << config.error().message;
    // The issuer is kept byte-exact: ID token `iss` is compared without normalisation.
    EXPECT_EQ(config->providers.at(0).issuer, issuer);
  }
}

TEST(ConfigFile, DatabaseUrlForms) {
  for (const auto* url :
       {"", "sqlite:///var/lib/latchkey/latchkey.db", "sqlite://latchkey.db",
        "postgres://u:p@db:5432/x", "postgresql://db1:5432,db2:5432/x", "postgresql://"}) {
    SCOPED_TRACE(url);
    const auto config = load_text(std::string("[storage]\ndatabase_url = \"") + url + "\"\n");
    ASSERT_TRUE(config.has_value()) << config.error().message;
  }
}

TEST(ConfigFile, ErrorsNeverQuoteSecrets) {
  const std::string secret = "hunter2-hunter2-not-base64!";
  auto config = load_text("[keys]\nencryption_key = \"" + secret + "\"\n");
  ASSERT_FALSE(config.has_value());
  EXPECT_THAT(config.error().message, Not(HasSubstr(secret)));

  config = load_text("[storage]\ndatabase_url = \"mysql://root:" + secret + "@db/x\"\n");
  ASSERT_FALSE(config.has_value());
  EXPECT_THAT(config.error().message, Not(HasSubstr(secret)));
}

TEST(ConfigDelivery, DefaultsMeanTheMailDropAndNoSmsGateway) {
  const auto config = load({}, {});
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->smtp.host, "");
  EXPECT_EQ(config->smtp.tls, "starttls");
  EXPECT_EQ(config->smtp.port, 587U);
  EXPECT_EQ(config->sms.provider, "");
  EXPECT_EQ(config->delivery.per_recipient, 10U);
  EXPECT_EQ(config->delivery.limit_window, 1h);
}

TEST(ConfigDelivery, ParsesTheThreeSectionsAndTakesSecretsFromTheEnvironment) {
  const auto config =
      load_text(R"(
[delivery]
limit_window = "30m"
per_ip = 5
per_recipient = 3
per_country = 100
sms_countries = ["1", "44"]
max_attempts = 4
max_age = "2h"
backoff_base = "1s"
backoff_max = "1m"
poll_interval = "2s"

[smtp]
host = "smtp.example.com"
port = 465
tls = "implicit"
username = "mailer"
from = "Acme <no-reply@acme.example>"
timeout = "15s"

[sms]
provider = "twilio"
account_sid = "AC123"
from = "+15005550006"
)",
                {{"LATCHKEY_SMTP_PASSWORD", "pw"}, {"LATCHKEY_SMS_AUTH_TOKEN", "tok"}});
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->delivery.limit_window, 30min);
  EXPECT_EQ(config->delivery.per_ip, 5U);
  EXPECT_EQ(config->delivery.sms_countries, (std::vector<std::string>{"1", "44"}));
  EXPECT_EQ(config->delivery.backoff_max, 1min);
  EXPECT_EQ(config->smtp.port, 465U);
  EXPECT_EQ(config->smtp.tls, "implicit");
  EXPECT_EQ(config->smtp.password.reveal(), "pw");
  EXPECT_EQ(config->sms.auth_token.reveal(), "tok");
  EXPECT_EQ(config->sms.account_sid, "AC123");
  EXPECT_THAT(describe(*config), Not(HasSubstr("\"pw\"")));
  EXPECT_THAT(describe(*config), Not(HasSubstr("\"tok\"")));
}

TEST(ConfigDelivery, RefusesWhatCannotWork) {
  struct Case {
    std::string toml;
    std::string key;
  };
  const std::vector<Case> cases{
      {"[smtp]\ntls = \"ssl\"\n", "smtp.tls"},
      {"[smtp]\nhost = \"smtp.example.com:587\"\n", "smtp.host"},
      {"[smtp]\nhost = \"h\"\nusername = \"u\"\n", "smtp.password"},
      {"[smtp]\nfrom = \"nobody\"\n", "smtp.from"},
      {"[smtp]\nport = 0\n", "smtp.port"},
      {"[sms]\nprovider = \"carrier-pigeon\"\n", "sms.provider"},
      {"[sms]\nprovider = \"webhook\"\n", "sms.url"},
      {"[sms]\nprovider = \"twilio\"\nauth_token = \"t\"\nfrom = \"+1\"\n", "sms.account_sid"},
      {"[sms]\nurl = \"ftp://x\"\n", "sms.url"},
      {"[delivery]\nsms_countries = [\"+44\"]\n", "delivery.sms_countries"},
      {"[delivery]\nbackoff_base = \"1m\"\nbackoff_max = \"10s\"\n", "delivery.backoff_max"},
      {"[delivery]\nmax_attempts = 0\n", "delivery.max_attempts"},
  };
  for (const auto& c : cases) {
    const auto config = load_text(c.toml);
    ASSERT_FALSE(config.has_value()) << "accepted: " << c.toml;
    EXPECT_EQ(config.error().key, c.key) << c.toml << " -> " << config.error().message;
  }
}

TEST(ConfigWebhooks, NoEndpointsByDefaultAndSvixsSchedule) {
  const auto config = load({}, {});
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_TRUE(config->webhook_endpoints.empty());
  EXPECT_EQ(config->webhooks.retry_schedule,
            (std::vector<std::string>{"5s", "5m", "30m", "2h", "5h", "10h", "10h"}));
  EXPECT_EQ(config->webhooks.timeout, 15s);
}

TEST(ConfigWebhooks, EndpointsFromTheFileAndTheEnvironmentSecretsFromVariables) {
  const auto config = load_text(
      R"(
[webhooks]
retry_schedule = ["1s", "1m"]
timeout = "5s"
instance_id = "ins_test"

[webhook_endpoints.app]
url = "https://app.example.com/api/webhooks"
events = ["user.created", "user.deleted"]

[webhook_endpoints.audit_log]
url = "http://127.0.0.1:9000/hook"
)",
      {{"LATCHKEY_WEBHOOK_ENDPOINTS_APP_SIGNING_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
       {"LATCHKEY_WEBHOOK_ENDPOINTS_AUDIT_LOG_SIGNING_SECRET", "whsec_c2VjcmV0"},
       {"LATCHKEY_WEBHOOK_ENDPOINTS_EXTRA_URL", "https://x.example/h"},
       {"LATCHKEY_WEBHOOK_ENDPOINTS_EXTRA_SIGNING_SECRET", "whsec_c2VjcmV0"}});
  ASSERT_TRUE(config.has_value()) << config.error().message;
  ASSERT_EQ(config->webhook_endpoints.size(), 3U);
  const auto& app = config->webhook_endpoints[0];  // name order
  EXPECT_EQ(app.name, "app");
  EXPECT_EQ(app.url, "https://app.example.com/api/webhooks");
  EXPECT_EQ(app.signing_secret.reveal(), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  EXPECT_EQ(app.events, (std::vector<std::string>{"user.created", "user.deleted"}));
  EXPECT_EQ(config->webhook_endpoints[1].name, "audit_log");
  EXPECT_TRUE(config->webhook_endpoints[1].events.empty());
  EXPECT_EQ(config->webhook_endpoints[2].name, "extra");
  EXPECT_EQ(config->webhooks.retry_schedule, (std::vector<std::string>{"1s", "1m"}));
  EXPECT_EQ(config->webhooks.timeout, 5s);
  EXPECT_EQ(config->webhooks.instance_id, "ins_test");
  const std::string text = describe(*config);
  EXPECT_THAT(text, HasSubstr("[webhook_endpoints.app]"));
  EXPECT_THAT(text, Not(HasSubstr("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")));
  EXPECT_THAT(text, HasSubstr("LATCHKEY_WEBHOOK_ENDPOINTS_AUDIT_LOG_SIGNING_SECRET"));
}

TEST(ConfigWebhooks, RefusesWhatCannotWork) {
  struct Case {
    std::string toml;
    std::string key;
  };
  const std::string secret = "signing_secret = \"whsec_c2VjcmV0\"\n";
  const std::vector<Case> cases{
      {"[webhook_endpoints.a]\nurl = \"ftp://hooks.example.com/x\"\n" + secret,
       "webhook_endpoints.a.url"},
      {"[webhook_endpoints.a]\nurl = \"file:///etc/passwd\"\n" + secret, "webhook_endpoints.a.url"},
      {"[webhook_endpoints.a]\nurl = \"hooks.example.com\"\n" + secret, "webhook_endpoints.a.url"},
      {"[webhook_endpoints.a]\n" + secret, "webhook_endpoints.a.url"},
      {"[webhook_endpoints.a]\nurl = \"https://h.example/x\"\n",
       "webhook_endpoints.a.signing_secret"},
      {"[webhook_endpoints.a]\nurl = \"https://h.example/x\"\nsigning_secret = \"c2VjcmV0\"\n",
       "webhook_endpoints.a.signing_secret"},
      {"[webhook_endpoints.a]\nurl = \"https://h.example/x\"\nsigning_secret = \"whsec_!!\"\n",
       "webhook_endpoints.a.signing_secret"},
      {"[webhook_endpoints.a]\nurl = \"https://h.example/x\"\n" + secret +
           "events = [\"user.exploded\"]\n",
       "webhook_endpoints.a.events"},
      {"[webhook_endpoints.a]\nurl = \"https://h.example/x\"\n" + secret + "colour = \"red\"\n",
       "webhook_endpoints.a.colour"},
      {"[webhook_endpoints.Bad-Name]\nurl = \"https://h.example/x\"\n" + secret,
       "webhook_endpoints.Bad-Name"},
      {"[webhooks]\nretry_schedule = [\"soon\"]\n", "webhooks.retry_schedule"},
      {"[webhooks]\nretry_schedule = [\"30d\"]\n", "webhooks.retry_schedule"},
      {"[webhooks]\ninstance_id = \"ins one\"\n", "webhooks.instance_id"},
      {"[webhooks]\ntimeout = \"1h\"\n", "webhooks.timeout"},
  };
  for (const auto& c : cases) {
    const auto config = load_text(c.toml);
    ASSERT_FALSE(config.has_value()) << "accepted: " << c.toml;
    EXPECT_EQ(config.error().key, c.key) << c.toml << " -> " << config.error().message;
    EXPECT_THAT(config.error().message, Not(HasSubstr("c2VjcmV0"))) << c.toml;
  }
  // A variable naming no key of an endpoint is an error, not ignored.
  const auto typo = load({}, {{"LATCHKEY_WEBHOOK_ENDPOINTS_APP_SIGNING_SECRT", "x"}});
  ASSERT_FALSE(typo.has_value());
  EXPECT_THAT(typo.error().message, HasSubstr("LATCHKEY_WEBHOOK_ENDPOINTS_<NAME>_<KEY>"));
}

}  // namespace
}  // namespace latchkey::config
