#pragma once
// Second factors (issue 12): a user's authenticator app (TOTP, RFC 6238 through liboath) and backup
// codes — enrolled by the signed-in user through /v1/me (MeService), checked by a sign-in after its
// first factor (needs_second_factor). The TOTP secret is sealed at rest; backup codes are stored as
// keyed MACs; a time step and a backup code are each accepted once, by a conditional write, so two
// concurrent requests cannot both use one.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "flows/flow_types.hpp"
#include "flows/machine.hpp"
#include "store/store.hpp"

namespace latchkey::flows {

// An authenticator app as /v1/me returns it. `secret` and `uri` only right after creation;
// `backup_codes` only from the attempt that verified it (when backup codes are on).
struct TotpView {
  store::Totp totp;
  std::optional<std::string> secret;  // base32
  std::optional<std::string> uri;     // otpauth://totp/...
  std::optional<std::vector<std::string>> backup_codes;
};

// A fresh set of backup codes (shown once; only their MACs are kept).
struct BackupCodesView {
  std::string id;  // bc_...
  std::vector<std::string> codes;
  std::int64_t created_at_ms = 0;
};

// What /v1/me answers: the change's own object, and the client after it (tokens minted).
template <typename T>
struct MeResult {
  Mutation mutation;
  T response;
};

// The second factors a sign-in of this user offers (supported_second_factors), in Clerk's order:
// totp, then backup_code while codes are left. Empty: the user has none, no second factor asked.
std::vector<std::string> second_factor_strategies(const MfaSettings& settings,
                                                  const store::MfaSummary& mfa);

// Checks a second factor of `user_id` and, when right, consumes it (the time step, the backup
// code) in `tx`. kIncorrect for a wrong, replayed or malformed code.
core::Result<FactorOutcome> check_second_factor(store::Tx& tx, FlowDeps& d,
                                                const std::string& user_id,
                                                std::string_view strategy, std::string_view code,
                                                std::int64_t now_ms);

// user.updatePassword({newPassword, currentPassword, signOutOfOtherSessions}).
struct ChangePasswordParams {
  core::Secret new_password;
  std::optional<core::Secret> current_password;
  bool sign_out_of_other_sessions = false;
};

// Session tasks (sessions::TaskPolicy): `reset-password` while the user's password is flagged
// (users.setPasswordCompromised), then `setup-mfa` while the instance requires a second factor
// ([mfa] required) and the user has none; the organizations issue adds choose-organization here.
class SessionTasks final : public sessions::TaskPolicy {
 public:
  explicit SessionTasks(const MfaSettings& settings) : settings_(settings) {}
  core::Result<std::vector<std::string>> tasks(store::Tx& tx, const std::string& user_id) override;

 private:
  const MfaSettings& settings_;
};

// The /v1/me endpoints of the signed-in user (part2 §6). Each is authorised by the caller's client
// and one of its live sessions — pending ones too, so that a setup-mfa task can be done — and
// runs in one transaction.
class MeService {
 public:
  explicit MeService(FlowDeps& d) : d_(d) {}

  // POST /v1/me/totp: a new secret (an unverified enrollment replaces the previous one);
  // kInvalidState when the user already has a verified app.
  core::Result<MeResult<TotpView>> create_totp(const Caller& caller, const std::string& session_id);
  // POST /v1/me/totp/attempt_verification: the first code from the app. Returns the verified app
  // and, when backup codes are on, a fresh set of them.
  core::Result<MeResult<TotpView>> verify_totp(const Caller& caller, const std::string& session_id,
                                               std::string_view code);
  // DELETE /v1/me/totp: the app and the backup codes go (they need another factor).
  core::Result<MeResult<std::string>> delete_totp(const Caller& caller,
                                                  const std::string& session_id);
  // POST /v1/me/backup_codes: a new set replaces the old; needs a verified app.
  core::Result<MeResult<BackupCodesView>> create_backup_codes(const Caller& caller,
                                                              const std::string& session_id);
  // GET /v1/me.
  core::Result<MeResult<UserView>> get(const Caller& caller, const std::string& session_id);
  // POST /v1/me/change_password: the new password passes the policy; the current one is asked for
  // (form_password_incorrect, param current_password) unless the password is flagged, when the
  // sign-in that led here stands in for it (the reset-password task). Clears the flag; with
  // sign_out_of_other_sessions the user's other sessions are revoked.
  core::Result<MeResult<UserView>> change_password(const Caller& caller,
                                                   const std::string& session_id,
                                                   const ChangePasswordParams& params);

 private:
  FlowDeps& d_;
};

}  // namespace latchkey::flows
