// The outbox and its worker on the real (in-memory) SQLite store, with fake transports and a
// manual clock: what is written in which transaction, the limits, retries, backoff and give-up.
#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/random.hpp"
#include "crypto/sealer.hpp"
#include "delivery/delivery.hpp"
#include "store/store.hpp"
#include "support/temp_dir.hpp"

namespace latchkey::delivery {
namespace {

using namespace std::chrono_literals;
using core::Code;

class FakeEmail final : public EmailTransport {
 public:
  core::Status send(const Email& e) override {
    std::lock_guard lock(mu);
    ++calls;
    if (failures_left > 0) {
      --failures_left;
      return core::fail(core::Error(fail_code).with_internal("smtp: connection refused"));
    }
    sent.push_back(e);
    cv.notify_all();
    return {};
  }
  std::mutex mu;
  std::condition_variable cv;
  int failures_left = 0;
  Code fail_code = Code::kServiceUnavailable;
  int calls = 0;
  std::vector<Email> sent;
};

class FakeSms final : public SmsTransport {
 public:
  core::Status send(const Sms& s) override {
    sent.push_back(s);
    return {};
  }
  std::vector<Sms> sent;
};

class OutboxTest : public ::testing::Test {
 protected:
  OutboxTest() : sealer_(core::Secret(std::string(32, 'k'))) {
    auto s = store::open_sqlite(store::SqliteOptions{.path = ":memory:", .pool_size = 1});
    EXPECT_TRUE(s.has_value());
    store_ = std::move(*s);
    EXPECT_TRUE(store_->migrate().has_value());
    settings_.application_name = "Acme";
    settings_.from = "Acme <no-reply@acme.example>";
    settings_.max_attempts = 4;
    settings_.backoff_base = 10s;
    settings_.backoff_max = 1min;
  }

  void make(Settings s) {
    worker_.reset();
    outbox_ = std::make_unique<Outbox>(std::move(s), sealer_, random_);
    auto email = std::make_unique<FakeEmail>();
    auto sms = std::make_unique<FakeSms>();
    email_ = email.get();
    sms_ = sms.get();
    worker_ = std::make_unique<Worker>(*store_, *outbox_,
                                       Transports{std::move(email), std::move(sms)}, clock_);
  }
  void make() { make(settings_); }

  static Message code_message(std::string to = "ada@example.com", std::string ip = "203.0.113.7") {
    Message m;
    m.to = std::move(to);
    m.code = core::Secret("482913");
    m.remote_ip = std::move(ip);
    return m;
  }

  core::Status enqueue(const Message& m) {
    return store_->transaction(
        [&](store::Tx& tx) { return outbox_->enqueue(tx, m, clock_.now_ms()); });
  }

  std::int64_t count(const std::string& recipient = "ada@example.com") {
    std::int64_t n = 0;
    auto st = store_->read([&](store::Tx& tx) -> core::Status {
      auto r = tx.count_outbox_messages(store::OutboxKey::kRecipient, recipient, 0);
      if (!r) {
        return core::fail(r.error());
      }
      n = *r;
      return {};
    });
    EXPECT_TRUE(st.has_value());
    return n;
  }

  store::OutboxMessage row(const std::string& id) {
    std::optional<store::OutboxMessage> out;
    auto st = store_->read([&](store::Tx& tx) -> core::Status {
      auto r = tx.get_outbox_message(id);
      if (!r) {
        return core::fail(r.error());
      }
      out = *r;
      return {};
    });
    EXPECT_TRUE(st.has_value());
    EXPECT_TRUE(out.has_value()) << id;
    return out.value_or(store::OutboxMessage{});
  }

  std::size_t run() {
    auto n = worker_->run_once();
    EXPECT_TRUE(n.has_value()) << (n ? "" : n.error().internal);
    return n.value_or(0);
  }

