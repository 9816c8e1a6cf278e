// The operator's commands (issue 13): `secret-keys create|list|revoke`, `env`, `users
// list|show|create|ban|unban|delete`, `sessions list|revoke`, run against the data dir of a
// running server, whose Frontend API sees what they change.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "core/base64.hpp"
#include "support/harness.hpp"

namespace latchkey::it {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kPassword = "Vq7!tz-rooftop-Quasar-91";

// stdout's lines that start with `prefix` (the log shares stdout).
std::vector<std::string> lines_with(const std::string& out, std::string_view prefix) {
  std::vector<std::string> found;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(prefix)) {
      found.push_back(line);
    }
  }
  return found;
}

class CliAdmin : public ::testing::Test {
 protected:
  void SetUp() override {
    server = std::make_unique<Server>(
        ServerOptions{.env = {{"LATCHKEY_PASSWORDS_HASH_OPSLIMIT", "1"},
                              {"LATCHKEY_PASSWORDS_HASH_MEMLIMIT_KIB", "8192"}},
                      .fixed_port = true,
                      .fast_keys = true});
  }
  // `overrides` replace the fixture's own variables of the same name.
  RunResult cli(std::vector<std::string> args, const EnvVars& overrides = {}) {
    EnvVars env{{"LATCHKEY_STORAGE_DATA_DIR", server->data_dir().str()},
                {"LATCHKEY_SERVER_PUBLIC_URL", "https://auth.example.com"},
                {"LATCHKEY_KEYS_ALGORITHM", "ES256"},
                {"LATCHKEY_PASSWORDS_HASH_OPSLIMIT", "1"},
                {"LATCHKEY_PASSWORDS_HASH_MEMLIMIT_KIB", "8192"}};
    for (const auto& [name, value] : overrides) {
      std::erase_if(env, [&](const auto& kv) { return kv.first == name; });
      env.emplace_back(name, value);
    }
    return run_cli(args, env);
  }
  std::unique_ptr<Server> server;
};

