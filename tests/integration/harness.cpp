#include "harness.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <stdexcept>

#ifndef LATCHKEY_BIN
#error "LATCHKEY_BIN must name the latchkey binary"
#endif

namespace latchkey::it {
namespace json = boost::json;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::string latchkey_bin() { return LATCHKEY_BIN; }

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return std::string(s);
}

// argv/envp for posix_spawn, kept alive by the owner.
struct CStrings {
  explicit CStrings(const std::vector<std::string>& v) : storage(v) {
    for (auto& s : storage) {
      ptrs.push_back(s.data());
    }
    ptrs.push_back(nullptr);
  }
  std::vector<std::string> storage;
  std::vector<char*> ptrs;
};

// The child's whole environment: nothing of ours leaks in (a LATCHKEY_* of the developer's shell
// would change what we test), only PATH/HOME and what the test asks for (later entries win).
std::vector<std::string> child_environment(const EnvVars& env) {
  std::map<std::string, std::string> merged;
  for (const char* keep : {"PATH", "HOME", "TMPDIR"}) {
    if (const char* v = std::getenv(keep)) {
      merged[keep] = v;
    }
  }
  for (const auto& [k, v] : env) {
    merged[k] = v;
  }
  std::vector<std::string> out;
  out.reserve(merged.size());
  for (const auto& [k, v] : merged) {
    out.push_back(k + "=" + v);
  }
  return out;
}

pid_t spawn(const std::vector<std::string>& args, const EnvVars& env, int out_fd, int err_fd) {
  std::vector<std::string> argv{latchkey_bin()};
  argv.insert(argv.end(), args.begin(), args.end());
  CStrings cargv(argv);
  CStrings cenv(child_environment(env));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
  posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, cargv.ptrs[0], &fa, nullptr, cargv.ptrs.data(), cenv.ptrs.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    throw std::runtime_error("posix_spawn " + latchkey_bin() + ": " + std::to_string(rc));
  }
  return pid;
}

int decode_status(int status) {
  if (WIFEXITED(status)) {
    return WEXITSTATUS(status);
  }
  return -1;
}

}  // namespace

// ---- TempDir / ports ---------------------------------------------------------------------------

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "latchkey-it-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    throw std::runtime_error("mkdtemp failed");
  }
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw std::runtime_error("socket");
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("bind 127.0.0.1:0");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

// ---- Child -------------------------------------------------------------------------------------

Child::Child(const std::vector<std::string>& args, const EnvVars& env) {
  int out[2];
  int err[2];
  if (::pipe2(out, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe");
  }
  if (::pipe2(err, O_CLOEXEC) != 0) {
    ::close(out[0]);
    ::close(out[1]);
    throw std::runtime_error("pipe");
  }
  try {
    pid_ = spawn(args, env, out[1], err[1]);
  } catch (...) {
    for (int fd : {out[0], out[1], err[0], err[1]}) {
      ::close(fd);
    }
    throw;
  }
  ::close(out[1]);
  ::close(err[1]);
  open_pipes_ = 2;
  readers_.emplace_back([this, fd = out[0]] { drain(fd); });
  readers_.emplace_back([this, fd = err[0]] { drain(fd); });
}

Child::~Child() { stop(); }

void Child::drain(int fd) {
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    std::lock_guard lock(mu_);
    output_.append(buf, static_cast<std::size_t>(n));
    cv_.notify_all();
  }
  ::close(fd);
  std::lock_guard lock(mu_);
  --open_pipes_;
  cv_.notify_all();
}

std::optional<std::string> Child::wait_for_output(const std::string& needle, milliseconds timeout) {
  std::unique_lock lock(mu_);
  const bool found = cv_.wait_for(lock, timeout, [&] {
    return output_.find(needle) != std::string::npos || open_pipes_ == 0;
  });
  if (!found || output_.find(needle) == std::string::npos) {
    return std::nullopt;
  }
  return output_;
}

void Child::signal(int sig) const {
  if (pid_ > 0) {
    ::kill(pid_, sig);
  }
}

std::optional<int> Child::reap(milliseconds timeout) {
  if (exit_code_) {
    return exit_code_;
  }
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_code_ = decode_status(status);
      return exit_code_;
    }
    if (r < 0 && errno != EINTR) {
      exit_code_ = -1;
      return exit_code_;
    }
    if (Clock::now() >= deadline) {
      return std::nullopt;
    }
    std::this_thread::sleep_for(milliseconds(5));
  }
}

