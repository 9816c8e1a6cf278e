// The SMS gateways' requests (Twilio's Messages API, the JSON webhook) against a fake
// net::HttpClient, and how their answers are classified (delivered, retry, refused).
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "core/base64.hpp"
#include "delivery/delivery.hpp"

namespace latchkey::delivery {
namespace {

using namespace std::chrono_literals;

class FakeHttp final : public net::HttpClient {
 public:
  core::Result<net::HttpResponse> send(const net::HttpRequest& request) override {
    requests.push_back(request);
    if (down) {
      return core::fail(
          core::Error(core::Code::kOAuthProviderUnavailable).with_internal("refused"));
    }
    return net::HttpResponse{.status = status, .content_type = "application/json", .body = "{}"};
  }
  std::vector<net::HttpRequest> requests;
  long status = 201;
  bool down = false;
};

std::string header(const net::HttpRequest& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) {
      return v;
    }
  }
  return {};
}

Sms message() {
  return Sms{.id = "msg_1",
             .to = "+447700900123",
             .body = "482913 is your verification code for Acme. Do not share it with anyone.",
             .purpose = Purpose::kVerificationCode};
}

TEST(Twilio, PostsTheMessagesApiFormWithBasicAuth) {
  FakeHttp http;
  SmsSettings s{.provider = "twilio",
                .url = "http://127.0.0.1:9/",
                .account_sid = "AC123",
                .auth_token = core::Secret("tok"),
                .from = "+15005550006"};
  auto t = make_twilio_transport(s, http, 7s);
  ASSERT_TRUE(t->send(message()).has_value());
  ASSERT_EQ(http.requests.size(), 1U);
  const auto& r = http.requests[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, "http://127.0.0.1:9/2010-04-01/Accounts/AC123/Messages.json");
  EXPECT_EQ(header(r, "Authorization"), "Basic " + core::base64_encode("AC123:tok"));
  EXPECT_EQ(header(r, "Content-Type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(r.body,
            "To=%2B447700900123&From=%2B15005550006&Body=" + net::form_urlencode(message().body));
  EXPECT_EQ(r.timeout, 7s);
}

TEST(Twilio, AMessagingServiceIsSentAsMessagingServiceSid) {
  FakeHttp http;
  SmsSettings s{.provider = "twilio",
                .url = "",
                .account_sid = "AC1",
                .auth_token = core::Secret("t"),
                .from = "MG0123"};
  ASSERT_TRUE(make_twilio_transport(s, http, 5s)->send(message()).has_value());
  EXPECT_TRUE(http.requests[0].url.starts_with("https://api.twilio.com/2010-04-01/Accounts/AC1/"));
  EXPECT_NE(http.requests[0].body.find("MessagingServiceSid=MG0123"), std::string::npos);
}

TEST(Webhook, PostsJsonWithTheBearerToken) {
  FakeHttp http;
  http.status = 200;
  SmsSettings s{.provider = "webhook",
                .url = "http://127.0.0.1:9/sms",
                .account_sid = "",
                .auth_token = core::Secret("hook-secret"),
                .from = "Acme"};
  ASSERT_TRUE(make_webhook_transport(s, http, 5s)->send(message()).has_value());
  const auto& r = http.requests.at(0);
  EXPECT_EQ(r.url, "http://127.0.0.1:9/sms");
  EXPECT_EQ(header(r, "Content-Type"), "application/json");
  EXPECT_EQ(header(r, "Authorization"), "Bearer hook-secret");
  const auto body = boost::json::parse(r.body).as_object();
  EXPECT_EQ(body.at("id").as_string(), "msg_1");
  EXPECT_EQ(body.at("to").as_string(), "+447700900123");
  EXPECT_EQ(body.at("from").as_string(), "Acme");
  EXPECT_EQ(body.at("purpose").as_string(), "verification_code");
  EXPECT_EQ(body.at("body").as_string(), message().body);
}

TEST(SmsGateways, AnswersAreDeliveredRetriedOrRefused) {
  SmsSettings s{.provider = "webhook",
                .url = "http://127.0.0.1:9/sms",
                .account_sid = "",
                .auth_token = core::Secret(),
                .from = ""};
  struct Case {
    long status;
    bool down;
    std::optional<core::Code> want;  // nullopt = delivered
  };
  const std::vector<Case> cases{
      {204, false, std::nullopt},
      {500, false, core::Code::kServiceUnavailable},
      {503, false, core::Code::kServiceUnavailable},
      {429, false, core::Code::kServiceUnavailable},
      {408, false, core::Code::kServiceUnavailable},
      {400, false, core::Code::kDeliveryRefused},
      {401, false, core::Code::kDeliveryRefused},
      {0, true, core::Code::kServiceUnavailable},
  };
  for (const auto& c : cases) {
    FakeHttp http;
    http.status = c.status;
    http.down = c.down;
    const auto st = make_webhook_transport(s, http, 5s)->send(message());
    if (!c.want) {
      EXPECT_TRUE(st.has_value()) << c.status;
      continue;
    }
    ASSERT_FALSE(st.has_value()) << c.status;
    EXPECT_EQ(st.error().code, *c.want) << c.status;
    EXPECT_EQ(header(http.requests.at(0), "Authorization"), "");  // no token, no header
    // What is logged names the gateway and the status, never the message.
    EXPECT_EQ(st.error().internal.find("482913"), std::string::npos);
  }
}

}  // namespace
}  // namespace latchkey::delivery
