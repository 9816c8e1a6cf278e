#pragma once
// The real `latchkey` binary as a server under test: spawned with a fresh data dir (or a given
// one, for restarts) and a clean environment, its port read from its JSON log, always stopped
// (SIGTERM, then SIGKILL). Nothing here links the server's code: what we test is the binary.
#include <memory>
#include <string>

#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace latchkey::test {

struct ServerOptions {
  EnvVars env{};                      // extra LATCHKEY_* variables
  bool fixed_port = false;            // pick a port first and use it as public_url (FAPI tests)
  bool fast_keys = false;             // ES256 signing keys: start-up without RSA key generation
  const TempDir* data_dir = nullptr;  // reuse a data dir (restarts); else a fresh one
  std::string binary{};               // the server binary; empty: latchkey
};

class Server {
 public:
  explicit Server(ServerOptions options = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] std::string origin() const { return "http://127.0.0.1:" + std::to_string(port_); }
  [[nodiscard]] const TempDir& data_dir() const { return *dir_; }
  Child& child() { return *child_; }
  [[nodiscard]] std::string logs() const { return child_->output(); }
  int stop() { return child_->stop(); }

 private:
  std::unique_ptr<TempDir> own_dir_;
  const TempDir* dir_ = nullptr;
  std::unique_ptr<Child> child_;
  int port_ = 0;
};

}  // namespace latchkey::test
