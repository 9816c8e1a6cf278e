// The one translation unit that includes Beast/Asio (design.md §3.14).
#include "http/server.hpp"

// With optimisation, g++ 12 reports -Wnull-dereference inside Asio's own inlined scheduler and
// executor code (io_context.hpp, scheduler.ipp), not in ours; the flow-based warning ignores the
// system-header exemption, so it is silenced for this translation unit only.
#pragma GCC diagnostic ignored "-Wnull-dereference"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>

#include <array>
#include <atomic>
#include <charconv>
#include <cstddef>
#include <memory_resource>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include "core/log.hpp"
#include "http/form.hpp"
#include "http/http_date.hpp"

namespace latchkey::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
using Clock = std::chrono::steady_clock;

// ---- small helpers -------------------------------------------------------------------------

Method from_verb(bhttp::verb v) {
  switch (v) {
    case bhttp::verb::get:
      return Method::kGet;
    case bhttp::verb::head:
      return Method::kHead;
    case bhttp::verb::post:
      return Method::kPost;
    case bhttp::verb::put:
      return Method::kPut;
    case bhttp::verb::patch:
      return Method::kPatch;
    case bhttp::verb::delete_:
      return Method::kDelete;
    case bhttp::verb::options:
      return Method::kOptions;
    default:
      return Method::kOther;
  }
}

bool valid_request_id(std::string_view s) {
  if (s.empty() || s.size() > 64) {
    return false;
  }
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) {
      return false;
    }
  }
  return true;
}

