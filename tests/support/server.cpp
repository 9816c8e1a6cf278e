#include "support/server.hpp"

#include <cstdlib>
#include <stdexcept>
#include <vector>

#include "support/http_client.hpp"

namespace latchkey::test {

Server::Server(ServerOptions options) {
  if (options.data_dir != nullptr) {
    dir_ = options.data_dir;
  } else {
    own_dir_ = std::make_unique<TempDir>();
    dir_ = own_dir_.get();
  }
  std::string last_logs;
  // A port picked in advance may be taken by someone else before we bind it: try a few.
  for (int attempt = 0; attempt < 3; ++attempt) {
    const int wanted = options.fixed_port ? free_port() : 0;
    EnvVars env{{"LATCHKEY_STORAGE_DATA_DIR", dir_->str()},
                {"LATCHKEY_SERVER_LISTEN", "127.0.0.1:" + std::to_string(wanted)},
                {"LATCHKEY_LOGGING_LEVEL", "info"}};
    if (options.fixed_port) {
      env.emplace_back("LATCHKEY_SERVER_PUBLIC_URL", "http://127.0.0.1:" + std::to_string(wanted));
    }
    if (options.fast_keys) {
      env.emplace_back("LATCHKEY_KEYS_ALGORITHM", "ES256");
    }
    env.insert(env.end(), options.env.begin(), options.env.end());
    child_ = std::make_unique<Child>(std::vector<std::string>{"serve"}, env, options.binary);
    const std::string marker = "latchkey listening on 127.0.0.1:";
    auto out = child_->wait_for_output(marker, std::chrono::seconds(30));
    if (out) {
      const auto pos = out->find(marker) + marker.size();
      port_ = std::atoi(out->c_str() + pos);
      if (port_ > 0 && (!options.fixed_port || port_ == wanted)) {
        return;
      }
    }
    child_->stop();
    last_logs = child_->output();
    child_.reset();
  }
  throw std::runtime_error("latchkey serve did not start; output:\n" + last_logs);
}

Server::~Server() {
  if (child_) {
    child_->stop();
  }
}

}  // namespace latchkey::test
