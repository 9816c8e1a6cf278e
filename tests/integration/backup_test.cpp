// `latchkey backup FILE` (issue 15 item 6): a copy taken while the server serves sign-ups is a
// database another server starts from, and the sessions made before it still verify there.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "support/harness.hpp"

namespace latchkey::it {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr const char* kSignUps = "/__clerk/v1/client/sign_ups";
constexpr const char* kPassword = "correct horse battery staple";

const EnvVars kFastHashes = {{"LATCHKEY_PASSWORDS_HASH_OPSLIMIT", "1"},
                             {"LATCHKEY_PASSWORDS_HASH_MEMLIMIT_KIB", "8192"},
                             {"LATCHKEY_RATELIMIT_SIGN_IN_PER_IP", "1000000"}};

// Sign-up with email + password, verified with the mailed code: a user, an e-mail address and an
// active session. Returns the session id ("" on failure).
std::string sign_up(Server& server, Browser& b, const std::string& email) {
  auto su = b.post(kSignUps, {{"strategy", "password"},
                              {"email_address", email},
                              {"password", kPassword},
                              {"locale", "en-US"}});
  if (su.status != 200) {
    return "";
  }
  const std::string id = str(su.json(), "response.id");
  auto prep = b.post(std::string(kSignUps) + "/" + id + "/prepare_verification",
                     {{"strategy", "email_code"}});
  if (prep.status != 200) {
    return "";
  }
  auto done = b.post(
      std::string(kSignUps) + "/" + id + "/attempt_verification",
      {{"strategy", "email_code"}, {"code", mailed_code(server.data_dir().path(), email, 1)}});
  if (done.status != 200) {
    return "";
  }
  return str(done.json(), "response.created_session_id");
}

TEST(Backup, CopyTakenWhileServingRestoresIntoAFreshDataDirAndSessionsStillVerify) {
  auto server = std::make_unique<Server>(
      ServerOptions{.env = kFastHashes, .fixed_port = true, .fast_keys = true});
  std::vector<std::pair<Browser, std::string>> before;
  for (int i = 0; i < 3; ++i) {
    Browser b(*server);
    const std::string sid = sign_up(*server, b, "before" + std::to_string(i) + "@example.com");
    ASSERT_FALSE(sid.empty());
    before.emplace_back(std::move(b), sid);
  }

  // Sign-ups keep writing (users, e-mails, sessions, the outbox) while the backup runs.
  std::atomic<bool> stop{false};
  std::atomic<int> during{0};
  std::thread writer([&] {
    for (int i = 0; !stop.load(); ++i) {
      Browser b(*server);
      if (!sign_up(*server, b, "during" + std::to_string(i) + "@example.com").empty()) {
        ++during;
      }
    }
  });
  TempDir out;
  const std::string file = out.str() + "/latchkey-backup.db";
  auto r = run_cli({"backup", file}, {{"LATCHKEY_STORAGE_DATA_DIR", server->data_dir().str()},
                                      {"LATCHKEY_KEYS_ALGORITHM", "ES256"}});
  // Let the writer finish a sign-up after the copy too (the server still serves); bounded, so a
  // writer that stopped succeeding fails the test below instead of hanging it.
  const int seen = during.load();
  for (int i = 0; i < 1500 && during.load() <= seen; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_GT(during.load(), seen) << "no sign-up succeeded after the backup";
  stop = true;
  writer.join();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("written to"));
  EXPECT_THAT(r.err, HasSubstr("master.key"));  // the reminder: the key file goes with the copy
  ASSERT_TRUE(fs::exists(file));
  EXPECT_FALSE(fs::exists(file + ".partial"));
  EXPECT_EQ(fs::status(file).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);

  // Restore: the copy and master.key into a fresh data dir, a new server on it.
  TempDir fresh;
  fs::copy_file(file, fresh.path() / "latchkey.db");
  fs::copy_file(server->data_dir().path() / "master.key", fresh.path() / "master.key");
  server->stop();
  server.reset();
  Server restored(
      ServerOptions{.env = kFastHashes, .fixed_port = true, .fast_keys = true, .data_dir = &fresh});
  for (auto& [old, sid] : before) {
    Browser b(restored);
    for (const char* name : {"__client", "__client_uat"}) {
      if (auto v = old.cookie(name)) {
        b.set_cookie(name, *v);
      }
    }
    auto client = b.client();
    ASSERT_TRUE(client.is_object()) << json::serialize(client);
    EXPECT_EQ(str(client, "sessions.0.id"), sid) << json::serialize(client);
    EXPECT_EQ(str(client, "sessions.0.status"), "active");
    auto tok = b.post("/__clerk/v1/client/sessions/" + sid + "/tokens", {});
    EXPECT_EQ(tok.status, 200) << tok.body;
    EXPECT_FALSE(str(tok.json(), "jwt").empty());
  }
  // And it takes new sign-ups.
  Browser b(restored);
  EXPECT_FALSE(sign_up(restored, b, "after@example.com").empty());
}

TEST(Backup, RefusesPostgresNamingPgDumpAndAMissingDatabase) {
  TempDir dir;
  auto pg =
      run_cli({"backup", dir.str() + "/x.db"},
              {{"LATCHKEY_STORAGE_DATA_DIR", dir.str()},
               {"LATCHKEY_KEYS_ENCRYPTION_KEY", "c2VjcmV0LW1hc3Rlci1rZXktMzItYnl0ZXMtbG9uZyE="},
               {"LATCHKEY_STORAGE_DATABASE_URL", "postgres://u@db.invalid:5432/latchkey"}});
  EXPECT_EQ(pg.exit_code, 2) << pg.out << pg.err;
  EXPECT_THAT(pg.err, HasSubstr("pg_dump"));
  auto missing =
      run_cli({"backup", dir.str() + "/x.db"}, {{"LATCHKEY_STORAGE_DATA_DIR", dir.str()}});
  EXPECT_EQ(missing.exit_code, 1) << missing.out << missing.err;
  EXPECT_THAT(missing.err, HasSubstr("no database"));
  EXPECT_FALSE(fs::exists(dir.path() / "x.db"));
  auto usage = run_cli({"backup"}, {{"LATCHKEY_STORAGE_DATA_DIR", dir.str()}});
  EXPECT_EQ(usage.exit_code, 2);
}

}  // namespace
}  // namespace latchkey::it