TEST_F(CliAdmin, SecretKeysAreShownOnceListedByHintAndRevoked) {
  auto made = cli({"secret-keys", "create"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const auto keys = lines_with(made.out, "sk_live_");
  ASSERT_EQ(keys.size(), 1U) << made.out;
  const std::string key = keys.front();
  EXPECT_GE(key.size(), 40U);
  auto list = cli({"secret-keys", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_THAT(list.out, Not(HasSubstr(key)));  // stored hashed: never shown again
  const auto rows = lines_with(list.out, "skey_");
  ASSERT_EQ(rows.size(), 1U) << list.out;
  EXPECT_THAT(rows.front(), HasSubstr("sk_live_..." + key.substr(key.size() - 4)));
  EXPECT_THAT(rows.front(), HasSubstr("valid"));
  const std::string id = rows.front().substr(0, rows.front().find('\t'));
  auto revoked = cli({"secret-keys", "revoke", id});
  ASSERT_EQ(revoked.exit_code, 0) << revoked.err;
  EXPECT_THAT(lines_with(cli({"secret-keys", "list"}).out, "skey_").front(), HasSubstr("revoked"));
  EXPECT_EQ(cli({"secret-keys", "revoke", "skey_nope"}).exit_code, 1);
}

TEST_F(CliAdmin, EnvPrintsTheLinesTheClerkSdksRead) {
  auto r = cli({"env"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string pk = "pk_live_" + [] {
    std::string b = core::base64_encode("auth.example.com$");
    while (b.ends_with('=')) {
      b.pop_back();
    }
    return b;
  }();
  EXPECT_THAT(r.out, HasSubstr("CLERK_PUBLISHABLE_KEY=" + pk + "\n"));
  EXPECT_THAT(r.out, HasSubstr("NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY=" + pk + "\n"));
  EXPECT_THAT(r.out, HasSubstr("CLERK_API_URL=https://auth.example.com\n"));
  EXPECT_THAT(r.out, HasSubstr("NEXT_PUBLIC_CLERK_PROXY_URL=https://auth.example.com/__clerk\n"));
  EXPECT_THAT(r.out, HasSubstr("CLERK_JWT_KEY=\"-----BEGIN PUBLIC KEY-----\\n"));
  EXPECT_THAT(r.out, Not(HasSubstr("CLERK_SECRET_KEY")));
  auto with = cli({"env", "--with-secret-key"});
  ASSERT_EQ(with.exit_code, 0) << with.err;
  EXPECT_EQ(lines_with(with.out, "CLERK_SECRET_KEY=sk_live_").size(), 1U) << with.out;
  EXPECT_EQ(lines_with(cli({"secret-keys", "list"}).out, "skey_").size(), 1U);
}

// @clerk/shared refuses a publishable key whose host has no dot: localhost is written
// "localhost." (the same name) and the proxy URL lines carry the real address.
TEST_F(CliAdmin, EnvOnADotlessHostWritesAValidKeyAndTheProxyUrl) {
  auto r = cli({"env"}, {{"LATCHKEY_SERVER_PUBLIC_URL", "http://localhost:4000"},
                         {"LATCHKEY_FRONTEND_PATH_PREFIX", ""}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string b = core::base64_encode("localhost.:4000$");
  while (b.ends_with('=')) {
    b.pop_back();
  }
  EXPECT_THAT(r.out, HasSubstr("CLERK_PUBLISHABLE_KEY=pk_live_" + b + "\n"));
  EXPECT_THAT(r.out, HasSubstr("NEXT_PUBLIC_CLERK_PROXY_URL=http://localhost:4000\n"));
  EXPECT_THAT(r.out, HasSubstr("CLERK_PROXY_URL=http://localhost:4000\n"));
}

TEST_F(CliAdmin, UsersAndSessionsOverTheSameServicesAsTheServer) {
  auto made = cli({"users", "create", "--email", "Ada@Example.com", "--password", kPassword,
                   "--first-name", "Ada"});
  ASSERT_EQ(made.exit_code, 0) << made.out << made.err;
  const auto ids = lines_with(made.out, "user_");
  ASSERT_EQ(ids.size(), 1U) << made.out;
  const std::string id = ids.front();
  EXPECT_EQ(cli({"users", "create", "--email", "ada@example.com"}).exit_code, 1);  // taken
  EXPECT_EQ(
      cli({"users", "create", "--email", "weak@example.com", "--password", "password"}).exit_code,
      1);  // the password policy

  auto list = cli({"users", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr(id + "\tada@example.com\tAda"));
  auto show = cli({"users", "show", id});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_THAT(show.out, HasSubstr(R"("password_enabled":true)"));
  EXPECT_THAT(show.out, HasSubstr(R"("banned":false)"));
  EXPECT_EQ(cli({"users", "show", "user_nope"}).exit_code, 1);

  // The server signs the user in; the CLI sees and revokes the session.
  Browser b(*server);
  auto in = b.post("/__clerk/v1/client/sign_ins",
                   {{"identifier", "ada@example.com"}, {"password", kPassword}});
  ASSERT_EQ(in.status, 200) << in.body;
  const std::string sid = str(in.json(), "response.created_session_id");
  ASSERT_FALSE(sid.empty());
  auto sessions = cli({"sessions", "list", "--user", id});
  ASSERT_EQ(sessions.exit_code, 0) << sessions.err;
  EXPECT_THAT(sessions.out, HasSubstr(sid + "\t"));
  EXPECT_THAT(sessions.out, HasSubstr("\tactive\t"));
  auto revoke = cli({"sessions", "revoke", sid});
  ASSERT_EQ(revoke.exit_code, 0) << revoke.err;
  EXPECT_THAT(revoke.out, HasSubstr(sid + " revoked"));
  auto client = b.get("/__clerk/v1/client");
  EXPECT_THAT(client.body, HasSubstr(R"("sessions":[])"));  // signed out
  EXPECT_THAT(client.body, HasSubstr(R"("last_active_session_id":null)"));
  EXPECT_EQ(b.post("/__clerk/v1/client/sessions/" + sid + "/tokens", {}).status, 401);

  // Banned: no sign-in (user_banned); unbanned: signs in again.
  ASSERT_EQ(cli({"users", "ban", id}).exit_code, 0);
  auto refused = b.post("/__clerk/v1/client/sign_ins",
                        {{"identifier", "ada@example.com"}, {"password", kPassword}});
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_THAT(refused.body, HasSubstr("user_banned"));
  ASSERT_EQ(cli({"users", "unban", id}).exit_code, 0);
  EXPECT_EQ(b.post("/__clerk/v1/client/sign_ins",
                   {{"identifier", "ada@example.com"}, {"password", kPassword}})
                .status,
            200);

  ASSERT_EQ(cli({"users", "delete", id}).exit_code, 0);
  EXPECT_EQ(cli({"users", "show", id}).exit_code, 1);
  EXPECT_EQ(cli({"users", "delete", id}).exit_code, 1);
  EXPECT_THAT(cli({"users", "list"}).out, Not(HasSubstr(id)));
}

}  // namespace
}  // namespace latchkey::it
