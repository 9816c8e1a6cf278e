#pragma once
// Child processes of the real `latchkey` binary: run one to completion, or keep one running with
// its stdout and stderr drained into memory. Each gets a clean environment (nothing of the
// developer's shell leaks in), only PATH, HOME, TMPDIR and what the test asks for.
#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace latchkey::test {

using EnvVars = std::vector<std::pair<std::string, std::string>>;

// The binary under test (set by CMake from $<TARGET_FILE:latchkey>).
std::string latchkey_bin();

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
  // `binary`: another build of the server (the fault-injecting test binary); default latchkey.
  Child(const std::vector<std::string>& args, const EnvVars& env, const std::string& binary = {});
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

}  // namespace latchkey::test
