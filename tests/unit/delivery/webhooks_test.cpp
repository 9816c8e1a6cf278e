// Webhooks (delivery/webhooks.hpp): the Svix signature against Svix's published example, the
// event envelope, and the worker on the real (in-memory) SQLite store with a fake HTTP client and
// a manual clock: written with the caller's transaction, the events filter, the retry schedule,
// the order per object, failed after the last attempt, and replay.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "core/clock.hpp"
#include "core/random.hpp"
#include "delivery/webhooks.hpp"
#include "store/store.hpp"

namespace latchkey::delivery {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

TEST(WebhookSignature, MatchesSvixsExample) {
  // The example of Svix's "verifying payloads manually" documentation.
  auto sig =
      webhook_signature("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
                        1614265330, R"({"test": 2432232314})");
  ASSERT_TRUE(sig.has_value());
  EXPECT_EQ(*sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  EXPECT_FALSE(webhook_signature("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "m", 1, "b").has_value());
  EXPECT_FALSE(webhook_signature("whsec_", "m", 1, "b").has_value());
  EXPECT_FALSE(webhook_signature("whsec_!!!", "m", 1, "b").has_value());
}

TEST(WebhookEvent, HasClerksEnvelopeAndEscapesTheRequestsStrings) {
  const std::string e =
      event_json("user.deleted", R"({"deleted":true,"id":"user_1","object":"user"})", 1700000000123,
                 "ins_abc", {.client_ip = "203.0.113.9", .user_agent = "Agent \"quoted\""});
  auto v = boost::json::parse(e).as_object();
  EXPECT_EQ(v.at("object"), "event");
  EXPECT_EQ(v.at("type"), "user.deleted");
  EXPECT_EQ(v.at("timestamp").as_int64(), 1700000000123);
  EXPECT_EQ(v.at("instance_id"), "ins_abc");
  EXPECT_EQ(v.at("data").at("id"), "user_1");
  EXPECT_EQ(v.at("event_attributes").at("http_request").at("client_ip"), "203.0.113.9");
  EXPECT_EQ(v.at("event_attributes").at("http_request").at("user_agent"), "Agent \"quoted\"");
}

class FakeHttp final : public net::HttpClient {
 public:
  core::Result<net::HttpResponse> send(const net::HttpRequest& r) override {
    requests.push_back(r);
    if (!statuses.empty()) {
      const long s = statuses.front();
      statuses.erase(statuses.begin());
      if (s < 0) {
        return core::fail(
            core::Error(core::Code::kOAuthProviderUnavailable).with_internal("timeout"));
      }
      return net::HttpResponse{.status = s, .content_type = "", .body = ""};
    }
    return net::HttpResponse{.status = 204, .content_type = "", .body = ""};
  }
  std::vector<long> statuses;  // answered in order, then 204; -1 = a transport failure
  std::vector<net::HttpRequest> requests;
};

class WebhookWorkerTest : public ::testing::Test {
 protected:
  WebhookWorkerTest() {
    auto s = store::open_sqlite(store::SqliteOptions{.path = ":memory:", .pool_size = 1});
    EXPECT_TRUE(s.has_value());
    store_ = std::move(*s);
    EXPECT_TRUE(store_->migrate().has_value());
    settings_.instance_id = "ins_test";
    settings_.endpoints.push_back(
        {.name = "app",
         .url = "https://app.example/hook",
         .signing_secret = core::Secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
         .events = {}});
    settings_.endpoints.push_back({.name = "deletions",
                                   .url = "https://other.example/hook",
                                   .signing_secret = core::Secret("whsec_c2VjcmV0"),
                                   .events = {"user.deleted"}});
    settings_.retry_schedule = {5s, 5min};
    make();
  }
  void make() {
    worker_.reset();
    webhooks_ = std::make_unique<Webhooks>(settings_, random_);
    worker_ = std::make_unique<WebhookWorker>(*store_, *webhooks_, http_, clock_);
  }
  core::Status emit(std::string_view type, const std::string& id, bool commit = true) {
    return store_->transaction([&](store::Tx& tx) -> core::Status {
      if (auto st =
              webhooks_->enqueue(tx, type, id, R"({"id":")" + id + "\"}", {}, clock_.now_ms());
          !st) {
        return st;
      }
      return commit ? core::Status{} : core::fail(core::Code::kInternal, "rolled back");
    });
  }
  std::vector<store::WebhookDelivery> rows() {
    std::vector<store::WebhookDelivery> out;
    EXPECT_TRUE(store_
                    ->read([&](store::Tx& tx) -> core::Status {
                      auto r = tx.list_webhook_deliveries(false, 100);
                      if (!r) {
                        return core::fail(std::move(r.error()));
                      }
                      out = std::move(*r);
                      return {};
                    })
                    .has_value());
    return out;
  }
  std::size_t run() {
    auto n = worker_->run_once();
    EXPECT_TRUE(n.has_value());
    return n ? *n : 0;
  }

  std::unique_ptr<store::Store> store_;
  WebhookSettings settings_;
  core::SystemRandom random_;
  core::ManualClock clock_;
  FakeHttp http_;
  std::unique_ptr<Webhooks> webhooks_;
  std::unique_ptr<WebhookWorker> worker_;
};

TEST_F(WebhookWorkerTest, ARolledBackChangeLeavesNoEventAndTheFilterPicksEndpoints) {
  ASSERT_FALSE(emit("user.created", "user_1", /*commit=*/false).has_value());
  EXPECT_TRUE(rows().empty());
  ASSERT_TRUE(emit("user.created", "user_1").has_value());
  ASSERT_EQ(rows().size(), 1U);  // "deletions" wants user.deleted only
  ASSERT_TRUE(emit("user.deleted", "user_1").has_value());
  const auto all = rows();
  ASSERT_EQ(all.size(), 3U);
  EXPECT_EQ(all[0].event_id, all[1].event_id);  // one event, one svix-id, two endpoints
  EXPECT_NE(all[0].endpoint, all[1].endpoint);
}

TEST_F(WebhookWorkerTest, PostsSignedAndMarksDelivered) {
  ASSERT_TRUE(emit("user.created", "user_1").has_value());
  EXPECT_EQ(run(), 1U);
  ASSERT_EQ(http_.requests.size(), 1U);
  const auto& req = http_.requests[0];
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.url, "https://app.example/hook");
  EXPECT_EQ(req.timeout, settings_.timeout);
  std::map<std::string, std::string> h(req.headers.begin(), req.headers.end());
  const auto row = rows()[0];
  EXPECT_EQ(h["svix-id"], row.event_id);
  EXPECT_EQ(h["svix-timestamp"], std::to_string(clock_.now_ms() / 1000));
  EXPECT_EQ(h["svix-signature"],
            *webhook_signature("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", row.event_id,
                               clock_.now_ms() / 1000, req.body));
  EXPECT_EQ(h["Content-Type"], "application/json");
  EXPECT_THAT(req.body, HasSubstr(R"("instance_id":"ins_test")"));
  EXPECT_EQ(row.status, "delivered");
  EXPECT_EQ(row.attempts, 1);
  EXPECT_EQ(run(), 0U);
}

TEST_F(WebhookWorkerTest, RetriesOnTheScheduleKeepsTheObjectsOrderThenFails) {
  http_.statuses = {500, -1, 503};
  ASSERT_TRUE(emit("user.created", "user_1").has_value());
  ASSERT_TRUE(emit("user.updated", "user_1").has_value());
  ASSERT_TRUE(emit("user.created", "user_2").has_value());
  // user_1's created fails (500); its update waits behind it; user_2 goes (-1: a timeout).
  EXPECT_EQ(run(), 2U);
  EXPECT_EQ(run(), 0U);
  clock_.advance(5s);    // the first retry of both
  EXPECT_EQ(run(), 2U);  // user_1 created: 503; user_2: 204
  auto all = rows();
  auto find = [&](std::string_view type, std::string_view id) {
    for (const auto& r : all) {
      if (r.event_type == type && r.object_id == id) {
        return r;
      }
    }
    return store::WebhookDelivery{};
  };
  EXPECT_EQ(find("user.created", "user_2").status, "delivered");
  EXPECT_EQ(find("user.created", "user_1").status, "pending");
  EXPECT_EQ(find("user.created", "user_1").last_error, "HTTP 503");
  EXPECT_EQ(find("user.updated", "user_1").attempts, 0);
  clock_.advance(4min);
  EXPECT_EQ(run(), 0U);  // the second wait is 5 minutes
  clock_.advance(1min);
  http_.statuses = {502};
  EXPECT_EQ(run(), 1U);  // the third and last attempt fails: failed, and the update may go
  all = rows();
  EXPECT_EQ(find("user.created", "user_1").status, "failed");
  EXPECT_EQ(find("user.created", "user_1").attempts, 3);
  EXPECT_EQ(run(), 1U);
  all = rows();
  EXPECT_EQ(find("user.updated", "user_1").status, "delivered");

  // Replay: due now, attempts from zero, delivered.
  auto replayed = replay_webhook(*store_, find("user.created", "user_1").id, clock_.now_ms());
  ASSERT_TRUE(replayed.has_value());
  EXPECT_EQ(replayed->status, "pending");
  EXPECT_EQ(run(), 1U);
  all = rows();
  EXPECT_EQ(find("user.created", "user_1").status, "delivered");
  EXPECT_EQ(find("user.created", "user_1").attempts, 1);
  EXPECT_FALSE(replay_webhook(*store_, "whd_nope", clock_.now_ms()).has_value());
}

TEST_F(WebhookWorkerTest, ARowForAnEndpointNoLongerConfiguredFails) {
  ASSERT_TRUE(emit("user.deleted", "user_1").has_value());
  settings_.endpoints.pop_back();  // "deletions" removed from the configuration
  make();
  EXPECT_EQ(run(), 2U);
  for (const auto& r : rows()) {
    EXPECT_EQ(r.status, r.endpoint == "https://app.example/hook" ? "delivered" : "failed");
  }
}

}  // namespace
}  // namespace latchkey::delivery
