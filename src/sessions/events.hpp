#pragma once
// The domain's events (webhooks, issue 13 item 6): the port through which a change tells whoever
// listens what happened, INSIDE the change's own transaction. The listener (app/'s webhook
// emitter) renders the event's payload from the rows as `tx` sees them and writes it to the
// webhook outbox through the same `tx`, so an event commits exactly when its change does: a
// rolled-back change leaves no event, and a change is never committed without its event (the
// listener's failure fails the change).
//
// The port lives here, in the lowest domain module that makes such changes (sessions), so that
// sessions/ and flows/ both call it while the Backend API encoders (api/dto) that render the
// payloads stay above them: app/ wires the two together.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "store/store.hpp"

namespace latchkey::sessions {

enum class Event : std::uint8_t {
  kUserCreated,
  kUserUpdated,
  kUserDeleted,
  kSessionCreated,
  kSessionEnded,
  kSessionRemoved,
  kSessionRevoked,
};

// Clerk's event type: "user.created", "session.revoked", ...
std::string_view event_type(Event e);

class EventSink {
 public:
  virtual ~EventSink() = default;
  // `object_id` is the user's or the session's id; the row (when it still exists) is read through
  // `tx` as the change left it. An error rolls the change back.
  virtual core::Status emit(store::Tx& tx, Event event, const std::string& object_id,
                            std::int64_t now_ms) = 0;
};

// Calls `sink` when there is one (no webhooks configured: nothing to do).
inline core::Status emit(EventSink* sink, store::Tx& tx, Event event, const std::string& object_id,
                         std::int64_t now_ms) {
  return sink == nullptr ? core::Status{} : sink->emit(tx, event, object_id, now_ms);
}

// What the event's event_attributes.http_request says: the request being handled on this thread.
// api/ sets it for the length of each request (RequestScope); outside one (CLI, workers) it is
// empty.
struct RequestInfo {
  std::string client_ip;
  std::string user_agent;
};
const RequestInfo& current_request();
class RequestScope {
 public:
  explicit RequestScope(RequestInfo info);
  ~RequestScope();
  RequestScope(const RequestScope&) = delete;
  RequestScope& operator=(const RequestScope&) = delete;

 private:
  RequestInfo previous_;
};

}  // namespace latchkey::sessions
