#pragma once
// Composition root (design.md §2): builds config, stores, services and servers; owns threads and
// shutdown. Every command returns a process exit code: 0 success, 1 runtime failure
// (2 = bad usage/config is decided by the CLI before we get here).
#include <string>

#include "config/config.hpp"

namespace latchkey::app {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRuntime = 1;
inline constexpr int kExitUsage = 2;

int serve(const config::Config& config);
int migrate(const config::Config& config);
int keys_list(const config::Config& config);
int keys_rotate(const config::Config& config);
// `users import FILE [--dry-run]` (app/users_import.hpp): 0 when every row was created or
// skipped, 1 when a row failed, the file cannot be read or is not a Clerk export, or the store
// failed.
int users_import(const config::Config& config, const std::string& file, bool dry_run);
// Prints a testing token for @clerk/testing (CLERK_TESTING_TOKEN); needs [testing] enabled.
int testing_token(const config::Config& config);
// Writes a consistent copy of the SQLite database to `file` (the server may be running).
int backup(const config::Config& config, const std::string& file);

// The Backend API's keys and the .env lines of an application (app/admin.cpp).
int secret_keys_create(const config::Config& config);
int secret_keys_list(const config::Config& config);
int secret_keys_revoke(const config::Config& config, const std::string& id);
int print_env(const config::Config& config, bool with_secret_key);

// Users and sessions, over the Backend API's services.
struct UserCreateArgs {
  std::string email;
  std::string password;  // "" = none
  std::string first_name;
  std::string last_name;
};
int users_list(const config::Config& config, const std::string& query, int limit);
int users_show(const config::Config& config, const std::string& id);
int users_create(const config::Config& config, const UserCreateArgs& args);
int users_ban(const config::Config& config, const std::string& id, bool banned);
int users_delete(const config::Config& config, const std::string& id);
int sessions_list(const config::Config& config, const std::string& user_id);
int sessions_revoke(const config::Config& config, const std::string& id);
// `latchkey webhooks list [--failed]` (newest first: id, event type, endpoint, status,
// attempts, last error) and `latchkey webhooks replay ID` (due again now, attempts reset).
int webhooks_list(const config::Config& config, bool failed_only);
int webhooks_replay(const config::Config& config, const std::string& id);

}  // namespace latchkey::app
