#pragma once
// A real SMTP server on 127.0.0.1 for the tests (tests/support/smtp_sink.py on Debian's
// python3-aiosmtpd): it binds port 0 (or the port given), and stores each accepted message as a
// file this class reads back. The destructor stops it.
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "support/temp_dir.hpp"

namespace latchkey::test {

class SmtpSink {
 public:
  struct Options {
    int port = 0;              // 0 = any free port
    std::string auth;          // "user:password" = AUTH required
    std::string tls = "none";  // none | starttls (offered and required) | implicit
  };
  // Throws std::runtime_error when the server does not come up.
  SmtpSink();
  explicit SmtpSink(Options options);
  ~SmtpSink();
  SmtpSink(const SmtpSink&) = delete;
  SmtpSink& operator=(const SmtpSink&) = delete;

  [[nodiscard]] int port() const { return port_; }
  // The PEM certificate the server presents (tls starttls|implicit), for the client to trust.
  [[nodiscard]] const std::string& cert_file() const { return cert_; }
  // Every message received so far (envelope lines first), oldest first.
  [[nodiscard]] std::vector<std::string> messages() const;
  // Waits until at least `n` messages arrived; false on timeout.
  bool wait_for(std::size_t n, std::chrono::milliseconds timeout) const;

  // A port on 127.0.0.1 that was free a moment ago (bound to port 0, read back, closed): for a
  // server that must come up later on a port the code under test already uses.
  static int reserve_port();

 private:
  TempDir dir_;
  pid_t pid_ = -1;
  int port_ = 0;
  std::string cert_;
};

}  // namespace latchkey::test
