// The only place that parses argv (design.md §2). Exit codes: 0 success, 1 runtime failure,
// 2 bad usage or bad configuration.
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>

#include "app/app.hpp"
#include "config/config.hpp"
#include "core/log.hpp"

#ifndef LATCHKEY_VERSION
#define LATCHKEY_VERSION "0.0.0"
#endif

namespace {

using latchkey::app::kExitOk;
using latchkey::app::kExitRuntime;
using latchkey::app::kExitUsage;

std::optional<latchkey::config::Config> load_config(const std::string& path) {
  std::string file = path;
  if (file.empty()) {
    if (const char* env = std::getenv(std::string(latchkey::config::kConfigFileEnv).c_str())) {
      file = env;
    }
  }
  auto cfg = latchkey::config::load(file, latchkey::config::latchkey_environment());
  if (!cfg) {
    std::cerr << "latchkey: configuration error: " << cfg.error().message << "\n";
    return std::nullopt;
  }
  return std::move(*cfg);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"Latchkey: a self-hosted authentication server that speaks Clerk's Frontend API"};
  cli.require_subcommand(1);
  cli.fallthrough(
      true);  // "latchkey serve --config f" works as well as "latchkey --config f serve"
  std::string config_path;
  cli.add_option("-c,--config", config_path,
                 "TOML configuration file (default: $LATCHKEY_CONFIG, else built-in defaults)");

  auto* serve = cli.add_subcommand("serve", "Run the HTTP server");
  auto* migrate = cli.add_subcommand("migrate", "Apply pending database migrations");
  auto* keys = cli.add_subcommand("keys", "Manage session-token signing keys");
  keys->require_subcommand(1);
  auto* keys_list = keys->add_subcommand("list", "List signing keys (public information only)");
  auto* keys_rotate =
      keys->add_subcommand("rotate", "Make a new active key; old ones stay published");
  auto* secret_keys = cli.add_subcommand("secret-keys", "Manage the Backend API's secret keys");
  secret_keys->require_subcommand(1);
  auto* sk_create =
      secret_keys->add_subcommand("create", "Make a new secret key (printed once, stored hashed)");
  auto* sk_list = secret_keys->add_subcommand("list", "List secret keys (id, last 4, state)");
  auto* sk_revoke = secret_keys->add_subcommand("revoke", "Revoke a secret key by its id");
  std::string sk_id;
  sk_revoke->add_option("id", sk_id, "The key's id (skey_...)")->required();
  auto* env = cli.add_subcommand("env", "Print the .env lines an application needs");
  bool with_secret_key = false;
  env->add_flag("--with-secret-key", with_secret_key,
                "Also create a secret key and print it as CLERK_SECRET_KEY");

  auto* users = cli.add_subcommand("users", "Manage users");
  users->require_subcommand(1);
  auto* users_list = users->add_subcommand("list", "List users, newest first");
  std::string users_query;
  int users_limit = 100;
  users_list->add_option("--query", users_query, "Only users whose id, name or email has this");
  users_list->add_option("--limit", users_limit, "At most this many (1-500)")
      ->check(CLI::Range(1, 500));
  std::string user_id;
  auto* users_show = users->add_subcommand("show", "Show one user as JSON");
  users_show->add_option("id", user_id, "user_...")->required();
  auto* users_create = users->add_subcommand("create", "Create a user (verified email address)");
  latchkey::app::UserCreateArgs create_args;
  users_create->add_option("--email", create_args.email, "Email address")->required();
  users_create->add_option("--password", create_args.password,
                           "Password (checked against the policy; default: none)");
  users_create->add_option("--first-name", create_args.first_name, "First name");
  users_create->add_option("--last-name", create_args.last_name, "Last name");
  auto* users_ban = users->add_subcommand("ban", "Ban a user: sessions revoked, no sign-in");
  users_ban->add_option("id", user_id, "user_...")->required();
  auto* users_unban = users->add_subcommand("unban", "Lift a ban");
  users_unban->add_option("id", user_id, "user_...")->required();
  auto* users_delete = users->add_subcommand("delete", "Delete a user and all it owns");
  users_delete->add_option("id", user_id, "user_...")->required();

  auto* sessions = cli.add_subcommand("sessions", "Manage sessions");
  sessions->require_subcommand(1);
  auto* sessions_list = sessions->add_subcommand("list", "List a user's sessions, newest first");
  sessions_list->add_option("--user", user_id, "user_...")->required();
  std::string session_id;
  auto* sessions_revoke = sessions->add_subcommand("revoke", "Revoke a session (signed out)");
  sessions_revoke->add_option("id", session_id, "sess_...")->required();