// Request ids are correlation handles, not secrets: a per-thread fast PRNG is enough.
void generate_request_id(std::string& out) {
  thread_local std::mt19937_64 rng{[] {
    std::random_device rd;
    return (static_cast<std::uint64_t>(rd()) << 32) ^ rd() ^
           static_cast<std::uint64_t>(std::hash<std::thread::id>{}(std::this_thread::get_id()));
  }()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::uint64_t v = rng();
  out.resize(16);
  for (std::size_t i = 0; i < 16; ++i) {
    out[i] = kHex[(v >> (i * 4)) & 0xF];
  }
}

void ascii_lower_assign(std::string& out, std::string_view in) {
  out.resize(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    out[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    x = (x >= 'A' && x <= 'Z') ? static_cast<char>(x - 'A' + 'a') : x;
    y = (y >= 'A' && y <= 'Z') ? static_cast<char>(y - 'A' + 'a') : y;
    if (x != y) {
      return false;
    }
  }
  return true;
}

// RFC 9110 §5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_"
// / "`" / "|" / "~" / DIGIT / ALPHA.
bool tchar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// RFC 9110 §5.1: field-name = token.
bool valid_header_name(std::string_view s) {
  if (s.empty()) {
    return false;
  }
  for (char c : s) {
    if (!tchar(c)) {
      return false;
    }
  }
  return true;
}

// RFC 9110 §5.5: CR, LF and NUL are never allowed in a field value (response splitting, K5).
bool valid_header_value(std::string_view s) {
  for (char c : s) {
    if (c == '\r' || c == '\n' || c == '\0') {
      return false;
    }
  }
  return true;
}

enum class HeadScan { kNeedMore, kComplete, kMalformed, kObsFold, kTooLarge, kLineTooLong };

// Looks at the raw request head (the connection's unparsed bytes) before Beast parses it. Beast
// unfolds obs-fold silently: "Transfer-Encoding:\r\n chunked" is chunked to it, while a proxy in
// front may see an empty Transfer-Encoding and a stray line. Only the raw bytes show the fold.
// kComplete: the request line, the fields and the empty line are buffered, within `limit`.
HeadScan scan_head(std::string_view data, std::size_t limit) {
  const std::string_view window = data.substr(0, limit);
  // RFC 9112 §3: request-line = method SP request-target SP HTTP-version; method = token.
  // Anything else (a TLS hello, garbage) is refused now instead of waiting for an empty line.
  std::size_t method_end = 0;
  while (method_end < window.size() && window[method_end] != ' ') {
    if (!tchar(window[method_end])) {
      return HeadScan::kMalformed;
    }
    ++method_end;
  }
  if (method_end == 0 && !window.empty()) {
    return HeadScan::kMalformed;
  }
  const std::size_t end = window.find("\r\n\r\n");
  const std::string_view head = end == std::string_view::npos ? window : window.substr(0, end + 2);
  for (std::size_t lf = head.find('\n'); lf != std::string_view::npos;
       lf = head.find('\n', lf + 1)) {
    // RFC 9112 §2.2: lines end with CRLF. A bare LF is refused (Beast refuses it as well).
    if (lf == 0 || head[lf - 1] != '\r') {
      return HeadScan::kMalformed;
    }
    // RFC 9112 §5.2: a line that starts with SP or HTAB is obs-fold (or, after the request line,
    // §2.2 whitespace before the first field): refused with 400, never unfolded.
    if (lf + 1 < head.size() && (head[lf + 1] == ' ' || head[lf + 1] == '\t')) {
      return HeadScan::kObsFold;
    }
  }
  if (end != std::string_view::npos) {
    return HeadScan::kComplete;
  }
  if (data.size() >= limit) {
    // RFC 9112 §3: a request line longer than we parse is 414; a longer head is 431 (RFC 6585
    // §5).
    return window.find("\r\n") == std::string_view::npos ? HeadScan::kLineTooLong
                                                         : HeadScan::kTooLarge;
  }
  return HeadScan::kNeedMore;
}

core::Error head_error(HeadScan scan) {
  switch (scan) {
    case HeadScan::kObsFold:
      return core::Error(core::Code::kMalformedRequest, "obsolete line folding in request head");
    case HeadScan::kTooLarge:
      return core::Error(core::Code::kRequestHeadersTooLarge, "request headers too large");
    case HeadScan::kLineTooLong:
      return core::Error(core::Code::kRequestLineTooLong, "request line too long");
    default:
      return core::Error(core::Code::kMalformedRequest, "malformed HTTP request");
  }
}

// RFC 9112 §6: the body of a request is framed in exactly one way, and only in the two ways we
// implement: one Content-Length, or Transfer-Encoding: chunked alone. Anything else is refused
// and the connection closed after the answer (§6.3: "the server MUST respond with a 400 (Bad
// Request) status code and then close the connection"): a proxy in front may frame the same
// bytes differently, and what it sees as a body we would read as the next request (smuggling).
template <typename Message>
std::optional<core::Error> framing_error(const Message& m) {
  std::size_t te_count = 0;
  std::size_t cl_count = 0;
  std::string_view te;
  std::string_view cl;
  for (const auto& f : m) {
    if (f.name() == bhttp::field::transfer_encoding) {
      ++te_count;
      te = f.value();
    } else if (f.name() == bhttp::field::content_length) {
      ++cl_count;
      cl = f.value();
    }
  }
  auto bad = [](const char* why) { return core::Error(core::Code::kMalformedRequest, why); };
  if (te_count > 0) {
    if (te_count > 1) {
      return bad("Transfer-Encoding is given more than once");
    }
    // §6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing.
    if (m.version() < 11) {
      return bad("Transfer-Encoding in an HTTP/1.0 request");
    }
    // §6.1, §7: chunked is the only coding we decode, and it must be the whole value: a list
    // ("chunked, identity", "gzip, chunked") or an unknown coding ("xchunked") is refused.
    if (!iequals(te, "chunked")) {
      return bad("unsupported Transfer-Encoding");
    }
    // §6.3 (3): both framings at once.
    if (cl_count > 0) {
      return bad("both Transfer-Encoding and Content-Length");
    }
  }
  // §6.3 (5): one Content-Length with one value; a repeated field or a list is refused even
  // when its values agree.
  if (cl_count > 1 || cl.find(',') != std::string_view::npos) {
    return bad("Content-Length is given more than once");
  }
  return std::nullopt;
}

// Headers the server owns; a handler's copy is dropped (any letter case).
bool server_owned_header(std::string_view name) {
  return iequals(name, "content-length") || iequals(name, "transfer-encoding") ||
         iequals(name, "connection") || iequals(name, "date") || iequals(name, "server") ||
         iequals(name, "x-request-id") || iequals(name, "keep-alive");
}

void append_decimal(std::string& out, std::uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  out.append(buf, end);
}

// A response body's storage up to this size is kept for the next request on the connection
// (Request::body_buffer); it also bounds what an idle keep-alive connection holds on to.
constexpr std::size_t kMaxReusedBodyCapacity = 8 * 1024;

// The parsed request's fields live in a per-connection arena that is rewound for every request
// (Beast allocates one node per field otherwise). Typical browser headers fit in the inline
// part; larger ones (bounded by max_header_bytes) spill to the heap until the next rewind.
constexpr std::size_t kFieldArenaBytes = 2048;
using FieldAllocator = std::pmr::polymorphic_allocator<char>;
using RequestParser = bhttp::request_parser<bhttp::string_body, FieldAllocator>;

bool status_without_body(int status) {
  return (status >= 100 && status < 200) || status == 204 || status == 304;
}

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

}  // namespace

core::Status parse_listen(std::string_view listen, ServerOptions& options) {
  auto bad = [&] {
    return core::fail(core::Error(core::Code::kInternal,
                                  "expected host:port, got '" + std::string(listen) + "'"));
  };
  std::size_t colon = listen.rfind(':');
  if (colon == std::string_view::npos) {
    return bad();
  }
  std::string_view host = listen.substr(0, colon);
  std::string_view port = listen.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return bad();  // an IPv6 address needs brackets
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535) {
    return bad();
  }
  options.host = host.empty() ? "0.0.0.0" : std::string(host);
  options.port = static_cast<std::uint16_t>(value);
  return {};
}