std::optional<int> Child::wait(milliseconds timeout) {
  auto rc = reap(timeout);
  if (rc) {
    for (auto& t : readers_) {
      if (t.joinable()) {
        t.join();
      }
    }
  }
  return rc;
}

int Child::stop(milliseconds grace) {
  if (pid_ <= 0) {
    return -1;
  }
  if (!exit_code_) {
    ::kill(pid_, SIGTERM);
    if (!reap(grace)) {
      ::kill(pid_, SIGKILL);
      reap(std::chrono::seconds(30));
    }
  }
  for (auto& t : readers_) {
    if (t.joinable()) {
      t.join();
    }
  }
  return exit_code_.value_or(-1);
}

std::string Child::output() const {
  std::lock_guard lock(mu_);
  return output_;
}

RunResult run_cli(const std::vector<std::string>& args, const EnvVars& env, milliseconds timeout) {
  int out[2];
  int err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe");
  }
  const pid_t pid = spawn(args, env, out[1], err[1]);
  ::close(out[1]);
  ::close(err[1]);
  RunResult result;
  auto reader = [](int fd, std::string& sink) {
    char buf[4096];
    for (;;) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        break;
      }
      sink.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
  };
  std::thread t_out(reader, out[0], std::ref(result.out));
  std::thread t_err(reader, err[0], std::ref(result.err));
  const auto deadline = Clock::now() + timeout;
  int status = 0;
  bool exited = false;
  while (!exited) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      exited = true;
      break;
    }
    if (Clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(milliseconds(5));
  }
  t_out.join();
  t_err.join();
  result.exit_code = exited ? decode_status(status) : -1;
  return result;
}

// ---- HTTP ----------------------------------------------------------------------------------------

std::optional<std::string> HttpResponse::header(const std::string& name) const {
  auto it = headers.find(lower(name));
  if (it == headers.end()) {
    return std::nullopt;
  }
  return it->second;
}

std::vector<std::string> HttpResponse::all(const std::string& name) const {
  std::vector<std::string> out;
  auto [b, e] = headers.equal_range(lower(name));
  for (auto it = b; it != e; ++it) {
    out.push_back(it->second);
  }
  return out;
}

json::value HttpResponse::json() const {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec) {
    return nullptr;
  }
  return v;
}

namespace {

// True when `raw` holds a complete response; fills `r`.
bool parse_response(const std::string& raw, HttpResponse& r, bool eof) {
  const auto head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos) {
    return false;
  }
  const std::string head = raw.substr(0, head_end);
  std::size_t line_end = head.find("\r\n");
  const std::string status_line = head.substr(0, line_end);
  if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12) {
    return false;
  }
  r.status = std::atoi(status_line.substr(9, 3).c_str());
  r.headers.clear();
  while (line_end != std::string::npos) {
    const auto next = head.find("\r\n", line_end + 2);
    const std::string line =
        head.substr(line_end + 2, next == std::string::npos ? std::string::npos : next - line_end - 2);
    const auto colon = line.find(':');
    if (colon != std::string::npos) {
      r.headers.emplace(lower(line.substr(0, colon)), trim(line.substr(colon + 1)));
    }
    line_end = next;
  }
  const std::string rest = raw.substr(head_end + 4);
  if (lower(r.header("transfer-encoding").value_or("")).find("chunked") != std::string::npos) {
    std::string body;
    std::size_t pos = 0;
    for (;;) {
      const auto crlf = rest.find("\r\n", pos);
      if (crlf == std::string::npos) {
        return false;
      }
      const std::size_t size = std::strtoul(rest.substr(pos, crlf - pos).c_str(), nullptr, 16);
      if (size == 0) {
        r.body = body;
        return true;
      }
      if (rest.size() < crlf + 2 + size + 2) {
        return false;
      }
      body.append(rest, crlf + 2, size);
      pos = crlf + 2 + size + 2;
    }
  }
  if (auto cl = r.header("content-length")) {
    const std::size_t n = std::strtoul(cl->c_str(), nullptr, 10);
    if (rest.size() < n) {
      return false;
    }
    r.body = rest.substr(0, n);
    return true;
  }
  if (r.status == 204 || r.status == 304 || (r.status >= 100 && r.status < 200)) {
    r.body.clear();
    return true;
  }
  r.body = rest;
  return eof;
}

