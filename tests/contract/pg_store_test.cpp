// PostgreSQL-only behaviour of the store (what the contract cannot say for every backend): URL
// handling, bounded waits, lost connections and a server that goes away. Tests that need a server
// run when LATCHKEY_TEST_PG_URL is set (scripts/pg-test-cluster.sh run -- ...) and are skipped,
// saying so, otherwise.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <atomic>
#include <chrono>
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
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;
using testing::ScratchDir;

constexpr const char* kSkip =
    "waits for: a PostgreSQL test database in LATCHKEY_TEST_PG_URL (run them with "
    "scripts/pg-test-cluster.sh run -- build/<preset>/tests/contract/store_contract_test)";

User user(const std::string& id) {
  User u;
  u.id = id;
  u.created_at_ms = 1;
  u.updated_at_ms = 1;
  return u;
}

// ---- without a server -----------------------------------------------------------------------

TEST(PostgresStore, RefusesInvalidUrlsAndOptionsWithoutRepeatingTheUrl) {
  EXPECT_FALSE(open_postgres(PostgresOptions{"sqlite:///tmp/x.db"}).has_value());
  EXPECT_FALSE(open_postgres(PostgresOptions{""}).has_value());
  auto bad = open_postgres(PostgresOptions{"postgres://u:s3cret@host/db?nonsense_option=1"});
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().internal.find("s3cret"), std::string::npos);
  PostgresOptions zero;
  zero.url = "postgres://u@127.0.0.1/db";
  zero.pool_size = 0;
  EXPECT_FALSE(open_postgres(zero).has_value());
}

TEST(PostgresStore, OpenStoreDispatchesOnTheUrlScheme) {
  ScratchDir dir;
  auto sqlite = open_store((dir.path() / "a.db").string());
  ASSERT_TRUE(sqlite.has_value()) << sqlite.error().internal;
  EXPECT_TRUE((*sqlite)->migrate().has_value());
  // Opening PostgreSQL does not connect yet: an unreachable server is found on first use.
  auto pg = open_store("postgresql://latchkey@127.0.0.1:1/latchkey", 200, 2);
  ASSERT_TRUE(pg.has_value()) << pg.error().internal;
  auto ping = (*pg)->ping();
  ASSERT_FALSE(ping.has_value());
  EXPECT_EQ(ping.error().code, Code::kServiceUnavailable);
}

TEST(PostgresStore, ServerDownGivesServiceUnavailableQuicklyAndNothingHangs) {
  PostgresOptions o;
  o.url = "postgres://latchkey:pw@127.0.0.1:1/latchkey";  // nothing listens on port 1
  o.busy_timeout_ms = 300;
  o.connect_timeout_ms = 300;
  auto store = open_postgres(o);
  ASSERT_TRUE(store.has_value());
  const auto start = Clock::now();
  auto st = (*store)->transaction([](Tx& tx) { return tx.insert_user(user("user_down")); });
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, Code::kServiceUnavailable);
  EXPECT_TRUE(st.error().message.empty());
  EXPECT_EQ(st.error().internal.find("pw"), std::string::npos);
  auto rd = (*store)->read([](Tx&) -> Status { return {}; });
  EXPECT_EQ(rd.error().code, Code::kServiceUnavailable);
  auto mig = (*store)->migrate();
  EXPECT_EQ(mig.error().code, Code::kServiceUnavailable);
  // The rate limiter's counters, outside any transaction, fail the same way (the limiter then
  // lets the request through and the request's own work answers 503).
  auto hits = (*store)->hit_counters({CounterHit{"r|k", 1, 1, 2}});
  ASSERT_FALSE(hits.has_value());
  EXPECT_EQ(hits.error().code, Code::kServiceUnavailable);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));
}

// ---- with a server --------------------------------------------------------------------------

class PostgresLive : public ::testing::Test {
 protected:
  void SetUp() override {
    if (testing::pg_test_url().empty()) {
      GTEST_SKIP() << kSkip;
    }
    app_ = "lk_live_" + std::to_string(reinterpret_cast<std::uintptr_t>(this) % 1'000'000) + "_" +
           std::to_string(Clock::now().time_since_epoch().count() % 1'000'000);
    url_ = testing::pg_url_for(scratch_.path()) + "&application_name=" + app_;
  }

