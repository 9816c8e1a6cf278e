#pragma once
// Outbound mail (issue 11 item 4): one message per call to an SMTP submission server, on libcurl's
// SMTP (curl headers stay in src/net/*.cpp). Injected like net::HttpClient, so delivery/ is tested
// against a fake and the integration tests against a real server on 127.0.0.1.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/secret.hpp"

namespace latchkey::net {

enum class SmtpTls {
  kStartTls,  // plain connect, then STARTTLS, required (port 587)
  kImplicit,  // TLS from the first byte, "smtps" (port 465)
  kNone,      // no TLS at all (a relay on localhost, tests)
};

struct SmtpSettings {
  std::string host;
  int port = 587;
  SmtpTls tls = SmtpTls::kStartTls;
  std::string username;  // empty = no AUTH
  core::Secret password;
  std::string ca_file;  // PEM bundle to verify the server with; \"\" = the system's trust store
  std::chrono::milliseconds timeout{30'000};          // whole exchange
  std::chrono::milliseconds connect_timeout{10'000};  // TCP + TLS handshake
};

struct SmtpMessage {
  std::string from;             // envelope sender, a bare address
  std::vector<std::string> to;  // envelope recipients, bare addresses
  std::string data;             // the whole RFC 5322 message, CRLF line ends, headers first
};

class SmtpClient {
 public:
  virtual ~SmtpClient() = default;
  // Success once the server accepted the message for delivery (250 after DATA). Any failure
  // (connect, TLS, AUTH, a refused sender or recipient, timeout) is Code::kServiceUnavailable with
  // what happened in `internal` (never the message or the password).
  virtual core::Status send(const SmtpMessage& message) = 0;
};

// libcurl: peer and host verification on, protocols limited to smtp/smtps.
std::unique_ptr<SmtpClient> make_curl_smtp_client(SmtpSettings settings);

}  // namespace latchkey::net
