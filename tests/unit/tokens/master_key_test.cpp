// Master key file: created 0600 atomically, refused when exposed or malformed.
#include "tokens/master_key.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/base64.hpp"
#include "support/temp_dir.hpp"

namespace latchkey::tokens {
namespace {

using test::TempDir;
namespace fs = std::filesystem;

unsigned mode_of(const fs::path& p) {
  struct stat st{};
  EXPECT_EQ(::stat(p.c_str(), &st), 0);
  return static_cast<unsigned>(st.st_mode & 07777);
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const fs::path& p, const std::string& text, unsigned mode) {
  std::ofstream(p) << text;
  ASSERT_EQ(::chmod(p.c_str(), mode), 0);
}

TEST(MasterKey, FirstStartCreatesA0600FileInA0700DirectoryAndReusesIt) {
  TempDir tmp;
  const fs::path data = tmp.path() / "nested" / "data";
  auto key = load_or_create_master_key(core::Secret{}, data);
  ASSERT_TRUE(key.has_value()) << key.error().message;
  EXPECT_EQ(key->reveal().size(), 32U);
  EXPECT_EQ(mode_of(data), 0700U);
  const fs::path file = data / "master.key";
  EXPECT_EQ(mode_of(file), 0600U);
  const std::string text = read_file(file);
  EXPECT_EQ(core::base64_decode(text.substr(0, text.size() - 1)), std::string(key->reveal()));
  // No temporary files left behind.
  EXPECT_EQ(std::distance(fs::directory_iterator(data), fs::directory_iterator{}), 1);

  auto again = load_or_create_master_key(core::Secret{}, data);
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(again->equals(key->reveal()));
}

// Issue 9, finding 6: once something is sealed, a missing key file is never replaced by a new
// one (which could not open what was sealed, and would hide the loss on the next start).
TEST(MasterKey, MissingFileIsNotCreatedWhenSealedKeysExist) {
  TempDir tmp;
  const fs::path data = tmp.path() / "data";
  ASSERT_TRUE(fs::create_directories(data));
  auto refused = load_or_create_master_key(core::Secret{}, data, MissingKeyFile::kRefuse);
  ASSERT_FALSE(refused.has_value());
  const std::string& why = refused.error().internal;
  EXPECT_NE(why.find((data / "master.key").string()), std::string::npos) << why;
  EXPECT_NE(why.find("is missing"), std::string::npos) << why;
  EXPECT_NE(why.find("keys.encryption_key"), std::string::npos) << why;
  EXPECT_NE(why.find("Restore"), std::string::npos) << why;
  // Nothing written: no key file, no temporary file.
  EXPECT_EQ(std::distance(fs::directory_iterator(data), fs::directory_iterator{}), 0);

  // An existing file is read as always, and a configured key needs no file at all.
  auto created = load_or_create_master_key(core::Secret{}, data);
  ASSERT_TRUE(created.has_value());
  auto loaded = load_or_create_master_key(core::Secret{}, data, MissingKeyFile::kRefuse);
  ASSERT_TRUE(loaded.has_value()) << loaded.error().internal;
  EXPECT_TRUE(loaded->equals(created->reveal()));
  const core::Secret configured(core::base64_encode(std::string(32, 'k')));
  const fs::path empty = tmp.path() / "empty";
  ASSERT_TRUE(fs::create_directories(empty));
  EXPECT_TRUE(load_or_create_master_key(configured, empty, MissingKeyFile::kRefuse).has_value());
  EXPECT_FALSE(fs::exists(empty / "master.key"));
}

TEST(MasterKey, GroupOrWorldReadableFileIsRefused) {
  TempDir tmp;
  auto key = load_or_create_master_key(core::Secret{}, tmp.path());
  ASSERT_TRUE(key.has_value());
  const fs::path file = tmp.path() / "master.key";
  for (unsigned mode : {0644U, 0640U, 0604U, 0660U}) {
    ASSERT_EQ(::chmod(file.c_str(), mode), 0);
    auto refused = load_or_create_master_key(core::Secret{}, tmp.path());
    ASSERT_FALSE(refused.has_value()) << mode;
    EXPECT_NE(refused.error().message.find(file.string()), std::string::npos);
    EXPECT_NE(refused.error().message.find("chmod 600"), std::string::npos);
    // Never the key itself in the error.
    EXPECT_EQ(refused.error().message.find(core::base64_encode(key->reveal())), std::string::npos);
  }
  ASSERT_EQ(::chmod(file.c_str(), 0400), 0);
  EXPECT_TRUE(load_or_create_master_key(core::Secret{}, tmp.path()).has_value());
}

TEST(MasterKey, MalformedFileIsRefusedAndNamed) {
  TempDir tmp;
  const fs::path file = tmp.path() / "master.key";
  for (const std::string& text :
       {std::string(""), std::string("not base64!"), core::base64_encode(std::string(16, 'k')),
        core::base64_encode(std::string(33, 'k')), std::string(2000, 'A')}) {
    fs::remove(file);
    write_file(file, text, 0600);
    auto r = load_or_create_master_key(core::Secret{}, tmp.path());
    ASSERT_FALSE(r.has_value()) << text;
    EXPECT_NE(r.error().message.find(file.string()), std::string::npos);
  }
}

TEST(MasterKey, SymlinkIsNotFollowed) {
  TempDir tmp;
  const fs::path target = tmp.path() / "elsewhere";
  write_file(target, core::base64_encode(std::string(32, 'k')), 0600);
  fs::create_symlink(target, tmp.path() / "master.key");
  EXPECT_FALSE(load_or_create_master_key(core::Secret{}, tmp.path()).has_value());
}

TEST(MasterKey, ConfiguredKeyWinsAndIsValidated) {
  TempDir tmp;
  core::Secret configured(core::base64_encode(std::string(32, '\x07')));
  auto key = load_or_create_master_key(configured, tmp.path());
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(key->reveal(), std::string(32, '\x07'));
  EXPECT_FALSE(fs::exists(tmp.path() / "master.key"));

  configured = core::Secret(core::base64url_encode(std::string(32, '\xfb')));
  auto url = load_or_create_master_key(configured, tmp.path());
  ASSERT_TRUE(url.has_value());
  EXPECT_EQ(url->reveal(), std::string(32, '\xfb'));

  for (const std::string& bad : {core::base64_encode(std::string(31, 'x')), std::string("short"),
                                 core::base64_encode(std::string(64, 'x'))}) {
    configured = core::Secret(bad);
    auto r = load_or_create_master_key(configured, tmp.path());
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message.find("keys.encryption_key"), std::string::npos);
    EXPECT_EQ(r.error().message.find(bad), std::string::npos);
  }
}

TEST(MasterKey, ConcurrentFirstStartsAgreeOnOneKey) {
  TempDir tmp;
  constexpr int kThreads = 8;
  std::vector<std::string> keys(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      auto k = load_or_create_master_key(core::Secret{}, tmp.path());
      keys[static_cast<std::size_t>(i)] =
          k ? std::string(k->reveal()) : "error: " + k.error().message;
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  for (const auto& k : keys) {
    EXPECT_EQ(k.size(), 32U) << k;
    EXPECT_EQ(k, keys[0]);
  }
}

}  // namespace
}  // namespace latchkey::tokens
