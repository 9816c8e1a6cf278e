// The HTTP/1.1 server: the listener (accept loop), the lifecycle (start, run, stop and the drain),
// the handler pool and the request metrics. One connection's loop is in connection.cpp, the
// shared state in detail/server_impl.hpp. Beast/Asio stay inside http/ (design.md §3.14).
#include "http/server.hpp"

// With optimisation, g++ 12 reports -Wnull-dereference inside Asio's own inlined scheduler and
// executor code (io_context.hpp, scheduler.ipp), not in ours; the flow-based warning ignores the
// system-header exemption, so it is silenced for this translation unit only.
#pragma GCC diagnostic ignored "-Wnull-dereference"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>

#include <charconv>
#include <thread>

#include "core/log.hpp"
#include "http/detail/server_impl.hpp"

namespace latchkey::http {

using namespace detail;  // NOLINT(google-build-using-namespace): this module's own helpers

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

Server::Impl::Impl(ServerOptions o, const Router& r, core::Metrics& m, ErrorResponder e)
    : opts(std::move(o)),
      router(r),
      metrics(m),
      error_responder(std::move(e)),
      pool(opts.workers == 0 ? 1 : opts.workers),
      outbound_pool(opts.outbound_workers == 0 ? 1 : opts.outbound_workers) {
  unsigned n =
      opts.io_threads == 0 ? std::max(1U, std::thread::hardware_concurrency()) : opts.io_threads;
  for (unsigned i = 0; i < n; ++i) {
    units.push_back(std::make_unique<IoUnit>());
  }
  connections_active = &metrics.gauge("latchkey_http_connections_active", "Open HTTP connections.");
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

Server::Impl::~Impl() {
  // Tear down in dependency order: no new work, workers done, then the contexts (which
  // destroys any abandoned coroutine frames while everything they touch is still alive).
  pool.stop();
  outbound_pool.stop();
  pool.join();
  outbound_pool.join();
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

core::Counter& Server::Impl::requests_counter(RouteStats& s, Method m, int status) {
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

core::Counter& Server::Impl::slow_counter(RouteStats& s, Method m, int status) {
  return metrics.counter("latchkey_http_requests_total", "HTTP requests by route, method, status.",
                         {{"route", s.name},
                          {"method", std::string(method_name(m))},
                          {"code", std::to_string(status)}});
}

Response Server::Impl::make_error(const core::Error& err, const Request& req) {
  try {
    if (error_responder) {
      return error_responder(err, req);
    }
  } catch (const std::exception& e) {
    spdlog::error("error responder threw: {}", e.what());
  }
  return default_error_response(err, req);
}

Response Server::Impl::invoke(const Route& route, Request& req) {
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

void Server::Impl::apply_hook(const Request& req, Response& res) {
  if (!hook) {
    return;
  }
  try {
    hook(req, res);
  } catch (const std::exception& e) {
    spdlog::error("response hook threw: {}", e.what());
  }
}

void Server::Impl::connection_closed() {
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
  d.outbound_pool.join();
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
