#include "support/http_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <stdexcept>

#include "support/url.hpp"

namespace latchkey::test {
namespace {

using Clock = std::chrono::steady_clock;

// Parses one response at the start of `buf`. Returns the bytes it takes when complete; nullopt
// when more bytes are needed (with `eof`, a body without framing ends at the end of `buf`).
// Whatever was parsed (status, fields) is left in `r` either way.
std::optional<std::size_t> parse_response(const std::string& buf, bool eof, bool head,
                                          HttpResponse& r) {
  const auto head_end = buf.find("\r\n\r\n");
  if (head_end == std::string::npos) {
    return std::nullopt;
  }
  const std::string fields = buf.substr(0, head_end);
  std::size_t line_end = fields.find("\r\n");
  const std::string status_line = fields.substr(0, line_end);
  if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12) {
    return std::nullopt;
  }
  r.status = std::atoi(status_line.substr(9, 3).c_str());
  r.head = buf.substr(0, head_end + 4);
  r.headers.clear();
  r.body.clear();
  while (line_end != std::string::npos) {
    const auto next = fields.find("\r\n", line_end + 2);
    const std::string line = fields.substr(
        line_end + 2, next == std::string::npos ? std::string::npos : next - line_end - 2);
    const auto colon = line.find(':');
    if (colon != std::string::npos) {
      r.headers.emplace(lower(line.substr(0, colon)), trim(line.substr(colon + 1)));
    }
    line_end = next;
  }
  const std::size_t start = head_end + 4;
  if (head || r.status == 204 || r.status == 304 || (r.status >= 100 && r.status < 200)) {
    return start;
  }
  if (lower(r.header("transfer-encoding").value_or("")).find("chunked") != std::string::npos) {
    std::string body;
    std::size_t pos = start;
    for (;;) {
      const auto crlf = buf.find("\r\n", pos);
      if (crlf == std::string::npos) {
        return std::nullopt;
      }
      const std::size_t size = std::strtoul(buf.substr(pos, crlf - pos).c_str(), nullptr, 16);
      if (size == 0) {
        r.body = body;
        // The trailer section ends with an empty line.
        if (buf.compare(crlf + 2, 2, "\r\n") == 0) {
          return crlf + 4;
        }
        const auto end = buf.find("\r\n\r\n", crlf + 2);
        if (end != std::string::npos) {
          return end + 4;
        }
        return eof ? std::optional<std::size_t>(buf.size()) : std::nullopt;
      }
      if (buf.size() < crlf + 2 + size + 2) {
        return std::nullopt;
      }
      body.append(buf, crlf + 2, size);
      pos = crlf + 2 + size + 2;
    }
  }
  if (auto cl = r.header("content-length")) {
    const std::size_t n = std::strtoul(cl->c_str(), nullptr, 10);
    if (buf.size() - start < n) {
      return std::nullopt;
    }
    r.body = buf.substr(start, n);
    return start + n;
  }
  if (!eof) {
    return std::nullopt;
  }
  r.body = buf.substr(start);
  return buf.size();
}

int connect_loopback(int port, const std::string& source_ip) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return -1;
  }
  if (!source_ip.empty()) {
    sockaddr_in src{};
    src.sin_family = AF_INET;
    if (::inet_pton(AF_INET, source_ip.c_str(), &src.sin_addr) != 1 ||
        ::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) {
      ::close(fd);
      return -1;
    }
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

const char* to_string(HttpEnd end) {
  switch (end) {
    case HttpEnd::kAnswered:
      return "answered";
    case HttpEnd::kClosed:
      return "closed before a complete response";
    case HttpEnd::kTimedOut:
      return "timed out";
    case HttpEnd::kConnectFailed:
      return "connect failed";
  }
  return "?";
}

// ---- HttpResponse -------------------------------------------------------------------------------

std::optional<std::string> HttpResponse::header(const std::string& name) const {
  auto it = headers.find(lower(name));
  if (it == headers.end()) {
    return std::nullopt;
  }
  return it->second;
}

std::vector<std::string> HttpResponse::all(const std::string& name) const {
  std::vector<std::string> out;
  auto [b, e] = headers.equal_range(lower(name));
  for (auto it = b; it != e; ++it) {
    out.push_back(it->second);
  }
  return out;
}

boost::json::value HttpResponse::json() const {
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  if (ec) {
    return nullptr;
  }
  return v;
}

// ---- HttpConnection -----------------------------------------------------------------------------

HttpConnection::HttpConnection(int port, std::chrono::milliseconds timeout,
                               const std::string& source_ip)
    : fd_(connect_loopback(port, source_ip)), timeout_(timeout) {}

HttpConnection::~HttpConnection() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

bool HttpConnection::send(std::string_view data) {
  if (fd_ < 0) {
    return false;
  }
  while (!data.empty()) {
    const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

HttpConnection::Fill HttpConnection::fill(Clock::time_point deadline) {
  if (fd_ < 0) {
    return Fill::kClosed;
  }
  char tmp[8192];
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      return Fill::kTimedOut;
    }
    pollfd p{fd_, POLLIN, 0};
    const int pr = ::poll(&p, 1, static_cast<int>(std::min<long>(left.count(), 100)));
    if (pr < 0 && errno != EINTR) {
      return Fill::kClosed;
    }
    if (pr <= 0) {
      continue;
    }
    const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return Fill::kClosed;  // EOF, or a reset
    }
    buf_.append(tmp, static_cast<std::size_t>(n));
    return Fill::kData;
  }
}

