#pragma once
// Prometheus metrics, text exposition format 0.0.4, written by hand (design.md §1: no packaged
// client). Series are created under a mutex once and returned by reference; the reference is
// stable for the registry's life, so hot paths look a series up once and then only touch atomics.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace latchkey::core {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void inc(std::uint64_t n = 1) noexcept { v_.fetch_add(n, std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t value() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> v_{0};
};

class Gauge {
 public:
  void set(double v) noexcept { v_.store(v, std::memory_order_relaxed); }
  void add(double d) noexcept { v_.fetch_add(d, std::memory_order_relaxed); }
  void inc() noexcept { add(1.0); }
  void dec() noexcept { add(-1.0); }
  [[nodiscard]] double value() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0.0};
};

class Histogram {
 public:
  // `bounds` are the upper bounds (le), strictly increasing; +Inf is implicit.
  explicit Histogram(std::span<const double> bounds);
  void observe(double v) noexcept;

  struct Snapshot {
    std::vector<double> bounds;
    std::vector<std::uint64_t> cumulative;  // one per bound, then +Inf
    double sum = 0;
    std::uint64_t count = 0;
  };
  [[nodiscard]] Snapshot snapshot() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1 (non-cumulative)
  std::atomic<double> sum_{0.0};
  std::atomic<std::uint64_t> count_{0};
};

// Seconds: 0.5 ms .. 10 s.
[[nodiscard]] std::span<const double> default_latency_buckets();

inline constexpr std::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

class Metrics {
 public:
  // `process_metrics`: also expose process_* figures read from /proc/self at render time.
  explicit Metrics(bool process_metrics = true);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Get-or-create. Throws std::invalid_argument (a programming error) on an invalid metric or
  // label name, a name reused with another type, or label names that differ from the family's.
  // Label VALUES must come from a bounded set (route names, reason enums), never raw input.
  Counter& counter(std::string_view name, std::string_view help, const Labels& labels = {});
  Gauge& gauge(std::string_view name, std::string_view help, const Labels& labels = {});
  Histogram& histogram(std::string_view name, std::string_view help,
                       std::span<const double> bounds = default_latency_buckets(),
                       const Labels& labels = {});

  // Appends hand-written exposition text at render time (must include its own HELP/TYPE).
  void add_collector(std::function<void(std::string& out)> collector);

  // Text exposition format 0.0.4 of every family, in registration order.
  [[nodiscard]] std::string render() const;

 private:
  struct Family;
  Family& family(std::string_view name, std::string_view help, int type, const Labels& labels);

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Family>> families_;
  std::vector<std::function<void(std::string&)>> collectors_;
};

// Renders process_resident_memory_bytes, process_cpu_seconds_total, process_open_fds,
// process_start_time_seconds (and process_virtual_memory_bytes) from /proc/self.
void render_process_metrics(std::string& out);

// Escapes a label value for the exposition format (\\, \", \n).
void append_label_value(std::string& out, std::string_view v);

}  // namespace latchkey::core
