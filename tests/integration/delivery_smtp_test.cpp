// Delivery through a REAL SMTP server on 127.0.0.1 (tests/support/smtp_sink.py on aiosmtpd), with
// the real store on a SQLite file, the real outbox, worker and libcurl SMTP client. Until the
// flows enqueue codes, this drives delivery/ directly, the way a flow will: enqueue in a
// transaction, notify after the commit.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/clock.hpp"
#include "core/random.hpp"
#include "crypto/sealer.hpp"
#include "delivery/delivery.hpp"
#include "net/http_client.hpp"
#include "store/store.hpp"
#include "support/smtp_sink.hpp"
#include "support/temp_dir.hpp"

namespace latchkey::delivery {
namespace {

using namespace std::chrono_literals;

class DeliverySmtp : public ::testing::Test {
 protected:
  DeliverySmtp()
      : sealer_(core::Secret(std::string(32, 's'))), http_(net::make_curl_http_client()) {
    auto s = store::open_sqlite((dir_.path() / "latchkey.db").string());
    EXPECT_TRUE(s.has_value());
    store_ = std::move(*s);
    EXPECT_TRUE(store_->migrate().has_value());
    settings_.application_name = "Acme";
    settings_.from = "Acme <no-reply@acme.example>";
    settings_.mail_dir = dir_.path() / "mail";
    settings_.backoff_base = 5s;
  }

  void smtp_on(int port) {
    settings_.smtp.server.host = "127.0.0.1";
    settings_.smtp.server.port = port;
    settings_.smtp.server.tls = net::SmtpTls::kNone;
    settings_.smtp.server.timeout = 20s;
  }

  template <typename ClockT>
  std::unique_ptr<Worker> start_worker(const ClockT& clock) {
    outbox_ = std::make_unique<Outbox>(settings_, sealer_, random_);
    return std::make_unique<Worker>(*store_, *outbox_, make_transports(settings_, *http_), clock);
  }

  core::Status enqueue(std::string to, std::int64_t now_ms, std::string code = "615243") {
    Message m;
    m.to = std::move(to);
    m.code = core::Secret(std::move(code));
    m.remote_ip = "127.0.0.1";
    auto st = store_->transaction([&](store::Tx& tx) { return outbox_->enqueue(tx, m, now_ms); });
    if (st) {
      outbox_->notify();
    }
    return st;
  }

  static std::size_t run(Worker& w) {
    auto n = w.run_once();
    EXPECT_TRUE(n.has_value());
    return n.value_or(0);
  }

  test::TempDir dir_;
  crypto::Sealer sealer_;
  core::SystemRandom random_;
  std::unique_ptr<net::HttpClient> http_;
  std::unique_ptr<store::Store> store_;
  Settings settings_;
  std::unique_ptr<Outbox> outbox_;
};

TEST_F(DeliverySmtp, AMessageArrivesAtARealSmtpServerAndTheCodeCanBeReadFromIt) {
  test::SmtpSink sink;
  smtp_on(sink.port());
  core::ManualClock clock;
  auto worker = start_worker(clock);
  ASSERT_TRUE(enqueue("ada@example.com", clock.now_ms()).has_value());
  ASSERT_EQ(run(*worker), 1U);
  const auto mail = sink.messages();
  ASSERT_EQ(mail.size(), 1U);
  const std::string& m = mail[0];
  EXPECT_NE(m.find("X-Envelope-From: no-reply@acme.example\r\n"), std::string::npos) << m;
  EXPECT_NE(m.find("X-Envelope-To: ada@example.com\r\n"), std::string::npos) << m;
  EXPECT_NE(m.find("Subject: 615243 is your verification code\r\n"), std::string::npos) << m;
  EXPECT_NE(m.find("From: \"Acme\" <no-reply@acme.example>\r\n"), std::string::npos) << m;
  EXPECT_NE(m.find("Content-Type: multipart/alternative;"), std::string::npos);
  EXPECT_NE(m.find("Content-Type: text/html; charset=utf-8"), std::string::npos);
  EXPECT_EQ(worker->stats().sent, 1U);
  // Nothing went to the mail drop.
  EXPECT_FALSE(std::filesystem::exists(settings_.mail_dir));
}

TEST_F(DeliverySmtp, AServerThatIsDownAtFirstDelaysTheMessageThenGetsItNothingLost) {
  const int port = test::SmtpSink::reserve_port();
  smtp_on(port);
  core::ManualClock clock;
  auto worker = start_worker(clock);
  ASSERT_TRUE(enqueue("ada@example.com", clock.now_ms()).has_value());
  ASSERT_EQ(run(*worker), 1U);  // connection refused: rescheduled
  EXPECT_EQ(worker->stats().retried, 1U);
  EXPECT_EQ(worker->stats().sent, 0U);
  test::SmtpSink sink({.port = port, .auth = "", .tls = "none"});
  EXPECT_EQ(run(*worker), 0U);  // not due before its backoff
  EXPECT_TRUE(sink.messages().empty());
  clock.advance(5s);
  ASSERT_EQ(run(*worker), 1U);
  const auto mail = sink.messages();
  ASSERT_EQ(mail.size(), 1U);
  EXPECT_NE(mail[0].find("615243 is your verification code"), std::string::npos);
  EXPECT_EQ(worker->stats().sent, 1U);
}

TEST_F(DeliverySmtp, AuthIsUsedWhenConfiguredAndAWrongPasswordIsRetriedNotLost) {
  test::SmtpSink sink({.port = 0, .auth = "mailer:s3cret", .tls = "none"});
  smtp_on(sink.port());
  settings_.smtp.server.username = "mailer";
  settings_.smtp.server.password = core::Secret("wrong");
  core::ManualClock clock;
  {
    auto worker = start_worker(clock);
    ASSERT_TRUE(enqueue("ada@example.com", clock.now_ms()).has_value());
    ASSERT_EQ(run(*worker), 1U);
    EXPECT_EQ(worker->stats().retried, 1U);
    EXPECT_TRUE(sink.messages().empty());
  }
  // The operator fixes the password and restarts: the pending message goes.
  settings_.smtp.server.password = core::Secret("s3cret");
  auto worker = start_worker(clock);
  clock.advance(5s);
  ASSERT_EQ(run(*worker), 1U);
  ASSERT_EQ(sink.messages().size(), 1U);
}

TEST_F(DeliverySmtp, WithNoSmtpServerConfiguredMessagesGoToTheMailDrop) {
  core::ManualClock clock;
  auto worker = start_worker(clock);  // settings_.smtp.server.host is empty
  ASSERT_TRUE(enqueue("ada@example.com", clock.now_ms()).has_value());
  ASSERT_EQ(run(*worker), 1U);
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(settings_.mail_dir)) {
    files.push_back(e.path());
  }
  ASSERT_EQ(files.size(), 1U);
  EXPECT_EQ(files[0].extension(), ".eml");
  std::ifstream in(files[0]);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find("615243 is your verification code"), std::string::npos);
}