HttpResponse HttpConnection::read_response(bool head) {
  HttpResponse r;
  if (fd_ < 0) {
    r.end = HttpEnd::kConnectFailed;
    return r;
  }
  const auto deadline = Clock::now() + timeout_;
  for (;;) {
    if (auto used = parse_response(buf_, false, head, r)) {
      r.raw = buf_.substr(0, *used);
      buf_.erase(0, *used);
      r.end = HttpEnd::kAnswered;
      return r;
    }
    const Fill f = fill(deadline);
    if (f == Fill::kData) {
      continue;
    }
    // Cut short: keep what can be parsed; a body without framing ends here.
    r.end = f == Fill::kClosed ? HttpEnd::kClosed : HttpEnd::kTimedOut;
    HttpResponse partial;
    if (parse_response(buf_, true, head, partial)) {
      if (f == Fill::kClosed) {
        partial.end = HttpEnd::kAnswered;  // close-delimited body (RFC 9112 §6.3)
      } else {
        partial.end = r.end;
      }
      r = std::move(partial);
    }
    r.raw = buf_;
    buf_.clear();
    return r;
  }
}

std::optional<std::string> HttpConnection::rest_until_closed() {
  const auto deadline = Clock::now() + timeout_;
  for (;;) {
    const Fill f = fill(deadline);
    if (f == Fill::kClosed) {
      std::string out = std::move(buf_);
      buf_.clear();
      return out;
    }
    if (f == Fill::kTimedOut) {
      return std::nullopt;
    }
  }
}

bool HttpConnection::closed_by_peer() {
  const auto deadline = Clock::now() + timeout_;
  for (;;) {
    const Fill f = fill(deadline);
    buf_.clear();
    if (f != Fill::kData) {
      return f == Fill::kClosed;
    }
  }
}

HttpConnection::Read HttpConnection::read_some(std::chrono::milliseconds wait) {
  switch (fill(Clock::now() + wait)) {
    case Fill::kData:
      return Read::kData;
    case Fill::kClosed:
      return Read::kClosed;
    case Fill::kTimedOut:
      break;
  }
  return Read::kNothing;
}

// ---- one-shot requests --------------------------------------------------------------------------

std::string serialize(int port, const HttpRequest& request) {
  std::string out = request.method + " " + request.target + " HTTP/1.1\r\n";
  out += "Host: 127.0.0.1:" + std::to_string(port) + "\r\n";
  bool has_length = false;
  for (const auto& [k, v] : request.headers) {
    out += k + ": " + v + "\r\n";
    has_length = has_length || lower(k) == "content-length";
  }
  if (!has_length && (!request.body.empty() || request.method == "POST" ||
                      request.method == "PUT" || request.method == "PATCH")) {
    out += "Content-Length: " + std::to_string(request.body.size()) + "\r\n";
  }
  out += "Connection: close\r\n\r\n";
  out += request.body;
  return out;
}

namespace {

HttpResponse exchange(int port, const std::string& bytes, std::chrono::milliseconds timeout,
                      const std::string& source_ip) {
  HttpConnection c(port, timeout, source_ip);
  if (!c.connected()) {
    return HttpResponse{};
  }
  // The server may answer (413) and close before reading everything: read what it says anyway.
  c.send(bytes);
  HttpResponse r = c.read_response();
  r.raw += c.pending();
  return r;
}

}  // namespace

HttpResponse http_request(int port, const HttpRequest& request, std::chrono::milliseconds timeout,
                          const std::string& source_ip) {
  return exchange(port, serialize(port, request), timeout, source_ip);
}

HttpResponse http_raw(int port, const std::string& bytes, std::chrono::milliseconds timeout) {
  return exchange(port, bytes, timeout, {});
}

HttpResponse http_get(int port, const std::string& target) {
  HttpRequest r;
  r.target = target;
  return http_request(port, r);
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw std::runtime_error("socket");
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("bind 127.0.0.1:0");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace latchkey::test
