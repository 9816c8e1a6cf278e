#pragma once
// Black-box harness for the real `latchkey` binary (design.md §2 "tests/integration/"): spawn it
// with a fresh data dir and a clean environment, find its port in its JSON log, talk HTTP/1.1 to
// it over a plain POSIX socket on 127.0.0.1, and always stop it (SIGTERM, then SIGKILL) and
// delete the data dir. Nothing here links the server's code: what we test is the binary.
#include <sys/types.h>

#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace latchkey::it {

using EnvVars = std::vector<std::pair<std::string, std::string>>;

// The binary under test (set by CMake from $<TARGET_FILE:latchkey>).
std::string latchkey_bin();

// A fresh directory under the system temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  [[nodiscard]] std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

// A free TCP port on 127.0.0.1 (bind :0, read it, close). Racy by nature, good enough for tests.
int free_port();

// ---- child processes ---------------------------------------------------------------------------

struct RunResult {
  int exit_code = -1;  // -1: killed by a signal or timed out
  std::string out;
  std::string err;
};

// Runs `latchkey <args...>` to completion with only `env` (plus PATH/HOME) in its environment.
RunResult run_cli(const std::vector<std::string>& args, const EnvVars& env,
                  std::chrono::milliseconds timeout = std::chrono::seconds(20));

// A running child whose stdout and stderr are drained by two threads into memory, so the pipes
// never fill. The destructor stops it (SIGTERM, SIGKILL after a grace period).
class Child {
 public:
  Child(const std::vector<std::string>& args, const EnvVars& env);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // Waits until stdout+stderr contain `needle`; returns the output so far, or nullopt on timeout
  // or when the child exited first.
  std::optional<std::string> wait_for_output(const std::string& needle,
                                             std::chrono::milliseconds timeout);
  void signal(int sig) const;
  // SIGTERM, wait up to `grace`, then SIGKILL. Returns the exit code (-1 if killed). Idempotent.
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(15));
  // Waits for exit without signalling. nullopt when still running after `timeout`.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  [[nodiscard]] std::string output() const;  // stdout + stderr so far (interleaved by arrival)
  [[nodiscard]] pid_t pid() const { return pid_; }

 private:
  void drain(int fd);
  std::optional<int> reap(std::chrono::milliseconds timeout);

  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::vector<std::thread> readers_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string output_;
  int open_pipes_ = 0;
};

// ---- HTTP ----------------------------------------------------------------------------------------

struct HttpResponse {
  int status = 0;  // 0: no (parseable) response
  std::multimap<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string raw;

  [[nodiscard]] std::optional<std::string> header(const std::string& name) const;
  [[nodiscard]] std::vector<std::string> all(const std::string& name) const;
  [[nodiscard]] boost::json::value json() const;  // null when the body is not JSON
};

struct HttpRequest {
  std::string method = "GET";
  std::string target = "/";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// One request on a fresh connection (Connection: close); reads until the server closes.
HttpResponse http_request(int port, const HttpRequest& request,
                          std::chrono::milliseconds timeout = std::chrono::seconds(15));
// Arbitrary bytes; the answer is parsed when it is HTTP.
HttpResponse http_raw(int port, const std::string& bytes,
                      std::chrono::milliseconds timeout = std::chrono::seconds(15));
HttpResponse http_get(int port, const std::string& target);

// application/x-www-form-urlencoded with RFC 3986 unreserved characters kept.
std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields);
std::string url_decode(std::string_view s);
// Query parameters of an absolute URL or a target.
std::map<std::string, std::string> query_params(std::string_view url);

// ---- the server under test -------------------------------------------------------------------

struct ServerOptions {
  EnvVars env{};                // extra LATCHKEY_* variables
  bool fixed_port = false;      // pick a port first and use it as public_url (FAPI tests)
  bool fast_keys = false;       // ES256 signing keys: start-up without RSA key generation
  const TempDir* data_dir = nullptr;  // reuse a data dir (restarts); else a fresh one
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

// A browser talking to the Frontend API: keeps cookies, sends Origin on state changes like
// fetch() does, and remembers every response body (for the "no secret leaks" checks).
class Browser {
 public:
  explicit Browser(const Server& server);
  Browser(int port, std::string origin);

  HttpResponse get(const std::string& target);
  // POST with a form body (possibly empty); `target` may carry ?_method=...
  HttpResponse post(const std::string& target,
                    const std::vector<std::pair<std::string, std::string>>& form = {});
  HttpResponse post_raw_body(const std::string& target, const std::string& body,
                             const std::string& content_type =
                                 "application/x-www-form-urlencoded");
  HttpResponse send(HttpRequest request);

  // GET /__clerk/v1/client → the "response" member (null when no client).
  boost::json::value client();

  std::optional<std::string> cookie(const std::string& name) const;
  void set_cookie(const std::string& name, const std::string& value) { cookies_[name] = value; }
  void clear_cookies() { cookies_.clear(); }
  std::string origin_header;  // "" = send no Origin
  [[nodiscard]] const std::vector<std::string>& bodies() const { return bodies_; }

 private:
  void absorb(const HttpResponse& r);

  int port_;
  std::map<std::string, std::string> cookies_;
  std::vector<std::string> bodies_;
};

// ---- JSON helpers --------------------------------------------------------------------------------

// Path lookup "a.b.0.c" ("" members are objects keys, digits index arrays); null when absent.
const boost::json::value& at(const boost::json::value& v, std::string_view path);
std::string str(const boost::json::value& v, std::string_view path);  // "" unless a string
std::int64_t num(const boost::json::value& v, std::string_view path);  // 0 unless a number

// The first error of a Clerk error envelope, checking its shape: {"errors":[{"code","message",
// "long_message","meta"}]}. Returns null (and adds a gtest failure) when the shape is wrong.
boost::json::value error_of(const HttpResponse& r);

// A compact, comparable description of a client: ids and statuses of everything in it.
std::string client_snapshot(const boost::json::value& client);

}  // namespace latchkey::it
