#include "core/metrics.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <stdexcept>
#include <unordered_map>

namespace latchkey::core {
namespace {

constexpr int kCounter = 0;
constexpr int kGauge = 1;
constexpr int kHistogram = 2;

constexpr double kLatencyBuckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                      0.1,    0.25,  0.5,    1.0,   2.5,  5.0,   10.0};

bool valid_metric_name(std::string_view s) {
  if (s.empty()) {
    return false;
  }
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    bool digit = c >= '0' && c <= '9';
    if (!alpha && !(digit && i > 0)) {
      return false;
    }
  }
  return true;
}

bool valid_label_name(std::string_view s) {
  if (s.empty() || s.starts_with("__")) {
    return false;
  }
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    bool digit = c >= '0' && c <= '9';
    if (!alpha && !(digit && i > 0)) {
      return false;
    }
  }
  return true;
}

void append_double(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
    return;
  }
  if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  if (ec != std::errc()) {
    out += "NaN";
    return;
  }
  out.append(buf, end);
}

void append_uint(std::string& out, std::uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  out.append(buf, end);
}

void append_help(std::string& out, std::string_view name, std::string_view help,
                 std::string_view type) {
  out += "# HELP ";
  out += name;
  out += ' ';
  for (char c : help) {  // 0.0.4: escape backslash and newline in HELP
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

// `{a="1",b="2"}` without the braces: `a="1",b="2"`.
std::string label_body(const Labels& labels) {
  std::string s;
  for (const auto& [k, v] : labels) {
    if (!s.empty()) {
      s += ',';
    }
    s += k;
    s += "=\"";
    append_label_value(s, v);
    s += '"';
  }
  return s;
}

// /proc files report size 0, so read until EOF; bounded to 1 MiB.
bool read_small_file(const char* path, std::string& out) {
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return false;
  }
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0 || out.size() > (1U << 20)) {
      break;
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return !out.empty();
}

}  // namespace

void append_label_value(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

std::span<const double> default_latency_buckets() { return kLatencyBuckets; }

Histogram::Histogram(std::span<const double> bounds)
    : bounds_(bounds.begin(), bounds.end()),
      buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds.size() + 1)) {
  for (std::size_t i = 1; i < bounds_.size(); ++i) {
    if (!(bounds_[i] > bounds_[i - 1])) {
      throw std::invalid_argument("histogram bounds must increase strictly");
    }
  }
}

void Histogram::observe(double v) noexcept {
  // Few buckets: a linear scan beats binary search here.
  std::size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) {
    ++i;
  }
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.bounds = bounds_;
  s.cumulative.resize(bounds_.size() + 1);
  std::uint64_t acc = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    acc += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative[i] = acc;
  }
  s.sum = sum_.load(std::memory_order_relaxed);
  // Report the bucket total as the count so that +Inf == count even while observations race.
  s.count = acc;
  return s;
}

struct Metrics::Family {
  std::string name;
  std::string help;
  int type = kCounter;
  std::vector<std::string> label_names;
  std::vector<double> bounds;  // histograms
  struct Series {
    std::string labels;  // rendered label body
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
  };
  std::vector<std::unique_ptr<Series>> series;
  std::unordered_map<std::string, Series*> index;

  Series& get(const Labels& labels) {
    if (labels.size() != label_names.size()) {
      throw std::invalid_argument("metric " + name + ": label names differ from first use");
    }
    for (std::size_t i = 0; i < labels.size(); ++i) {
      if (labels[i].first != label_names[i]) {
        throw std::invalid_argument("metric " + name + ": label names differ from first use");
      }
    }
    std::string key = label_body(labels);
    if (auto it = index.find(key); it != index.end()) {
      return *it->second;
    }
    auto s = std::make_unique<Series>();
    s->labels = key;
    switch (type) {
      case kCounter:
        s->counter = std::make_unique<Counter>();
        break;
      case kGauge:
        s->gauge = std::make_unique<Gauge>();
        break;
      default:
        s->histogram = std::make_unique<Histogram>(bounds);
        break;
    }
    Series* raw = s.get();
    series.push_back(std::move(s));
    index.emplace(std::move(key), raw);
    return *raw;
  }
};

Metrics::Metrics(bool process_metrics) {
  if (process_metrics) {
    collectors_.emplace_back(&render_process_metrics);
  }
}

Metrics::~Metrics() = default;

Metrics::Family& Metrics::family(std::string_view name, std::string_view help, int type,
                                 const Labels& labels) {
  for (auto& f : families_) {
    if (f->name == name) {
      if (f->type != type) {
        throw std::invalid_argument("metric " + f->name + " registered with another type");
      }
      return *f;
    }
  }
  if (!valid_metric_name(name)) {
    throw std::invalid_argument("invalid metric name: " + std::string(name));
  }
  auto f = std::make_unique<Family>();
  f->name = std::string(name);
  f->help = std::string(help);
  f->type = type;
  for (const auto& [k, v] : labels) {
    if (!valid_label_name(k) || (type == kHistogram && k == "le")) {
      throw std::invalid_argument("invalid label name " + k + " for metric " + f->name);
    }
    f->label_names.push_back(k);
  }
  families_.push_back(std::move(f));
  return *families_.back();
}

