#include "oauth/detail/support.hpp"

#include <algorithm>
#include <cctype>

namespace latchkey::oauth::detail {
namespace {

constexpr std::size_t kMaxProviderTextBytes = 256;  // catalog A29/H14: provider text in logs

}  // namespace

core::Error err(core::Code code, std::string internal) {
  return core::Error(code).with_internal(std::move(internal));
}

core::Error err(core::Code code, core::Reason reason, std::string internal) {
  return core::Error(code).with_reason(reason).with_internal(std::move(internal));
}

std::string sanitize(std::string_view text) {
  std::string out;
  for (const char c : text.substr(0, kMaxProviderTextBytes)) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u == 0x7f ? '?' : c);
  }
  return out;
}

std::string join(const std::vector<std::string>& parts, char sep) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) {
      out.push_back(sep);
    }
    out += p;
  }
  return out;
}

std::string str(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) {
    return {};
  }
  if (const auto* s = v->if_string()) {
    return std::string(*s);
  }
  return {};
}

bool verified_flag(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) {
    return false;
  }
  if (const auto* b = v->if_bool()) {
    return *b;
  }
  if (const auto* s = v->if_string()) {
    return *s == "true";
  }
  return false;
}

core::Result<boost::json::object> parse_object(std::string_view body, core::Code code,
                                               std::string_view what) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) {
    return std::unexpected(err(code, std::string(what) + " is not a JSON object"));
  }
  return std::move(v.get_object());
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace latchkey::oauth::detail
