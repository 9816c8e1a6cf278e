#include <curl/curl.h>

#include <cctype>
#include <memory>
#include <stdexcept>
#include <string>

#include "net/http_client.hpp"
#include "net/libcurl_loader.hpp"

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

struct Sink {
  std::string body;
  std::size_t max_bytes = 0;
  bool too_large = false;
};

extern "C" std::size_t write_body(char* data, std::size_t size, std::size_t nmemb, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const std::size_t n = size * nmemb;
  if (sink->body.size() + n > sink->max_bytes) {
    sink->too_large = true;
    return 0;  // makes curl abort the transfer with CURLE_WRITE_ERROR
  }
  sink->body.append(data, n);
  return n;
}

bool has_header(const HttpRequest& req, std::string_view name) {
  for (const auto& [k, v] : req.headers) {
    if (k.size() == name.size()) {
      bool same = true;
      for (std::size_t i = 0; i < k.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(k[i])) !=
            std::tolower(static_cast<unsigned char>(name[i]))) {
          same = false;
          break;
        }
      }
      if (same) {
        return true;
      }
    }
  }
  return false;
}

core::Error unavailable(std::string why) {
  return core::Error(core::Code::kOAuthProviderUnavailable).with_internal(std::move(why));
}

// Strips the query so no code, token or secret that might sit in a URL reaches a log line.
std::string redact_url(const std::string& url) {
  const auto q = url.find_first_of("?#");
  return q == std::string::npos ? url : url.substr(0, q);
}

class CurlHttpClient final : public HttpClient {
 public:
  explicit CurlHttpClient(std::string user_agent) : user_agent_(std::move(user_agent)) {}

  core::Result<HttpResponse> send(const HttpRequest& req) override {
    if (auto st = init_libcurl(); !st) {
      return std::unexpected(unavailable(st.error().internal));
    }
    // One easy handle per thread, reset between calls: curl_easy_reset clears every option but
    // keeps the connection and TLS session caches, so calls to the same provider reuse a
    // keep-alive connection instead of a new TCP (and TLS) handshake per sign-in.
    thread_local EasyHandle h;
    if (h) {
      curl_easy_reset(h.get());
    } else {
      h.reset(curl_easy_init());
    }
    if (!h) {
      return std::unexpected(unavailable("curl_easy_init failed"));
    }
    CURL* c = h.get();
    Sink sink;
    sink.max_bytes = req.max_response_bytes;

    Slist headers;
    auto add_header = [&headers](const std::string& line) {
      curl_slist* next = curl_slist_append(headers.get(), line.c_str());
      if (next != nullptr) {
        static_cast<void>(headers.release());
        headers.reset(next);
      }
    };
    for (const auto& [k, v] : req.headers) {
      add_header(k + ": " + v);
    }
    if (!has_header(req, "Accept")) {
      add_header("Accept: application/json");
    }
    // libcurl adds "Expect: 100-continue" to large POSTs; IdPs do not need the extra round trip.
    add_header("Expect:");

    const std::string url = req.url;
    bool ok = true;
    auto set = [&ok](CURLcode rc) { ok = ok && rc == CURLE_OK; };
    set(curl_easy_setopt(c, CURLOPT_URL, url.c_str()));
    set(curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https"));
    set(curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https"));
    set(curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L));
    set(curl_easy_setopt(c, CURLOPT_NOSIGNAL,
                         1L));  // required for multi-threaded use with timeouts
    set(curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L));
    set(curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L));
    set(curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(req.timeout.count())));
    set(curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                         static_cast<long>(req.connect_timeout.count())));
    set(curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
                         static_cast<curl_off_t>(req.max_response_bytes)));
    set(curl_easy_setopt(c, CURLOPT_USERAGENT, user_agent_.c_str()));
    set(curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get()));
    set(curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &write_body));
    set(curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink));
    set(curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, ""));  // gzip etc.; the cap applies decoded
    if (req.method == "POST") {
      set(curl_easy_setopt(c, CURLOPT_POST, 1L));
      set(curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                           static_cast<curl_off_t>(req.body.size())));
      set(curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.body.c_str()));
    } else if (req.method == "GET") {
      set(curl_easy_setopt(c, CURLOPT_HTTPGET, 1L));
    } else {
      return std::unexpected(unavailable("unsupported method " + req.method));
    }
    if (!ok) {
      return std::unexpected(unavailable("curl_easy_setopt failed"));
    }

    const CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
      std::string why = redact_url(url) + ": ";
      if (sink.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
        why += "response too large (cap " + std::to_string(req.max_response_bytes) + " bytes)";
      } else if (rc == CURLE_OPERATION_TIMEDOUT) {
        why += "timeout";
      } else {
        why += curl_easy_strerror(rc);
      }
      return std::unexpected(unavailable(std::move(why)));
    }
    HttpResponse out;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out.status);
    char* ct = nullptr;
    if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct != nullptr) {
      out.content_type = ct;
    }
    out.body = std::move(sink.body);
    return out;
  }

 private:
  std::string user_agent_;
};

}  // namespace

std::unique_ptr<HttpClient> make_curl_http_client(std::string user_agent) {
  return std::make_unique<CurlHttpClient>(std::move(user_agent));
}

std::string form_urlencode(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (const char ch : value) {
    const auto u = static_cast<unsigned char>(ch);
    if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
        ch == '-' || ch == '.' || ch == '_' || ch == '~') {
      out.push_back(ch);
    } else if (ch == ' ') {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0x0F]);
    }
  }
  return out;
}

std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [k, v] : fields) {
    if (!out.empty()) {
      out.push_back('&');
    }
    out += form_urlencode(k);
    out.push_back('=');
    out += form_urlencode(v);
  }
  return out;
}

}  // namespace latchkey::net