Response default_error_response(const core::Error& error, const Request& /*request*/) {
  // Status and wire code from the one Code table (core::error_info); the envelope stays minimal.
  const core::ErrorInfo& info = core::error_info(error.code);
  Response res;
  res.status = info.status;
  std::string msg = error.message.empty() ? std::string(info.wire_code) : error.message;
  res.body = R"({"errors":[{"code":")";
  res.body += info.wire_code;
  res.body += R"(","message":")";
  core::append_json_escaped(res.body, msg);
  res.body += R"("}]})";
  res.set("content-type", "application/json");
  return res;
}

struct Server::Impl {
  Impl(ServerOptions o, const Router& r, core::Metrics& m, ErrorResponder e)
      : opts(std::move(o)),
        router(r),
        metrics(m),
        error_responder(std::move(e)),
        pool(opts.workers == 0 ? 1 : opts.workers) {
    unsigned n =
        opts.io_threads == 0 ? std::max(1U, std::thread::hardware_concurrency()) : opts.io_threads;
    for (unsigned i = 0; i < n; ++i) {
      units.push_back(std::make_unique<IoUnit>());
    }
    connections_active =
        &metrics.gauge("latchkey_http_connections_active", "Open HTTP connections.");
    auto add_stats = [&](const std::string& name) {
      auto s = std::make_unique<RouteStats>();
      s->name = name;
      s->duration = &metrics.histogram("latchkey_http_request_duration_seconds",
                                       "Time from first request byte to response written.",
                                       core::default_latency_buckets(), {{"route", name}});
      stats.push_back(std::move(s));
    };
    for (const auto& route : router.routes()) {
      add_stats(route->name);
    }
    add_stats(router.options_route() != nullptr ? router.options_route()->name : "cors_preflight");
    add_stats("unmatched");
    add_stats("invalid");
  }

  ~Impl() {
    // Tear down in dependency order: no new work, workers done, then the contexts (which
    // destroys any abandoned coroutine frames while everything they touch is still alive).
    pool.stop();
    pool.join();
    signals.reset();
    deadline.reset();
    acceptor.reset();
    for (auto& u : units) {
      u->guard.reset();
    }
    tearing_down.store(true, std::memory_order_release);
    for (auto& u : units) {
      u->ctx.reset();
    }
  }

  std::size_t options_slot() const { return router.routes().size(); }
  std::size_t unmatched_slot() const { return router.routes().size() + 1; }
  std::size_t invalid_slot() const { return router.routes().size() + 2; }

