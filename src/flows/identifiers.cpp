// The canonical identifier forms (flows/identifiers.hpp).
#include "flows/identifiers.hpp"

namespace latchkey::flows {

using core::Code;
using core::Result;

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && is_space(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

Result<std::string> canonical_email(std::string_view raw, std::string_view param) {
  const std::string_view s = trim(raw);
  auto invalid = [&] {
    return core::param_error(Code::kFormParamInvalid, std::string(param), "is invalid",
                             std::string(param) + " must be a valid email address.");
  };
  const auto at = s.find('@');
  if (s.size() > 320 || at == std::string_view::npos || at == 0 || at + 1 >= s.size() ||
      s.find('@', at + 1) != std::string_view::npos) {
    return invalid();
  }
  for (unsigned char c : s) {
    // Printable ASCII or UTF-8 bytes; no spaces, controls or DEL. Invisible Unicode
    // characters (U+200B..U+200D, U+2060, U+FEFF) are refused rather than stripped.
    if (c <= 0x20 || c == 0x7f) {
      return invalid();
    }
  }
  static constexpr std::string_view kInvisible[] = {"\xE2\x80\x8B", "\xE2\x80\x8C", "\xE2\x80\x8D",
                                                    "\xE2\x81\xA0", "\xEF\xBB\xBF"};
  for (auto inv : kInvisible) {
    if (s.find(inv) != std::string_view::npos) {
      return invalid();
    }
  }
  const std::string_view domain = s.substr(at + 1);
  if (domain.find('.') == std::string_view::npos || domain.front() == '.' || domain.back() == '.' ||
      domain.find("..") != std::string_view::npos) {
    return invalid();
  }
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

std::string mask_email(std::string_view email) {
  const auto at = email.find('@');
  if (at == std::string_view::npos || at == 0) {
    return "***";
  }
  std::string out(email.substr(0, 1));
  out += "***";
  out += email.substr(at);
  return out;
}

}  // namespace latchkey::flows
