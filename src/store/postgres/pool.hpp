#pragma once
// A bounded pool of libpq connections, opened lazily, each leased to one thread at a time. Every
// wait for a lease is bounded by a deadline (never a hang). A broken connection is discarded on
// release and replaced on next use; after a server restart drop_idle() discards the idle ones at
// once (they are all dead).
#include <condition_variable>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "store/postgres/connection.hpp"

namespace latchkey::store::postgres {

class Pool {
 public:
  class Lease {
   public:
    Lease(Pool* pool, std::unique_ptr<Connection> conn) : pool_(pool), conn_(std::move(conn)) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease(Lease&& o) noexcept : pool_(o.pool_), conn_(std::move(o.conn_)) {}
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (conn_) {
        pool_->release(std::move(conn_));
      }
    }
    Connection& operator*() const { return *conn_; }
    Connection* operator->() const { return conn_.get(); }

   private:
    Pool* pool_;
    std::unique_ptr<Connection> conn_;
  };

  explicit Pool(Settings settings) : settings_(std::move(settings)) {}

  // Waits until `deadline` for an idle connection or room to open one (the bounded wait queue).
  core::Result<Lease> acquire(Deadline deadline);

  // After a server restart every idle connection is dead: drop them all at once instead of
  // discovering it one transaction at a time.
  void drop_idle();

  [[nodiscard]] const Settings& settings() const { return settings_; }

 private:
  void release(std::unique_ptr<Connection> conn);

  Settings settings_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> idle_;
  int open_ = 0;  // idle + leased + being opened
};

}  // namespace latchkey::store::postgres
