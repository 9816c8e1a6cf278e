#pragma once
// Delivery that loses nothing (issue 11 item 4): codes and links by email and SMS through an
// outbox.
//
// A flow writes its code row and the message in ONE transaction (Outbox::enqueue(tx, ...)), so a
// message exists exactly when its code does: a crash, a rollback or a down SMTP server can delay a
// message but never lose it or send one for a code that was never stored. After the commit the
// caller calls Outbox::notify(); the Worker (a thread owned by app/) claims due messages with a
// lease (safe with several nodes on one PostgreSQL), renders them, sends them and marks them sent,
// or reschedules them with exponential backoff, giving up after max_attempts or max_age. It also
// polls, so a message whose notify() was lost (crash right after the commit) still goes.
//
// Secrets: the code and the link are sealed at rest (crypto::Sealer, bound to the message id) and
// cleared once the message is sent or given up; no log line carries them.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/random.hpp"
#include "core/secret.hpp"
#include "crypto/sealer.hpp"
#include "net/http_client.hpp"
#include "net/smtp_client.hpp"
#include "store/store.hpp"

namespace latchkey::delivery {

enum class Channel { kEmail, kSms };
// kSignUpAttempt carries no code: with user enumeration protection on, the owner of an address
// someone tried to sign up with is told so instead of being sent a code.
enum class Purpose {
  kVerificationCode,
  kSignInCode,
  kResetPasswordCode,
  kEmailLink,
  kSignUpAttempt,
  kVerificationLink,  // a sign-up's email address verified by a link (the link, like kEmailLink)
};

// Stable names (what the outbox row stores): "email"/"sms"; "verification_code", "sign_in_code",
// "reset_password_code", "email_link", "sign_up_attempt", "verification_link".
std::string_view channel_name(Channel c);
std::string_view purpose_name(Purpose p);
std::optional<Channel> channel_from_name(std::string_view name);
std::optional<Purpose> purpose_from_name(std::string_view name);

struct Message {
  Channel channel = Channel::kEmail;
  Purpose purpose = Purpose::kVerificationCode;
  std::string to;     // email address or E.164 phone number
  core::Secret code;  // the 6-digit code (empty for links)
  core::Secret link;  // the email link (empty for codes)
  int expires_in_minutes = 10;
  std::string remote_ip;  // for the per-IP limits
};

// Sending limits (no SMS pumping, no mail bombing). Counted over the outbox rows of the last
// `window` on every node (the rows are in the shared database); 0 turns a limit off.
struct Limits {
  std::chrono::milliseconds window{3'600'000};
  unsigned per_ip = 20;         // messages asked for by one IP address
  unsigned per_recipient = 10;  // messages to one address or number
  unsigned per_country = 500;   // SMS to one calling code (all requesters together)
  // Calling codes SMS may go to ("1", "44", ...); empty = every country.
  std::vector<std::string> sms_countries;
};

struct SmtpTransportSettings {
  net::SmtpSettings server;  // host empty = no SMTP: the mail drop is used
};

struct SmsSettings {
  std::string provider;  // "" = none (SMS go to the mail drop), "twilio" or "webhook"
  std::string url;       // twilio: API base (default https://api.twilio.com); webhook: the URL
  std::string account_sid;
  core::Secret auth_token;  // twilio: Basic auth with account_sid; webhook: Bearer token if set
  std::string from;         // the sender number or messaging service
};

struct Settings {
  std::string application_name = "Latchkey";
  // The From header, "Name <address>" or a bare address; its address is the envelope sender.
  std::string from = "no-reply@localhost";
  std::filesystem::path mail_dir = "latchkey-data/mail";  // the mail drop (no SMTP configured)
  SmtpTransportSettings smtp;
  SmsSettings sms;
  Limits limits;
  int max_attempts = 10;
  std::chrono::milliseconds max_age{24 * 3'600'000};  // give up on a message older than this
  std::chrono::milliseconds backoff_base{5'000};      // first retry after this; doubles each time
  std::chrono::milliseconds backoff_max{900'000};     // up to this
  std::chrono::milliseconds poll_interval{5'000};
  std::chrono::milliseconds lease{120'000};  // a claimed message is retried after this if its
                                             // worker died (must exceed one send's timeout)
  int batch = 16;
  std::chrono::milliseconds outbound_timeout{10'000};  // SMS gateways
};

// The wait before attempt `attempts + 1` after `attempts` failed ones: base * 2^(attempts-1),
// capped at max.
std::chrono::milliseconds backoff(int attempts, std::chrono::milliseconds base,
                                  std::chrono::milliseconds max);

// The calling code of an E.164 number ("+447700900123" -> "44"); nullopt when `number` is not
// E.164 ('+', a non-zero digit, 7 to 15 digits in all).
std::optional<std::string> calling_code(std::string_view number);

class Outbox {
 public:
  Outbox(Settings settings, const crypto::Sealer& sealer, core::Random& random);

  // Checks the sending limits (per IP, per recipient, per phone country: refused →
  // core::Code::kDeliveryRefused or kTooManyRequests with a clear message, nothing written) and
  // writes the message, sealed, to the outbox table through `tx` — so it commits or rolls back
  // with the caller's code row. Never logs the code.
  core::Status enqueue(store::Tx& tx, const Message& m, std::int64_t now_ms);
  // Called by the caller after its transaction committed: wakes the worker.
  void notify();

  // The worker's side: what notify() calls (empty = nothing).
  void set_listener(std::function<void()> listener);
  [[nodiscard]] const Settings& settings() const { return settings_; }
  // The sealed payload of a row, opened (internal to delivery; exposed for the worker).
  struct Payload {
    core::Secret code;
    core::Secret link;
    int expires_in_minutes = 10;
  };
  [[nodiscard]] core::Result<Payload> open(const store::OutboxMessage& row) const;

 private:
  Settings settings_;
  const crypto::Sealer& sealer_;
  core::Random& random_;
  std::mutex mu_;
  std::function<void()> listener_;
};

// Outgoing messages as the transports get them.
struct Email {
  std::string id;             // the outbox id (names the mail-drop file)
  std::string envelope_from;  // bare address
  std::string to;
  std::string data;  // RFC 5322 + MIME, CRLF line ends
};
struct Sms {
  std::string id;
  std::string to;
  std::string body;
  Purpose purpose = Purpose::kVerificationCode;
};

// A failure of a transport: kServiceUnavailable = try again later; kDeliveryRefused = permanent
// (the gateway refused this message: it is given up at once).
class EmailTransport {
 public:
  virtual ~EmailTransport() = default;
  virtual core::Status send(const Email& email) = 0;
};
class SmsTransport {
 public:
  virtual ~SmsTransport() = default;
  virtual core::Status send(const Sms& sms) = 0;
};

std::unique_ptr<EmailTransport> make_smtp_transport(std::unique_ptr<net::SmtpClient> client);
// One file <dir>/<id>.eml per message (0600, written atomically); the log names the file.
std::unique_ptr<EmailTransport> make_mail_drop(std::filesystem::path dir);
// SMS into the mail drop (<dir>/<id>.sms.txt) when no gateway is configured.
std::unique_ptr<SmsTransport> make_sms_drop(std::filesystem::path dir);
// Twilio's Messages API (form POST to <url>/2010-04-01/Accounts/<sid>/Messages.json).
std::unique_ptr<SmsTransport> make_twilio_transport(const SmsSettings& s, net::HttpClient& http,
                                                    std::chrono::milliseconds timeout);
// A generic JSON webhook: POST {"id","to","from","body","purpose"} to the URL.
std::unique_ptr<SmsTransport> make_webhook_transport(const SmsSettings& s, net::HttpClient& http,
                                                     std::chrono::milliseconds timeout);

// The transports the settings ask for: SMTP when smtp.server.host is set, else the mail drop;
// the SMS gateway of sms.provider, else the SMS drop. `http` must outlive them.
struct Transports {
  std::unique_ptr<EmailTransport> email;
  std::unique_ptr<SmsTransport> sms;
};
Transports make_transports(const Settings& settings, net::HttpClient& http);

// Counts since start, by outcome (for the metrics collector app/ registers).
struct WorkerStats {
  std::uint64_t sent = 0;
  std::uint64_t retried = 0;  // failed attempts rescheduled
  std::uint64_t failed = 0;   // given up (attempts, age, refused, unreadable)
};

class Worker {
 public:
  Worker(store::Store& store, Outbox& outbox, Transports transports, const core::Clock& clock);
  ~Worker();  // stops and joins
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Starts the thread / stops and joins it; both from the owner's thread (app/), not concurrently.
  void start();
  void stop();
  // One round on the calling thread: claims up to `batch` due messages and handles each. Returns
  // how many it claimed. Tests drive it directly with a manual clock.
  core::Result<std::size_t> run_once();
  // Deletes sent and given-up rows older than the limits' window and max_age (they no longer
  // count); the thread runs it every few minutes.
  core::Status purge();
  [[nodiscard]] WorkerStats stats() const;

 private:
  void loop();
  void handle(store::OutboxMessage row);
  void finish(store::OutboxMessage row);

  store::Store& store_;
  Outbox& outbox_;
  Transports transports_;
  const core::Clock& clock_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool woken_ = false;
  WorkerStats stats_;
  std::thread thread_;
};

}  // namespace latchkey::delivery
