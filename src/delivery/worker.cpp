#include <spdlog/spdlog.h>

#include <algorithm>

#include "delivery/delivery.hpp"
#include "delivery/render.hpp"

namespace latchkey::delivery {
namespace {

std::string domain_of(std::string_view address) {
  const auto at = address.rfind('@');
  return at == std::string_view::npos ? std::string("localhost")
                                      : std::string(address.substr(at + 1));
}

}  // namespace

Worker::Worker(store::Store& store, Outbox& outbox, Transports transports, const core::Clock& clock)
    : store_(store), outbox_(outbox), transports_(std::move(transports)), clock_(clock) {}

Worker::~Worker() { stop(); }

void Worker::start() {
  // start() and stop() are called by the owner's thread. The listener is set outside mu_:
  // Outbox::notify() holds the outbox's lock while it takes mu_, so the other order would deadlock.
  if (thread_.joinable()) {
    return;
  }
  {
    std::lock_guard lock(mu_);
    stop_ = false;
  }
  outbox_.set_listener([this] {
    {
      std::lock_guard inner(mu_);
      woken_ = true;
    }
    cv_.notify_all();
  });
  thread_ = std::thread([this] { loop(); });
}

void Worker::stop() {
  outbox_.set_listener({});
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

WorkerStats Worker::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void Worker::loop() {
  const Settings& s = outbox_.settings();
  auto last_purge = std::chrono::steady_clock::now();
  std::unique_lock lock(mu_);
  while (!stop_) {
    lock.unlock();
    std::size_t claimed = 0;
    if (auto n = run_once(); n) {
      claimed = *n;
    } else {
      spdlog::warn("delivery: claiming messages failed: {}", n.error().internal);
    }
    if (std::chrono::steady_clock::now() - last_purge > std::chrono::minutes(5)) {
      last_purge = std::chrono::steady_clock::now();
      if (auto st = purge(); !st) {
        spdlog::warn("delivery: purging the outbox failed: {}", st.error().internal);
      }
    }
    lock.lock();
    // A full batch means more may be due: go again at once. Otherwise sleep until notified or the
    // next poll (which also finds a message whose notify() was lost, and retries that are due).
    if (claimed < static_cast<std::size_t>(s.batch)) {
      cv_.wait_for(lock, s.poll_interval, [this] { return stop_ || woken_; });
    }
    woken_ = false;
  }
}

core::Result<std::size_t> Worker::run_once() {
  const Settings& s = outbox_.settings();
  const std::int64_t now = clock_.now_ms();
  std::vector<store::OutboxMessage> rows;
  auto st = store_.transaction([&](store::Tx& tx) -> core::Status {
    auto r = tx.claim_outbox_messages(now, now + s.lease.count(), s.batch);
    if (!r) {
      return core::fail(std::move(r.error()));
    }
    rows = std::move(*r);
    return {};
  });
  if (!st) {
    return core::fail(std::move(st.error()));
  }
  // Oldest first, whatever order the engine returned them in.
  std::ranges::sort(rows, [](const auto& a, const auto& b) {
    return a.next_attempt_at_ms != b.next_attempt_at_ms
               ? a.next_attempt_at_ms < b.next_attempt_at_ms
               : a.id < b.id;
  });
  const std::size_t n = rows.size();
  for (auto& row : rows) {
    handle(std::move(row));
  }
  return n;
}

void Worker::handle(store::OutboxMessage row) {
  const Settings& s = outbox_.settings();
  const std::int64_t now = clock_.now_ms();
  auto give_up = [&](std::string why) {
    spdlog::warn("delivery: giving up on {} ({} {}) after {} attempt(s): {}", row.id, row.channel,
                 row.purpose, row.attempts, why);
    row.status = "failed";
    row.payload_enc.clear();
    row.lease_until_ms = 0;
    row.last_error = std::move(why);
    {
      std::lock_guard lock(mu_);
      ++stats_.failed;
    }
    finish(std::move(row));
  };
  if (now - row.created_at_ms > s.max_age.count()) {
    give_up("older than max_age");
    return;
  }
  auto payload = outbox_.open(row);
  const auto channel = channel_from_name(row.channel);
  const auto purpose = purpose_from_name(row.purpose);
  if (!payload || !channel || !purpose) {
    give_up(payload ? "unknown channel or purpose"
                    : "payload unreadable: " + payload.error().internal);
    return;
  }
  const std::string_view code = payload->code.reveal();
  const std::string_view link = payload->link.reveal();
  core::Status sent;
  if (*channel == Channel::kEmail) {
    const auto texts =
        render::email_texts(*purpose, s.application_name, code, link, payload->expires_in_minutes);
    const std::string sender = render::address_of(s.from);
    render::Envelope env{.from = s.from,
                         .to = row.recipient,
                         .message_id = row.id + "@" + domain_of(sender),
                         .date_ms = now,
                         .boundary = "lk-" + row.id};
    Email email{.id = row.id,
                .envelope_from = sender,
                .to = row.recipient,
                .data = render::mime(env, texts)};
    sent = transports_.email->send(email);
    std::fill(email.data.begin(), email.data.end(), '\0');
  } else {
    Sms sms{.id = row.id,
            .to = row.recipient,
            .body = render::sms_text(*purpose, s.application_name, code, link,
                                     payload->expires_in_minutes),
            .purpose = *purpose};
    sent = transports_.sms->send(sms);
    std::fill(sms.body.begin(), sms.body.end(), '\0');
  }
  if (sent) {
    spdlog::info("delivery: sent {} ({} {}) on attempt {}", row.id, row.channel, row.purpose,
                 row.attempts);
    row.status = "sent";
    row.payload_enc.clear();
    row.lease_until_ms = 0;
    row.last_error.reset();
    row.sent_at_ms = now;
    {
      std::lock_guard lock(mu_);
      ++stats_.sent;
    }
    finish(std::move(row));
    return;
  }
  std::string why = sent.error().internal.substr(0, 300);
  if (sent.error().code == core::Code::kDeliveryRefused) {
    give_up("refused: " + why);
    return;
  }
  if (row.attempts >= s.max_attempts) {
    give_up(why);
    return;
  }
  const auto wait = backoff(static_cast<int>(row.attempts), s.backoff_base, s.backoff_max);
  spdlog::warn("delivery: attempt {} of {} ({} {}) failed, next in {} ms: {}", row.attempts, row.id,
               row.channel, row.purpose, wait.count(), why);
  row.next_attempt_at_ms = now + wait.count();
  row.lease_until_ms = 0;
  row.last_error = std::move(why);
  {
    std::lock_guard lock(mu_);
    ++stats_.retried;
  }
  finish(std::move(row));
}

void Worker::finish(store::OutboxMessage row) {
  auto st = store_.transaction([&](store::Tx& tx) { return tx.update_outbox_message(row); });
  if (!st) {
    // The lease runs out and the message is claimed again: at worst sent twice, never lost.
    spdlog::warn("delivery: recording the outcome of {} failed: {}", row.id, st.error().internal);
  }
}

core::Status Worker::purge() {
  const Settings& s = outbox_.settings();
  const std::int64_t keep = std::max(s.limits.window.count(), s.max_age.count());
  const std::int64_t before = clock_.now_ms() - keep;
  return store_.transaction([&](store::Tx& tx) -> core::Status {
    auto n = tx.purge_outbox(before);
    if (!n) {
      return core::fail(std::move(n.error()));
    }
    return {};
  });
}

}  // namespace latchkey::delivery
