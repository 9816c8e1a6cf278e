// `latchkey users import` through the real binary (issue 11 item 2): a Clerk Dashboard export
// with a bcrypt user, an unverified address, a duplicate and a malformed row; run twice (the
// second run creates nothing); then `serve` and a password sign-in with the bcrypt password,
// after which the stored digest is argon2id.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "store/store.hpp"
#include "support/harness.hpp"

namespace latchkey::it {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kSignIns = "/__clerk/v1/client/sign_ins";
// Made with `mkpasswd -m bcrypt -R 5 'Leaving Clerk, keeping passwords'` when this test was
// written; Clerk exports $2a$/$2b$ digests of this shape.
constexpr const char* kPassword = "Leaving Clerk, keeping passwords";
constexpr const char* kBcrypt = "$2b$05$2uw7jJrjj1EwgQgkhEcCfO1UCXH4wOgvinNRw8k8TvYn6hnsKNzB6";

std::string export_csv() {
  std::string csv =
      "\xEF\xBB\xBFid,first_name,last_name,username,primary_email_address,primary_phone_number,"
      "verified_email_addresses,unverified_email_addresses,verified_phone_numbers,"
      "unverified_phone_numbers,totp_secret,password_digest,password_hasher\r\n";
  // 2: bcrypt, with an unverified second address and a name holding a comma.
  csv +=
      "user_2aLovelace,\"Ada, Countess\",Lovelace,,Ada@Example.com,,ada@example.com,"
      "ada.old@example.com,,,," +
      std::string(kBcrypt) + ",bcrypt\r\n";
  // 3: a hasher Latchkey cannot verify: imported without a password.
  csv +=
      "user_2bBabbage,Charles,Babbage,,charles@example.com,,charles@example.com,,,,,"
      "c2NyeXB0,scrypt_firebase\r\n";
  // 4: the same address as line 2 under another id: skipped.
  csv += "user_2cCopy,Ada,Copy,,ADA@example.com,,ADA@example.com,,,,,,\r\n";
  // 5: malformed (a quote inside an unquoted field): failed, nothing of it written.
  csv += "user_2dBroken,Bro\"ken,,,broken@example.com,,broken@example.com,,,,,,\r\n";
  // 6: a quoted field spanning lines, then a user with no password at all.
  csv +=
      "user_2eMultiline,\"Grace\nMurray\",Hopper,grace,grace@example.com,,grace@example.com,"
      ",,,,,\r\n";
  return csv;
}

class UsersImport : public ::testing::Test {
 protected:
  void SetUp() override {
    file = dir.str() + "/users.csv";
    std::ofstream(file, std::ios::binary) << export_csv();
  }
  EnvVars env() const {
    return {{"LATCHKEY_STORAGE_DATA_DIR", dir.str()},
            {"LATCHKEY_PASSWORDS_HASH_OPSLIMIT", "1"},
            {"LATCHKEY_PASSWORDS_HASH_MEMLIMIT_KIB", "8192"}};
  }
  std::optional<store::User> user(const std::string& id) {
    auto s = store::open_sqlite(dir.str() + "/latchkey.db");
    EXPECT_TRUE(s.has_value());
    std::optional<store::User> out;
    EXPECT_TRUE((*s)->read([&](store::Tx& tx) -> core::Status {
      auto u = tx.get_user(id);
      if (!u) {
        return core::fail(std::move(u.error()));
      }
      out = std::move(*u);
      return {};
    }));
    return out;
  }
  std::vector<store::EmailAddress> emails(const std::string& id) {
    auto s = store::open_sqlite(dir.str() + "/latchkey.db");
    std::vector<store::EmailAddress> out;
    EXPECT_TRUE((*s)->read([&](store::Tx& tx) -> core::Status {
      auto e = tx.list_email_addresses(id);
      if (!e) {
        return core::fail(std::move(e.error()));
      }
      out = std::move(*e);
      return {};
    }));
    return out;
  }

