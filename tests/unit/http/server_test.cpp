// A real server on 127.0.0.1:0 driven by the test-support library's raw HTTP client.
#include "http/server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "core/log.hpp"
#include "http/metrics_handler.hpp"
#include "support/http_client.hpp"

namespace latchkey::http {
namespace {

using namespace std::chrono_literals;

// The test-support library's raw client, with this file's accessors: header() is "" when the
// field is absent, a response cut short throws, and the last response head is kept.
struct HttpResponse : test::HttpResponse {
  [[nodiscard]] std::string header(const std::string& name) const {
    return test::HttpResponse::header(name).value_or("");
  }
};

class Client : public test::HttpConnection {
 public:
  explicit Client(std::uint16_t port, std::chrono::milliseconds timeout = 3000ms)
      : HttpConnection(port, timeout) {}

  // Reads one response; `head` = response to HEAD (no body). Throws on timeout/EOF.
  HttpResponse read_response(bool head = false) {
    auto r = HttpConnection::read_response(head);
    if (r.end != test::HttpEnd::kAnswered) {
      throw std::runtime_error(std::string("no complete response (") + test::to_string(r.end) +
                               "): " + r.raw);
    }
    last_head = r.head;
    return HttpResponse{std::move(r)};
  }

  HttpResponse request(const std::string& raw, bool head = false) {
    if (!send(raw)) {
      throw std::runtime_error("send failed");
    }
    return read_response(head);
  }

  // The raw status line and fields of the last response read, blank line included.
  std::string last_head;
};

std::string get(const std::string& path, const std::string& extra = "") {
  return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra + "\r\n";
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.add(Method::kGet, "/hello",
                [this](Request&) {
                  worker_thread_ = std::this_thread::get_id();
                  Response r;
                  r.body = "hello";
                  r.set("content-type", "text/plain");
                  return r;
                },
                {"hello", false});
    router_.add(Method::kGet, "/inline",
                [this](Request&) {
                  inline_thread_ = std::this_thread::get_id();
                  Response r;
                  r.body = "inline";
                  return r;
                },
                {"inline", true});
    router_.add(Method::kPost, "/echo", [](Request& req) {
      Response r;
      r.body = req.body;
      return r;
    });
    router_.add(Method::kGet, "/items/{id}",
                [](Request& req) {
                  Response r;
                  r.body = std::string(req.param("id")) + "|" + req.path + "|" + req.query;
                  return r;
                },
                {"item", false});
    router_.add(Method::kGet, "/slow", [](Request&) {
      std::this_thread::sleep_for(300ms);
      Response r;
      r.body = "slow done";
      return r;
    });
    router_.add(Method::kGet, "/request-id", [](Request& req) {
      Response r;
      r.body = req.request_id;
      return r;
    });
    router_.add(Method::kGet, "/throws",
                [](Request&) -> Response { throw std::runtime_error("boom"); });
    router_.add(Method::kGet, "/bad-header", [](Request&) {
      Response r;
      r.set("x-injected", "a\r\nset-cookie: evil=1");
      r.set("x-fine", "ok");
      r.set("content-length", "999");
      return r;
    });
    router_.add(Method::kGet, "/owned-headers", [](Request&) {
      Response r;
      r.status = 201;
      r.set("Content-Length", "999");
      r.set("X-Request-Id", "forged");
      r.set("CONNECTION", "close");
      r.set("Transfer-Encoding", "chunked");
      r.set("Date", "yesterday");
      r.set("Server", "other");
      r.set("Keep-Alive", "timeout=1");
      r.set("set-cookie", "a=1");
      r.set("set-cookie", "b=2");
      r.set("X-Mixed-Case", "kept");
      r.body = "created";
      return r;
    });
    router_.add(Method::kGet, "/no-content", [](Request&) {
      Response r;
      r.status = 204;
      r.body = "dropped";
      return r;
    });
    // Reports the capacity of the spare body buffer it was handed, then answers with a body of
    // the size asked for in the query, built in that buffer.
    router_.add(Method::kGet, "/body-buffer", [](Request& req) {
      std::string body = std::move(req.body_buffer);
      const std::string capacity = std::to_string(body.capacity());
      body.assign(capacity);
      body.resize(std::stoul(req.query), '.');
      Response r;
      r.body = std::move(body);
      return r;
    });
    router_.add(Method::kGet, "/metrics", metrics_handler(metrics_), {"metrics", true});
    router_.add(Method::kGet, "/smuggled", [this](Request&) {
      ++smuggled_;
      return Response{};
    });

    options_.port = 0;
    options_.io_threads = 1;
    options_.workers = 2;
    options_.max_body_bytes = 1024;
    options_.max_header_bytes = 2048;
    options_.read_timeout = 2000ms;
    options_.idle_timeout = 2000ms;
    options_.shutdown_timeout = 2000ms;
    options_.access_log = false;
  }

