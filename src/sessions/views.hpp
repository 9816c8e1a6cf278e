#pragma once
// What a client's sessions look like to the Frontend API: a session with its user, and the token
// the service minted for the caller's authorized party (the encoders never mint).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "store/store.hpp"

namespace latchkey::sessions {

struct UserView {
  store::User user;
  std::vector<store::EmailAddress> emails;
  std::vector<store::ExternalAccount> accounts;
  store::MfaSummary mfa;  // two_factor_enabled, totp_enabled, backup_code_enabled
};

struct SessionView {
  store::Session session;
  UserView user;
  // The session token for the caller (last_active_token); null when none was minted: an ended
  // session, or minting failed (the SDK then asks /tokens, which reports the error).
  std::optional<std::string> token;
};

// A session that still counts as signed in: active or pending, neither expired nor abandoned.
[[nodiscard]] bool is_live(const store::Session& s, std::int64_t now_ms);

// The user with their email addresses, external accounts and second factors.
core::Result<UserView> load_user(store::Tx& tx, const std::string& user_id);

}  // namespace latchkey::sessions
