#include "support/process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <map>
#include <stdexcept>
#include <string_view>

#ifndef LATCHKEY_BIN
#error "LATCHKEY_BIN must name the latchkey binary"
#endif

namespace latchkey::test {
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::string latchkey_bin() { return LATCHKEY_BIN; }

namespace {

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

pid_t spawn(const std::vector<std::string>& args, const EnvVars& env, int out_fd, int err_fd,
            const std::string& binary = latchkey_bin()) {
  std::vector<std::string> argv{binary};
  argv.insert(argv.end(), args.begin(), args.end());
  CStrings cargv(argv);
  CStrings cenv(child_environment(env));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
  posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
  pid_t pid = -1;
  const int rc =
      posix_spawn(&pid, cargv.ptrs[0], &fa, nullptr, cargv.ptrs.data(), cenv.ptrs.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    throw std::runtime_error("posix_spawn " + binary + ": " + std::to_string(rc));
  }
  return pid;
}

// Reads `fd` to its end, handing each chunk to `sink`, then closes it.
template <typename Sink>
void read_to_end(int fd, Sink&& sink) {
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    sink(std::string_view(buf, static_cast<std::size_t>(n)));
  }
  ::close(fd);
}

int decode_status(int status) {
  if (WIFEXITED(status)) {
    return WEXITSTATUS(status);
  }
  return -1;
}

}  // namespace

// ---- Child --------------------------------------------------------------------------------------

Child::Child(const std::vector<std::string>& args, const EnvVars& env, const std::string& binary) {
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
    pid_ = spawn(args, env, out[1], err[1], binary.empty() ? latchkey_bin() : binary);
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
  read_to_end(fd, [this](std::string_view chunk) {
    std::lock_guard lock(mu_);
    output_.append(chunk);
    cv_.notify_all();
  });
  std::lock_guard lock(mu_);
  --open_pipes_;
  cv_.notify_all();
}

std::optional<std::string> Child::wait_for_output(const std::string& needle, milliseconds timeout) {
  std::unique_lock lock(mu_);
  const bool found = cv_.wait_for(
      lock, timeout, [&] { return output_.find(needle) != std::string::npos || open_pipes_ == 0; });
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
    read_to_end(fd, [&sink](std::string_view chunk) { sink.append(chunk); });
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

}  // namespace latchkey::test