  core::Counter& requests_counter(RouteStats& s, Method m, int status) {
    const auto key = static_cast<std::uint32_t>(static_cast<unsigned>(m) * 1000U +
                                                static_cast<unsigned>(status) + 1U);
    std::size_t h = (key * 2654435761U) % RouteStats::kSlots;
    for (std::size_t i = 0; i < RouteStats::kSlots; ++i) {
      std::size_t slot = (h + i) % RouteStats::kSlots;
      std::uint32_t cur = s.keys[slot].load(std::memory_order_acquire);
      if (cur == 0) {
        if (s.keys[slot].compare_exchange_strong(cur, key, std::memory_order_acq_rel)) {
          core::Counter& c = slow_counter(s, m, status);
          s.counters[slot].store(&c, std::memory_order_release);
          return c;
        }
      }
      if (cur == key) {
        if (core::Counter* c = s.counters[slot].load(std::memory_order_acquire); c != nullptr) {
          return *c;
        }
        break;  // being published by another thread right now
      }
    }
    return slow_counter(s, m, status);
  }

  core::Counter& slow_counter(RouteStats& s, Method m, int status) {
    return metrics.counter("latchkey_http_requests_total",
                           "HTTP requests by route, method, status.",
                           {{"route", s.name},
                            {"method", std::string(method_name(m))},
                            {"code", std::to_string(status)}});
  }

  Response make_error(const core::Error& err, const Request& req) {
    try {
      if (error_responder) {
        return error_responder(err, req);
      }
    } catch (const std::exception& e) {
      spdlog::error("error responder threw: {}", e.what());
    }
    return default_error_response(err, req);
  }

  Response invoke(const Route& route, Request& req) {
    Response res;
    try {
      res = route.handler(req);
    } catch (const std::exception& e) {
      // A bug, not a request error (errors are values): answer 500, keep serving.
      spdlog::error("handler for route {} threw: {} (request_id={})", route.name, e.what(),
                    req.request_id);
      res = make_error(core::Error(core::Code::kInternal), req);
    } catch (...) {
      spdlog::error("handler for route {} threw a non-exception (request_id={})", route.name,
                    req.request_id);
      res = make_error(core::Error(core::Code::kInternal), req);
    }
    apply_hook(req, res);
    return res;
  }

  void apply_hook(const Request& req, Response& res) {
    if (!hook) {
      return;
    }
    try {
      hook(req, res);
    } catch (const std::exception& e) {
      spdlog::error("response hook threw: {}", e.what());
    }
  }

  void connection_closed() {
    connections_active->dec();
    // During teardown abandoned coroutine frames are destroyed with their context: nothing to
    // notify then (and the contexts are going away).
    if (active.fetch_sub(1, std::memory_order_acq_rel) == 1 &&
        stop_requested.load(std::memory_order_acquire) &&
        !tearing_down.load(std::memory_order_acquire)) {
      asio::post(*units[0]->ctx, [this] {
        if (deadline) {
          deadline->cancel();
        }
      });
    }
  }

  asio::awaitable<void> accept_loop();
  asio::awaitable<void> session(tcp::socket socket, IoUnit& unit);
  asio::awaitable<void> lingering_close(Connection& c);
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
  asio::thread_pool pool;
  std::optional<tcp::acceptor> acceptor;
  std::optional<asio::steady_timer> deadline;
  std::optional<asio::signal_set> signals;
};

asio::awaitable<void> Server::Impl::accept_loop() {
  for (;;) {
    IoUnit& unit = *units[next_unit++ % units.size()];
    auto [ec, socket] = co_await acceptor->async_accept(*unit.ctx, kNoThrow);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor->is_open() ||
          stop_requested.load(std::memory_order_acquire)) {
        co_return;
      }
      // EMFILE and friends: back off instead of spinning on the error.
      spdlog::warn("accept failed: {}", ec.message());
      asio::steady_timer backoff(co_await asio::this_coro::executor, std::chrono::milliseconds(50));
      co_await backoff.async_wait(kNoThrow);
      continue;
    }
    if (active.load(std::memory_order_relaxed) >= opts.max_connections) {
      beast::error_code ignored;
      socket.close(ignored);
      continue;
    }
    active.fetch_add(1, std::memory_order_acq_rel);
    connections_active->inc();
    asio::co_spawn(*unit.ctx, session(std::move(socket), unit), [](const std::exception_ptr& e) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          spdlog::error("connection ended by exception: {}", ex.what());
        } catch (...) {
          spdlog::error("connection ended by unknown exception");
        }
      }
    });
  }
}