  void TearDown() override { stop_server(); }

  void start_server() {
    server_ = std::make_unique<Server>(options_, router_, metrics_,
                                       [](const core::Error& e, const Request& req) {
                                         Response r;
                                         switch (e.code) {
                                           case core::Code::kResourceNotFound:
                                             r.status = 404;
                                             break;
                                           case core::Code::kMethodNotAllowed:
                                             r.status = 405;
                                             break;
                                           case core::Code::kRequestBodyTooLarge:
                                             r.status = 413;
                                             break;
                                           case core::Code::kMalformedRequest:
                                             r.status = 400;
                                             break;
                                           case core::Code::kRequestHeadersTooLarge:
                                             r.status = 431;
                                             break;
                                           case core::Code::kRequestLineTooLong:
                                             r.status = 414;
                                             break;
                                           default:
                                             r.status = 500;
                                         }
                                         r.set("x-error", "responder");
                                         r.body = "error for " + req.path;
                                         return r;
                                       });
    ASSERT_TRUE(server_->start());
    ASSERT_NE(server_->port(), 0);
    run_done_ = false;
    thread_ = std::thread([this] {
      io_thread_ = std::this_thread::get_id();
      (void)server_->run();
      run_done_ = true;
    });
    // Wait until the I/O thread is known (run() started).
    for (int i = 0; i < 200 && io_thread_.load() == std::thread::id(); ++i) {
      std::this_thread::sleep_for(1ms);
    }
  }

  void stop_server() {
    if (server_) {
      server_->stop();
      if (thread_.joinable()) {
        thread_.join();
      }
      server_.reset();
    }
  }