HttpResponse exchange(int port, const std::string& bytes, milliseconds timeout) {
  HttpResponse r;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return r;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return r;
  }
  const auto deadline = Clock::now() + timeout;
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;  // the server may answer (413) and close before reading everything
    }
    sent += static_cast<std::size_t>(n);
  }
  char buf[8192];
  bool eof = false;
  while (!eof) {
    const auto left =
        std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      break;
    }
    pollfd p{fd, POLLIN, 0};
    const int pr = ::poll(&p, 1, static_cast<int>(std::min<long>(left, 100)));
    if (pr < 0 && errno != EINTR) {
      break;
    }
    if (pr <= 0) {
      continue;
    }
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      eof = true;
      break;
    }
    r.raw.append(buf, static_cast<std::size_t>(n));
    HttpResponse tmp;
    if (parse_response(r.raw, tmp, false)) {
      break;
    }
  }
  ::close(fd);
  HttpResponse parsed;
  parsed.raw = r.raw;
  if (!parse_response(r.raw, parsed, true)) {
    parsed.status = parsed.raw.empty() ? 0 : parsed.status;
  }
  return parsed;
}

}  // namespace

HttpResponse http_request(int port, const HttpRequest& request, milliseconds timeout) {
  std::string out = request.method + " " + request.target + " HTTP/1.1\r\n";
  out += "Host: 127.0.0.1:" + std::to_string(port) + "\r\n";
  bool has_length = false;
  for (const auto& [k, v] : request.headers) {
    out += k + ": " + v + "\r\n";
    has_length = has_length || lower(k) == "content-length";
  }
  if (!has_length && (!request.body.empty() || request.method == "POST" ||
                      request.method == "PUT" || request.method == "PATCH")) {
    out += "Content-Length: " + std::to_string(request.body.size()) + "\r\n";
  }
  out += "Connection: close\r\n\r\n";
  out += request.body;
  return exchange(port, out, timeout);
}

HttpResponse http_raw(int port, const std::string& bytes, milliseconds timeout) {
  return exchange(port, bytes, timeout);
}

HttpResponse http_get(int port, const std::string& target) {
  HttpRequest r;
  r.target = target;
  return http_request(port, r);
}

std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  auto enc = [](const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
      if (std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
        out.push_back(static_cast<char>(c));
      } else {
        out.push_back('%');
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 0xF]);
      }
    }
    return out;
  };
  std::string out;
  for (const auto& [k, v] : fields) {
    if (!out.empty()) {
      out.push_back('&');
    }
    out += enc(k) + "=" + enc(v);
  }
  return out;
}

