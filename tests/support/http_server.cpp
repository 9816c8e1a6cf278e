#include "support/http_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <stdexcept>

namespace latchkey::test {

using namespace std::chrono_literals;

FakeHttpServer::FakeHttpServer(Handler handler) : handler_(std::move(handler)) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    throw std::runtime_error("FakeHttpServer: socket");
  }
  int one = 1;
  ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd_, 128) != 0) {
    ::close(fd_);
    throw std::runtime_error("FakeHttpServer: bind/listen");
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  accept_thread_ = std::thread([this] { accept_loop(); });
}

void FakeHttpServer::stop() {
  if (stop_.exchange(true)) {
    return;
  }
  accept_thread_.join();
  std::vector<std::thread> ts;
  {
    std::lock_guard lock(mu_);
    ts.swap(conn_threads_);
  }
  for (auto& t : ts) {
    t.join();
  }
  ::close(fd_);
}

int FakeHttpServer::count(const std::string& path) const {
  std::lock_guard lock(mu_);
  auto it = counts_.find(path);
  return it == counts_.end() ? 0 : it->second;
}

int FakeHttpServer::total() const {
  std::lock_guard lock(mu_);
  int n = 0;
  for (const auto& [k, v] : counts_) {
    n += v;
  }
  return n;
}

FakeRequest FakeHttpServer::last(const std::string& path) const {
  std::lock_guard lock(mu_);
  auto it = last_.find(path);
  return it == last_.end() ? FakeRequest{} : it->second;
}

void FakeHttpServer::accept_loop() {
  while (!stop_) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) {
      continue;
    }
    const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) {
      continue;
    }
    std::lock_guard lock(mu_);
    conn_threads_.emplace_back([this, c] { serve(c); });
  }
}

bool FakeHttpServer::read_request(int c, FakeRequest& req) {
  std::string buf;
  char tmp[8192];
  std::size_t head_end = std::string::npos;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  std::size_t need = 0;
  for (;;) {
    if (stop_ || std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    if (head_end != std::string::npos && buf.size() >= head_end + 4 + need) {
      break;
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
    if (head_end != std::string::npos) {
      continue;
    }
    head_end = buf.find("\r\n\r\n");
    if (head_end == std::string::npos) {
      continue;
    }
    const std::string head = buf.substr(0, head_end);
    std::size_t pos = head.find("\r\n");
    const std::string line = head.substr(0, pos);
    const auto sp1 = line.find(' ');
    const auto sp2 = line.find(' ', sp1 + 1);
    req.method = line.substr(0, sp1);
    const std::string target = line.substr(sp1 + 1, sp2 - sp1 - 1);
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
        for (auto& ch : name) {
          ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        }
        std::string value = h.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') {
          value.erase(0, 1);
        }
        req.headers[name] = value;
      }
      pos = next;
    }
    if (auto cl = req.headers.find("content-length"); cl != req.headers.end()) {
      need = std::stoul(cl->second);
    }
  }
  req.body = buf.substr(head_end + 4, need);
  return true;
}

bool FakeHttpServer::send_all(int c, std::string_view data) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    if (stop_) {
      return false;
    }
    // MSG_NOSIGNAL: the client may hang up mid-body (size cap); no SIGPIPE for the test binary.
    const ssize_t n = ::send(c, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      return false;
    }
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

bool FakeHttpServer::nap(std::chrono::milliseconds d) {
  const auto until = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < until) {
    if (stop_) {
      return false;
    }
    std::this_thread::sleep_for(5ms);
  }
  return !stop_;
}

void FakeHttpServer::serve(int c) {
  FakeRequest req;
  if (!read_request(c, req)) {
    ::close(c);
    return;
  }
  {
    std::lock_guard lock(mu_);
    ++counts_[req.path];
    last_[req.path] = req;
  }
  const FakeResponse resp = handler_(req);
  const std::string answer = "HTTP/1.1 " + std::to_string(resp.status) +
                             " X\r\nContent-Type: " + resp.content_type +
                             "\r\nContent-Length: " + std::to_string(resp.body.size()) +
                             "\r\nConnection: close\r\n" + resp.extra_headers + "\r\n" + resp.body;
  using T = FakeResponse::Transport;
  switch (resp.transport) {
    case T::kNormal:
      if (nap(resp.delay)) {
        send_all(c, answer);
      }
      break;
    case T::kHang:
      while (nap(50ms)) {
      }
      break;
    case T::kTrickle:
      for (const char ch : answer) {
        if (!nap(resp.delay) || !send_all(c, std::string_view(&ch, 1))) {
          break;
        }
      }
      break;
    case T::kClose:
      break;
    case T::kEndlessChunked: {
      if (!send_all(c,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n")) {
        break;
      }
      const std::string chunk = "4000\r\n" + std::string(0x4000, ' ') + "\r\n";
      while (send_all(c, chunk)) {
      }
      break;
    }
    case T::kHugeLength:
      if (send_all(c,
                   "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                   "Content-Length: 1000000000000\r\n\r\n{\"a\":")) {
        while (nap(50ms)) {
        }
      }
      break;
  }
  ::close(c);
}

}  // namespace latchkey::test