  Router router_;
  core::Metrics metrics_{false};
  ServerOptions options_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  std::atomic<std::thread::id> io_thread_{};
  std::atomic<bool> run_done_{false};
  std::atomic<std::thread::id> worker_thread_{};
  std::atomic<int> smuggled_{0};  // requests that reached GET /smuggled
  std::atomic<std::thread::id> inline_thread_{};
};

TEST_F(ServerTest, ServesRouteWithStandardHeaders) {
  start_server();
  Client c(server_->port());
  ASSERT_TRUE(c.connected());
  auto r = c.request(get("/hello"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello");
  EXPECT_EQ(r.header("content-length"), "5");
  EXPECT_EQ(r.header("content-type"), "text/plain");
  EXPECT_EQ(r.header("server"), "latchkey");
  EXPECT_EQ(r.header("date").size(), 29U);
  EXPECT_EQ(r.header("date").substr(26), "GMT");
  EXPECT_EQ(r.header("x-request-id").size(), 16U);
  EXPECT_EQ(r.header("connection"), "");
}

// The head is written by hand: status line with the reason phrase, the handler's fields in
// order (repeats kept), then exactly one of each field the server owns, whatever letter case a
// handler used for its own copy.
TEST_F(ServerTest, ResponseHeadHasOneOfEachServerOwnedField) {
  start_server();
  Client c(server_->port());
  auto r = c.request(get("/owned-headers"));
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.body, "created");
  const std::string& head = c.last_head;
  EXPECT_TRUE(head.starts_with("HTTP/1.1 201 Created\r\n")) << head;
  EXPECT_TRUE(head.ends_with("\r\n\r\n"));
  auto count = [&](std::string_view needle) {
    std::size_t n = 0;
    std::string lower = head;
    for (auto& ch : lower) {
      ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    }
    for (auto pos = lower.find(needle); pos != std::string::npos;
         pos = lower.find(needle, pos + 1)) {
      ++n;
    }
    return n;
  };
  EXPECT_EQ(count("\r\ncontent-length: 7\r\n"), 1U);
  EXPECT_EQ(count("content-length:"), 1U);
  EXPECT_EQ(count("x-request-id:"), 1U);
  EXPECT_EQ(count("forged"), 0U);
  EXPECT_EQ(count("connection:"), 0U);
  EXPECT_EQ(count("transfer-encoding"), 0U);
  EXPECT_EQ(count("keep-alive"), 0U);
  EXPECT_EQ(count("yesterday"), 0U);
  EXPECT_EQ(count("\r\nserver: latchkey\r\n"), 1U);
  EXPECT_EQ(count("server:"), 1U);
  EXPECT_EQ(count("date:"), 1U);
  EXPECT_NE(head.find("set-cookie: a=1\r\nset-cookie: b=2\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("\r\nX-Mixed-Case: kept\r\n"), std::string::npos) << head;
  // The connection stays usable: the request after it is answered normally.
  EXPECT_EQ(c.request(get("/hello")).body, "hello");
}

TEST_F(ServerTest, NoContentHasNeitherLengthNorBody) {
  start_server();
  Client c(server_->port());
  auto r = c.request(get("/no-content"));
  EXPECT_EQ(r.status, 204);
  EXPECT_TRUE(c.last_head.starts_with("HTTP/1.1 204 No Content\r\n")) << c.last_head;
  EXPECT_EQ(r.headers.count("content-length"), 0U);
  // Nothing of "dropped" may precede the next response on the connection.
  auto next = c.request(get("/hello"));
  EXPECT_EQ(next.status, 200);
  EXPECT_EQ(next.body, "hello");
}

TEST_F(ServerTest, ResponseBodyStorageIsReusedOnTheConnection) {
  start_server();
  Client c(server_->port());
  auto first = c.request(get("/body-buffer?3000"));
  ASSERT_EQ(first.body.size(), 3000U);
  EXPECT_LT(std::stoul(first.body), 3000U);  // a new connection has no spare storage
  auto second = c.request(get("/body-buffer?100"));
  ASSERT_EQ(second.body.size(), 100U);
  EXPECT_GE(std::stoul(second.body), 3000U);  // the first body's allocation came back
  // A body too large to keep is released instead of staying with the connection.
  auto big = c.request(get("/body-buffer?40000"));
  ASSERT_EQ(big.body.size(), 40000U);
  auto after_big = c.request(get("/body-buffer?10"));
  EXPECT_LT(std::stoul(after_big.body), 40000U);
  // Storage stays with its connection.
  Client other(server_->port());
  EXPECT_LT(std::stoul(other.request(get("/body-buffer?10")).body), 3000U);
}

TEST_F(ServerTest, NotFoundAndMethodNotAllowedGoThroughErrorResponder) {
  start_server();
  Client c(server_->port());
  auto nf = c.request(get("/nope"));
  EXPECT_EQ(nf.status, 404);
  EXPECT_EQ(nf.header("x-error"), "responder");
  EXPECT_EQ(nf.body, "error for /nope");
  EXPECT_EQ(nf.header("x-request-id").size(), 16U);
  auto na = c.request("DELETE /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(na.status, 405);
  EXPECT_EQ(na.header("x-error"), "responder");
  EXPECT_EQ(na.header("allow"), "GET, HEAD");
  auto trace = c.request("TRACE /hello HTTP/1.1\r\nHost: x\r\nCookie: __client=secret\r\n\r\n");
  EXPECT_EQ(trace.status, 405);
  EXPECT_EQ(trace.body.find("secret"), std::string::npos);
}

TEST_F(ServerTest, OversizedBodyGets413AndClose) {
  start_server();
  Client c(server_->port());
  std::string body(4096, 'x');
  auto r = c.request("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4096\r\n\r\n" + body);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.header("x-error"), "responder");
  EXPECT_EQ(r.header("connection"), "close");
  EXPECT_TRUE(c.closed_by_peer());

  // A body within the limit is echoed.
  Client ok(server_->port());
  auto e = ok.request("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabcde");
  EXPECT_EQ(e.status, 200);
  EXPECT_EQ(e.body, "abcde");
}

TEST_F(ServerTest, ChunkedBodyOverLimitGets413) {
  start_server();
  Client c(server_->port());
  std::string chunk(800, 'y');
  auto r = c.request("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n320\r\n" +
                     chunk + "\r\n320\r\n" + chunk + "\r\n0\r\n\r\n");
  EXPECT_EQ(r.status, 413);
}

TEST_F(ServerTest, GarbageBytesGet400AndClose) {
  start_server();
  Client c(server_->port());
  auto r = c.request(std::string("\x16\x03\x01\x02\x00garbage\r\n\r\n", 16));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.header("connection"), "close");
  EXPECT_TRUE(c.closed_by_peer());

  Client c2(server_->port());
  auto r2 = c2.request("GET /hello HTTP/1.1\r\nBad Header Name: x\r\n\r\n");
  EXPECT_EQ(r2.status, 400);
}

TEST_F(ServerTest, HeaderLimitIsEnforced) {
  start_server();
  // RFC 6585 §5: a head larger than max_header_bytes, or with more than max_header_count fields,
  // is 431 (it was 400), through the error responder, and the connection closes.
  Client c(server_->port());
  auto r = c.request(get("/hello", "X-Big: " + std::string(4096, 'a') + "\r\n"));
  EXPECT_EQ(r.status, 431);
  EXPECT_EQ(r.header("x-error"), "responder");
  EXPECT_EQ(r.header("connection"), "close");
  EXPECT_TRUE(c.closed_by_peer());

  Client many(server_->port());
  std::string extra;
  for (int i = 0; i < 150; ++i) {
    extra += "h" + std::to_string(i) + ": v\r\n";
  }
  auto m = many.request(get("/hello", extra));
  EXPECT_EQ(m.status, 431);
  EXPECT_TRUE(many.closed_by_peer());

  // RFC 9112 §3: a request line longer than the limit is 414.
  Client line(server_->port());
  auto l = line.request(get("/hello?" + std::string(4096, 'q')));
  EXPECT_EQ(l.status, 414);
  EXPECT_TRUE(line.closed_by_peer());

  // Exactly at the limit is still served.
  std::string head = get("/hello", "X-Pad: \r\n");
  head.insert(head.size() - 4, std::string(options_.max_header_bytes - head.size(), 'p'));
  ASSERT_EQ(head.size(), options_.max_header_bytes);
  Client exact(server_->port());
  EXPECT_EQ(exact.request(head).status, 200);
}

// RFC 9112 §6 (issue 9, finding 3): a request framed in any way but one Content-Length or a
// plain "Transfer-Encoding: chunked" is 400, the connection closes, and the bytes after its head
// are never read as a request: what a lenient proxy in front took for a body (here a GET of
// /smuggled) is neither answered nor logged.
TEST_F(ServerTest, AmbiguousFramingGets400AndCloseAndNothingSmuggledIsServed) {
  std::ostringstream log;
  ASSERT_TRUE(core::init_logging("info", "json", &log));
  options_.access_log = true;
  start_server();
  const std::string smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string chunk = "0\r\n\r\n";
  const std::string length = std::to_string(chunk.size() + smuggled.size());
  const std::vector<std::string> heads = {
      "Transfer-Encoding: chunked, identity\r\n",
      "Transfer-Encoding: identity, chunked\r\n",
      "Transfer-Encoding: xchunked\r\n",
      "Transfer-Encoding: xchunked\r\nContent-Length: " + length + "\r\n",
      "Content-Length: " + length + "\r\nTransfer-Encoding: xchunked\r\n",
      "Transfer-Encoding: gzip, chunked\r\n",
      "Transfer-Encoding: chunked;q=1\r\n",
      "Transfer-Encoding: \r\n",
      "Transfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n",
      "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
      "Transfer-Encoding:\r\n chunked\r\n",            // obs-fold (RFC 9112 §5.2)
      "Transfer-Encoding: identity\r\n\tchunked\r\n",  // obs-fold with HTAB
      "X-Pad: a\r\n b\r\nTransfer-Encoding: chunked\r\n",
      "Transfer-Encoding: chunked\r\nContent-Length: " + length + "\r\n",
      "Content-Length: " + length + "\r\nTransfer-Encoding: chunked\r\n",
      "Content-Length: " + length + "\r\nContent-Length: 0\r\n",
      "Content-Length: 0\r\nContent-Length: 0\r\n",
      "Content-Length: 0, 0\r\n",
      "Content-Length: " + length + ", 0\r\n",
  };
  for (const auto& h : heads) {
    SCOPED_TRACE(h);
    Client c(server_->port());
    auto r = c.request("POST /echo HTTP/1.1\r\nHost: x\r\n" + h + "\r\n" + chunk + smuggled);
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.header("connection"), "close");
    auto rest = c.rest_until_closed();
    ASSERT_TRUE(rest.has_value()) << "connection left open";
    EXPECT_EQ(*rest, "") << "a second response";
  }
  // RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 request is faulty framing too.
  Client old(server_->port());
  auto o = old.request("POST /echo HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                       chunk + smuggled);
  EXPECT_EQ(o.status, 400);
  EXPECT_EQ(old.rest_until_closed().value_or("open"), "");
  stop_server();
  EXPECT_EQ(smuggled_.load(), 0);
  EXPECT_EQ(log.str().find("/smuggled"), std::string::npos) << log.str();
  EXPECT_NE(log.str().find(R"("status":400)"), std::string::npos) << log.str();
  ASSERT_TRUE(core::init_logging("warn", "json", nullptr));
}

TEST_F(ServerTest, PlainChunkedAndSingleContentLengthStillWork) {
  start_server();
  Client c(server_->port());
  // Any letter case of the one coding we decode, then keep-alive carries on in sync.
  auto r = c.request(
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n"
      "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "abcde");
  EXPECT_NE(r.header("connection"), "close");
  auto l = c.request("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nxyz");
  EXPECT_EQ(l.body, "xyz");
  EXPECT_EQ(c.request(get("/smuggled")).status, 200);  // positive control for the route itself
  EXPECT_EQ(smuggled_.load(), 1);
}

TEST_F(ServerTest, MalformedHeadsAreRefusedAtOnce) {
  start_server();
  // Not HTTP at all (a TLS hello without any CRLF), and bare-LF line endings: 400 right away,
  // not after the read timeout.
  for (const std::string& in : {std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11),
                                std::string("GET /hello HTTP/1.1\nHost: x\n\n"),
                                std::string(" GET /hello HTTP/1.1\r\n\r\n"),
                                std::string("GET /hello HTTP/1.1\r\n Host: x\r\n\r\n")}) {
    Client c(server_->port());
    const auto t0 = std::chrono::steady_clock::now();
    auto r = c.request(in);
    EXPECT_EQ(r.status, 400) << in;
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1000ms) << in;
    EXPECT_TRUE(c.closed_by_peer());
  }
}

TEST_F(ServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  start_server();
  Client c(server_->port());
  auto a = c.request(get("/hello"));
  auto b = c.request(get("/items/42"));
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(b.status, 200);
  EXPECT_EQ(b.body, "42|/items/42|");
  // Pipelined: two requests in one write, two responses in order.
  ASSERT_TRUE(c.send(get("/items/1") + get("/items/2")));
  EXPECT_EQ(c.read_response().body, "1|/items/1|");
  EXPECT_EQ(c.read_response().body, "2|/items/2|");
  // Connection: close is honoured.
  auto last = c.request(get("/hello", "Connection: close\r\n"));
  EXPECT_EQ(last.header("connection"), "close");
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(ServerTest, PathIsDecodedQueryKeptRaw) {
  start_server();
  Client c(server_->port());
  auto r = c.request(get("/items/a%20b?code=x%20y&state=s"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "a b|/items/a b|code=x%20y&state=s");
  Client bad(server_->port());
  EXPECT_EQ(bad.request(get("/items/%00")).status, 400);
  Client bad2(server_->port());
  EXPECT_EQ(bad2.request(get("/items/%zz")).status, 400);
  Client bad3(server_->port());
  EXPECT_EQ(bad3.request(get("http://example.com/hello")).status, 400);
}

TEST_F(ServerTest, HeadIsGetWithoutBody) {
  start_server();
  Client c(server_->port());
  auto r = c.request("HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n", /*head=*/true);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-length"), "5");
  // The connection is still in sync: the next response parses.
  auto next = c.request(get("/items/7"));
  EXPECT_EQ(next.body, "7|/items/7|");
}

TEST_F(ServerTest, RequestIdEchoedWhenValidGeneratedOtherwise) {
  start_server();
  Client c(server_->port());
  auto ok = c.request(get("/request-id", "X-Request-Id: abc-DEF_1.2\r\n"));
  EXPECT_EQ(ok.header("x-request-id"), "abc-DEF_1.2");
  EXPECT_EQ(ok.body, "abc-DEF_1.2");
  for (std::string bad : {std::string("has space"), std::string(65, 'a'), std::string("a/b"),
                          std::string("\"quote\"")}) {
    auto r = c.request(get("/request-id", "X-Request-Id: " + bad + "\r\n"));
    EXPECT_EQ(r.header("x-request-id").size(), 16U) << bad;
    EXPECT_NE(r.header("x-request-id"), bad);
    EXPECT_EQ(r.body, r.header("x-request-id"));
  }
  auto a = c.request(get("/request-id"));
  auto b = c.request(get("/request-id"));
  EXPECT_NE(a.body, b.body);
}

TEST_F(ServerTest, HandlersRunOnWorkersInlineRoutesOnIoThread) {
  start_server();
  Client c(server_->port());
  EXPECT_EQ(c.request(get("/hello")).status, 200);
  EXPECT_EQ(c.request(get("/inline")).status, 200);
  ASSERT_NE(io_thread_.load(), std::thread::id());
  EXPECT_EQ(inline_thread_.load(), io_thread_.load());
  EXPECT_NE(worker_thread_.load(), io_thread_.load());
  EXPECT_NE(worker_thread_.load(), std::thread::id());
}

// The bulkhead: handlers on Pool::kOutbound that never return hold none of the `workers`.
TEST_F(ServerTest, OutboundRoutesThatHangNeverHoldTheWorkers) {
  options_.workers = 1;
  options_.outbound_workers = 3;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> entered{0};
  auto hang = [&, released](Request&) {
    ++entered;
    released.wait();
    return Response{};
  };
  router_.add(Method::kGet, "/provider", hang, {"provider", false, Pool::kOutbound, {}});
  router_.add(Method::kGet, "/maybe",
              [&, released](Request& req) {
                if (req.query == "out") {
                  ++entered;
                  released.wait();
                }
                return Response{};
              },
              {"maybe", false, Pool::kWorkers, [](const Request& req) {
                 return req.query == "out" ? Pool::kOutbound : Pool::kWorkers;
               }});
  start_server();
  std::vector<std::future<int>> waiting;
  for (const char* target : {"/provider", "/provider", "/maybe?out"}) {
    waiting.push_back(std::async(std::launch::async, [this, target] {
      Client c(server_->port());
      return c.request(get(target)).status;
    }));
  }
  for (int i = 0; i < 5000 && entered.load() < 3; ++i) {
    std::this_thread::sleep_for(1ms);
  }
  ASSERT_EQ(entered.load(), 3) << "the outbound handlers did not all start";
  // Every outbound thread is held; the one worker still serves, the chooser's worker case too.
  Client c(server_->port());
  EXPECT_EQ(c.request(get("/hello")).status, 200);
  EXPECT_EQ(c.request(get("/maybe?in")).status, 200);
  for (auto& f : waiting) {
    EXPECT_EQ(f.wait_for(0ms), std::future_status::timeout) << "an outbound handler returned";
  }
  release.set_value();
  for (auto& f : waiting) {
    EXPECT_EQ(f.get(), 200);
  }
}

TEST_F(ServerTest, ThrowingHandlerGives500AndServerKeepsServing) {
  start_server();
  Client c(server_->port());
  EXPECT_EQ(c.request(get("/throws")).status, 500);
  EXPECT_EQ(c.request(get("/hello")).status, 200);
}

TEST_F(ServerTest, InvalidResponseHeadersAreDropped) {
  start_server();
  Client c(server_->port());
  auto r = c.request(get("/bad-header"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("x-injected"), "");
  EXPECT_EQ(r.header("set-cookie"), "");
  EXPECT_EQ(r.header("x-fine"), "ok");
  EXPECT_EQ(r.header("content-length"), "0");
}

TEST_F(ServerTest, ResponseHookSeesEveryResponse) {
  Server s(options_, router_, metrics_);  // default ErrorResponder
  std::atomic<int> calls{0};
  s.set_response_hook([&](const Request&, Response& res) {
    ++calls;
    res.set("x-hooked", "1");
  });
  ASSERT_TRUE(s.start());
  std::thread t([&] { (void)s.run(); });
  {
    Client c(s.port());
    EXPECT_EQ(c.request(get("/hello")).header("x-hooked"), "1");
    auto nf = c.request(get("/nope"));
    EXPECT_EQ(nf.status, 404);  // default responder
    EXPECT_EQ(nf.header("x-hooked"), "1");
    EXPECT_NE(nf.body.find("resource_not_found"), std::string::npos);
  }
  s.stop();
  t.join();
  EXPECT_EQ(calls.load(), 2);
}

TEST_F(ServerTest, IdleConnectionIsClosedAfterIdleTimeout) {
  options_.idle_timeout = 200ms;
  start_server();
  Client c(server_->port());
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.closed_by_peer());
  auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(waited, 150ms);
  EXPECT_LT(waited, 2000ms);
}

TEST_F(ServerTest, SlowRequestHitsReadTimeout) {
  options_.read_timeout = 300ms;
  start_server();
  Client c(server_->port());
  ASSERT_TRUE(c.send("GET /hello HTTP/1.1\r\nHost: x\r\n"));  // never finishes the headers
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.closed_by_peer());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2000ms);
}

TEST_F(ServerTest, GracefulShutdownFinishesInFlightRequests) {
  start_server();
  const auto port = server_->port();
  Client idle(port);
  EXPECT_EQ(idle.request(get("/hello")).status, 200);  // now an idle keep-alive connection

  Client slow(port);
  ASSERT_TRUE(slow.send(get("/slow")));
  std::this_thread::sleep_for(100ms);  // the handler is sleeping on a worker
  auto t0 = std::chrono::steady_clock::now();
  server_->stop();

  // New connections are refused once the acceptor is closed.
  bool refused = false;
  for (int i = 0; i < 100 && !refused; ++i) {
    Client probe(port, 200ms);
    refused = !probe.connected();
    if (!refused) {
      std::this_thread::sleep_for(5ms);
    }
  }
  EXPECT_TRUE(refused);
  // The idle keep-alive connection is closed at once.
  EXPECT_TRUE(idle.closed_by_peer());

  auto r = slow.read_response();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "slow done");
  EXPECT_EQ(r.header("connection"), "close");
  EXPECT_TRUE(slow.closed_by_peer());

  thread_.join();
  EXPECT_TRUE(run_done_.load());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, options_.shutdown_timeout);
  EXPECT_EQ(server_->active_connections(), 0U);
}

