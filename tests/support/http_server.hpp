#pragma once
// A fake HTTP/1.1 server on 127.0.0.1:0 for the clients under test (the OAuth relying party, the
// real binary's outbound calls). Each connection is served on its own thread (Connection: close),
// so one route can hang, trickle or stream forever without blocking the others. Routes are a
// function of the request; every request is counted and recorded per path, so tests can assert
// which endpoints were (not) called.
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace latchkey::test {

struct FakeRequest {
  std::string method;
  std::string path;  // without query
  std::string query;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

struct FakeResponse {
  // How the answer travels.
  enum class Transport {
    kNormal,          // after `delay`, the whole answer
    kHang,            // never answer (until the server stops)
    kTrickle,         // the answer one byte every `delay`
    kClose,           // close without answering
    kEndlessChunked,  // a 200 with a chunked body that never ends
    kHugeLength,      // Content-Length: 10^12, then a few bytes and silence
  };

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
  std::chrono::milliseconds delay{0};  // sleep before answering (slow server)
  std::string extra_headers;           // raw "Name: value\r\n" lines
  Transport transport = Transport::kNormal;
};

class FakeHttpServer {
 public:
  using Handler = std::function<FakeResponse(const FakeRequest&)>;

  explicit FakeHttpServer(Handler handler);  // throws std::runtime_error when it cannot listen
  FakeHttpServer(const FakeHttpServer&) = delete;
  FakeHttpServer& operator=(const FakeHttpServer&) = delete;
  ~FakeHttpServer() { stop(); }

  // Ends every connection (hanging ones included) and joins the threads. Idempotent.
  void stop();

  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  [[nodiscard]] int count(const std::string& path) const;
  [[nodiscard]] int total() const;
  [[nodiscard]] FakeRequest last(const std::string& path) const;  // {} when never called

 private:
  void accept_loop();
  void serve(int c);
  bool read_request(int c, FakeRequest& req);
  bool send_all(int c, std::string_view data);
  bool nap(std::chrono::milliseconds d);  // false when stopping

  Handler handler_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<std::thread> conn_threads_;
  std::map<std::string, int> counts_;
  std::map<std::string, FakeRequest> last_;
  std::thread accept_thread_;  // last: started when everything else is ready
};

}  // namespace latchkey::test