asio::awaitable<void> Server::Impl::lingering_close(Connection& c) {
  // After an error response with unread request bytes, closing at once would make the kernel
  // send RST and the client might never read our response (RFC 9112 §9.6): half-close, drain a
  // bounded amount for a short time, then close.
  beast::error_code ec;
  c.stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  c.stream.expires_after(std::chrono::milliseconds(500));
  std::array<char, 4096> junk{};
  std::size_t total = 0;
  while (total < 1024 * 1024) {
    auto [rec, n] = co_await c.stream.async_read_some(asio::buffer(junk), kNoThrow);
    if (rec) {
      break;
    }
    total += n;
  }
  c.stream.socket().close(ec);
}

asio::awaitable<void> Server::Impl::session(tcp::socket socket, IoUnit& unit) {
  Connection conn(std::move(socket), unit);
  unit.link(&conn);
  struct Cleanup {
    Impl* self;
    Connection* c;
    ~Cleanup() {
      c->unit->unlink(c);
      self->connection_closed();
    }
  } cleanup{this, &conn};

  std::string remote;
  {
    beast::error_code ec;
    auto ep = conn.stream.socket().remote_endpoint(ec);
    if (!ec) {
      remote = ep.address().to_string();
    }
  }
  beast::flat_buffer buffer;
  alignas(std::max_align_t) std::array<std::byte, kFieldArenaBytes> field_bytes;
  std::pmr::monotonic_buffer_resource field_arena(field_bytes.data(), field_bytes.size(),
                                                  std::pmr::new_delete_resource());
  Request req;
  // The response head (status line and fields), serialised here by hand and sent with the body
  // in one gather write; reused across the connection's requests.
  std::string head;

  for (;;) {
    if (buffer.size() == 0) {
      // Keep-alive wait: nothing of the next request yet; close at once on shutdown.
      conn.state = ConnState::kIdle;
      if (unit.stopping) {
        break;
      }
      conn.stream.expires_after(opts.idle_timeout);
      auto [ec, n] = co_await conn.stream.async_read_some(buffer.prepare(4096), kNoThrow);
      if (ec) {
        break;  // EOF, idle timeout, cancelled by stop(): close silently
      }
      buffer.commit(n);
    }
    conn.state = ConnState::kBusy;
    const auto t0 = Clock::now();

    field_arena.release();  // the previous request's parser (and its fields) is gone
    RequestParser parser(std::piecewise_construct, std::make_tuple(),
                         std::make_tuple(FieldAllocator(&field_arena)));
    parser.header_limit(static_cast<std::uint32_t>(opts.max_header_bytes));
    parser.body_limit(opts.max_body_bytes);
    // One deadline for the whole request, headers and body (slowloris, R.U.D.Y.: catalog K7/K8).
    conn.stream.expires_after(opts.read_timeout);

    std::optional<core::Error> parse_error;
    // The whole head is buffered and its raw bytes checked before Beast parses it (scan_head).
    bool head_lost = false;
    for (;;) {
      const std::string_view data(static_cast<const char*>(buffer.data().data()), buffer.size());
      const HeadScan scan = scan_head(data, opts.max_header_bytes);
      if (scan == HeadScan::kComplete) {
        break;
      }
      if (scan != HeadScan::kNeedMore) {
        parse_error = head_error(scan);
        break;
      }
      auto [ec, n] = co_await conn.stream.async_read_some(buffer.prepare(4096), kNoThrow);
      if (ec) {
        head_lost = true;  // EOF mid-head, timeout, reset: nothing useful to answer
        break;
      }
      buffer.commit(n);
    }
    if (head_lost) {
      break;
    }
    if (!parse_error) {
      auto [ec, n] = co_await bhttp::async_read_header(conn.stream, buffer, parser, kNoThrow);
      if (!ec) {
        std::size_t count = 0;
        for (auto it = parser.get().begin(); it != parser.get().end(); ++it) {
          ++count;
        }
        if (count > opts.max_header_count) {
          // RFC 6585 §5: 431 covers too many fields as well as too large ones.
          parse_error =
              core::Error(core::Code::kRequestHeadersTooLarge, "too many request header fields");
        } else {
          parse_error = framing_error(parser.get());
        }
      }
      if (!ec && !parse_error && !parser.is_done()) {
        auto expect = parser.get()[bhttp::field::expect];
        if (!expect.empty() && iequals(expect, "100-continue") && parser.get().version() == 11) {
          static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
          auto [wec, wn] = co_await asio::async_write(
              conn.stream, asio::buffer(kContinue.data(), kContinue.size()), kNoThrow);
          if (wec) {
            break;
          }
        }
        auto [bec, bn] = co_await bhttp::async_read(conn.stream, buffer, parser, kNoThrow);
        ec = bec;
      }
      if (ec) {
        if (ec == bhttp::error::body_limit) {
          parse_error = core::Error(core::Code::kRequestBodyTooLarge, "request body too large");
        } else if (ec == bhttp::error::header_limit) {
          parse_error =
              core::Error(core::Code::kRequestHeadersTooLarge, "request headers too large");
        } else if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
                   ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
          parse_error = core::Error(core::Code::kMalformedRequest, "malformed HTTP request");
        } else {
          break;  // EOF mid-request, timeout, reset: nothing useful to answer
        }
      }
    }

    Method method = Method::kOther;
    std::size_t slot = invalid_slot();
    std::string_view route_name = "invalid";
    bool close_after = false;
    Response res;
    std::string_view method_text = "-";

    if (!parse_error) {
      auto& m = parser.get();
      method = from_verb(m.method());
      method_text = m.method_string();
      req.method = method;
      req.target.assign(m.target().data(), m.target().size());
      std::string_view target = req.target;
      std::size_t q = target.find('?');
      std::string_view raw_path = target.substr(0, q);
      if (q == std::string_view::npos) {
        req.query.clear();
      } else {
        req.query.assign(target.substr(q + 1));
      }
      std::size_t i = 0;
      for (const auto& f : m) {
        if (i == req.headers.size()) {
          req.headers.emplace_back();
        }
        ascii_lower_assign(req.headers[i].name, f.name_string());
        req.headers[i].value.assign(f.value().data(), f.value().size());
        ++i;
      }
      req.headers.resize(i);
      req.body = std::move(m.body());
      req.remote_addr = remote;
      req.params.clear();
      auto incoming_id = req.header("x-request-id");
      if (incoming_id && valid_request_id(*incoming_id)) {
        req.request_id.assign(*incoming_id);
      } else {
        generate_request_id(req.request_id);
      }
      close_after = !m.keep_alive();

      req.path.clear();
      if (raw_path.empty() || raw_path.front() != '/') {
        parse_error = core::Error(core::Code::kMalformedRequest, "request target must be a path");
      } else if (!percent_decode_append(raw_path, false, req.path) ||
                 req.path.find('\0') != std::string::npos) {
        req.path.clear();
        parse_error =
            core::Error(core::Code::kMalformedRequest, "invalid percent-encoding in path");
      }
      if (parse_error) {
        close_after = true;
        res = make_error(*parse_error, req);
        apply_hook(req, res);
      } else {
        Match match = router.match(method, raw_path, &req.params);
        switch (match.status) {
          case MatchStatus::kFound: {
            const Route& route = *match.route;
            slot = &route == router.options_route() ? options_slot() : route.index;
            route_name = route.name;
            if (route.inline_ok) {
              res = invoke(route, req);
            } else {
              res = co_await run_on_pool(pool, [this, &route, &req] { return invoke(route, req); });
            }
            break;
          }
          case MatchStatus::kMethodNotAllowed:
            slot = match.route->index;
            route_name = match.route->name;
            res = make_error(core::Error(core::Code::kMethodNotAllowed), req);
            res.set("allow", std::string(match.allow));
            apply_hook(req, res);
            break;
          case MatchStatus::kNotFound:
            slot = unmatched_slot();
            route_name = "unmatched";
            res = make_error(core::Error(core::Code::kResourceNotFound), req);
            apply_hook(req, res);
            break;
        }
      }
    } else {
      // The request could not be parsed: answer with what we know, then close.
      close_after = true;
      req.method = Method::kOther;
      req.target.clear();
      req.path.clear();
      req.query.clear();
      req.headers.clear();
      req.body.clear();
      req.params.clear();
      req.remote_addr = remote;
      generate_request_id(req.request_id);
      res = make_error(*parse_error, req);
      apply_hook(req, res);
    }

    // ---- write the response ----
    if (unit.stopping) {
      close_after = true;
    }
    if (res.status < 100 || res.status > 599) {
      spdlog::error("route {} produced invalid status {}", route_name, res.status);
      res = make_error(core::Error(core::Code::kInternal), req);
    }
    // RFC 9112 §4 status line, then the fields (RFC 9112 §5), handler fields first, then the
    // ones the server owns, then the blank line.
    head.clear();
    head.append("HTTP/1.1 ");
    append_decimal(head, static_cast<std::uint64_t>(res.status));
    head.push_back(' ');
    head.append(bhttp::obsolete_reason(bhttp::int_to_status(static_cast<unsigned>(res.status))));
    head.append("\r\n");
    for (const auto& h : res.headers) {
      if (!valid_header_name(h.name) || !valid_header_value(h.value)) {
        spdlog::warn("dropped invalid response header on route {} (request_id={})", route_name,
                     req.request_id);
        continue;
      }
      if (server_owned_header(h.name)) {
        continue;
      }
      head.append(h.name).append(": ").append(h.value).append("\r\n");
    }
    head.append("Server: latchkey\r\nDate: ").append(unit.http_date());
    head.append("\r\nx-request-id: ").append(req.request_id).append("\r\n");
    const bool has_body = !status_without_body(res.status);
    const std::size_t body_bytes = has_body ? res.body.size() : 0;
    if (has_body) {
      head.append("Content-Length: ");
      append_decimal(head, body_bytes);
      head.append("\r\n");
    }
    if (close_after) {
      head.append("Connection: close\r\n");
    }
    head.append("\r\n");
    const bool send_body = has_body && method != Method::kHead && body_bytes != 0;
    const std::array<asio::const_buffer, 2> out{
        asio::buffer(head), send_body ? asio::buffer(res.body) : asio::const_buffer()};
    conn.stream.expires_after(opts.write_timeout);
    auto [wec, wn] = co_await asio::async_write(conn.stream, out, kNoThrow);
    // The body's storage serves the next response on this connection (Request::body_buffer).
    if (res.body.capacity() <= kMaxReusedBodyCapacity) {
      req.body_buffer = std::move(res.body);
    }

    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    RouteStats& st = *stats[slot];
    st.duration->observe(seconds);
    requests_counter(st, method, res.status).inc();
    if (opts.access_log) {
      core::AccessRecord rec;
      rec.request_id = req.request_id;
      rec.method = method_text;
      rec.route = route_name;
      rec.path = req.path;
      rec.status = res.status;
      rec.bytes = body_bytes;
      rec.duration_ms = seconds * 1000.0;
      rec.remote = remote;
      core::log_access(rec);
    }
    if (wec) {
      break;
    }
    if (close_after) {
      if (parse_error) {
        co_await lingering_close(conn);
      } else {
        beast::error_code ec;
        conn.stream.socket().shutdown(tcp::socket::shutdown_send, ec);
      }
      break;
    }
  }
  beast::error_code ec;
  conn.stream.socket().close(ec);
}

