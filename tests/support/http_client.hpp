#pragma once
// The raw HTTP/1.1 client of every suite: plain POSIX sockets to 127.0.0.1, no library between
// the test and the bytes, so tests can send malformed, partial or pipelined requests and see
// exactly what came back and how the exchange ended.
//   - http_request / http_raw / http_get: one request on a fresh connection (Connection: close);
//   - HttpConnection: a connection kept open (keep-alive, pipelining, partial sends, waiting for
//     the peer to close).
#include <boost/json.hpp>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace latchkey::test {

// How an exchange ended.
enum class HttpEnd {
  kAnswered,       // a complete response arrived
  kClosed,         // the peer closed or reset the connection before a complete response
  kTimedOut,       // the client's timeout passed first
  kConnectFailed,  // the connection was not accepted
};
const char* to_string(HttpEnd end);

struct HttpResponse {
  int status = 0;                                   // 0: no (parseable) response
  std::multimap<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string raw;   // the bytes received
  std::string head;  // status line and fields as received, blank line included
  HttpEnd end = HttpEnd::kConnectFailed;

  [[nodiscard]] std::optional<std::string> header(const std::string& name) const;
  [[nodiscard]] std::vector<std::string> all(const std::string& name) const;
  [[nodiscard]] boost::json::value json() const;  // null when the body is not JSON
  // The server turned the connection away: refused it, or closed or reset it without a byte of
  // answer. A timeout is not that: a server that hangs was not heard from.
  [[nodiscard]] bool turned_away() const {
    return raw.empty() && (end == HttpEnd::kClosed || end == HttpEnd::kConnectFailed);
  }
};

struct HttpRequest {
  std::string method = "GET";
  std::string target = "/";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// The request's bytes: request line, Host, the given fields, Content-Length when there is a body
// or the method carries one (unless given), and Connection: close.
std::string serialize(int port, const HttpRequest& request);

// One request on a fresh connection (from `source_ip`, another loopback address such as
// 127.0.0.2, when given); reads until a complete response, the close, or `timeout`.
HttpResponse http_request(int port, const HttpRequest& request,
                          std::chrono::milliseconds timeout = std::chrono::seconds(15),
                          const std::string& source_ip = {});
// Arbitrary bytes; the answer is parsed when it is HTTP.
HttpResponse http_raw(int port, const std::string& bytes,
                      std::chrono::milliseconds timeout = std::chrono::seconds(15));
HttpResponse http_get(int port, const std::string& target);

// A free TCP port on 127.0.0.1 (bind :0, read it, close). Racy by nature, good enough for tests.
int free_port();

class HttpConnection {
 public:
  // Connects to 127.0.0.1:`port` (from `source_ip` when given). `timeout` bounds each read below.
  explicit HttpConnection(int port, std::chrono::milliseconds timeout = std::chrono::seconds(15),
                          const std::string& source_ip = {});
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  [[nodiscard]] bool connected() const { return fd_ >= 0; }
  [[nodiscard]] int fd() const { return fd_; }

  // Sends all of `data`; false when the connection failed first.
  bool send(std::string_view data);
  // The next response on the connection: the body by Content-Length or chunked framing, none for
  // HEAD (`head`), 1xx, 204 and 304, otherwise up to the close. `end` says how it ended; a
  // response cut short keeps what was parsed of it (status 0 when not even a status line came).
  HttpResponse read_response(bool head = false);
  // Everything the peer still sends (after what read_response consumed) until it closes or
  // resets; nullopt when it is still open after the timeout.
  std::optional<std::string> rest_until_closed();
  // True when the peer closes (EOF or reset) within the timeout; data is discarded.
  bool closed_by_peer();
  // Waits up to `wait` (not the timeout) for more bytes, which join pending().
  enum class Read { kData, kClosed, kNothing };
  Read read_some(std::chrono::milliseconds wait);
  // Bytes received but not consumed by a read_response.
  [[nodiscard]] const std::string& pending() const { return buf_; }

 private:
  enum class Fill { kData, kClosed, kTimedOut };
  Fill fill(std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  std::chrono::milliseconds timeout_;
  std::string buf_;
};

}  // namespace latchkey::test