  auto* webhooks = cli.add_subcommand("webhooks", "Webhook deliveries");
  webhooks->require_subcommand(1);
  bool webhooks_failed = false;
  auto* webhooks_list =
      webhooks->add_subcommand("list", "List webhook deliveries, newest first (at most 500)");
  webhooks_list->add_flag("--failed", webhooks_failed, "Only the failed ones");
  std::string delivery_id;
  auto* webhooks_replay =
      webhooks->add_subcommand("replay", "Deliver a webhook again now (its attempts start over)");
  webhooks_replay->add_option("id", delivery_id, "whd_...")->required();

  auto* config = cli.add_subcommand("config", "Configuration tools");
  config->require_subcommand(1);
  auto* config_check =
      config->add_subcommand("check", "Validate the configuration and print it, secrets redacted");
  auto* users_import = users->add_subcommand(
      "import", "Import users from Clerk's user export CSV (idempotent, each row all or nothing)");
  std::string import_file;
  bool import_dry_run = false;
  users_import->add_option("FILE", import_file, "The CSV file exported from the Clerk Dashboard")
      ->required();
  users_import->add_flag("--dry-run", import_dry_run,
                         "Check every row against the database and report, writing nothing");
  auto* testing_token = cli.add_subcommand(
      "testing-token", "Print a testing token for @clerk/testing (needs [testing] enabled)");
  auto* backup = cli.add_subcommand(
      "backup", "Write a consistent copy of the SQLite database to FILE (while serving)");
  std::string backup_file;
  backup->add_option("FILE", backup_file, "Where to write the copy")->required();
  auto* version = cli.add_subcommand("version", "Print the version");

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = cli.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }

  if (version->parsed()) {
    std::cout << "latchkey " << LATCHKEY_VERSION << "\n";
    return kExitOk;
  }
  auto cfg = load_config(config_path);
  if (!cfg) {
    return kExitUsage;
  }
  if (config_check->parsed()) {
    std::cout << latchkey::config::describe(*cfg);
    std::cerr << "configuration ok\n";
    return kExitOk;
  }
  if (auto st = latchkey::core::init_logging(cfg->logging.level, cfg->logging.format); !st) {
    std::cerr << "latchkey: " << st.error().message << "\n";
    return kExitUsage;
  }
  latchkey::core::set_access_log_enabled(cfg->logging.access_log);
  try {
    if (serve->parsed()) {
      return latchkey::app::serve(*cfg);
    }
    if (migrate->parsed()) {
      return latchkey::app::migrate(*cfg);
    }
    if (backup->parsed()) {
      return latchkey::app::backup(*cfg, backup_file);
    }
    if (keys_list->parsed()) {
      return latchkey::app::keys_list(*cfg);
    }
    if (keys_rotate->parsed()) {
      return latchkey::app::keys_rotate(*cfg);
    }
    if (users_import->parsed()) {
      return latchkey::app::users_import(*cfg, import_file, import_dry_run);
    }
    if (testing_token->parsed()) {
      return latchkey::app::testing_token(*cfg);
    }
    namespace app = latchkey::app;
    if (sk_create->parsed()) {
      return app::secret_keys_create(*cfg);
    }
    if (sk_list->parsed()) {
      return app::secret_keys_list(*cfg);
    }
    if (sk_revoke->parsed()) {
      return app::secret_keys_revoke(*cfg, sk_id);
    }
    if (env->parsed()) {
      return app::print_env(*cfg, with_secret_key);
    }
    if (users_list->parsed()) {
      return app::users_list(*cfg, users_query, users_limit);
    }
    if (users_show->parsed()) {
      return app::users_show(*cfg, user_id);
    }
    if (users_create->parsed()) {
      return app::users_create(*cfg, create_args);
    }
    if (users_ban->parsed() || users_unban->parsed()) {
      return app::users_ban(*cfg, user_id, users_ban->parsed());
    }
    if (users_delete->parsed()) {
      return app::users_delete(*cfg, user_id);
    }
    if (sessions_list->parsed()) {
      return app::sessions_list(*cfg, user_id);
    }
    if (sessions_revoke->parsed()) {
      return app::sessions_revoke(*cfg, session_id);
    }
    if (webhooks_list->parsed()) {
      return app::webhooks_list(*cfg, webhooks_failed);
    }
    if (webhooks_replay->parsed()) {
      return app::webhooks_replay(*cfg, delivery_id);
    }
  } catch (const std::exception& e) {
    spdlog::error("fatal: {}", e.what());
    return kExitRuntime;
  }
  return kExitUsage;
}
