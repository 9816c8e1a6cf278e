#include "app/webhook_events.hpp"

#include "api/dto/encode.hpp"
#include "sessions/views.hpp"

namespace latchkey::app {

core::Status WebhookEvents::emit(store::Tx& tx, sessions::Event event, const std::string& object_id,
                                 std::int64_t now_ms) {
  const std::string_view type = sessions::event_type(event);
  if (!webhooks_.wanted(type)) {
    return {};  // no endpoint wants it: nothing to render
  }
  std::string data;
  switch (event) {
    case sessions::Event::kUserCreated:
    case sessions::Event::kUserUpdated: {
      auto user = sessions::load_user(tx, object_id);
      if (!user) {
        return core::fail(std::move(user.error()));
      }
      data = api::dto::backend_user_json(*user, now_ms);
      break;
    }
    case sessions::Event::kUserDeleted:
      // Ids are ours (user_ + base62): nothing to escape.
      data = R"({"deleted":true,"id":")" + object_id + R"(","object":"user"})";
      break;
    case sessions::Event::kSessionCreated:
    case sessions::Event::kSessionEnded:
    case sessions::Event::kSessionRemoved:
    case sessions::Event::kSessionRevoked: {
      auto s = tx.get_session(object_id);
      if (!s) {
        return core::fail(std::move(s.error()));
      }
      if (!*s) {
        return core::fail(core::Error(core::Code::kInternal)
                              .with_internal("session event for a missing session " + object_id));
      }
      data = api::dto::backend_session_json(**s);
      break;
    }
  }
  const sessions::RequestInfo& request = sessions::current_request();
  return webhooks_.enqueue(tx, type, object_id, data,
                           {.client_ip = request.client_ip, .user_agent = request.user_agent},
                           now_ms);
}

}  // namespace latchkey::app
