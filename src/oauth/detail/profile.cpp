#include "oauth/detail/profile.hpp"

namespace latchkey::oauth::detail {
namespace {

constexpr std::size_t kMaxNameBytes = 256;   // = flows::validate_name's limit
constexpr std::size_t kMaxEmailBytes = 320;  // RFC 3696 errata 1690
constexpr std::size_t kMaxUrlBytes = 2048;

// An address we can store: printable ASCII or UTF-8 without spaces or controls, one '@' with
// something on both sides. Anything else is treated as "no email" (and therefore unverified).
bool plausible_email(std::string_view e) {
  if (e.empty() || e.size() > kMaxEmailBytes) {
    return false;
  }
  for (const char ch : e) {
    const auto u = static_cast<unsigned char>(ch);
    if (u <= 0x20 || u == 0x7F) {
      return false;
    }
  }
  const auto at = e.find('@');
  return at != std::string_view::npos && at > 0 && at + 1 < e.size() &&
         e.find('@', at + 1) == std::string_view::npos && clean_text(e, kMaxEmailBytes) == e;
}

}  // namespace

std::string clean_text(std::string_view in, std::size_t max_bytes) {
  std::string out;
  std::size_t i = 0;
  while (i < in.size()) {
    const auto c = static_cast<unsigned char>(in[i]);
    std::size_t len = 0;
    if (c < 0x80) {
      len = 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
    }
    bool ok = len > 0 && i + len <= in.size();
    for (std::size_t k = 1; ok && k < len; ++k) {
      ok = (static_cast<unsigned char>(in[i + k]) & 0xC0) == 0x80;
    }
    if (ok && len == 3) {
      const auto c1 = static_cast<unsigned char>(in[i + 1]);
      ok = !(c == 0xE0 && c1 < 0xA0) && !(c == 0xED && c1 >= 0xA0);  // overlong, surrogates
    } else if (ok && len == 4) {
      const auto c1 = static_cast<unsigned char>(in[i + 1]);
      ok = !(c == 0xF0 && c1 < 0x90) && !(c == 0xF4 && c1 >= 0x90);
    }
    if (!ok) {
      ++i;
      continue;
    }
    const bool control = len == 1 && (c < 0x20 || c == 0x7F);
    const bool c1_control = len == 2 && c == 0xC2 && static_cast<unsigned char>(in[i + 1]) < 0xA0;
    if (!control && !c1_control) {
      if (out.size() + len > max_bytes) {
        break;
      }
      out.append(in.substr(i, len));
    }
    i += len;
  }
  return out;
}

void clean_identity(ExternalIdentity& id) {
  id.first_name = clean_text(id.first_name, kMaxNameBytes);
  id.last_name = clean_text(id.last_name, kMaxNameBytes);
  id.name = clean_text(id.name, kMaxNameBytes);
  id.username = clean_text(id.username, kMaxNameBytes);
  // Only web URLs are kept as an avatar (no javascript:/data: URLs reaching an <img> or <a>).
  const bool web_url =
      (id.image_url.starts_with("https://") || id.image_url.starts_with("http://")) &&
      id.image_url.size() <= kMaxUrlBytes &&
      clean_text(id.image_url, kMaxUrlBytes) == id.image_url &&
      id.image_url.find_first_of(" \"<>\\") == std::string::npos;
  if (!web_url) {
    id.image_url.clear();
  }
  if (!plausible_email(id.email)) {
    id.email.clear();
    id.email_verified = false;
  }
}

void split_name(const std::string& name, std::string& first, std::string& last) {
  const auto space = name.find(' ');
  if (space == std::string::npos) {
    first = name;
    return;
  }
  first = name.substr(0, space);
  last = name.substr(space + 1);
}

}  // namespace latchkey::oauth::detail
