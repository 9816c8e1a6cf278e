#include "core/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <charconv>
#include <iostream>
#include <memory>
#include <mutex>
#include <vector>

#include "core/utf8.hpp"

namespace latchkey::core {
namespace {

// One sink and one formatter for every logger (spdlog keeps formatters in the sinks). The %*
// flag writes `"logger":"<name>","msg":"<escaped message>"`, except for the access logger whose
// message already is a list of JSON fields.
constexpr const char* kJsonPattern = R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l",%*})";
constexpr std::string_view kAccessLoggerName = "access";
constexpr const char* kTextPattern = "%Y-%m-%dT%H:%M:%S.%eZ %l [%n] %v";

class JsonMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm& /*tm*/,
              spdlog::memory_buf_t& dest) override {
    std::string_view name(msg.logger_name.data(), msg.logger_name.size());
    std::string_view payload(msg.payload.data(), msg.payload.size());
    if (name == kAccessLoggerName) {
      dest.append(payload.data(), payload.data() + payload.size());
      return;
    }
    std::string s = "\"logger\":\"";
    append_json_escaped(s, name);
    s += "\",\"msg\":\"";
    append_json_escaped(s, payload);
    s += '"';
    dest.append(s.data(), s.data() + s.size());
  }
  [[nodiscard]] std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
};

std::unique_ptr<spdlog::formatter> make_formatter(const char* pattern) {
  auto f = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  f->add_flag<JsonMessageFlag>('*').set_pattern(pattern);
  return f;
}

std::mutex g_init_mu;
std::vector<std::shared_ptr<spdlog::logger>> g_keepalive;  // loggers outlive every reader
std::atomic<spdlog::logger*> g_access{nullptr};
std::atomic<bool> g_access_json{true};
std::atomic<bool> g_access_enabled{true};

bool parse_level(std::string_view s, spdlog::level::level_enum& out) {
  static constexpr std::pair<std::string_view, spdlog::level::level_enum> kLevels[] = {
      {"trace", spdlog::level::trace},       {"debug", spdlog::level::debug},
      {"info", spdlog::level::info},         {"warn", spdlog::level::warn},
      {"warning", spdlog::level::warn},      {"error", spdlog::level::err},
      {"critical", spdlog::level::critical}, {"off", spdlog::level::off}};
  for (const auto& [name, lvl] : kLevels) {
    if (name == s) {
      out = lvl;
      return true;
    }
  }
  return false;
}

core::Status init_locked(std::string_view level, std::string_view format, std::ostream* out) {
  spdlog::level::level_enum lvl{};
  if (!parse_level(level, lvl)) {
    return core::fail(core::Error(core::Code::kInternal,
                                  "logging.level must be one of trace, debug, info, warn, error, "
                                  "critical, off; got '" +
                                      std::string(level) + "'"));
  }
  bool json = false;
  if (format == "json") {
    json = true;
  } else if (format != "text") {
    return core::fail(
        core::Error(core::Code::kInternal,
                    "logging.format must be json or text; got '" + std::string(format) + "'"));
  }
  spdlog::sink_ptr sink;
  if (out != nullptr) {
    sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(*out, /*force_flush=*/true);
  } else {
    sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
  }
  auto app = std::make_shared<spdlog::logger>("latchkey", sink);
  app->set_formatter(make_formatter(json ? kJsonPattern : kTextPattern));
  app->set_level(lvl);
  app->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(app);

  auto access = std::make_shared<spdlog::logger>(std::string(kAccessLoggerName), sink);
  // The access log follows the level too: "warn" and above silence it.
  access->set_level(lvl);
  g_keepalive.push_back(app);
  g_keepalive.push_back(access);
  g_access_json.store(json, std::memory_order_relaxed);
  g_access.store(access.get(), std::memory_order_release);
  return {};
}

spdlog::logger* access_logger() {
  spdlog::logger* l = g_access.load(std::memory_order_acquire);
  if (l != nullptr) {
    return l;
  }
  std::lock_guard lock(g_init_mu);
  l = g_access.load(std::memory_order_acquire);
  if (l == nullptr) {
    (void)init_locked("info", "json", nullptr);
    l = g_access.load(std::memory_order_acquire);
  }
  return l;
}

void append_u4(std::string& out, unsigned v) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += "\\u00";
  out += kHex[(v >> 4) & 0xF];
  out += kHex[v & 0xF];
}

void append_number(std::string& out, long long v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  out.append(buf, end);
}

void append_ms(std::string& out, double ms) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, ms, std::chars_format::fixed, 3);
  (void)ec;
  out.append(buf, end);
}

// Text format: printable ASCII as is; anything else as \xNN so a line can never be split.
void append_text_safe(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7F || c == '\\') {
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    } else {
      out += c;
    }
  }
}

}  // namespace

core::Status init_logging(std::string_view level, std::string_view format, std::ostream* out) {
  std::lock_guard lock(g_init_mu);
  return init_locked(level, format, out);
}

void set_access_log_enabled(bool enabled) {
  g_access_enabled.store(enabled, std::memory_order_relaxed);
}
bool access_log_enabled() { return g_access_enabled.load(std::memory_order_relaxed); }

void append_json_escaped(std::string& out, std::string_view s) {
  out.reserve(out.size() + s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        default:
          if (c < 0x20 || c == 0x7F) {
            append_u4(out, c);
          } else {
            out += static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    // Copy a valid UTF-8 sequence whole; replace an invalid byte with U+FFFD.
    std::size_t n = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (n != 0 && i + n <= s.size() && core::valid_utf8(s.substr(i, n))) {
      out.append(s.data() + i, n);
      i += n;
    } else {
      out += "\\ufffd";
      ++i;
    }
  }
}

std::string json_escape(std::string_view s) {
  std::string out;
  append_json_escaped(out, s);
  return out;
}

std::string format_access_json_fields(const AccessRecord& r) {
  std::string out;
  out.reserve(192 + r.path.size());
  out += "\"request_id\":\"";
  append_json_escaped(out, r.request_id);
  out += "\",\"method\":\"";
  append_json_escaped(out, r.method);
  out += "\",\"route\":\"";
  append_json_escaped(out, r.route);
  out += "\",\"path\":\"";
  append_json_escaped(out, r.path);
  out += "\",\"status\":";
  append_number(out, r.status);
  out += ",\"bytes\":";
  append_number(out, static_cast<long long>(r.bytes));
  out += ",\"duration_ms\":";
  append_ms(out, r.duration_ms);
  out += ",\"remote\":\"";
  append_json_escaped(out, r.remote);
  out += '"';
  return out;
}

std::string format_access_text(const AccessRecord& r) {
  std::string out;
  out.reserve(128 + r.path.size());
  append_text_safe(out, r.request_id);
  out += ' ';
  append_text_safe(out, r.remote);
  out += ' ';
  append_text_safe(out, r.method);
  out += ' ';
  append_text_safe(out, r.path);
  out += " route=";
  append_text_safe(out, r.route);
  out += " status=";
  append_number(out, r.status);
  out += " bytes=";
  append_number(out, static_cast<long long>(r.bytes));
  out += " duration_ms=";
  append_ms(out, r.duration_ms);
  return out;
}

void log_access(const AccessRecord& record) {
  if (!access_log_enabled()) {
    return;
  }
  spdlog::logger* l = access_logger();
  if (l == nullptr || !l->should_log(spdlog::level::info)) {
    return;
  }
  std::string line = g_access_json.load(std::memory_order_relaxed)
                         ? format_access_json_fields(record)
                         : format_access_text(record);
  l->info(std::string_view(line));
}

}  // namespace latchkey::core
