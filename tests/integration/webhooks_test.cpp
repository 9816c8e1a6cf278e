// Webhooks survive a crash mid-delivery (docs/backend-api.md "Webhooks"): the receiver holds the
// first POST, the server is SIGKILLed while it waits, and a server restarted on the same data dir
// delivers the event once the dead worker's lease has run out.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <thread>

#include "support/harness.hpp"
#include "support/http_server.hpp"

namespace latchkey::it {
namespace {

using ::testing::HasSubstr;

constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds within) {
  const auto until = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return pred();
}

TEST(Webhooks, AnEventInFlightWhenTheServerIsKilledIsDeliveredAfterRestart) {
  std::atomic<int> calls{0};
  std::mutex mu;
  std::vector<FakeRequest> delivered;
  FakeHttpServer receiver([&](const FakeRequest& req) {
    if (calls.fetch_add(1) == 0) {
      FakeResponse hold;
      hold.transport = FakeResponse::Transport::kHang;  // the first attempt never gets an answer
      return hold;
    }
    std::lock_guard lock(mu);
    delivered.push_back(req);
    return FakeResponse(200, "text/plain", "ok");
  });
  const EnvVars env{
      {"LATCHKEY_WEBHOOK_ENDPOINTS_APP_URL", receiver.base_url() + "/hook"},
      {"LATCHKEY_WEBHOOK_ENDPOINTS_APP_SIGNING_SECRET", kSecret},
      {"LATCHKEY_WEBHOOKS_TIMEOUT", "3s"},  // the lease is twice this
      {"LATCHKEY_WEBHOOKS_POLL_INTERVAL", "200ms"},
      {"LATCHKEY_PASSWORDS_HASH_OPSLIMIT", "1"},
      {"LATCHKEY_PASSWORDS_HASH_MEMLIMIT_KIB", "8192"},
  };
  TempDir dir;
  auto first =
      std::make_unique<Server>(ServerOptions{.env = env, .fast_keys = true, .data_dir = &dir});
  EnvVars cli_env = env;
  cli_env.emplace_back("LATCHKEY_STORAGE_DATA_DIR", dir.str());
  cli_env.emplace_back("LATCHKEY_KEYS_ALGORITHM", "ES256");
  auto made = run_cli({"users", "create", "--email", "crash@example.com"}, cli_env);
  ASSERT_EQ(made.exit_code, 0) << made.err << made.out;

  // The worker picked it up and is waiting on the receiver: kill it there.
  ASSERT_TRUE(eventually([&] { return calls.load() >= 1; }, std::chrono::seconds(10)))
      << first->logs();
  first->child().signal(SIGKILL);
  ASSERT_TRUE(first->child().wait(std::chrono::seconds(10)).has_value());
  EXPECT_EQ(calls.load(), 1);
  {
    std::lock_guard lock(mu);
    EXPECT_TRUE(delivered.empty());
  }
  auto pending = run_cli({"webhooks", "list"}, cli_env);
  ASSERT_EQ(pending.exit_code, 0) << pending.err;
  EXPECT_THAT(pending.out, HasSubstr("user.created"));
  EXPECT_THAT(pending.out, HasSubstr("pending"));

  // Restarted on the same data: the row's lease runs out and the event goes, signed, with the
  // same svix-id the killed attempt carried.
  Server second(ServerOptions{.env = env, .fast_keys = true, .data_dir = &dir});
  ASSERT_TRUE(eventually(
      [&] {
        std::lock_guard lock(mu);
        return !delivered.empty();
      },
      std::chrono::seconds(20)))
      << second.logs();
  std::lock_guard lock(mu);
  ASSERT_EQ(delivered.size(), 1U);
  const FakeRequest& req = delivered.front();
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.path, "/hook");
  EXPECT_THAT(req.body, HasSubstr(R"("type":"user.created")"));
  EXPECT_THAT(req.body, HasSubstr("crash@example.com"));
  EXPECT_TRUE(req.headers.at("svix-id").starts_with("msg_"));
  EXPECT_TRUE(req.headers.at("svix-signature").starts_with("v1,"));
  EXPECT_FALSE(req.headers.at("svix-timestamp").empty());
  auto after = run_cli({"webhooks", "list"}, cli_env);
  ASSERT_EQ(after.exit_code, 0) << after.err;
  EXPECT_THAT(after.out, HasSubstr("delivered\t2"));  // the killed attempt counted
  EXPECT_EQ(second.stop(), 0);
  first.reset();
}

}  // namespace
}  // namespace latchkey::it
