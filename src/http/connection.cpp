// One connection (Server::Impl::session): the keep-alive wait, the raw head scan, the framing
// checks (RFC 9112 §6), the body, the deadlines, the dispatch to a route and the response write.
// The listener and the lifecycle are in server.cpp.

// With optimisation, g++ 12 reports -Wnull-dereference inside Asio's own inlined scheduler and
// executor code (io_context.hpp, scheduler.ipp), not in ours; the flow-based warning ignores the
// system-header exemption, so it is silenced for this translation unit only.
#pragma GCC diagnostic ignored "-Wnull-dereference"
// g++ 12 also reports -Wmismatched-new-delete at the end of a coroutine whose frame Asio
// allocates and frees with awaitable_frame_base's own operator new/delete (a pair that matches);
// it appeared when session() moved to a translation unit without its co_spawn caller.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <spdlog/spdlog.h>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>

#include <array>
#include <cstddef>
#include <memory_resource>
#include <optional>

#include "core/log.hpp"
#include "http/detail/server_impl.hpp"
#include "http/detail/wire.hpp"
#include "http/form.hpp"

namespace latchkey::http {

using namespace detail;  // NOLINT(google-build-using-namespace): this file's own helpers

namespace {

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

}  // namespace

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
              const Pool which = route.choose_pool ? route.choose_pool(req) : route.pool;
              res = co_await run_on_pool(which == Pool::kOutbound ? outbound_pool : pool,
                                         [this, &route, &req] { return invoke(route, req); });
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

}  // namespace latchkey::http
