#pragma once
// A minimal blocking HTTP/1.1 server on 127.0.0.1:0 for oauth tests (POSIX sockets, one connection
// at a time, Connection: close). Routes are a function of the request; every request is counted
// per path and recorded, so tests can assert which endpoints were (not) called.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace latchkey::oauth::testing {

struct FakeRequest {
  std::string method;
  std::string path;  // without query
  std::string query;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

struct FakeResponse {
  FakeResponse() = default;
  FakeResponse(int s, std::string ct, std::string b,
               std::chrono::milliseconds d = std::chrono::milliseconds(0), std::string extra = {})
      : status(s),
        content_type(std::move(ct)),
        body(std::move(b)),
        delay(d),
        extra_headers(std::move(extra)) {}

  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::chrono::milliseconds delay{0};  // sleep before answering (slow IdP)
  std::string extra_headers;           // raw "Name: value\r\n" lines
};

class FakeHttpServer {
 public:
  using Handler = std::function<FakeResponse(const FakeRequest&)>;

  explicit FakeHttpServer(Handler handler) : handler_(std::move(handler)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) {
      throw std::runtime_error("socket");
    }
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd_, 16) != 0) {
      ::close(fd_);
      throw std::runtime_error("bind/listen");
    }
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  FakeHttpServer(const FakeHttpServer&) = delete;
  FakeHttpServer& operator=(const FakeHttpServer&) = delete;
  ~FakeHttpServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }

  [[nodiscard]] std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  [[nodiscard]] int count(const std::string& path) const {
    std::lock_guard lock(mu_);
    auto it = counts_.find(path);
    return it == counts_.end() ? 0 : it->second;
  }
  [[nodiscard]] int total() const {
    std::lock_guard lock(mu_);
    int n = 0;
    for (const auto& [k, v] : counts_) {
      n += v;
    }
    return n;
  }
  [[nodiscard]] FakeRequest last(const std::string& path) const {
    std::lock_guard lock(mu_);
    auto it = last_.find(path);
    return it == last_.end() ? FakeRequest{} : it->second;
  }

 private:
  void run() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) {
        continue;
      }
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) {
        continue;
      }
      serve(c);
      ::close(c);
    }
  }

  bool read_request(int c, FakeRequest& req) {
    std::string buf;
    char tmp[4096];
    std::size_t header_end = std::string::npos;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (header_end == std::string::npos) {
      if (stop_ || std::chrono::steady_clock::now() > deadline) {
        return false;
      }
      pollfd p{c, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) {
        continue;
      }
      const ssize_t n = ::recv(c, tmp, sizeof tmp, 0);
      if (n <= 0) {
        return false;
      }
      buf.append(tmp, static_cast<std::size_t>(n));
      header_end = buf.find("\r\n\r\n");
    }
    const std::string head = buf.substr(0, header_end);
    std::size_t pos = head.find("\r\n");
    const std::string line = head.substr(0, pos);
    const auto sp1 = line.find(' ');
    const auto sp2 = line.find(' ', sp1 + 1);
    req.method = line.substr(0, sp1);
    std::string target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    const auto q = target.find('?');
    req.path = target.substr(0, q);
    req.query = q == std::string::npos ? "" : target.substr(q + 1);
    while (pos != std::string::npos) {
      const auto next = head.find("\r\n", pos + 2);
      const std::string h =
          head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
      const auto colon = h.find(':');
      if (colon != std::string::npos) {
        std::string name = h.substr(0, colon);
        std::transform(name.begin(), name.end(), name.begin(),
                       [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
        std::string value = h.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') {
          value.erase(0, 1);
        }
        req.headers[name] = value;
      }
      pos = next;
    }
    std::size_t length = 0;
    if (auto it = req.headers.find("content-length"); it != req.headers.end()) {
      length = std::stoul(it->second);
    }
    req.body = buf.substr(header_end + 4);
    while (req.body.size() < length) {
      if (stop_ || std::chrono::steady_clock::now() > deadline) {
        return false;
      }
      pollfd p{c, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) {
        continue;
      }
      const ssize_t n = ::recv(c, tmp, sizeof tmp, 0);
      if (n <= 0) {
        return false;
      }
      req.body.append(tmp, static_cast<std::size_t>(n));
    }
    return true;
  }

  void serve(int c) {
    FakeRequest req;
    if (!read_request(c, req)) {
      return;
    }
    {
      std::lock_guard lock(mu_);
      ++counts_[req.path];
      last_[req.path] = req;
    }
    const FakeResponse resp = handler_(req);
    const auto until = std::chrono::steady_clock::now() + resp.delay;
    while (!stop_ && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::string out = "HTTP/1.1 " + std::to_string(resp.status) +
                      " X\r\nContent-Type: " + resp.content_type +
                      "\r\nContent-Length: " + std::to_string(resp.body.size()) +
                      "\r\nConnection: close\r\n" + resp.extra_headers + "\r\n" + resp.body;
    std::size_t sent = 0;
    while (sent < out.size() && !stop_) {
      // MSG_NOSIGNAL: the client may hang up mid-body (size cap); no SIGPIPE for the test binary.
      const ssize_t n = ::send(c, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) {
        return;
      }
      sent += static_cast<std::size_t>(n);
    }
  }

  Handler handler_;
  int fd_ = -1;
  unsigned short port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  mutable std::mutex mu_;
  std::map<std::string, int> counts_;
  std::map<std::string, FakeRequest> last_;
};

}  // namespace latchkey::oauth::testing