TEST_F(ServerTest, ShutdownDeadlineForceClosesStragglers) {
  options_.shutdown_timeout = 300ms;
  options_.read_timeout = 10'000ms;
  start_server();
  Client straggler(server_->port());
  ASSERT_TRUE(straggler.send("GET /hello HTTP/1.1\r\n"));  // busy: mid-request, not idle
  std::this_thread::sleep_for(50ms);
  auto t0 = std::chrono::steady_clock::now();
  server_->stop();
  thread_.join();
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 2000ms);
  EXPECT_TRUE(straggler.closed_by_peer());
}

TEST_F(ServerTest, SeveralIoThreadsServeConcurrentClients) {
  options_.io_threads = 3;
  start_server();
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 6; ++t) {
    clients.emplace_back([&, t] {
      Client c(server_->port());
      for (int i = 0; i < 20; ++i) {
        auto id = std::to_string(t) + "-" + std::to_string(i);
        auto r = c.request(get("/items/" + id));
        if (r.status == 200 && r.body == id + "|/items/" + id + "|") {
          ++ok;
        }
      }
    });
  }
  for (auto& c : clients) {
    c.join();
  }
  EXPECT_EQ(ok.load(), 120);
  auto t0 = std::chrono::steady_clock::now();
  server_->stop();
  thread_.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1000ms);
}