Counter& Metrics::counter(std::string_view name, std::string_view help, const Labels& labels) {
  std::lock_guard lock(mu_);
  return *family(name, help, kCounter, labels).get(labels).counter;
}

Gauge& Metrics::gauge(std::string_view name, std::string_view help, const Labels& labels) {
  std::lock_guard lock(mu_);
  return *family(name, help, kGauge, labels).get(labels).gauge;
}

Histogram& Metrics::histogram(std::string_view name, std::string_view help,
                              std::span<const double> bounds, const Labels& labels) {
  std::lock_guard lock(mu_);
  Family& f = family(name, help, kHistogram, labels);
  if (f.series.empty() && f.bounds.empty()) {
    f.bounds.assign(bounds.begin(), bounds.end());
  } else if (!std::equal(f.bounds.begin(), f.bounds.end(), bounds.begin(), bounds.end())) {
    throw std::invalid_argument("histogram " + f.name + " registered with other buckets");
  }
  return *f.get(labels).histogram;
}

void Metrics::add_collector(std::function<void(std::string&)> collector) {
  std::lock_guard lock(mu_);
  collectors_.push_back(std::move(collector));
}

std::string Metrics::render() const {
  std::string out;
  out.reserve(8192);
  std::lock_guard lock(mu_);
  for (const auto& f : families_) {
    static constexpr std::string_view kTypes[] = {"counter", "gauge", "histogram"};
    append_help(out, f->name, f->help, kTypes[f->type]);
    for (const auto& s : f->series) {
      if (f->type == kHistogram) {
        auto snap = s->histogram->snapshot();
        std::string prefix = f->name + "_bucket{" + s->labels + (s->labels.empty() ? "" : ",");
        for (std::size_t i = 0; i <= snap.bounds.size(); ++i) {
          out += prefix;
          out += "le=\"";
          if (i == snap.bounds.size()) {
            out += "+Inf";
          } else {
            append_double(out, snap.bounds[i]);
          }
          out += "\"} ";
          append_uint(out, snap.cumulative[i]);
          out += '\n';
        }
        std::string braces = s->labels.empty() ? "" : "{" + s->labels + "}";
        out += f->name + "_sum" + braces + ' ';
        append_double(out, snap.sum);
        out += '\n';
        out += f->name + "_count" + braces + ' ';
        append_uint(out, snap.count);
        out += '\n';
        continue;
      }
      out += f->name;
      if (!s->labels.empty()) {
        out += '{';
        out += s->labels;
        out += '}';
      }
      out += ' ';
      if (f->type == kCounter) {
        append_uint(out, s->counter->value());
      } else {
        append_double(out, s->gauge->value());
      }
      out += '\n';
    }
  }
  for (const auto& c : collectors_) {
    c(out);
  }
  return out;
}

void render_process_metrics(std::string& out) {
  std::string stat;
  if (!read_small_file("/proc/self/stat", stat)) {
    return;
  }
  std::size_t close = stat.rfind(')');
  if (close == std::string::npos) {
    return;
  }
  // Fields after "(comm)": index 0 is field 3 (state) of proc(5).
  std::vector<std::string_view> f;
  std::string_view rest = std::string_view(stat).substr(close + 1);
  while (!rest.empty()) {
    std::size_t start = rest.find_first_not_of(" \n");
    if (start == std::string_view::npos) {
      break;
    }
    rest.remove_prefix(start);
    std::size_t end = rest.find_first_of(" \n");
    f.push_back(rest.substr(0, end));
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
  }
  if (f.size() < 22) {
    return;
  }
  auto num = [](std::string_view s) -> double {
    double v = 0;
    std::from_chars(s.data(), s.data() + s.size(), v);
    return v;
  };
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  double cpu = (num(f[11]) + num(f[12])) / ticks;  // utime(14) + stime(15)
  double start_ticks = num(f[19]);                 // starttime(22)
  double vsize = num(f[20]);                       // vsize(23)
  double rss = num(f[21]) * page;                  // rss(24) in pages

  double btime = 0;
  std::string proc_stat;
  if (read_small_file("/proc/stat", proc_stat)) {
    std::size_t pos = proc_stat.find("\nbtime ");
    if (pos != std::string::npos) {
      std::string_view v = std::string_view(proc_stat).substr(pos + 7);
      btime = num(v.substr(0, v.find('\n')));
    }
  }
  std::size_t fds = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++fds;
  }
  if (fds > 0) {
    --fds;  // the iterator's own directory descriptor
  }

  append_help(out, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
              "counter");
  out += "process_cpu_seconds_total ";
  append_double(out, cpu);
  out += '\n';
  append_help(out, "process_resident_memory_bytes", "Resident memory size in bytes.", "gauge");
  out += "process_resident_memory_bytes ";
  append_double(out, rss);
  out += '\n';
  append_help(out, "process_virtual_memory_bytes", "Virtual memory size in bytes.", "gauge");
  out += "process_virtual_memory_bytes ";
  append_double(out, vsize);
  out += '\n';
  append_help(out, "process_open_fds", "Number of open file descriptors.", "gauge");
  out += "process_open_fds ";
  append_uint(out, fds);
  out += '\n';
  append_help(out, "process_start_time_seconds",
              "Start time of the process since unix epoch in seconds.", "gauge");
  out += "process_start_time_seconds ";
  append_double(out, btime + start_ticks / ticks);
  out += '\n';
}

}  // namespace latchkey::core
