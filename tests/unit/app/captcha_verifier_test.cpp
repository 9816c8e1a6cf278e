// app::SiteverifyCaptchaVerifier against a fake siteverify (tests/support/http_server.hpp) over
// the real libcurl client: the form it posts, what it accepts, and single use.
#include "app/captcha_verifier.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

#include "core/clock.hpp"
#include "net/http_client.hpp"
#include "support/http_server.hpp"

namespace latchkey::app {
namespace {

using core::Code;
using test::FakeHttpServer;
using test::FakeRequest;
using test::FakeResponse;

// Answers per token: "good" passes on example.com as a signup, "other-host" / "other-action"
// pass on the wrong host / action, "down" is a 503, "garbage" no JSON; anything else fails.
FakeResponse siteverify(const FakeRequest& r) {
  auto has = [&](std::string_view s) { return r.body.find(s) != std::string::npos; };
  if (!has("secret=s3cret")) {
    return {200, "application/json", R"({"success":false,"error-codes":["invalid-input-secret"]})"};
  }
  if (has("response=good")) {
    return {200, "application/json",
            R"({"success":true,"hostname":"example.com","action":"signup","error-codes":[]})"};
  }
  if (has("response=noaction")) {
    return {200, "application/json", R"({"success":true,"hostname":"example.com"})"};
  }
  if (has("response=other-host")) {
    return {200, "application/json",
            R"({"success":true,"hostname":"evil.test","action":"signup"})"};
  }
  if (has("response=other-action")) {
    return {200, "application/json",
            R"({"success":true,"hostname":"example.com","action":"signin"})"};
  }
  if (has("response=down")) {
    return {503, "text/plain", "unavailable"};
  }
  if (has("response=garbage")) {
    return {200, "text/html", "<html>"};
  }
  return {200, "application/json", R"({"success":false,"error-codes":["invalid-input-response"]})"};
}

class CaptchaVerifierTest : public ::testing::Test {
 protected:
  SiteverifyCaptchaVerifier make(std::string secret = "s3cret") {
    CaptchaVerifierSettings s;
    s.verify_url = server_.base_url() + "/siteverify";
    s.secret = core::Secret(std::move(secret));
    s.hostnames = {"example.com"};
    s.timeout = std::chrono::seconds(10);
    return SiteverifyCaptchaVerifier(std::move(s), *http_, clock_);
  }
  static Code code(const core::Status& s) { return s ? Code::kInternal : s.error().code; }

  FakeHttpServer server_{siteverify};
  std::unique_ptr<net::HttpClient> http_ = net::make_curl_http_client();
  core::ManualClock clock_;
};

TEST_F(CaptchaVerifierTest, AGoodTokenPassesAndPostsTheSiteverifyForm) {
  auto v = make();
  EXPECT_TRUE(v.verify("good", "203.0.113.7"));
  const FakeRequest r = server_.last("/siteverify");
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.headers.at("content-type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(r.body, "secret=s3cret&response=good&remoteip=203.0.113.7");
}

TEST_F(CaptchaVerifierTest, AnAnswerWithoutActionPasses) {
  auto v = make();
  EXPECT_TRUE(v.verify("noaction", ""));
  EXPECT_EQ(server_.last("/siteverify").body.find("remoteip"), std::string::npos);
}

TEST_F(CaptchaVerifierTest, RefusedTokensAreInvalid) {
  auto v = make();
  EXPECT_EQ(code(v.verify("bad", "")), Code::kCaptchaInvalid);
  EXPECT_EQ(code(v.verify("other-host", "")), Code::kCaptchaInvalid);
  EXPECT_EQ(code(v.verify("other-action", "")), Code::kCaptchaInvalid);
  EXPECT_EQ(code(v.verify("", "")), Code::kCaptchaInvalid);
  EXPECT_EQ(code(v.verify(std::string(5000, 'x'), "")), Code::kCaptchaInvalid);
}

TEST_F(CaptchaVerifierTest, AReplayIsRefusedWithoutAskingSiteverify) {
  auto v = make();
  ASSERT_TRUE(v.verify("good", ""));
  const int calls = server_.count("/siteverify");
  EXPECT_EQ(code(v.verify("good", "")), Code::kCaptchaInvalid);
  EXPECT_EQ(server_.count("/siteverify"), calls);
  // Once it would have expired anyway, it is forgotten (siteverify refuses it then).
  clock_.advance(std::chrono::minutes(6));
  EXPECT_TRUE(v.verify("good", ""));
}

TEST_F(CaptchaVerifierTest, SiteverifyTroubleIsUnavailableAndTheTokenMayBeRetried) {
  auto v = make();
  EXPECT_EQ(code(v.verify("down", "")), Code::kCaptchaUnavailable);
  EXPECT_EQ(code(v.verify("down", "")), Code::kCaptchaUnavailable);  // not taken as a replay
  EXPECT_EQ(code(v.verify("garbage", "")), Code::kCaptchaUnavailable);
  auto wrong_secret = make("nope");
  EXPECT_EQ(code(wrong_secret.verify("good", "")), Code::kCaptchaUnavailable);
}

TEST_F(CaptchaVerifierTest, AnUnreachableSiteverifyIsUnavailable) {
  auto v = make();
  server_.stop();
  EXPECT_EQ(code(v.verify("good", "")), Code::kCaptchaUnavailable);
}

TEST(CaptchaDefaults, EachProviderHasItsSiteverify) {
  EXPECT_EQ(default_verify_url("turnstile"),
            "https://challenges.cloudflare.com/turnstile/v0/siteverify");
  EXPECT_EQ(default_verify_url("hcaptcha"), "https://api.hcaptcha.com/siteverify");
  EXPECT_EQ(default_verify_url("recaptcha"), "https://www.google.com/recaptcha/api/siteverify");
  EXPECT_EQ(default_verify_url("other"), "");
}

}  // namespace
}  // namespace latchkey::app