TEST_F(ServerTest, StopBeforeAnyConnectionReturnsQuickly) {
  start_server();
  auto t0 = std::chrono::steady_clock::now();
  server_->stop();
  thread_.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 500ms);
}

TEST_F(ServerTest, MetricsCountRequestsByRoute) {
  start_server();
  Client c(server_->port());
  c.request(get("/hello"));
  c.request(get("/hello"));
  c.request(get("/nope/at/all"));
  auto m = c.request(get("/metrics"));
  EXPECT_NE(m.body.find(R"(latchkey_http_requests_total{route="hello",method="GET",code="200"} 2)"),
            std::string::npos)
      << m.body;
  EXPECT_NE(
      m.body.find(R"(latchkey_http_requests_total{route="unmatched",method="GET",code="404"} 1)"),
      std::string::npos);
  EXPECT_NE(m.body.find(R"(latchkey_http_request_duration_seconds_count{route="hello"} 2)"),
            std::string::npos);
  EXPECT_NE(m.body.find("latchkey_http_connections_active 1"), std::string::npos);
  // Raw paths never become labels.
  EXPECT_EQ(m.body.find("/nope/at/all"), std::string::npos);
}

TEST_F(ServerTest, AccessLogHasRouteAndNoQuery) {
  std::ostringstream out;
  ASSERT_TRUE(core::init_logging("info", "json", &out));
  options_.access_log = true;
  start_server();
  {
    Client c(server_->port());
    auto r =
        c.request(get("/items/9?code=SECRETCODE&state=SECRETSTATE", "X-Request-Id: rid-1\r\n"));
    EXPECT_EQ(r.status, 200);
  }
  stop_server();
  std::string log = out.str();
  EXPECT_NE(log.find(R"("request_id":"rid-1")"), std::string::npos) << log;
  EXPECT_NE(log.find(R"("route":"item")"), std::string::npos) << log;
  EXPECT_NE(log.find(R"("path":"/items/9")"), std::string::npos) << log;
  EXPECT_NE(log.find(R"("status":200)"), std::string::npos) << log;
  EXPECT_EQ(log.find("SECRET"), std::string::npos) << log;
  ASSERT_TRUE(core::init_logging("warn", "json", nullptr));
}

