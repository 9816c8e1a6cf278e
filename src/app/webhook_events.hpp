#pragma once
// The webhook side of sessions::EventSink (sessions/events.hpp): inside the change's transaction
// it reads the user or session as the change left it, renders it with the Backend API's encoders
// (api/dto) and writes the event to the webhook outbox (delivery::Webhooks) through the same
// transaction. This is where the two meet: sessions/ and flows/ call the port below the encoders,
// and delivery/ stores and sends what it is given without knowing the shapes.
#include <cstdint>
#include <string>

#include "delivery/webhooks.hpp"
#include "sessions/events.hpp"

namespace latchkey::app {

class WebhookEvents final : public sessions::EventSink {
 public:
  explicit WebhookEvents(delivery::Webhooks& webhooks) : webhooks_(webhooks) {}
  core::Status emit(store::Tx& tx, sessions::Event event, const std::string& object_id,
                    std::int64_t now_ms) override;

 private:
  delivery::Webhooks& webhooks_;
};

}  // namespace latchkey::app
