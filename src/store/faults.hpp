#pragma once
// The store's fault point: consulted before every statement either engine runs, BEGIN and
// COMMIT included (issue 15; security catalog J1/J2). Nothing in the server installs a hook: only
// the test binary `latchkey_faulty` (tests/security/fault_hook.cpp) does, so the shipped binary
// has no way to turn it on. The cost without a hook is one relaxed atomic load per statement.
#include <atomic>

namespace latchkey::store::faults {

enum class Action {
  kNone,  // run the statement
  kFail,  // fail it as an I/O error would (the engine's own error path)
};
using Hook = Action (*)();

inline std::atomic<Hook>& hook() {
  static std::atomic<Hook> installed{nullptr};
  return installed;
}
inline void install(Hook h) { hook().store(h, std::memory_order_release); }
inline Action at_statement() {
  const Hook h = hook().load(std::memory_order_relaxed);
  return h != nullptr ? h() : Action::kNone;
}

}  // namespace latchkey::store::faults
