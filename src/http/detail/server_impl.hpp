#pragma once
// The server's state (Server::Impl) and its per-I/O-thread pieces, shared by server.cpp (the
// listener, the lifecycle, the handler pool and the metrics) and connection.cpp (one connection's
// request/response loop). Includes Beast/Asio: private to http/ and included only by its .cpp
// files (cmake/layers.txt).
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <memory_resource>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/metrics.hpp"
#include "http/http_date.hpp"
#include "http/message.hpp"
#include "http/router.hpp"
#include "http/server.hpp"

namespace latchkey::http::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

inline constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
using Clock = std::chrono::steady_clock;

// A response body's storage up to this size is kept for the next request on the connection
// (Request::body_buffer); it also bounds what an idle keep-alive connection holds on to.
inline constexpr std::size_t kMaxReusedBodyCapacity = 8 * 1024;

// The parsed request's fields live in a per-connection arena that is rewound for every request
// (Beast allocates one node per field otherwise). Typical browser headers fit in the inline
// part; larger ones (bounded by max_header_bytes) spill to the heap until the next rewind.
inline constexpr std::size_t kFieldArenaBytes = 2048;
using FieldAllocator = std::pmr::polymorphic_allocator<char>;
using RequestParser = bhttp::request_parser<bhttp::string_body, FieldAllocator>;

// ---- per-route statistics (lock-free after warm-up) --------------------------------------

struct RouteStats {
  std::string name;
  core::Histogram* duration = nullptr;
  static constexpr std::size_t kSlots = 32;
  std::array<std::atomic<std::uint32_t>, kSlots> keys{};
  std::array<std::atomic<core::Counter*>, kSlots> counters{};
};

// ---- connections ---------------------------------------------------------------------------

struct IoUnit;

enum class ConnState { kIdle, kBusy };

struct Connection {
  explicit Connection(tcp::socket s, IoUnit& u) : stream(std::move(s)), unit(&u) {}
  beast::tcp_stream stream;
  IoUnit* unit;
  ConnState state = ConnState::kIdle;
  Connection* prev = nullptr;
  Connection* next = nullptr;
};

// One single-threaded io_context and the connections it owns. Everything but `ctx` is touched
// only from that context's thread.
struct IoUnit {
  std::unique_ptr<asio::io_context> ctx = std::make_unique<asio::io_context>(1);
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard{
      asio::make_work_guard(*ctx)};
  Connection* head = nullptr;
  bool stopping = false;
  std::int64_t date_second = -1;
  std::array<char, 29> date{};

  void link(Connection* c) {
    c->next = head;
    if (head != nullptr) {
      head->prev = c;
    }
    head = c;
  }
  void unlink(Connection* c) {
    if (c->prev != nullptr) {
      c->prev->next = c->next;
    } else if (head == c) {
      head = c->next;
    }
    if (c->next != nullptr) {
      c->next->prev = c->prev;
    }
    c->prev = c->next = nullptr;
  }
  std::string_view http_date() {
    auto now = std::chrono::system_clock::now();
    auto sec = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    if (sec != date_second) {
      date_second = sec;
      format_http_date(now, date.data());
    }
    return {date.data(), date.size()};
  }
};

// Runs `fn` on the worker pool and resumes the awaiting coroutine on its own executor. The work
// is tracked so the I/O context does not run out of work while a handler is busy.
template <typename Fn>
asio::awaitable<Response> run_on_pool(asio::thread_pool& pool, Fn fn) {
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(Response)>(
      [&pool](auto handler, Fn f) {
        auto work = asio::prefer(asio::get_associated_executor(handler),
                                 asio::execution::outstanding_work.tracked);
        asio::post(pool,
                   [h = std::move(handler), f = std::move(f), work = std::move(work)]() mutable {
                     Response r = f();
                     asio::post(work, [h = std::move(h), r = std::move(r)]() mutable {
                       std::move(h)(std::move(r));
                     });
                   });
      },
      asio::use_awaitable, std::move(fn));
}

}  // namespace latchkey::http::detail

namespace latchkey::http {

struct Server::Impl {
  using IoUnit = detail::IoUnit;
  using Connection = detail::Connection;
  using RouteStats = detail::RouteStats;

  Impl(ServerOptions o, const Router& r, core::Metrics& m, ErrorResponder e);
  ~Impl();
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  std::size_t options_slot() const { return router.routes().size(); }
  std::size_t unmatched_slot() const { return router.routes().size() + 1; }
  std::size_t invalid_slot() const { return router.routes().size() + 2; }

  core::Counter& requests_counter(RouteStats& s, Method m, int status);
  core::Counter& slow_counter(RouteStats& s, Method m, int status);
  Response make_error(const core::Error& err, const Request& req);
  Response invoke(const Route& route, Request& req);
  void apply_hook(const Request& req, Response& res);
  void connection_closed();

  detail::asio::awaitable<void> accept_loop();  // server.cpp
  detail::asio::awaitable<void> session(detail::tcp::socket socket,
                                        IoUnit& unit);           // connection.cpp
  detail::asio::awaitable<void> lingering_close(Connection& c);  // connection.cpp
  void force_close();

  ServerOptions opts;
  const Router& router;
  core::Metrics& metrics;
  ErrorResponder error_responder;
  ResponseHook hook;
  core::Gauge* connections_active = nullptr;
  std::vector<std::unique_ptr<RouteStats>> stats;
  std::atomic<std::size_t> active{0};
  std::atomic<bool> stop_requested{false};
  std::atomic<bool> tearing_down{false};
  std::atomic<std::uint16_t> bound_port{0};
  bool started = false;
  bool ran = false;
  std::size_t next_unit = 0;
  std::vector<std::unique_ptr<IoUnit>> units;
  detail::asio::thread_pool pool;
  detail::asio::thread_pool outbound_pool;  // Pool::kOutbound routes (the bulkhead)
  std::optional<detail::tcp::acceptor> acceptor;
  std::optional<detail::asio::steady_timer> deadline;
  std::optional<detail::asio::signal_set> signals;
};

}  // namespace latchkey::http