  crypto::Sealer sealer_;
  core::SystemRandom random_;
  core::ManualClock clock_;
  std::unique_ptr<store::Store> store_;
  Settings settings_;
  std::unique_ptr<Outbox> outbox_;
  std::unique_ptr<Worker> worker_;
  FakeEmail* email_ = nullptr;
  FakeSms* sms_ = nullptr;
};

TEST_F(OutboxTest, AMessageCommitsOrRollsBackWithTheCallersTransaction) {
  make();
  auto rolled_back = store_->transaction([&](store::Tx& tx) -> core::Status {
    if (auto st = outbox_->enqueue(tx, code_message(), clock_.now_ms()); !st) {
      return st;
    }
    return core::fail(Code::kInvalidState, "the caller's own write failed");
  });
  ASSERT_FALSE(rolled_back.has_value());
  EXPECT_EQ(count(), 0);
  EXPECT_EQ(run(), 0U);
  ASSERT_TRUE(enqueue(code_message()).has_value());
  EXPECT_EQ(count(), 1);
}

TEST_F(OutboxTest, TheCodeIsSealedAtRestAndClearedOnceSent) {
  make();
  ASSERT_TRUE(enqueue(code_message()).has_value());
  ASSERT_EQ(run(), 1U);
  ASSERT_EQ(email_->sent.size(), 1U);
  const Email& e = email_->sent[0];
  EXPECT_EQ(e.to, "ada@example.com");
  EXPECT_EQ(e.envelope_from, "no-reply@acme.example");
  EXPECT_NE(e.data.find("Subject: 482913 is your verification code"), std::string::npos);
  EXPECT_NE(e.data.find("Message-ID: <" + e.id + "@acme.example>"), std::string::npos);
  const auto sent = row(e.id);
  EXPECT_EQ(sent.status, "sent");
  EXPECT_EQ(sent.payload_enc, "");
  EXPECT_EQ(sent.sent_at_ms, clock_.now_ms());
  EXPECT_EQ(sent.attempts, 1);
  EXPECT_EQ(worker_->stats().sent, 1U);
  EXPECT_EQ(run(), 0U);  // sent once, not again
}

TEST_F(OutboxTest, ThePendingPayloadDoesNotContainTheCode) {
  make();
  ASSERT_TRUE(enqueue(code_message()).has_value());
  email_->failures_left = 1;
  ASSERT_EQ(run(), 1U);
  ASSERT_EQ(email_->calls, 1);
  // The one row, found through the attempt the fake refused: still pending, sealed.
  std::optional<store::OutboxMessage> pending;
  auto st = store_->transaction([&](store::Tx& tx) -> core::Status {
    auto r = tx.claim_outbox_messages(clock_.now_ms() + 3'600'000, 0, 10);
    if (!r || r->size() != 1) {
      return core::fail(Code::kInternal, "expected one row");
    }
    pending = r->front();
    return core::fail(Code::kInvalidState, "roll the claim back");
  });
  ASSERT_TRUE(pending.has_value());
  EXPECT_EQ(pending->status, "pending");
  EXPECT_TRUE(pending->payload_enc.starts_with("v1."));
  EXPECT_EQ(pending->payload_enc.find("482913"), std::string::npos);
  EXPECT_EQ(pending->last_error, "smtp: connection refused");
}

TEST_F(OutboxTest, AFailedSendIsRetriedWithExponentialBackoffThenGivenUp) {
  make();
  email_->failures_left = 100;
  ASSERT_TRUE(enqueue(code_message()).has_value());
  ASSERT_EQ(run(), 1U);  // attempt 1 fails: next in 10 s
  EXPECT_EQ(run(), 0U);  // not due yet
  clock_.advance(9s);
  EXPECT_EQ(run(), 0U);
  clock_.advance(1s);
  ASSERT_EQ(run(), 1U);  // attempt 2 fails: next in 20 s
  clock_.advance(19s);
  EXPECT_EQ(run(), 0U);
  clock_.advance(1s);
  ASSERT_EQ(run(), 1U);  // attempt 3: next in 40 s
  clock_.advance(40s);
  ASSERT_EQ(run(), 1U);  // attempt 4 = max_attempts: given up
  clock_.advance(1h);
  EXPECT_EQ(run(), 0U);
  EXPECT_EQ(email_->calls, 4);
  const auto s = worker_->stats();
  EXPECT_EQ(s.retried, 3U);
  EXPECT_EQ(s.failed, 1U);
  EXPECT_EQ(s.sent, 0U);
}

TEST_F(OutboxTest, ADownServerDelaysTheMessageAndNeverLosesIt) {
  make();
  email_->failures_left = 2;
  ASSERT_TRUE(enqueue(code_message()).has_value());
  ASSERT_EQ(run(), 1U);
  clock_.advance(10s);
  ASSERT_EQ(run(), 1U);
  clock_.advance(20s);
  ASSERT_EQ(run(), 1U);
  ASSERT_EQ(email_->sent.size(), 1U);
  EXPECT_EQ(row(email_->sent[0].id).attempts, 3);
  EXPECT_EQ(row(email_->sent[0].id).status, "sent");
}

TEST_F(OutboxTest, APermanentRefusalIsGivenUpAtOnce) {
  make();
  email_->failures_left = 1;
  email_->fail_code = Code::kDeliveryRefused;
  ASSERT_TRUE(enqueue(code_message()).has_value());
  ASSERT_EQ(run(), 1U);
  clock_.advance(1h);
  EXPECT_EQ(run(), 0U);
  EXPECT_EQ(worker_->stats().failed, 1U);
}

TEST_F(OutboxTest, AMessageOlderThanMaxAgeIsGivenUp) {
  Settings s = settings_;
  s.max_age = 1min;
  make(s);
  email_->failures_left = 1;
  ASSERT_TRUE(enqueue(code_message()).has_value());
  ASSERT_EQ(run(), 1U);
  clock_.advance(2min);
  ASSERT_EQ(run(), 1U);  // claimed, found too old, not sent
  EXPECT_EQ(email_->calls, 1);
  EXPECT_EQ(worker_->stats().failed, 1U);
}

TEST_F(OutboxTest, AWorkerThatDiesMidSendLosesNothing) {
  make();
  ASSERT_TRUE(enqueue(code_message()).has_value());
  // Claimed by a worker that then vanished: nobody else takes it while its lease runs...
  auto st = store_->transaction([&](store::Tx& tx) -> core::Status {
    auto r = tx.claim_outbox_messages(clock_.now_ms(), clock_.now_ms() + 120'000, 10);
    return r && r->size() == 1 ? core::Status{} : core::fail(Code::kInternal, "no claim");
  });
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(run(), 0U);
  // ...and it goes once the lease is over.
  clock_.advance(120s);
  ASSERT_EQ(run(), 1U);
  EXPECT_EQ(email_->sent.size(), 1U);
}

TEST_F(OutboxTest, PerRecipientLimitRefusesAndWritesNothing) {
  Settings s = settings_;
  s.limits.per_recipient = 2;
  s.limits.per_ip = 0;
  make(s);
  ASSERT_TRUE(enqueue(code_message()).has_value());
  ASSERT_TRUE(enqueue(code_message()).has_value());
  auto third = enqueue(code_message());
  ASSERT_FALSE(third.has_value());
  EXPECT_EQ(third.error().code, Code::kTooManyRequests);
  EXPECT_NE(third.error().message.find("recipient"), std::string::npos);
  EXPECT_EQ(count(), 2);
  // Another recipient is not affected; after the window the first may get mail again.
  EXPECT_TRUE(enqueue(code_message("bob@example.com")).has_value());
  clock_.advance(s.limits.window + 1ms);
  EXPECT_TRUE(enqueue(code_message()).has_value());
}

TEST_F(OutboxTest, PerIpLimitCountsEveryRecipientOfOneRequester) {
  Settings s = settings_;
  s.limits.per_ip = 3;
  make(s);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(enqueue(code_message("u" + std::to_string(i) + "@example.com")).has_value());
  }
  auto refused = enqueue(code_message("u9@example.com"));
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, Code::kTooManyRequests);
  EXPECT_EQ(count("u9@example.com"), 0);
  EXPECT_TRUE(enqueue(code_message("u9@example.com", "198.51.100.1")).has_value());
}

TEST_F(OutboxTest, SmsNeedsAnE164NumberOfAnAllowedCountryWithinItsCountryLimit) {
  Settings s = settings_;
  s.limits.sms_countries = {"44", "1"};
  s.limits.per_country = 2;
  s.limits.per_ip = 0;
  make(s);
  auto sms = [](std::string to) {
    Message m = code_message(std::move(to));
    m.channel = Channel::kSms;
    return m;
  };
  auto bad = enqueue(sms("07700900123"));
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, Code::kDeliveryRefused);
  auto country = enqueue(sms("+2348031234567"));
  ASSERT_FALSE(country.has_value());
  EXPECT_EQ(country.error().code, Code::kDeliveryRefused);
  ASSERT_TRUE(enqueue(sms("+447700900001")).has_value());
  ASSERT_TRUE(enqueue(sms("+447700900002")).has_value());
  auto pumped = enqueue(sms("+447700900003"));
  ASSERT_FALSE(pumped.has_value());
  EXPECT_EQ(pumped.error().code, Code::kTooManyRequests);
  EXPECT_TRUE(enqueue(sms("+14155550100")).has_value());
  EXPECT_EQ(run(), 3U);
  ASSERT_EQ(sms_->sent.size(), 3U);
  EXPECT_EQ(sms_->sent[0].body,
            "482913 is your verification code for Acme. Do not share it with anyone.");
}

