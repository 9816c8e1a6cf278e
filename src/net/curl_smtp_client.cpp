#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

#include "net/libcurl_loader.hpp"
#include "net/smtp_client.hpp"

namespace latchkey::net {
namespace {

struct EasyDeleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using EasyHandle = std::unique_ptr<CURL, EasyDeleter>;
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

core::Error unavailable(std::string why) {
  return core::Error(core::Code::kServiceUnavailable).with_internal("smtp: " + std::move(why));
}

struct Source {
  const std::string* data = nullptr;
  std::size_t offset = 0;
};

extern "C" std::size_t read_body(char* buffer, std::size_t size, std::size_t nitems, void* user) {
  auto* src = static_cast<Source*>(user);
  const std::size_t room = size * nitems;
  const std::size_t n = std::min(room, src->data->size() - src->offset);
  std::memcpy(buffer, src->data->data() + src->offset, n);
  src->offset += n;
  return n;
}

bool has_crlf(const std::string& s) { return s.find_first_of("\r\n") != std::string::npos; }

class CurlSmtpClient final : public SmtpClient {
 public:
  explicit CurlSmtpClient(SmtpSettings s) : s_(std::move(s)) {
    const bool implicit = s_.tls == SmtpTls::kImplicit;
    url_ = std::string(implicit ? "smtps://" : "smtp://") + s_.host + ":" + std::to_string(s_.port);
  }

  core::Status send(const SmtpMessage& m) override {
    if (auto st = init_libcurl(); !st) {
      return core::fail(unavailable(st.error().internal));
    }
    // An address with a line break would inject SMTP commands.
    if (m.to.empty() || has_crlf(m.from) || std::ranges::any_of(m.to, has_crlf)) {
      return core::fail(unavailable("invalid envelope"));
    }
    EasyHandle h(curl_easy_init());
    if (!h) {
      return core::fail(unavailable("curl_easy_init failed"));
    }
    CURL* c = h.get();
    Slist rcpt;
    for (const auto& to : m.to) {
      const std::string bracketed = "<" + to + ">";
      curl_slist* next = curl_slist_append(rcpt.get(), bracketed.c_str());
      if (next == nullptr) {
        return core::fail(unavailable("out of memory"));
      }
      static_cast<void>(rcpt.release());
      rcpt.reset(next);
    }
    const std::string from = "<" + m.from + ">";
    Source src{&m.data, 0};
    bool ok = true;
    auto set = [&ok](CURLcode rc) { ok = ok && rc == CURLE_OK; };
    set(curl_easy_setopt(c, CURLOPT_URL, url_.c_str()));
    set(curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps"));
    set(curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L));
    set(curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L));
    set(curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L));
    if (!s_.ca_file.empty()) {
      set(curl_easy_setopt(c, CURLOPT_CAINFO, s_.ca_file.c_str()));
    }
    if (s_.tls == SmtpTls::kStartTls) {
      set(curl_easy_setopt(c, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL)));
    }
    set(curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(s_.timeout.count())));
    set(curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                         static_cast<long>(s_.connect_timeout.count())));
    if (!s_.username.empty()) {
      set(curl_easy_setopt(c, CURLOPT_USERNAME, s_.username.c_str()));
      // Secret keeps a std::string, so its view is NUL-terminated; curl copies it.
      set(curl_easy_setopt(c, CURLOPT_PASSWORD, s_.password.reveal().data()));
    }
    set(curl_easy_setopt(c, CURLOPT_MAIL_FROM, from.c_str()));
    set(curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt.get()));
    set(curl_easy_setopt(c, CURLOPT_READFUNCTION, &read_body));
    set(curl_easy_setopt(c, CURLOPT_READDATA, &src));
    set(curl_easy_setopt(c, CURLOPT_UPLOAD, 1L));
    set(curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(m.data.size())));
    if (!ok) {
      return core::fail(unavailable("curl_easy_setopt failed"));
    }
    const CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
      long code = 0;
      curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
      std::string why = s_.host + ":" + std::to_string(s_.port) + ": ";
      why += rc == CURLE_OPERATION_TIMEDOUT ? "timeout" : curl_easy_strerror(rc);
      if (code != 0) {
        why += " (reply " + std::to_string(code) + ")";
      }
      return core::fail(unavailable(std::move(why)));
    }
    return {};
  }

 private:
  SmtpSettings s_;
  std::string url_;
};

}  // namespace

std::unique_ptr<SmtpClient> make_curl_smtp_client(SmtpSettings settings) {
  return std::make_unique<CurlSmtpClient>(std::move(settings));
}

}  // namespace latchkey::net
