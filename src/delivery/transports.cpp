// The transports: SMTP (net::SmtpClient), the mail drop, and SMS gateways over net::HttpClient.
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "core/base64.hpp"
#include "delivery/delivery.hpp"
#include "delivery/render.hpp"

namespace latchkey::delivery {
namespace {

core::Error transient(std::string why) {
  return core::Error(core::Code::kServiceUnavailable).with_internal(std::move(why));
}
core::Error permanent(std::string why) {
  return core::Error(core::Code::kDeliveryRefused).with_internal(std::move(why));
}

class SmtpTransport final : public EmailTransport {
 public:
  explicit SmtpTransport(std::unique_ptr<net::SmtpClient> c) : client_(std::move(c)) {}
  core::Status send(const Email& e) override {
    return client_->send(net::SmtpMessage{.from = e.envelope_from, .to = {e.to}, .data = e.data});
  }

 private:
  std::unique_ptr<net::SmtpClient> client_;
};

// Writes `data` to dir/name (0600) through a temporary file and a rename, so a reader never sees
// half a message.
core::Status write_file(const std::filesystem::path& dir, const std::string& name,
                        const std::string& data) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return core::fail(transient("mail drop: cannot create " + dir.string() + ": " + ec.message()));
  }
  const std::filesystem::path tmp = dir / ("." + name + ".tmp");
  const std::filesystem::path final_path = dir / name;
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return core::fail(
        transient("mail drop: cannot write " + tmp.string() + ": " + std::strerror(errno)));
  }
  std::size_t off = 0;
  bool ok = true;
  while (off < data.size()) {
    const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      ok = false;
      break;
    }
    off += static_cast<std::size_t>(n);
  }
  ok = ::fsync(fd) == 0 && ok;
  ok = ::close(fd) == 0 && ok;
  if (!ok) {
    std::filesystem::remove(tmp, ec);
    return core::fail(transient("mail drop: write failed for " + tmp.string()));
  }
  std::filesystem::rename(tmp, final_path, ec);
  if (ec) {
    return core::fail(transient("mail drop: rename failed: " + ec.message()));
  }
  return {};
}

class MailDrop final : public EmailTransport {
 public:
  explicit MailDrop(std::filesystem::path dir) : dir_(std::move(dir)) {}
  core::Status send(const Email& e) override {
    const std::string name = e.id + ".eml";
    if (auto st = write_file(dir_, name, e.data); !st) {
      return st;
    }
    // The file name only: the code is in the file, never in the log.
    spdlog::info("delivery: no SMTP server configured; message {} written to {}", e.id,
                 (dir_ / name).string());
    return {};
  }

 private:
  std::filesystem::path dir_;
};

class SmsDrop final : public SmsTransport {
 public:
  explicit SmsDrop(std::filesystem::path dir) : dir_(std::move(dir)) {}
  core::Status send(const Sms& s) override {
    const std::string name = s.id + ".sms.txt";
    if (auto st = write_file(dir_, name, "To: " + s.to + "\n\n" + s.body + "\n"); !st) {
      return st;
    }
    spdlog::info("delivery: no SMS gateway configured; message {} written to {}", s.id,
                 (dir_ / name).string());
    return {};
  }

 private:
  std::filesystem::path dir_;
};

// 2xx delivered; 408, 429 and 5xx try again; any other status is the gateway refusing this message.
core::Status classify(const core::Result<net::HttpResponse>& r, std::string_view gateway) {
  if (!r) {
    return core::fail(transient(std::string(gateway) + ": " + r.error().internal));
  }
  const long st = r->status;
  if (st >= 200 && st < 300) {
    return {};
  }
  const std::string why = std::string(gateway) + ": HTTP " + std::to_string(st);
  if (st == 408 || st == 429 || st >= 500) {
    return core::fail(transient(why));
  }
  return core::fail(permanent(why));
}