  std::unique_ptr<Store> open(int pool_size = 4, int busy_ms = 2000, int statement_ms = 2000) {
    PostgresOptions o;
    o.url = url_;
    o.pool_size = pool_size;
    o.busy_timeout_ms = busy_ms;
    o.statement_timeout_ms = statement_ms;
    auto s = open_postgres(o);
    EXPECT_TRUE(s.has_value());
    EXPECT_TRUE((*s)->migrate().has_value());
    return std::move(*s);
  }

  // Kills this test's server connections, as a restart or a network cut would.
  int kill_connections() {
    return std::stoi(testing::pg_admin(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = '" +
        app_ + "'"));
  }

  ScratchDir scratch_;
  std::string app_;
  std::string url_;
};

TEST_F(PostgresLive, KilledPooledConnectionsAreReplacedWithoutReopening) {
  auto store = open(4);
  // Open all four connections at once.
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      auto st = store->transaction([&](Tx& tx) -> Status {
        std::this_thread::sleep_for(milliseconds(50));
        return tx.insert_user(user("user_k" + std::to_string(i)));
      });
      ok += st.has_value() ? 1 : 0;
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  ASSERT_EQ(ok.load(), 4);
  EXPECT_GE(kill_connections(), 1);
  // Every pooled connection is dead now; the next calls reconnect transparently.
  EXPECT_TRUE(store->ping().has_value());
  EXPECT_GE(kill_connections(), 1);
  auto st = store->transaction([](Tx& tx) { return tx.insert_user(user("user_after")); });
  ASSERT_TRUE(st.has_value()) << st.error().internal;
  EXPECT_TRUE(store->read([](Tx& tx) -> Status {
    EXPECT_TRUE(tx.get_user("user_after").value().has_value());
    return {};
  }));
}