TEST(ParseListen, AcceptsHostPortForms) {
  ServerOptions o;
  ASSERT_TRUE(parse_listen("127.0.0.1:8787", o));
  EXPECT_EQ(o.host, "127.0.0.1");
  EXPECT_EQ(o.port, 8787);
  ASSERT_TRUE(parse_listen("[::1]:0", o));
  EXPECT_EQ(o.host, "::1");
  EXPECT_EQ(o.port, 0);
  ASSERT_TRUE(parse_listen(":9000", o));
  EXPECT_EQ(o.host, "0.0.0.0");
  EXPECT_FALSE(parse_listen("localhost", o));
  EXPECT_FALSE(parse_listen("host:99999", o));
  EXPECT_FALSE(parse_listen("host:12ab", o));
  EXPECT_FALSE(parse_listen("::1:80", o));
  EXPECT_FALSE(parse_listen("host:", o));
}

TEST(ServerStart, ReportsBindFailure) {
  Router router;
  core::Metrics metrics(false);
  ServerOptions o;
  Server first(o, router, metrics);
  ASSERT_TRUE(first.start());
  o.port = first.port();
  Server second(o, router, metrics);
  auto s = second.start();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, core::Code::kServiceUnavailable);
}

// The fallback answer reads the one Code table: the same status and wire code as the API's
// envelope, for every refusal the server makes before a route runs.
TEST(DefaultErrorResponse, UsesTheCodeTable) {
  const Request req;
  for (auto code : {core::Code::kMalformedRequest, core::Code::kRequestBodyTooLarge,
                    core::Code::kRequestLineTooLong, core::Code::kRequestHeadersTooLarge,
                    core::Code::kResourceNotFound, core::Code::kMethodNotAllowed,
                    core::Code::kServiceUnavailable, core::Code::kInternal}) {
    const auto& info = core::error_info(code);
    const Response r = default_error_response(core::Error(code), req);
    EXPECT_EQ(r.status, info.status) << info.wire_code;
    EXPECT_EQ(r.body, R"({"errors":[{"code":")" + std::string(info.wire_code) + R"(","message":")" +
                          std::string(info.wire_code) + R"("}]})");
  }
  EXPECT_EQ(default_error_response(core::Error(core::Code::kRequestHeadersTooLarge), req).status,
            431);
}

}  // namespace
}  // namespace latchkey::http
