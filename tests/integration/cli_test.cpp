// The CLI contract of the binary (issue 2): exit codes 0 / 1 / 2, configuration errors that name
// the key, `config check` that never prints a secret, `migrate`, `keys list|rotate`.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "support/harness.hpp"

namespace latchkey::it {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A data dir for commands that would otherwise default to ./latchkey-data.
EnvVars base_env(const TempDir& dir) { return {{"LATCHKEY_STORAGE_DATA_DIR", dir.str()}}; }

TEST(Cli, VersionExitsZeroAndPrintsTheVersion) {
  auto r = run_cli({"version"}, {});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("latchkey "));
}

TEST(Cli, UnknownSubcommandOrOptionExitsTwo) {
  TempDir dir;
  auto sub = run_cli({"frobnicate"}, base_env(dir));
  EXPECT_EQ(sub.exit_code, 2) << sub.out << sub.err;
  auto opt = run_cli({"version", "--no-such-option"}, base_env(dir));
  EXPECT_EQ(opt.exit_code, 2) << opt.out << opt.err;
  auto none = run_cli({}, base_env(dir));
  EXPECT_EQ(none.exit_code, 2) << none.out << none.err;
  auto keys_sub = run_cli({"keys", "shred"}, base_env(dir));
  EXPECT_EQ(keys_sub.exit_code, 2) << keys_sub.out << keys_sub.err;
}

TEST(Cli, UnknownKeyInConfigFileExitsTwoNamingTheKey) {
  TempDir dir;
  const std::string file = dir.str() + "/latchkey.toml";
  {
    std::ofstream f(file);
    f << "[server]\nlisten = \"127.0.0.1:0\"\nlisen = \"127.0.0.1:1\"\n";
  }
  for (const char* cmd : {"serve", "config"}) {
    std::vector<std::string> args{"--config", file, cmd};
    if (std::string(cmd) == "config") {
      args.emplace_back("check");
    }
    auto r = run_cli(args, base_env(dir));
    EXPECT_EQ(r.exit_code, 2) << cmd << ": " << r.out << r.err;
    EXPECT_THAT(r.err, HasSubstr("server.lisen")) << cmd;
  }
}

TEST(Cli, BadListenVariableExitsTwoNamingTheKey) {
  TempDir dir;
  auto env = base_env(dir);
  env.emplace_back("LATCHKEY_SERVER_LISTEN", "127.0.0.1:70000");
  auto r = run_cli({"serve"}, env);
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr("server.listen"));
  EXPECT_THAT(r.err, HasSubstr("LATCHKEY_SERVER_LISTEN"));
}

TEST(Cli, UnknownVariableExitsTwoNamingIt) {
  TempDir dir;
  auto env = base_env(dir);
  env.emplace_back("LATCHKEY_SERVER_LISTN", "127.0.0.1:0");
  auto r = run_cli({"serve"}, env);
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr("LATCHKEY_SERVER_LISTN"));
}

TEST(Cli, ProviderWithoutClientSecretExitsTwoNamingTheKey) {
  TempDir dir;
  auto env = base_env(dir);
  env.emplace_back("LATCHKEY_PROVIDERS_OAUTH_GOOGLE_CLIENT_ID", "abc.apps.example");
  auto r = run_cli({"serve"}, env);
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr("providers.oauth_google.client_secret"));
  // Nothing was started: no database was created for a configuration that is refused.
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "latchkey.db"));
}

TEST(Cli, ConfigCheckExitsZeroAndNeverPrintsSecrets) {
  TempDir dir;
  const std::string client_secret = "cs-very-secret-0123456789abcdef";
  // 32 bytes, standard base64.
  const std::string master = "c2VjcmV0LW1hc3Rlci1rZXktMzItYnl0ZXMtbG9uZyE=";
  const std::string db_password = "db-pa55-wordXYZ";
  auto env = base_env(dir);
  env.emplace_back("LATCHKEY_PROVIDERS_OAUTH_GOOGLE_CLIENT_ID", "abc.apps.example");
  env.emplace_back("LATCHKEY_PROVIDERS_OAUTH_GOOGLE_CLIENT_SECRET", client_secret);
  env.emplace_back("LATCHKEY_KEYS_ENCRYPTION_KEY", master);
  env.emplace_back("LATCHKEY_STORAGE_DATABASE_URL",
                   "postgres://latchkey:" + db_password + "@db.invalid:5432/latchkey");
  auto r = run_cli({"config", "check"}, env);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::string all = r.out + r.err;
  EXPECT_THAT(all, Not(HasSubstr(client_secret)));
  EXPECT_THAT(all, Not(HasSubstr(master)));
  EXPECT_THAT(all, Not(HasSubstr(db_password)));
  EXPECT_THAT(r.out, HasSubstr("[redacted]"));
  // The effective configuration is printed, including the non-secret values we set.
  EXPECT_THAT(r.out, HasSubstr("abc.apps.example"));
}

TEST(Cli, MigrateExitsZeroAndIsIdempotent) {
  TempDir dir;
  auto first = run_cli({"migrate"}, base_env(dir));
  EXPECT_EQ(first.exit_code, 0) << first.out << first.err;
  EXPECT_THAT(first.out, HasSubstr("schema version"));
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "latchkey.db"));
  auto second = run_cli({"migrate"}, base_env(dir));
  EXPECT_EQ(second.exit_code, 0) << second.out << second.err;
  auto version_line = [](const std::string& out) {
    const auto p = out.find("schema version");
    return p == std::string::npos ? std::string() : out.substr(p, out.find('\n', p) - p);
  };
  EXPECT_FALSE(version_line(first.out).empty());
  EXPECT_EQ(version_line(first.out), version_line(second.out));
  // Nothing left to apply the second time.
  EXPECT_THAT(first.out + first.err, HasSubstr("applied"));
  EXPECT_THAT(second.out + second.err, Not(HasSubstr("applied")));
}

TEST(Cli, KeysListAndRotateWorkOnTheDataDir) {
  TempDir dir;
  auto env = base_env(dir);
  env.emplace_back("LATCHKEY_KEYS_ALGORITHM", "ES256");  // fast key generation
  auto list1 = run_cli({"keys", "list"}, env);
  ASSERT_EQ(list1.exit_code, 0) << list1.out << list1.err;
  auto count_lines = [](const std::string& s, const std::string& needle) {
    int n = 0;
    for (std::size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) {
      ++n;
    }
    return n;
  };
  EXPECT_EQ(count_lines(list1.out, "\tactive"), 1) << list1.out;
  auto rotate = run_cli({"keys", "rotate"}, env);
  ASSERT_EQ(rotate.exit_code, 0) << rotate.out << rotate.err;
  const std::string prefix = "new active key ";
  ASSERT_THAT(rotate.out, HasSubstr(prefix));
  std::string new_kid = rotate.out.substr(rotate.out.find(prefix) + prefix.size());
  new_kid = new_kid.substr(0, new_kid.find('\n'));
  auto list2 = run_cli({"keys", "list"}, env);
  ASSERT_EQ(list2.exit_code, 0) << list2.out << list2.err;
  EXPECT_EQ(count_lines(list2.out, "\tactive"), 1) << list2.out;
  EXPECT_EQ(count_lines(list2.out, "\tretired"), 1) << list2.out;
  EXPECT_THAT(list2.out, HasSubstr(new_kid + "\t"));
  // `keys list` shows public information only.
  EXPECT_THAT(list2.out + list2.err, Not(HasSubstr("PRIVATE KEY")));
}

}  // namespace
}  // namespace latchkey::it
