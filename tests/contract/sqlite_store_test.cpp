// SQLite-only behaviour of the store (what the contract cannot say for every backend): file and URL
// handling, in-memory databases, busy handling, and the migration folders staying in lockstep.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "backends.hpp"
#include "store/migrations.hpp"
#include "store/store.hpp"

namespace latchkey::store {
namespace {

using core::Code;
using testing::ScratchDir;

User user(const std::string& id) {
  User u;
  u.id = id;
  u.created_at_ms = 1;
  u.updated_at_ms = 1;
  return u;
}

std::vector<std::string> sql_files(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".sql") {
      out.push_back(entry.path().filename().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(StoreMigrations, SqliteAndPostgresFoldersListTheSameNumberedFiles) {
  const std::filesystem::path root(LATCHKEY_MIGRATIONS_DIR);
  const auto sqlite = sql_files(root / "sqlite");
  const auto postgres = sql_files(root / "postgres");
  ASSERT_FALSE(sqlite.empty());
  EXPECT_EQ(sqlite, postgres);
  for (std::size_t i = 0; i < sqlite.size(); ++i) {
    // Numbered 0001, 0002, ... strictly ascending, so "the same numbers" also means "in the same
    // order". A number may be missing while a branch that took it is not merged yet (0004).
    EXPECT_EQ(sqlite[i].size() > 5 ? sqlite[i][4] : '\0', '_') << sqlite[i];
    if (i > 0) {
      EXPECT_LT(sqlite[i - 1].substr(0, 4), sqlite[i].substr(0, 4)) << sqlite[i];
    }
  }
}

TEST(StoreMigrations, EmbeddedListsMatchTheFolders) {
  const std::filesystem::path root(LATCHKEY_MIGRATIONS_DIR);
  const auto files = sql_files(root / "sqlite");
  const auto sqlite = sqlite_migrations();
  const auto postgres = postgres_migrations();
  ASSERT_EQ(sqlite.size(), files.size());
  ASSERT_EQ(postgres.size(), files.size());
  for (std::size_t i = 0; i < files.size(); ++i) {
    EXPECT_EQ(std::string(sqlite[i].name) + ".sql", files[i]);
    EXPECT_EQ(sqlite[i].version, std::stoi(files[i].substr(0, 4)));
    EXPECT_EQ(postgres[i].version, sqlite[i].version);
    EXPECT_EQ(postgres[i].name, sqlite[i].name);
    EXPECT_FALSE(sqlite[i].sql.empty());
  }
}

TEST(SqliteStore, InMemoryStoreWorks) {
  auto store = open_sqlite(":memory:");
  ASSERT_TRUE(store.has_value()) << store.error().internal;
  ASSERT_TRUE((*store)->migrate().has_value());
  ASSERT_TRUE((*store)->transaction([](Tx& tx) { return tx.insert_user(user("user_m")); }));
  auto st = (*store)->read([](Tx& tx) -> Status {
    EXPECT_TRUE(tx.get_user("user_m").value().has_value());
    return {};
  });
  EXPECT_TRUE(st.has_value());
}

TEST(SqliteStore, OpensUrlFormsCreatesParentDirectoriesAndRestrictsTheFile) {
  ScratchDir dir;
  const auto file = dir.path() / "a" / "b" / "latchkey.db";
  auto store = open_sqlite("sqlite://" + file.string());  // sqlite:///abs/path
  ASSERT_TRUE(store.has_value()) << store.error().internal;
  ASSERT_TRUE((*store)->migrate().has_value());
  EXPECT_TRUE(std::filesystem::exists(file));
  const auto perms = std::filesystem::status(file).permissions();
  EXPECT_EQ(perms & (std::filesystem::perms::group_all | std::filesystem::perms::others_all),
            std::filesystem::perms::none);
  store->reset();

  // Reopening as a bare path sees the same data.
  auto again = open_sqlite(file.string());
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ((*again)->schema_version().value(), sqlite_migrations().back().version);
}

TEST(SqliteStore, RefusesOtherUrlSchemesAndEmptyPaths) {
  auto pg = open_sqlite("postgres://user@localhost/db");
  ASSERT_FALSE(pg.has_value());
  EXPECT_EQ(pg.error().code, Code::kInternal);
  EXPECT_FALSE(open_sqlite("").has_value());
  EXPECT_FALSE(open_sqlite("sqlite://").has_value());
  EXPECT_FALSE(open_sqlite(SqliteOptions{":memory:", 100, 0}).has_value());
}

TEST(SqliteStore, WriterBlockedBeyondTheTimeoutGetsServiceUnavailable) {
  ScratchDir dir;
  auto store = open_sqlite(SqliteOptions{(dir.path() / "busy.db").string(), 20, 2});
  ASSERT_TRUE(store.has_value());
  ASSERT_TRUE((*store)->migrate().has_value());

  std::promise<void> holding;
  std::promise<void> release;
  auto released = release.get_future().share();
  std::thread holder([&] {
    auto st = (*store)->transaction([&](Tx& tx) -> Status {
      auto ins = tx.insert_user(user("user_holder"));
      holding.set_value();
      released.wait();
      return ins;
    });
    EXPECT_TRUE(st.has_value());
  });
  holding.get_future().wait();
  const auto start = std::chrono::steady_clock::now();
  auto st = (*store)->transaction([](Tx& tx) { return tx.insert_user(user("user_blocked")); });
  const auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, Code::kServiceUnavailable);
  EXPECT_TRUE(st.error().message.empty());
  EXPECT_GE(waited, std::chrono::milliseconds(20 * 5));  // each retry waited the busy timeout
  // Readers are not blocked by the writer (WAL).
  EXPECT_TRUE((*store)->read([](Tx& tx) -> Status {
    EXPECT_FALSE(tx.get_user("user_holder").value().has_value());  // not committed yet
    return {};
  }));
  release.set_value();
  holder.join();
  EXPECT_TRUE((*store)->transaction([](Tx& tx) { return tx.insert_user(user("user_blocked")); }));
}

TEST(SqliteStore, CallbackReenteringTheStoreWithNoFreeConnectionFailsInsteadOfHanging) {
  auto store = open_sqlite(SqliteOptions{":memory:", 50, 4});  // in-memory: one connection
  ASSERT_TRUE(store.has_value());
  ASSERT_TRUE((*store)->migrate().has_value());
  Status inner;
  auto outer = (*store)->transaction([&](Tx&) -> Status {
    inner = (*store)->read([](Tx&) -> Status { return {}; });
    return {};
  });
  EXPECT_TRUE(outer.has_value());
  ASSERT_FALSE(inner.has_value());
  EXPECT_EQ(inner.error().code, Code::kServiceUnavailable);
}

}  // namespace
}  // namespace latchkey::store