std::string url_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size()) {
      const std::string hex(s.substr(i + 1, 2));
      out.push_back(static_cast<char>(std::strtol(hex.c_str(), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::map<std::string, std::string> query_params(std::string_view url) {
  std::map<std::string, std::string> out;
  const auto q = url.find('?');
  if (q == std::string_view::npos) {
    return out;
  }
  std::string_view rest = url.substr(q + 1);
  if (const auto hash = rest.find('#'); hash != std::string_view::npos) {
    rest = rest.substr(0, hash);
  }
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    const auto eq = pair.find('=');
    out[url_decode(pair.substr(0, eq))] =
        eq == std::string_view::npos ? "" : url_decode(pair.substr(eq + 1));
    if (amp == std::string_view::npos) {
      break;
    }
    rest = rest.substr(amp + 1);
  }
  return out;
}

// ---- Server ------------------------------------------------------------------------------------

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
    child_ = std::make_unique<Child>(std::vector<std::string>{"serve"}, env);
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

// ---- Browser -----------------------------------------------------------------------------------

Browser::Browser(const Server& server) : origin_header(server.origin()), port_(server.port()) {}
Browser::Browser(int port, std::string origin) : origin_header(std::move(origin)), port_(port) {}

HttpResponse Browser::send(HttpRequest request) {
  if (!cookies_.empty()) {
    std::string c;
    for (const auto& [k, v] : cookies_) {
      if (!c.empty()) {
        c += "; ";
      }
      c += k + "=" + v;
    }
    request.headers.emplace_back("Cookie", c);
  }
  if (!origin_header.empty() && request.method != "GET") {
    request.headers.emplace_back("Origin", origin_header);
  }
  HttpResponse r = http_request(port_, request);
  absorb(r);
  return r;
}

HttpResponse Browser::get(const std::string& target) {
  HttpRequest r;
  r.target = target;
  return send(std::move(r));
}

HttpResponse Browser::post(const std::string& target,
                           const std::vector<std::pair<std::string, std::string>>& form) {
  return post_raw_body(target, form_encode(form));
}

HttpResponse Browser::post_raw_body(const std::string& target, const std::string& body,
                                    const std::string& content_type) {
  HttpRequest r;
  r.method = "POST";
  r.target = target;
  r.body = body;
  r.headers.emplace_back("Content-Type", content_type);
  return send(std::move(r));
}

json::value Browser::client() {
  auto r = get("/__clerk/v1/client");
  EXPECT_EQ(r.status, 200) << r.body;
  auto j = r.json();
  if (!j.is_object() || !j.as_object().contains("response")) {
    ADD_FAILURE() << "GET /v1/client is not {response, client}: " << r.body;
    return nullptr;
  }
  EXPECT_TRUE(j.as_object().at("client").is_null()) << r.body;  // README §1.6
  return j.as_object().at("response");
}

std::optional<std::string> Browser::cookie(const std::string& name) const {
  auto it = cookies_.find(name);
  if (it == cookies_.end()) {
    return std::nullopt;
  }
  return it->second;
}

void Browser::absorb(const HttpResponse& r) {
  bodies_.push_back(r.body);
  for (const auto& sc : r.all("set-cookie")) {
    const auto semi = sc.find(';');
    const std::string pair = sc.substr(0, semi);
    const auto eq = pair.find('=');
    if (eq == std::string::npos) {
      continue;
    }
    const std::string name = trim(pair.substr(0, eq));
    const std::string value = trim(pair.substr(eq + 1));
    const std::string attrs = lower(semi == std::string::npos ? "" : sc.substr(semi));
    if (value.empty() || attrs.find("max-age=0") != std::string::npos ||
        attrs.find("1970") != std::string::npos) {
      cookies_.erase(name);
    } else {
      cookies_[name] = value;
    }
  }
}

// ---- JSON helpers --------------------------------------------------------------------------------

const json::value& at(const json::value& v, std::string_view path) {
  static const json::value kNull = nullptr;
  const json::value* cur = &v;
  while (!path.empty()) {
    const auto dot = path.find('.');
    const std::string key(path.substr(0, dot));
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
    if (cur->is_object()) {
      const auto* next = cur->as_object().if_contains(key);
      if (next == nullptr) {
        return kNull;
      }
      cur = next;
    } else if (cur->is_array() && !key.empty() &&
               std::all_of(key.begin(), key.end(), [](unsigned char c) { return std::isdigit(c); })) {
      const auto idx = std::strtoul(key.c_str(), nullptr, 10);
      if (idx >= cur->as_array().size()) {
        return kNull;
      }
      cur = &cur->as_array()[idx];
    } else {
      return kNull;
    }
  }
  return *cur;
}

std::string str(const json::value& v, std::string_view path) {
  const auto& x = at(v, path);
  return x.is_string() ? std::string(x.as_string()) : std::string();
}

std::int64_t num(const json::value& v, std::string_view path) {
  const auto& x = at(v, path);
  if (x.is_int64()) {
    return x.as_int64();
  }
  if (x.is_uint64()) {
    return static_cast<std::int64_t>(x.as_uint64());
  }
  return 0;
}

json::value error_of(const HttpResponse& r) {
  const auto j = r.json();
  const auto& first = at(j, "errors.0");
  const bool ok = first.is_object() && at(first, "code").is_string() &&
                  at(first, "message").is_string() && at(first, "long_message").is_string() &&
                  at(first, "meta").is_object();
  if (!ok) {
    ADD_FAILURE() << "not a Clerk error envelope (status " << r.status << "): " << r.body;
    return nullptr;
  }
  return first;
}

std::string client_snapshot(const json::value& client) {
  if (client.is_null()) {
    return "null";
  }
  std::string s = "client=" + str(client, "id") + " updated=" + std::to_string(num(client, "updated_at")) +
                  " last_active=" + str(client, "last_active_session_id");
  s += " sign_in=" + str(client, "sign_in.id") + "/" + str(client, "sign_in.status") + "/" +
       str(client, "sign_in.first_factor_verification.status");
  s += " sign_up=" + str(client, "sign_up.id") + "/" + str(client, "sign_up.status");
  s += " sessions=[";
  if (const auto& ss = at(client, "sessions"); ss.is_array()) {
    for (const auto& x : ss.as_array()) {
      s += str(x, "id") + "/" + str(x, "status") + ",";
    }
  }
  s += "]";
  return s;
}

}  // namespace latchkey::it