TEST_F(PostgresLive, RateCountersSurviveKilledConnectionsAndWaitForAnotherWriter) {
  auto store = open(2);
  auto first = store->hit_counters({CounterHit{"r|k", 5, 1, 1'000}});
  ASSERT_TRUE(first.has_value()) << first.error().internal;
  EXPECT_EQ(first->front().current, 1);
  // A restart kills the pooled connection; the next hit reconnects and counts once more.
  EXPECT_GE(kill_connections(), 1);
  auto second = store->hit_counters({CounterHit{"r|k", 5, 1, 1'000}});
  ASSERT_TRUE(second.has_value()) << second.error().internal;
  EXPECT_EQ(second->front().current, 2);

  // Another node's writer holds the row: the hit waits for it and then adds to what it committed
  // (one READ COMMITTED statement re-reads the row; no serialization failure, nothing lost).
  std::unique_ptr<PGconn, void (*)(PGconn*)> other(PQconnectdb(url_.c_str()), PQfinish);
  ASSERT_EQ(PQstatus(other.get()), CONNECTION_OK) << PQerrorMessage(other.get());
  auto exec = [&](const char* sql) {
    std::unique_ptr<PGresult, void (*)(PGresult*)> r(PQexec(other.get(), sql), PQclear);
    EXPECT_EQ(PQresultStatus(r.get()), PGRES_COMMAND_OK) << PQerrorMessage(other.get());
  };
  exec("BEGIN");
  exec("UPDATE rate_counters SET count = count + 100 WHERE key = 'r|k' AND window_number = 5");
  auto blocked = std::async(std::launch::async,
                            [&] { return store->hit_counters({CounterHit{"r|k", 5, 1, 1'000}}); });
  EXPECT_EQ(blocked.wait_for(milliseconds(300)), std::future_status::timeout)
      << "the hit did not wait for the row lock";
  exec("COMMIT");
  auto third = blocked.get();
  ASSERT_TRUE(third.has_value()) << third.error().internal;
  EXPECT_EQ(third->front().current, 103);
}

TEST_F(PostgresLive, ConnectionLostMidTransactionRollsBackAndTheCallbackIsRerun) {
  auto store = open(2);
  int runs = 0;
  auto st = store->transaction([&](Tx& tx) -> Status {
    ++runs;
    if (runs == 1) {
      if (auto s = tx.insert_user(user("user_lost_1")); !s) {
        return s;
      }
      kill_connections();
      std::this_thread::sleep_for(milliseconds(50));
      return tx.insert_user(user("user_lost_2"));  // fails: the connection is gone
    }
    return tx.insert_user(user("user_lost_3"));
  });
  ASSERT_TRUE(st.has_value()) << st.error().internal;
  EXPECT_EQ(runs, 2);
  EXPECT_TRUE(store->read([](Tx& tx) -> Status {
    EXPECT_FALSE(tx.get_user("user_lost_1").value().has_value());  // rolled back with the link
    EXPECT_FALSE(tx.get_user("user_lost_2").value().has_value());
    EXPECT_TRUE(tx.get_user("user_lost_3").value().has_value());
    return {};
  }));
}

TEST_F(PostgresLive, CallbackReenteringTheStoreWithNoFreeConnectionFailsInsteadOfHanging) {
  auto store = open(1, 100);
  Status inner;
  const auto start = Clock::now();
  auto outer = store->transaction([&](Tx&) -> Status {
    inner = store->read([](Tx&) -> Status { return {}; });
    return {};
  });
  EXPECT_TRUE(outer.has_value());
  ASSERT_FALSE(inner.has_value());
  EXPECT_EQ(inner.error().code, Code::kServiceUnavailable);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(2));
}

TEST_F(PostgresLive, WriterBlockedBeyondTheStatementTimeoutGetsServiceUnavailable) {
  auto holder_store = open(2);
  auto blocked_store = open(2, 500, 200);
  ASSERT_TRUE(holder_store->transaction([](Tx& tx) { return tx.insert_user(user("user_row")); }));
  std::promise<void> holding;
  std::promise<void> release;
  auto released = release.get_future().share();
  std::thread holder([&] {
    auto st = holder_store->transaction([&](Tx& tx) -> Status {
      User u = user("user_row");
      u.first_name = "holder";
      auto s = tx.update_user(u);
      holding.set_value();
      released.wait();
      return s;
    });
    EXPECT_TRUE(st.has_value());
  });
  holding.get_future().wait();
  const auto start = Clock::now();
  auto st = blocked_store->transaction([](Tx& tx) {
    User u = user("user_row");
    u.first_name = "blocked";
    return tx.update_user(u);
  });
  const auto waited = Clock::now() - start;
  release.set_value();
  holder.join();
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, Code::kServiceUnavailable) << st.error().internal;
  EXPECT_GE(waited, milliseconds(200));
  EXPECT_LT(waited, std::chrono::seconds(3));
}

TEST_F(PostgresLive, MigrationsAreRecordedWithTheirNames) {
  auto store = open(2);
  const auto all = postgres_migrations();
  EXPECT_EQ(store->schema_version().value(), all.back().version);
  // The same schema_migrations rows the SQLite store keeps (schema is per test: see backends.cpp).
  const std::string schema =
      url_.substr(url_.find("search_path%3D") + 14,
                  url_.find('&', url_.find("search_path%3D")) - (url_.find("search_path%3D") + 14));
  EXPECT_EQ(
      testing::pg_admin("SELECT name FROM " + schema + ".schema_migrations WHERE version = 1"),
      std::string(all.front().name));
}

TEST_F(PostgresLive, AMissingMigrationBelowTheHighestIsStillApplied) {
  // Branches land in any order: a database at 0008 that never saw 0002 must still get it.
  auto store = open(2);
  const std::string schema =
      url_.substr(url_.find("search_path%3D") + 14,
                  url_.find('&', url_.find("search_path%3D")) - (url_.find("search_path%3D") + 14));
  testing::pg_admin("DROP TABLE " + schema + ".rate_counters; DELETE FROM " + schema +
                    ".schema_migrations WHERE version = 2");
  auto again = store->migrate();
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(*again, 1);
  EXPECT_EQ(
      testing::pg_admin("SELECT count(*) FROM " + schema + ".schema_migrations WHERE version = 2"),
      "1");
  EXPECT_EQ(testing::pg_admin("SELECT to_regclass('" + schema + ".rate_counters') IS NOT NULL"),
            "t");
  EXPECT_EQ(store->migrate().value(), 0);
}

}  // namespace
}  // namespace latchkey::store