void Server::Impl::force_close() {
  for (auto& u : units) {
    IoUnit* unit = u.get();
    asio::post(*unit->ctx, [unit] {
      // Closing the socket aborts whatever the connection waits for; its coroutine then ends
      // by itself. One waiting for a worker ends when the handler returns.
      for (Connection* c = unit->head; c != nullptr; c = c->next) {
        beast::error_code ec;
        c->stream.socket().close(ec);
      }
    });
  }
}

Server::Server(ServerOptions options, const Router& router, core::Metrics& metrics,
               ErrorResponder error_responder)
    : impl_(std::make_unique<Impl>(std::move(options), router, metrics,
                                   std::move(error_responder))) {}

Server::~Server() {
  if (impl_) {
    stop();
  }
}

void Server::set_response_hook(ResponseHook hook) { impl_->hook = std::move(hook); }

core::Status Server::start() {
  Impl& d = *impl_;
  if (d.started) {
    return {};
  }
  beast::error_code ec;
  tcp::resolver resolver(*d.units[0]->ctx);
  auto results = resolver.resolve(d.opts.host, std::to_string(d.opts.port),
                                  tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) {
    return core::fail(
        core::Error(core::Code::kServiceUnavailable,
                    "cannot resolve listen host '" + d.opts.host + "': " + ec.message()));
  }
  tcp::endpoint ep = results.begin()->endpoint();
  tcp::acceptor acc(*d.units[0]->ctx);
  auto fail_with = [&](std::string_view what) {
    return core::fail(core::Error(core::Code::kServiceUnavailable,
                                  std::string(what) + " " + d.opts.host + ":" +
                                      std::to_string(d.opts.port) + ": " + ec.message()));
  };
  if (acc.open(ep.protocol(), ec); ec) {
    return fail_with("cannot open socket for");
  }
  if (acc.set_option(asio::socket_base::reuse_address(true), ec); ec) {
    return fail_with("cannot set SO_REUSEADDR on");
  }
  if (acc.bind(ep, ec); ec) {
    return fail_with("cannot bind");
  }
  if (acc.listen(asio::socket_base::max_listen_connections, ec); ec) {
    return fail_with("cannot listen on");
  }
  d.bound_port.store(acc.local_endpoint(ec).port());
  d.acceptor.emplace(std::move(acc));
  d.started = true;
  return {};
}

