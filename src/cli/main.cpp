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
  auto* config = cli.add_subcommand("config", "Configuration tools");
  config->require_subcommand(1);
  auto* config_check =
      config->add_subcommand("check", "Validate the configuration and print it, secrets redacted");
  auto* users = cli.add_subcommand("users", "Manage users");
  users->require_subcommand(1);
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
  } catch (const std::exception& e) {
    spdlog::error("fatal: {}", e.what());
    return kExitRuntime;
  }
  return kExitUsage;
}
