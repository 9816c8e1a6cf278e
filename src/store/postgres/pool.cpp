#include "store/postgres/pool.hpp"

namespace latchkey::store::postgres {

using core::Code;
using core::Error;
using core::fail;

Result<Pool::Lease> Pool::acquire(Deadline deadline) {
  std::unique_lock lock(mu_);
  if (!cv_.wait_until(lock, deadline,
                      [this] { return !idle_.empty() || open_ < settings_.pool_size; })) {
    return fail(Error(Code::kServiceUnavailable)
                    .with_internal("no free postgres connection within the busy timeout"));
  }
  if (!idle_.empty()) {
    auto conn = std::move(idle_.back());
    idle_.pop_back();
    return Lease(this, std::move(conn));
  }
  ++open_;  // a slot is reserved while connecting, outside the lock
  lock.unlock();
  auto conn = Connection::open(settings_);
  if (!conn) {
    {
      std::lock_guard relock(mu_);
      --open_;
    }
    cv_.notify_one();
    return fail(std::move(conn.error()));
  }
  return Lease(this, std::move(*conn));
}

void Pool::drop_idle() {
  std::vector<std::unique_ptr<Connection>> dead;
  {
    std::lock_guard lock(mu_);
    dead.swap(idle_);
    open_ -= static_cast<int>(dead.size());
  }
  cv_.notify_all();
}

void Pool::release(std::unique_ptr<Connection> conn) {
  std::unique_ptr<Connection> dead;
  {
    std::lock_guard lock(mu_);
    if (conn->broken()) {
      dead = std::move(conn);
      --open_;
    } else {
      idle_.push_back(std::move(conn));
    }
  }
  cv_.notify_one();
}

}  // namespace latchkey::store::postgres
