#include "sessions/events.hpp"

#include <utility>

namespace latchkey::sessions {
namespace {
thread_local RequestInfo t_request;
}  // namespace

std::string_view event_type(Event e) {
  switch (e) {
    case Event::kUserCreated:
      return "user.created";
    case Event::kUserUpdated:
      return "user.updated";
    case Event::kUserDeleted:
      return "user.deleted";
    case Event::kSessionCreated:
      return "session.created";
    case Event::kSessionEnded:
      return "session.ended";
    case Event::kSessionRemoved:
      return "session.removed";
    case Event::kSessionRevoked:
      return "session.revoked";
  }
  return "user.updated";
}

const RequestInfo& current_request() { return t_request; }

RequestScope::RequestScope(RequestInfo info)
    : previous_(std::exchange(t_request, std::move(info))) {}

RequestScope::~RequestScope() { t_request = std::move(previous_); }

}  // namespace latchkey::sessions
