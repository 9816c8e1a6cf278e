#include "delivery/webhooks.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>

#include "core/base64.hpp"
#include "crypto/hmac.hpp"

namespace latchkey::delivery {
namespace {

namespace json = boost::json;

constexpr std::string_view kSecretPrefix = "whsec_";

std::string quoted(std::string_view s) { return json::serialize(json::string(s)); }

bool wants(const WebhookEndpoint& e, std::string_view type) {
  return e.events.empty() || std::ranges::find(e.events, type) != e.events.end();
}

}  // namespace

bool valid_signing_secret(std::string_view secret) {
  if (!secret.starts_with(kSecretPrefix) || secret.size() == kSecretPrefix.size()) {
    return false;
  }
  auto key = core::base64_decode(secret.substr(kSecretPrefix.size()));
  return key && !key->empty();
}

core::Result<std::string> webhook_signature(std::string_view secret, std::string_view msg_id,
                                            std::int64_t timestamp_s, std::string_view body) {
  if (!valid_signing_secret(secret)) {
    return core::fail(core::Error(core::Code::kInternal)
                          .with_internal("webhook signing secret is not whsec_<base64>"));
  }
  auto key = core::base64_decode(secret.substr(kSecretPrefix.size()));
  std::string content;
  content.reserve(msg_id.size() + body.size() + 24);
  content.append(msg_id).append(".").append(std::to_string(timestamp_s)).append(".").append(body);
  auto mac = crypto::hmac_sha256(*key, content);
  std::fill(key->begin(), key->end(), '\0');
  if (!mac) {
    return core::fail(std::move(mac.error()));
  }
  return "v1," + core::base64_encode(*mac);
}

std::string event_json(std::string_view type, std::string_view data_json, std::int64_t now_ms,
                       std::string_view instance_id, const EventAttributes& attributes) {
  std::string out;
  out.reserve(data_json.size() + 256);
  out += R"({"data":)";
  out += data_json;
  out += R"(,"object":"event","type":)";
  out += quoted(type);
  out += R"(,"timestamp":)";
  out += std::to_string(now_ms);
  out += R"(,"instance_id":)";
  out += quoted(instance_id);
  out += R"(,"event_attributes":{"http_request":{"client_ip":)";
  out += quoted(attributes.client_ip);
  out += R"(,"user_agent":)";
  out += quoted(attributes.user_agent);
  out += "}}}";
  return out;
}

Webhooks::Webhooks(WebhookSettings settings, core::Random& random)
    : settings_(std::move(settings)), random_(random) {}

bool Webhooks::wanted(std::string_view type) const {
  return std::ranges::any_of(settings_.endpoints,
                             [&](const WebhookEndpoint& e) { return wants(e, type); });
}

const WebhookEndpoint* Webhooks::endpoint(std::string_view url) const {
  auto it = std::ranges::find_if(settings_.endpoints,
                                 [&](const WebhookEndpoint& e) { return e.url == url; });
  return it == settings_.endpoints.end() ? nullptr : &*it;
}

core::Status Webhooks::enqueue(store::Tx& tx, std::string_view type, const std::string& object_id,
                               std::string_view data_json, const EventAttributes& attributes,
                               std::int64_t now_ms) {
  if (!wanted(type)) {
    return {};
  }
  const std::string event_id = random_.id("msg");
  const std::string payload =
      event_json(type, data_json, now_ms, settings_.instance_id, attributes);
  for (const auto& e : settings_.endpoints) {
    if (!wants(e, type)) {
      continue;
    }
    store::WebhookDelivery row;
    row.id = random_.id("whd");
    row.event_id = event_id;
    row.event_type = std::string(type);
    row.object_id = object_id;
    row.endpoint = e.url;
    row.payload = payload;
    row.next_attempt_at_ms = now_ms;
    row.created_at_ms = now_ms;
    if (auto st = tx.insert_webhook_delivery(row); !st) {
      return st;
    }
  }
  notify();
  return {};
}

void Webhooks::notify() {
  std::lock_guard lock(mu_);
  if (listener_) {
    listener_();
  }
}

void Webhooks::set_listener(std::function<void()> listener) {
  std::lock_guard lock(mu_);
  listener_ = std::move(listener);
}

core::Result<store::WebhookDelivery> replay_webhook(store::Store& store, const std::string& id,
                                                    std::int64_t now_ms) {
  store::WebhookDelivery out;
  auto st = store.transaction([&](store::Tx& tx) -> core::Status {
    auto row = tx.get_webhook_delivery(id);
    if (!row) {
      return core::fail(std::move(row.error()));
    }
    if (!*row) {
      return core::fail(core::Code::kResourceNotFound, "No webhook delivery with this id.");
    }
    out = std::move(**row);
    out.status = "pending";
    out.attempts = 0;
    out.next_attempt_at_ms = now_ms;
    out.lease_until_ms = 0;
    out.delivered_at_ms.reset();
    return tx.update_webhook_delivery(out);
  });
  if (!st) {
    return core::fail(std::move(st.error()));
  }
  return out;
}

WebhookWorker::WebhookWorker(store::Store& store, Webhooks& webhooks, net::HttpClient& http,
                             const core::Clock& clock)
    : store_(store), webhooks_(webhooks), http_(http), clock_(clock) {}

WebhookWorker::~WebhookWorker() { stop(); }

void WebhookWorker::start() {
  if (thread_.joinable()) {
    return;
  }
  {
    std::lock_guard lock(mu_);
    stop_ = false;
  }
  webhooks_.set_listener([this] {
    {
      std::lock_guard inner(mu_);
      woken_ = true;
    }
    cv_.notify_all();
  });
  thread_ = std::thread([this] { loop(); });
}

void WebhookWorker::stop() {
  webhooks_.set_listener({});
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

WebhookStats WebhookWorker::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void WebhookWorker::loop() {
  const WebhookSettings& s = webhooks_.settings();
  auto last_purge = std::chrono::steady_clock::now();
  std::unique_lock lock(mu_);
  while (!stop_) {
    lock.unlock();
    std::size_t claimed = 0;
    if (auto n = run_once(); n) {
      claimed = *n;
    } else {
      spdlog::warn("webhooks: claiming deliveries failed: {}", n.error().internal);
    }
    if (std::chrono::steady_clock::now() - last_purge > std::chrono::minutes(5)) {
      last_purge = std::chrono::steady_clock::now();
      if (auto st = purge(); !st) {
        spdlog::warn("webhooks: purging deliveries failed: {}", st.error().internal);
      }
    }
    lock.lock();
    if (claimed < static_cast<std::size_t>(s.batch)) {
      cv_.wait_for(lock, s.poll_interval, [this] { return stop_ || woken_; });
      if (woken_ && !stop_) {
        // Woken from inside the event's transaction: give it a moment to commit (on SQLite the
        // claim would wait for it anyway; on PostgreSQL it would not see the row yet).
        woken_ = false;
        cv_.wait_for(lock, std::chrono::milliseconds(50), [this] { return stop_; });
      }
    }
    woken_ = false;
  }
}

core::Result<std::size_t> WebhookWorker::run_once() {
  const WebhookSettings& s = webhooks_.settings();
  const std::int64_t now = clock_.now_ms();
  std::vector<store::WebhookDelivery> rows;
  auto st = store_.transaction([&](store::Tx& tx) -> core::Status {
    auto r = tx.claim_webhook_deliveries(now, now + s.lease.count(), s.batch);
    if (!r) {
      return core::fail(std::move(r.error()));
    }
    rows = std::move(*r);
    return {};
  });
  if (!st) {
    return core::fail(std::move(st.error()));
  }
  std::ranges::sort(rows, {}, &store::WebhookDelivery::seq);
  const std::size_t n = rows.size();
  for (auto& row : rows) {
    handle(std::move(row));
  }
  return n;
}

void WebhookWorker::handle(store::WebhookDelivery row) {
  const WebhookSettings& s = webhooks_.settings();
  auto give_up = [&](std::string why) {
    spdlog::warn("webhooks: {} ({} {} to {}) failed after {} attempt(s): {}", row.id,
                 row.event_type, row.event_id, row.endpoint, row.attempts, why);
    row.status = "failed";
    row.lease_until_ms = 0;
    row.last_error = std::move(why);
    {
      std::lock_guard lock(mu_);
      ++stats_.failed;
    }
    finish(row);
  };
  const WebhookEndpoint* endpoint = webhooks_.endpoint(row.endpoint);
  if (endpoint == nullptr) {
    give_up("endpoint no longer configured");
    return;
  }
  const std::int64_t now = clock_.now_ms();
  const std::int64_t ts = now / 1000;
  auto signature =
      webhook_signature(endpoint->signing_secret.reveal(), row.event_id, ts, row.payload);
  if (!signature) {
    give_up(signature.error().internal);
    return;
  }
  net::HttpRequest req;
  req.method = "POST";
  req.url = row.endpoint;
  req.headers = {{"Content-Type", "application/json"},
                 {"svix-id", row.event_id},
                 {"svix-timestamp", std::to_string(ts)},
                 {"svix-signature", *signature}};
  req.body = row.payload;
  req.timeout = s.timeout;
  req.connect_timeout = std::min(s.timeout, std::chrono::milliseconds(5'000));
  req.max_response_bytes = 64 * 1024;
  auto resp = http_.send(req);
  std::string why;
  if (resp && resp->status >= 200 && resp->status < 300) {
    spdlog::info("webhooks: delivered {} ({} {}) to {} on attempt {}", row.id, row.event_type,
                 row.event_id, endpoint->name, row.attempts);
    row.status = "delivered";
    row.lease_until_ms = 0;
    row.last_error.reset();
    row.delivered_at_ms = clock_.now_ms();
    {
      std::lock_guard lock(mu_);
      ++stats_.delivered;
    }
    finish(row);
    return;
  }
  why = resp ? "HTTP " + std::to_string(resp->status) : resp.error().internal.substr(0, 300);
  const auto& schedule = s.retry_schedule;
  if (row.attempts > static_cast<std::int64_t>(schedule.size())) {
    give_up(why);
    return;
  }
  const auto wait = schedule[static_cast<std::size_t>(row.attempts - 1)];
  spdlog::warn("webhooks: attempt {} of {} ({} to {}) failed, next in {} ms: {}", row.attempts,
               row.id, row.event_type, endpoint->name, wait.count(), why);
  row.next_attempt_at_ms = clock_.now_ms() + wait.count();
  row.lease_until_ms = 0;
  row.last_error = std::move(why);
  {
    std::lock_guard lock(mu_);
    ++stats_.retried;
  }
  finish(row);
}

void WebhookWorker::finish(const store::WebhookDelivery& row) {
  auto st = store_.transaction([&](store::Tx& tx) { return tx.update_webhook_delivery(row); });
  if (!st) {
    // The lease runs out and the row is claimed again: delivered twice at worst, never lost.
    spdlog::warn("webhooks: recording the outcome of {} failed: {}", row.id, st.error().internal);
  }
}

core::Status WebhookWorker::purge() {
  const std::int64_t before = clock_.now_ms() - webhooks_.settings().retention.count();
  return store_.transaction([&](store::Tx& tx) -> core::Status {
    auto n = tx.purge_webhook_deliveries(before);
    if (!n) {
      return core::fail(std::move(n.error()));
    }
    return {};
  });
}

}  // namespace latchkey::delivery