TEST_F(OutboxTest, AnAddressThatWouldBreakTheHeadersIsRefused) {
  make();
  for (const std::string to : {"ada@example.com\r\nBcc: x@y", "no-at-sign", "<a@b>", "a@b@c"}) {
    auto st = enqueue(code_message(to));
    ASSERT_FALSE(st.has_value()) << to;
    EXPECT_EQ(st.error().code, Code::kDeliveryRefused) << to;
  }
}

TEST_F(OutboxTest, MailDropWritesOneEmlFilePerMessage) {
  test::TempDir dir;
  Settings s = settings_;
  s.mail_dir = dir.path() / "mail";
  outbox_ = std::make_unique<Outbox>(s, sealer_, random_);
  Worker worker(*store_, *outbox_,
                Transports{make_mail_drop(s.mail_dir), make_sms_drop(s.mail_dir)}, clock_);
  ASSERT_TRUE(enqueue(code_message()).has_value());
  auto n = worker.run_once();
  ASSERT_TRUE(n.has_value());
  ASSERT_EQ(*n, 1U);
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(s.mail_dir)) {
    files.push_back(entry.path());
  }
  ASSERT_EQ(files.size(), 1U);
  EXPECT_EQ(files[0].extension(), ".eml");
  EXPECT_TRUE(files[0].filename().string().starts_with("msg_"));
  const auto perms = std::filesystem::status(files[0]).permissions();
  EXPECT_EQ(perms & (std::filesystem::perms::group_all | std::filesystem::perms::others_all),
            std::filesystem::perms::none);
  std::ifstream in(files[0]);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find("Subject: 482913 is your verification code"), std::string::npos);
}