TEST_F(DeliverySmtp, TheWorkerThreadDeliversAfterNotify) {
  test::SmtpSink sink;
  smtp_on(sink.port());
  core::SystemClock clock;
  auto worker = start_worker(clock);
  worker->start();
  ASSERT_TRUE(enqueue("ada@example.com", clock.now_ms(), "111111").has_value());
  ASSERT_TRUE(enqueue("bob@example.com", clock.now_ms(), "222222").has_value());
  ASSERT_TRUE(sink.wait_for(2, 30s));
  worker->stop();
  const auto mail = sink.messages();
  ASSERT_EQ(mail.size(), 2U);
  const std::string both = mail[0] + mail[1];
  EXPECT_NE(both.find("111111 is your verification code"), std::string::npos);
  EXPECT_NE(both.find("222222 is your verification code"), std::string::npos);
}

TEST_F(DeliverySmtp, StartTlsIsUsedAndTheServerCertificateIsVerified) {
  test::SmtpSink sink({.port = 0, .auth = "mailer:s3cret", .tls = "starttls"});
  ASSERT_FALSE(sink.cert_file().empty());
  smtp_on(sink.port());
  settings_.smtp.server.tls = net::SmtpTls::kStartTls;
  settings_.smtp.server.username = "mailer";
  settings_.smtp.server.password = core::Secret("s3cret");
  core::ManualClock clock;
  {
    // A certificate nobody vouches for is refused: the message waits.
    auto worker = start_worker(clock);
    ASSERT_TRUE(enqueue("ada@example.com", clock.now_ms()).has_value());
    ASSERT_EQ(run(*worker), 1U);
    EXPECT_EQ(worker->stats().retried, 1U);
    EXPECT_TRUE(sink.messages().empty());
  }
  settings_.smtp.server.ca_file = sink.cert_file();
  auto worker = start_worker(clock);
  clock.advance(5s);
  ASSERT_EQ(run(*worker), 1U);
  const auto mail = sink.messages();
  ASSERT_EQ(mail.size(), 1U);
  EXPECT_NE(mail[0].find("615243 is your verification code"), std::string::npos);
}

TEST_F(DeliverySmtp, StartTlsIsRequiredSoAServerWithoutItGetsNothing) {
  test::SmtpSink sink;  // plain text only
  smtp_on(sink.port());
  settings_.smtp.server.tls = net::SmtpTls::kStartTls;
  core::ManualClock clock;
  auto worker = start_worker(clock);
  ASSERT_TRUE(enqueue("ada@example.com", clock.now_ms()).has_value());
  ASSERT_EQ(run(*worker), 1U);
  EXPECT_EQ(worker->stats().retried, 1U);
  EXPECT_TRUE(sink.messages().empty());
}

TEST_F(DeliverySmtp, ImplicitTlsDelivers) {
  test::SmtpSink sink({.port = 0, .auth = "", .tls = "implicit"});
  smtp_on(sink.port());
  settings_.smtp.server.tls = net::SmtpTls::kImplicit;
  settings_.smtp.server.ca_file = sink.cert_file();
  core::ManualClock clock;
  auto worker = start_worker(clock);
  ASSERT_TRUE(enqueue("ada@example.com", clock.now_ms()).has_value());
  ASSERT_EQ(run(*worker), 1U);
  ASSERT_EQ(sink.messages().size(), 1U);
}

}  // namespace
}  // namespace latchkey::delivery