std::uint16_t Server::port() const { return impl_->bound_port.load(); }

std::size_t Server::active_connections() const { return impl_->active.load(); }

core::Status Server::run() {
  Impl& d = *impl_;
  if (!d.started) {
    if (auto s = start(); !s) {
      return s;
    }
  }
  if (d.ran) {
    return core::fail(core::Error(core::Code::kInternal, "Server::run called twice"));
  }
  d.ran = true;
  asio::co_spawn(*d.units[0]->ctx, d.accept_loop(), [](const std::exception_ptr& e) {
    if (e) {
      spdlog::error("accept loop ended by exception");
    }
  });
  auto run_unit = [](IoUnit& u) {
    for (;;) {
      try {
        u.ctx->run();
        return;
      } catch (const std::exception& e) {
        spdlog::error("I/O thread caught exception: {}", e.what());
      }
    }
  };
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < d.units.size(); ++i) {
    threads.emplace_back([&run_unit, &d, i] { run_unit(*d.units[i]); });
  }
  run_unit(*d.units[0]);
  for (auto& t : threads) {
    t.join();
  }
  d.pool.join();  // handlers still running are not interrupted
  return {};
}

core::Status Server::run_until_signal() {
  Impl& d = *impl_;
  d.signals.emplace(*d.units[0]->ctx, SIGINT, SIGTERM);
  d.signals->async_wait([this](const beast::error_code& ec, int sig) {
    if (!ec) {
      spdlog::info("signal {} received, shutting down", sig);
      stop();
    }
  });
  return run();
}

void Server::stop() {
  Impl& d = *impl_;
  if (d.stop_requested.exchange(true, std::memory_order_acq_rel)) {
    return;
  }
  Impl* self = &d;
  asio::post(*d.units[0]->ctx, [self] {
    beast::error_code ec;
    if (self->acceptor) {
      self->acceptor->close(ec);  // new connections are refused from here on
    }
    if (self->signals) {
      self->signals->cancel(ec);
    }
    self->deadline.emplace(*self->units[0]->ctx, self->opts.shutdown_timeout);
    self->deadline->async_wait([self](const beast::error_code& wec) {
      if (!wec) {
        spdlog::warn("shutdown deadline reached; closing {} connection(s)", self->active.load());
        self->force_close();
      }
    });
    if (self->active.load(std::memory_order_acquire) == 0) {
      self->deadline->cancel();
    }
  });
  for (auto& u : d.units) {
    IoUnit* unit = u.get();
    asio::post(*unit->ctx, [unit] {
      unit->stopping = true;
      for (Connection* c = unit->head; c != nullptr; c = c->next) {
        if (c->state == ConnState::kIdle) {
          c->stream.cancel();
        }
      }
      unit->guard.reset();
    });
  }
}

}  // namespace latchkey::http
