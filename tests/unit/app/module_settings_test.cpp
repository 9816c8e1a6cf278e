#include <gtest/gtest.h>

#include "app/module_settings.hpp"
#include "config/config.hpp"

namespace latchkey::app {
namespace {

using namespace std::chrono_literals;

TEST(DeliverySettings, DefaultsAreTheMailDropUnderDataDirAndANoReplySender) {
  config::Config c;
  c.frontend.application_name = "Acme";
  c.server.public_url = "https://auth.acme.example:8443";
  c.storage.data_dir = "/srv/latchkey";
  const auto s = delivery_settings(c);
  EXPECT_EQ(s.application_name, "Acme");
  EXPECT_EQ(s.from, "Acme <no-reply@auth.acme.example>");
  EXPECT_EQ(s.mail_dir, std::filesystem::path("/srv/latchkey/mail"));
  EXPECT_TRUE(s.smtp.server.host.empty());
  EXPECT_EQ(s.sms.provider, "");
  // An IP address or a single label is no mail domain.
  c.server.public_url = "http://127.0.0.1:8787";
  EXPECT_EQ(delivery_settings(c).from, "Acme <no-reply@localhost>");
}

TEST(DeliverySettings, SmtpSmsAndLimitsAreCarriedOver) {
  config::Config c;
  c.smtp.host = "smtp.acme.example";
  c.smtp.port = 465;
  c.smtp.tls = "implicit";
  c.smtp.username = "mailer";
  c.smtp.password = core::Secret("pw");
  c.smtp.from = "Acme Login <login@acme.example>";
  c.smtp.timeout = 40s;
  c.smtp.ca_file = "/etc/ssl/private-ca.pem";
  c.sms.provider = "webhook";
  c.sms.url = "https://sms.acme.example/send";
  c.delivery.per_ip = 3;
  c.delivery.per_recipient = 2;
  c.delivery.per_country = 7;
  c.delivery.sms_countries = {"44"};
  c.delivery.max_attempts = 5;
  c.delivery.backoff_base = 2s;
  const auto s = delivery_settings(c);
  EXPECT_EQ(s.from, "Acme Login <login@acme.example>");
  EXPECT_EQ(s.smtp.server.host, "smtp.acme.example");
  EXPECT_EQ(s.smtp.server.port, 465);
  EXPECT_EQ(s.smtp.server.tls, net::SmtpTls::kImplicit);
  EXPECT_EQ(s.smtp.server.password.reveal(), "pw");
  EXPECT_EQ(s.smtp.server.timeout, 40s);
  EXPECT_EQ(s.smtp.server.ca_file, "/etc/ssl/private-ca.pem");
  EXPECT_GE(s.lease, 4 * 40s);  // a claimed message outlives one send's deadline
  EXPECT_EQ(s.sms.provider, "webhook");
  EXPECT_EQ(s.sms.url, "https://sms.acme.example/send");
  EXPECT_EQ(s.limits.per_ip, 3U);
  EXPECT_EQ(s.limits.per_recipient, 2U);
  EXPECT_EQ(s.limits.per_country, 7U);
  EXPECT_EQ(s.limits.sms_countries, std::vector<std::string>{"44"});
  EXPECT_EQ(s.max_attempts, 5);
  EXPECT_EQ(s.backoff_base, 2s);
  c.smtp.tls = "none";
  EXPECT_EQ(delivery_settings(c).smtp.server.tls, net::SmtpTls::kNone);
  c.smtp.tls = "starttls";
  EXPECT_EQ(delivery_settings(c).smtp.server.tls, net::SmtpTls::kStartTls);
}

}  // namespace
}  // namespace latchkey::app
