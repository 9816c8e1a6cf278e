#include "sessions/views.hpp"

namespace latchkey::sessions {

bool is_live(const store::Session& s, std::int64_t now_ms) {
  return (s.status == "active" || s.status == "pending") && s.expire_at_ms > now_ms &&
         s.abandon_at_ms > now_ms;
}

core::Result<UserView> load_user(store::Tx& tx, const std::string& user_id) {
  UserView v;
  auto user = tx.get_user(user_id);
  if (!user) {
    return core::fail(std::move(user.error()));
  }
  if (!*user) {
    // A session always references an existing user (foreign key): a missing one is corruption.
    return core::fail(core::Error(core::Code::kInternal).with_internal("session user missing"));
  }
  v.user = std::move(**user);
  auto emails = tx.list_email_addresses(user_id);
  if (!emails) {
    return core::fail(std::move(emails.error()));
  }
  v.emails = std::move(*emails);
  auto accounts = tx.list_external_accounts(user_id);
  if (!accounts) {
    return core::fail(std::move(accounts.error()));
  }
  v.accounts = std::move(*accounts);
  auto mfa = tx.get_mfa_summary(user_id);
  if (!mfa) {
    return core::fail(std::move(mfa.error()));
  }
  v.mfa = *mfa;
  return v;
}

}  // namespace latchkey::sessions
