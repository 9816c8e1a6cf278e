#pragma once
// The HTTP/1.1 server. Beast/Asio live only in http/'s .cpp files and its private detail/ headers
// (design.md §3.14): this header is plain.
//
// Threads: `io_threads` single-threaded io_contexts (one per core; no strands needed), one
// acceptor handing connections round-robin. Handlers run on a pool of `workers` threads so a slow
// handler (store, outbound HTTP, argon2id) never blocks an I/O thread; routes registered with
// inline_ok run on the I/O thread; routes on Pool::kOutbound (those that wait on an identity
// provider) on a second pool of `outbound_workers` threads, so a provider that does not answer
// holds none of the `workers` every other route needs (the bulkhead, docs/architecture.md). Every
// read and write has a deadline and a size limit (design.md §3.12, security catalog §2.K).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "core/metrics.hpp"
#include "http/message.hpp"
#include "http/router.hpp"

namespace latchkey::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;                    // 0 = ephemeral; see Server::port()
  unsigned io_threads = 1;                   // 0 = one per core
  unsigned workers = 2;                      // handler threads (>= 1)
  unsigned outbound_workers = 32;            // Pool::kOutbound handler threads (>= 1)
  std::size_t max_header_bytes = 16 * 1024;  // request line + headers (431-class error past it)
  std::size_t max_header_count = 100;
  std::size_t max_body_bytes = 64 * 1024;
  std::chrono::milliseconds read_timeout{10'000};  // whole request (headers + body): slowloris
  std::chrono::milliseconds write_timeout{10'000};
  std::chrono::milliseconds idle_timeout{60'000};  // keep-alive wait for the next request
  std::chrono::milliseconds shutdown_timeout{10'000};
  std::size_t max_connections = 10'000;  // more are accepted and closed at once
  bool access_log = true;
};

// "host:port", "[::1]:8080", ":8080" (host 0.0.0.0). Errors: kInternal naming the value.
[[nodiscard]] core::Status parse_listen(std::string_view listen, ServerOptions& options);

// Turns a server-detected error into a response (the app maps Code to Clerk's envelope).
using ErrorResponder = std::function<Response(const core::Error&, const Request&)>;
// Called for every response before it is written (CORS, security headers). Runs on the thread
// that produced the response. May be empty.
using ResponseHook = std::function<void(const Request&, Response&)>;

// A minimal default ErrorResponder: {"errors":[{"code":...,"message":...}]} with the status and
// wire code of core::error_info (the one Code table), so a server without the API's responder
// still answers a malformed request correctly.
[[nodiscard]] Response default_error_response(const core::Error& error, const Request& request);

class Server {
 public:
  // `router` and `metrics` must outlive the server. Registers latchkey_http_* metrics.
  Server(ServerOptions options, const Router& router, core::Metrics& metrics,
         ErrorResponder error_responder = default_error_response);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  void set_response_hook(ResponseHook hook);  // before start()

  // Binds and listens (the bound port is then known). Errors: kServiceUnavailable with the
  // address and the system error.
  core::Status start();
  [[nodiscard]] std::uint16_t port() const;

  // Runs the I/O threads (the caller's thread is one of them) until stop() and the drain have
  // finished. Calls start() if it was not called. Single use.
  core::Status run();
  // Same, with SIGTERM/SIGINT triggering stop().
  core::Status run_until_signal();

  // Graceful shutdown; thread-safe, idempotent, returns at once. Stops accepting (new
  // connections are refused), closes idle keep-alive connections, lets in-flight requests
  // finish and their responses be written (with `connection: close`), and force-closes what is
  // left after shutdown_timeout. run() then returns. A handler still running on a worker at
  // the deadline is not interrupted; run() waits for it to return.
  void stop();

  [[nodiscard]] std::size_t active_connections() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace latchkey::http