TEST_F(OutboxTest, TheThreadSendsOnNotifyAndAlsoFindsMessagesWithoutOne) {
  Settings s = settings_;
  s.poll_interval = 50ms;
  core::SystemClock real;
  outbox_ = std::make_unique<Outbox>(s, sealer_, random_);
  auto email = std::make_unique<FakeEmail>();
  FakeEmail* fake = email.get();
  Worker worker(*store_, *outbox_, Transports{std::move(email), std::make_unique<FakeSms>()}, real);
  worker.start();
  auto wait_for = [&](std::size_t n) {
    std::unique_lock lock(fake->mu);
    return fake->cv.wait_for(lock, 20s, [&] { return fake->sent.size() >= n; });
  };
  auto put = [&](const std::string& to) {
    return store_->transaction(
        [&](store::Tx& tx) { return outbox_->enqueue(tx, code_message(to), real.now_ms()); });
  };
  ASSERT_TRUE(put("a@example.com").has_value());
  outbox_->notify();
  EXPECT_TRUE(wait_for(1));
  ASSERT_TRUE(put("b@example.com").has_value());  // no notify: a "lost" wake-up
  EXPECT_TRUE(wait_for(2));
  worker.stop();
  EXPECT_EQ(worker.stats().sent, 2U);
}

TEST_F(OutboxTest, NoLogLineCarriesTheCodeAndTheMailDropLineNamesTheFile) {
  // Every line the delivery code writes, at debug level, for a message that fails, is retried,
  // goes to the mail drop, and one that is given up. The stream outlives the test (the logger
  // keeps it until the next init_logging).
  static std::ostringstream log;
  ASSERT_TRUE(core::init_logging("debug", "text", &log).has_value());
  test::TempDir dir;
  Settings s = settings_;
  s.mail_dir = dir.path();
  s.max_attempts = 2;
  outbox_ = std::make_unique<Outbox>(s, sealer_, random_);
  auto failing = std::make_unique<FakeEmail>();
  failing->failures_left = 5;
  {
    Worker worker(*store_, *outbox_, Transports{std::move(failing), std::make_unique<FakeSms>()},
                  clock_);
    ASSERT_TRUE(enqueue(code_message("given-up@example.com")).has_value());
    ASSERT_TRUE(worker.run_once().has_value());
    clock_.advance(10s);
    ASSERT_TRUE(worker.run_once().has_value());
    ASSERT_EQ(worker.stats().failed, 1U);
  }
  Worker worker(*store_, *outbox_,
                Transports{make_mail_drop(s.mail_dir), make_sms_drop(s.mail_dir)}, clock_);
  ASSERT_TRUE(enqueue(code_message()).has_value());
  Message link = code_message();
  link.purpose = Purpose::kEmailLink;
  link.code = core::Secret();
  link.link = core::Secret("https://app.example/verify?token=SECRETTOKEN");
  ASSERT_TRUE(enqueue(link).has_value());
  ASSERT_EQ(worker.run_once().value_or(0), 2U);
  ASSERT_TRUE(core::init_logging("info", "text", nullptr).has_value());
  const std::string text = log.str();
  EXPECT_NE(text.find("giving up"), std::string::npos) << text;
  EXPECT_NE(text.find(".eml"), std::string::npos) << text;
  EXPECT_NE(text.find(dir.str()), std::string::npos) << text;
  EXPECT_EQ(text.find("482913"), std::string::npos) << text;
  EXPECT_EQ(text.find("SECRETTOKEN"), std::string::npos) << text;
  EXPECT_EQ(text.find("example.com"), std::string::npos) << "recipients are not logged: " << text;
}

}  // namespace
}  // namespace latchkey::delivery