class TwilioTransport final : public SmsTransport {
 public:
  TwilioTransport(const SmsSettings& s, net::HttpClient& http, std::chrono::milliseconds timeout)
      : s_(s), http_(http), timeout_(timeout) {}
  core::Status send(const Sms& sms) override {
    std::string base = s_.url.empty() ? "https://api.twilio.com" : s_.url;
    while (base.ends_with('/')) {
      base.pop_back();
    }
    net::HttpRequest req;
    req.method = "POST";
    req.url =
        base + "/2010-04-01/Accounts/" + net::form_urlencode(s_.account_sid) + "/Messages.json";
    const std::string credentials = s_.account_sid + ":" + std::string(s_.auth_token.reveal());
    req.headers = {{"Authorization", "Basic " + core::base64_encode(credentials)},
                   {"Content-Type", "application/x-www-form-urlencoded"}};
    // A messaging service id (MG...) is sent as MessagingServiceSid, a number as From.
    const bool service = s_.from.starts_with("MG");
    req.body = net::form_encode(
        {{"To", sms.to}, {service ? "MessagingServiceSid" : "From", s_.from}, {"Body", sms.body}});
    req.timeout = timeout_;
    return classify(http_.send(req), "twilio");
  }

 private:
  SmsSettings s_;
  net::HttpClient& http_;
  std::chrono::milliseconds timeout_;
};

class WebhookTransport final : public SmsTransport {
 public:
  WebhookTransport(const SmsSettings& s, net::HttpClient& http, std::chrono::milliseconds timeout)
      : s_(s), http_(http), timeout_(timeout) {}
  core::Status send(const Sms& sms) override {
    net::HttpRequest req;
    req.method = "POST";
    req.url = s_.url;
    req.headers = {{"Content-Type", "application/json"}};
    if (!s_.auth_token.empty()) {
      req.headers.emplace_back("Authorization", "Bearer " + std::string(s_.auth_token.reveal()));
    }
    boost::json::object body;
    body["id"] = sms.id;
    body["to"] = sms.to;
    body["from"] = s_.from;
    body["body"] = sms.body;
    body["purpose"] = std::string(purpose_name(sms.purpose));
    req.body = boost::json::serialize(body);
    req.timeout = timeout_;
    return classify(http_.send(req), "sms webhook");
  }

 private:
  SmsSettings s_;
  net::HttpClient& http_;
  std::chrono::milliseconds timeout_;
};

}  // namespace

std::unique_ptr<EmailTransport> make_smtp_transport(std::unique_ptr<net::SmtpClient> client) {
  return std::make_unique<SmtpTransport>(std::move(client));
}
std::unique_ptr<EmailTransport> make_mail_drop(std::filesystem::path dir) {
  return std::make_unique<MailDrop>(std::move(dir));
}
std::unique_ptr<SmsTransport> make_sms_drop(std::filesystem::path dir) {
  return std::make_unique<SmsDrop>(std::move(dir));
}
std::unique_ptr<SmsTransport> make_twilio_transport(const SmsSettings& s, net::HttpClient& http,
                                                    std::chrono::milliseconds timeout) {
  return std::make_unique<TwilioTransport>(s, http, timeout);
}
std::unique_ptr<SmsTransport> make_webhook_transport(const SmsSettings& s, net::HttpClient& http,
                                                     std::chrono::milliseconds timeout) {
  return std::make_unique<WebhookTransport>(s, http, timeout);
}

Transports make_transports(const Settings& s, net::HttpClient& http) {
  Transports t;
  if (s.smtp.server.host.empty()) {
    t.email = make_mail_drop(s.mail_dir);
  } else {
    t.email = make_smtp_transport(net::make_curl_smtp_client(s.smtp.server));
  }
  if (s.sms.provider == "twilio") {
    t.sms = make_twilio_transport(s.sms, http, s.outbound_timeout);
  } else if (s.sms.provider == "webhook") {
    t.sms = make_webhook_transport(s.sms, http, s.outbound_timeout);
  } else {
    t.sms = make_sms_drop(s.mail_dir);
  }
  return t;
}

}  // namespace latchkey::delivery