  TempDir dir;
  std::string file;
};

TEST_F(UsersImport, ImportsOnceReportsEveryRowAndTheBcryptPasswordSignsIn) {
  auto dry = run_cli({"users", "import", file, "--dry-run"}, env());
  EXPECT_EQ(dry.exit_code, 1) << dry.out << dry.err;  // a row failed
  EXPECT_THAT(dry.out, HasSubstr("dry run: 3 would be created, 1 skipped, 1 failed"));
  EXPECT_FALSE(user("user_2aLovelace").has_value());  // dry run: nothing written

  auto first = run_cli({"users", "import", file}, env());
  EXPECT_EQ(first.exit_code, 1) << first.out << first.err;
  EXPECT_THAT(first.out, HasSubstr("3 created, 1 skipped, 1 failed"));
  EXPECT_THAT(first.out, HasSubstr("line 3: created user_2bBabbage"));
  EXPECT_THAT(first.out, HasSubstr("\"scrypt_firebase\" is not supported: imported without a "
                                   "password"));
  EXPECT_THAT(first.out, HasSubstr("line 4: skipped user_2cCopy: email address ada@example.com"));
  EXPECT_THAT(first.out, HasSubstr("line 5: failed"));
  EXPECT_THAT(first.out, Not(HasSubstr("line 6:")));
  EXPECT_THAT(first.out + first.err, Not(HasSubstr("$2b$")));  // never a digest
  EXPECT_THAT(first.out + first.err, Not(HasSubstr("c2NyeXB0")));

  auto ada = user("user_2aLovelace");
  ASSERT_TRUE(ada.has_value());
  EXPECT_EQ(ada->first_name, "Ada, Countess");
  EXPECT_EQ(ada->password_digest, kBcrypt);
  auto ada_emails = emails("user_2aLovelace");
  ASSERT_EQ(ada_emails.size(), 2U);
  for (const auto& e : ada_emails) {
    EXPECT_EQ(e.verified, e.email == "ada@example.com") << e.email;
    if (e.email == "ada@example.com") {
      EXPECT_EQ(ada->primary_email_address_id, e.id);
    }
  }
  auto charles = user("user_2bBabbage");
  ASSERT_TRUE(charles.has_value());
  EXPECT_FALSE(charles->password_digest.has_value());
  EXPECT_FALSE(user("user_2cCopy").has_value());
  EXPECT_FALSE(user("user_2dBroken").has_value());
  auto grace = user("user_2eMultiline");
  ASSERT_TRUE(grace.has_value());
  EXPECT_EQ(grace->first_name, "Grace\nMurray");
  EXPECT_EQ(grace->username, "grace");

  auto second = run_cli({"users", "import", file}, env());
  EXPECT_THAT(second.out, HasSubstr("0 created, 4 skipped, 1 failed")) << second.out;
  EXPECT_THAT(second.out, HasSubstr("line 2: skipped user_2aLovelace: user id already present"));

  {
    Server server(
        ServerOptions{.env = env(), .fixed_port = true, .fast_keys = true, .data_dir = &dir});
    Browser b(server);
    auto wrong = b.post(kSignIns, {{"identifier", "ada@example.com"}, {"password", "not it"}});
    EXPECT_EQ(wrong.status, 422) << wrong.body;
    auto ok =
        b.post(kSignIns,
               {{"identifier", "ADA@example.com"}, {"password", kPassword}, {"locale", "en-US"}});
    ASSERT_EQ(ok.status, 200) << ok.body;
    EXPECT_EQ(str(ok.json(), "response.status"), "complete");
    EXPECT_FALSE(str(ok.json(), "response.created_session_id").empty());
    server.stop();
  }
  auto rehashed = user("user_2aLovelace");
  ASSERT_TRUE(rehashed.has_value());
  ASSERT_TRUE(rehashed->password_digest.has_value());
  EXPECT_TRUE(rehashed->password_digest->starts_with("$argon2id$")) << *rehashed->password_digest;
}

TEST_F(UsersImport, ANonClerkFileOrAMissingOneFailsAndWritesNothing) {
  const std::string other = dir.str() + "/other.csv";
  std::ofstream(other, std::ios::binary) << "email,name\r\na@example.com,A\r\n";
  auto r = run_cli({"users", "import", other}, env());
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr("no \"id\" column"));
  auto missing = run_cli({"users", "import", dir.str() + "/nope.csv"}, env());
  EXPECT_EQ(missing.exit_code, 1) << missing.out << missing.err;
  auto usage = run_cli({"users", "import"}, env());
  EXPECT_EQ(usage.exit_code, 2) << usage.out << usage.err;
}

}  // namespace
}  // namespace latchkey::it
