#pragma once
// Shared fixture of the security catalog suite (shared/security-catalog.md §2): one real
// `latchkey` binary per test (fresh data dir), a scriptable identity provider, a cookie-keeping
// browser, and the invariant checks of catalog §2.0 / §2.M: rows of users, email addresses,
// external accounts and sessions read straight from the SQLite file (read-only), cookies set,
// calls the provider received, and the audit line in the server's log.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "script_idp.hpp"
#include "support/harness.hpp"

namespace latchkey::sec {

using it::Browser;
using it::HttpResponse;
using Form = std::vector<std::pair<std::string, std::string>>;

inline constexpr const char* kSignIns = "/__clerk/v1/client/sign_ins";
inline constexpr const char* kSignUps = "/__clerk/v1/client/sign_ups";
inline constexpr const char* kCallback = "/__clerk/v1/oauth_callback";
inline constexpr const char* kClientPath = "/__clerk/v1/client";

// Everything an attack must not change (catalog §2.0): whole rows, serialised.
struct Rows {
  std::string users;
  std::string emails;
  std::string accounts;
  std::string sessions;
  int user_count = 0;
  int account_count = 0;
  int session_count = 0;
  bool operator==(const Rows&) const = default;
};
std::ostream& operator<<(std::ostream& os, const Rows& r);

// Reads the tables of a data dir's latchkey.db (read-only; works while the server runs).
Rows read_rows(const std::string& db_path);
// One SQL scalar (COUNT(*) etc.) from the same database.
std::string sql_scalar(const std::string& db_path, const std::string& sql);

// One HTTP request from a chosen loopback source address (127.0.0.2 ...): another "IP".
HttpResponse request_from(const std::string& source_ip, int port, const it::HttpRequest& request);

std::optional<std::string> set_cookie_named(const HttpResponse& r, const std::string& name);

class Sec : public ::testing::Test {
 public:
  void SetUp() override;
  void TearDown() override;

  // Starts latchkey with Google pointed at `idp` (or `provider_env` instead), rate limits off
  // unless `extra` turns them on, plus `extra`.
  void start(it::EnvVars extra = {}, std::optional<it::EnvVars> provider_env = std::nullopt);
  void restart();  // same data dir, same port, same config

  [[nodiscard]] std::string origin() const { return server->origin(); }
  [[nodiscard]] std::string db() const;
  Browser browser() { return Browser(*server); }
  Rows rows() const { return read_rows(db()); }

  HttpResponse start_sign_in(Browser& b, const std::string& strategy = "oauth_google",
                             const std::string& redirect_url = "/sso-callback");
  HttpResponse start_sign_up(Browser& b, const std::string& strategy = "oauth_google");
  static std::string auth_url_of(const HttpResponse& started);
  HttpResponse callback(Browser& b, const Form& params);
  // sign-in → provider approves `user` → callback. Returns the callback response.
  HttpResponse round_trip(Browser& b, const User& user,
                          const std::string& strategy = "oauth_google");
  // A full new-user sign-up through the transfer; returns the created session id.
  std::string sign_up_user(Browser& b, const User& user,
                           const std::string& strategy = "oauth_google");

  // The audit line (catalog §2.0): waits up to 3 s for `needle` in the server's output.
  void expect_log(const std::string& needle);

  // The safe outcome of an attack on one sign-in attempt (catalog §2.0 "⟂"): the callback was a
  // 303 back to the app (or `status`), the attempt failed with `code`, no session, no cookie set
  // by the callback, no row changed since `before`, nothing transferable, the audit event logged
  // with `reason` (when not empty).
  void expect_failed_attempt(Browser& b, const HttpResponse& cb, const Rows& before,
                             const std::string& code, const std::string& reason, int status = 303);

  // Positive control: the attempt verified and transfers to a sign-up (a new user).
  void expect_accepted(Browser& b, const HttpResponse& cb);

  // Runs one sign-in where the provider misbehaves as scripted and checks the safe outcome.
  void hostile_id_token(const std::string& reason, const User& user = User{});

  std::unique_ptr<ScriptIdp> idp;
  std::unique_ptr<it::TempDir> dir;
  std::unique_ptr<it::Server> server;
  it::EnvVars env_;
  std::string binary_;  // the server binary start() and restart() run; empty: latchkey
  int port_ = 0;
};

}  // namespace latchkey::sec
