// The store fault hook of the test binary `latchkey_faulty` (src/cli/main.cpp plus this file):
// the server as shipped, with store/faults.hpp's hook installed from the environment at start-up.
//
//   LATCHKEY_TEST_FAULT=fail:N    the N-th statement after arming fails once, as an I/O error
//   LATCHKEY_TEST_FAULT=kill:N    the process SIGKILLs itself instead of running the N-th one
//   LATCHKEY_TEST_FAULT_ARM=PATH  statements are counted from the moment PATH exists, so start-up
//                                 and migrations are not (the test creates it before the step);
//                                 PATH.fired is created when the fault happens
//
// Statements are BEGIN, COMMIT and every statement of the catalog, on any thread: a background
// statement (the 5-second key reload) may take the N-th place, which the tests tolerate.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <string>

#include "store/faults.hpp"

namespace {

enum class Mode { kFail, kKill };

struct Plan {
  Mode mode = Mode::kFail;
  long nth = 0;
  std::string arm_path;
};

Plan& plan() {
  static Plan p;
  return p;
}
std::atomic<bool> armed{false};
std::atomic<bool> fired{false};
std::atomic<long> seen{0};

void say(const std::string& line) {
  // Unbuffered and async-signal-safe enough: the kill path must not lose it to a stdio buffer.
  const std::string out = line + "\n";
  [[maybe_unused]] auto n = ::write(2, out.data(), out.size());
}

latchkey::store::faults::Action hook() {
  using latchkey::store::faults::Action;
  if (fired.load(std::memory_order_relaxed)) {
    return Action::kNone;
  }
  if (!armed.load(std::memory_order_acquire)) {
    struct stat st{};
    if (::stat(plan().arm_path.c_str(), &st) != 0) {
      return Action::kNone;
    }
    armed.store(true, std::memory_order_release);
  }
  if (seen.fetch_add(1) + 1 != plan().nth) {
    return Action::kNone;
  }
  fired.store(true);
  // The test's synchronous evidence (its copy of our output arrives through a pipe, later):
  // PATH.fired exists before the statement fails or the process dies.
  if (const int fd = ::open((plan().arm_path + ".fired").c_str(), O_WRONLY | O_CREAT, 0600);
      fd >= 0) {
    ::close(fd);
  }
  if (plan().mode == Mode::kKill) {
    say("latchkey_faulty: SIGKILL before statement " + std::to_string(plan().nth));
    std::raise(SIGKILL);
  }
  say("latchkey_faulty: injected failure of statement " + std::to_string(plan().nth));
  return Action::kFail;
}

const bool installed = [] {
  const char* spec = std::getenv("LATCHKEY_TEST_FAULT");
  const char* arm = std::getenv("LATCHKEY_TEST_FAULT_ARM");
  if (spec == nullptr || arm == nullptr) {
    return false;
  }
  const std::string s(spec);
  const auto colon = s.find(':');
  if (colon == std::string::npos) {
    return false;
  }
  plan().mode = s.substr(0, colon) == "kill" ? Mode::kKill : Mode::kFail;
  plan().nth = std::atol(s.c_str() + colon + 1);
  plan().arm_path = arm;
  latchkey::store::faults::install(&hook);
  return true;
}();

}  // namespace
