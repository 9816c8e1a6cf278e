#pragma once
// Time is injected (design.md §3.6): domain code never calls system_clock::now().
#include <chrono>
#include <cstdint>

namespace latchkey::core {

class Clock {
 public:
  virtual ~Clock() = default;
  [[nodiscard]] virtual std::chrono::system_clock::time_point now() const = 0;
  [[nodiscard]] std::int64_t now_ms() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(now().time_since_epoch()).count();
  }
  [[nodiscard]] std::int64_t now_s() const {
    return std::chrono::duration_cast<std::chrono::seconds>(now().time_since_epoch()).count();
  }
};

class SystemClock final : public Clock {
 public:
  [[nodiscard]] std::chrono::system_clock::time_point now() const override {
    return std::chrono::system_clock::now();
  }
};

// For tests: a clock that only moves when told to.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(
      std::chrono::system_clock::time_point t =
          std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000)))
      : t_(t) {}
  [[nodiscard]] std::chrono::system_clock::time_point now() const override { return t_; }
  void advance(std::chrono::system_clock::duration d) { t_ += d; }
  void set(std::chrono::system_clock::time_point t) { t_ = t; }

 private:
  std::chrono::system_clock::time_point t_;
};

}  // namespace latchkey::core
