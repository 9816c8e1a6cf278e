#pragma once
// Webhooks as Clerk sends them (issue 13 item 6; docs/backend-api.md "Webhooks").
//
// An event is written, one row per subscribed endpoint, to the webhook outbox
// (store::WebhookDelivery) in the transaction of the change it describes (Webhooks::enqueue,
// called through the sessions::EventSink port that app/ implements), so it exists exactly when
// its change does. Its payload is rendered then: what was true at the event, not at delivery.
//
// The WebhookWorker (a thread owned by app/, like the mail worker) claims due rows with a lease
// (several nodes on one PostgreSQL never take the same row), POSTs the payload signed as Standard
// Webhooks / Svix do (svix-id, svix-timestamp, svix-signature: v1,<base64 HMAC-SHA-256>) with a
// timeout per attempt, and marks the row delivered on a 2xx; otherwise it retries on the Svix
// schedule (now, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h) and then marks it failed. Rows of one
// object to one endpoint go in order: the store does not hand out a row while an earlier one of
// the same object and endpoint is pending. Delivery is at least once (a worker killed after the
// POST and before recording it delivers again after the lease): receivers dedupe by svix-id.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/random.hpp"
#include "core/secret.hpp"
#include "net/http_client.hpp"
#include "store/store.hpp"

namespace latchkey::delivery {

struct WebhookEndpoint {
  std::string name;             // the configuration's table name (logs, `latchkey webhooks list`)
  std::string url;              // http or https; also what the outbox rows name the endpoint by
  core::Secret signing_secret;  // whsec_<base64 of the key>
  std::vector<std::string> events;  // event types it wants; empty = every one
};

struct WebhookSettings {
  std::vector<WebhookEndpoint> endpoints;
  std::string instance_id;  // ins_..., the events' instance_id
  // The waits before the 2nd, 3rd, ... attempt (the first goes at once); after the last one
  // fails the row is failed. Svix's schedule by default.
  std::vector<std::chrono::milliseconds> retry_schedule{
      std::chrono::seconds(5), std::chrono::minutes(5), std::chrono::minutes(30),
      std::chrono::hours(2),   std::chrono::hours(5),   std::chrono::hours(10),
      std::chrono::hours(10)};
  std::chrono::milliseconds timeout{15'000};  // one attempt (connect + request + response)
  std::chrono::milliseconds lease{60'000};    // must exceed timeout
  std::chrono::milliseconds poll_interval{5'000};
  // Delivered and failed rows are kept this long.
  std::chrono::milliseconds retention{7LL * 24 * 3'600'000};
  int batch = 16;
};

// Who caused the event (event_attributes.http_request); empty outside a request.
struct EventAttributes {
  std::string client_ip;
  std::string user_agent;
};

// "v1,<base64(HMAC-SHA-256(key, "<id>.<timestamp>.<body>"))>", key = the base64-decoded part of
// `secret` after "whsec_". kInternal when the secret is not of that form.
core::Result<std::string> webhook_signature(std::string_view secret, std::string_view msg_id,
                                            std::int64_t timestamp_s, std::string_view body);
// True when `secret` is whsec_ followed by non-empty valid base64.
bool valid_signing_secret(std::string_view secret);

// The event as Clerk sends it: {"data":<data_json>,"object":"event","type":...,"timestamp":<ms>,
// "instance_id":...,"event_attributes":{"http_request":{"client_ip":...,"user_agent":...}}}.
std::string event_json(std::string_view type, std::string_view data_json, std::int64_t now_ms,
                       std::string_view instance_id, const EventAttributes& attributes);

class Webhooks {
 public:
  Webhooks(WebhookSettings settings, core::Random& random);

  // Whether any endpoint wants events of `type` (a caller may skip rendering when none does).
  [[nodiscard]] bool wanted(std::string_view type) const;
  // Writes the event (event_json of `data_json`) for every endpoint that wants `type`, through
  // `tx`, due now; then wakes the worker (which finds the rows once `tx` commits, or at its next
  // poll).
  core::Status enqueue(store::Tx& tx, std::string_view type, const std::string& object_id,
                       std::string_view data_json, const EventAttributes& attributes,
                       std::int64_t now_ms);
  void notify();
  void set_listener(std::function<void()> listener);

  [[nodiscard]] const WebhookSettings& settings() const { return settings_; }
  // The endpoint a row names (by URL); null when it is no longer configured.
  [[nodiscard]] const WebhookEndpoint* endpoint(std::string_view url) const;

 private:
  WebhookSettings settings_;
  core::Random& random_;
  std::mutex mu_;
  std::function<void()> listener_;
};

// `latchkey webhooks replay ID`: the row becomes pending again, due now, its attempts reset (the
// schedule starts over). kResourceNotFound when there is no such row.
core::Result<store::WebhookDelivery> replay_webhook(store::Store& store, const std::string& id,
                                                    std::int64_t now_ms);

struct WebhookStats {
  std::uint64_t delivered = 0;
  std::uint64_t retried = 0;
  std::uint64_t failed = 0;
};

class WebhookWorker {
 public:
  // `http` must outlive the worker; it is only ever called from the worker's thread (and from
  // run_once's caller), never from a request thread.
  WebhookWorker(store::Store& store, Webhooks& webhooks, net::HttpClient& http,
                const core::Clock& clock);
  ~WebhookWorker();
  WebhookWorker(const WebhookWorker&) = delete;
  WebhookWorker& operator=(const WebhookWorker&) = delete;

  void start();
  void stop();
  // One round on the calling thread: claims up to `batch` due rows and POSTs each. Returns how
  // many it claimed.
  core::Result<std::size_t> run_once();
  core::Status purge();
  [[nodiscard]] WebhookStats stats() const;

 private:
  void loop();
  void handle(store::WebhookDelivery row);
  void finish(const store::WebhookDelivery& row);

  store::Store& store_;
  Webhooks& webhooks_;
  net::HttpClient& http_;
  const core::Clock& clock_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool woken_ = false;
  WebhookStats stats_;
  std::thread thread_;
};

}  // namespace latchkey::delivery
