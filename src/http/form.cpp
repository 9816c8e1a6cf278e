#include "http/form.hpp"

#include <algorithm>
#include <array>

namespace latchkey::http {
namespace {

constexpr int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

constexpr std::array<bool, 256> make_unreserved() {
  std::array<bool, 256> t{};
  for (int c = 'a'; c <= 'z'; ++c) {
    t[static_cast<std::size_t>(c)] = true;
  }
  for (int c = 'A'; c <= 'Z'; ++c) {
    t[static_cast<std::size_t>(c)] = true;
  }
  for (int c = '0'; c <= '9'; ++c) {
    t[static_cast<std::size_t>(c)] = true;
  }
  t['-'] = t['.'] = t['_'] = t['~'] = true;
  return t;
}
constexpr std::array<bool, 256> kUnreserved = make_unreserved();
constexpr char kHexUpper[] = "0123456789ABCDEF";

// A key that occurs more than once, or null. Forms are small (the SDK sends up to ~10 fields):
// compared pairwise below a few dozen, as sorted views above (max_fields is 256).
const std::string* first_duplicate(const Fields& fields) {
  constexpr std::size_t kPairwiseMax = 32;
  if (fields.size() <= kPairwiseMax) {
    for (std::size_t i = 1; i < fields.size(); ++i) {
      for (std::size_t j = 0; j < i; ++j) {
        if (fields[i].first == fields[j].first) {
          return &fields[i].first;
        }
      }
    }
    return nullptr;
  }
  std::vector<const std::string*> keys;
  keys.reserve(fields.size());
  for (const auto& f : fields) {
    keys.push_back(&f.first);
  }
  std::sort(keys.begin(), keys.end(), [](const auto* a, const auto* b) { return *a < *b; });
  for (std::size_t i = 1; i < keys.size(); ++i) {
    if (*keys[i] == *keys[i - 1]) {
      return keys[i];
    }
  }
  return nullptr;
}

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) {
      return false;
    }
  }
  return true;
}

// RFC 9110 §5.6.3: OWS = *( SP / HTAB ).
std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

core::Result<Fields> parse_urlencoded(std::string_view in, const FormLimits& limits,
                                      std::string_view what) {
  if (in.size() > limits.max_input_bytes) {
    return core::fail(core::Code::kRequestBodyTooLarge, std::string(what) + " too large");
  }
  Fields out;
  std::size_t pos = 0;
  while (pos <= in.size()) {
    std::size_t amp = in.find('&', pos);
    if (amp == std::string_view::npos) {
      amp = in.size();
    }
    std::string_view pair = in.substr(pos, amp - pos);
    pos = amp + 1;
    if (pair.empty()) {
      if (amp == in.size()) {
        break;
      }
      continue;
    }
    if (out.size() >= limits.max_fields) {
      return core::fail(core::Code::kMalformedRequest,
                        std::string("too many ") + std::string(what) + " fields");
    }
    std::size_t eq = pair.find('=');
    std::string_view raw_key = pair.substr(0, eq);
    std::string_view raw_value =
        eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    // Decoded length <= raw length, so the raw length bounds the work before decoding.
    if (raw_key.size() > limits.max_key_bytes * 3) {
      return core::fail(core::Code::kMalformedRequest, std::string(what) + " field name too long");
    }
    std::string key;
    std::string value;
    if (!percent_decode_append(raw_key, true, key) ||
        !percent_decode_append(raw_value, true, value)) {
      return core::fail(core::Code::kMalformedRequest,
                        "invalid percent-encoding in " + std::string(what));
    }
    if (key.size() > limits.max_key_bytes) {
      return core::fail(core::Code::kMalformedRequest, std::string(what) + " field name too long");
    }
    if (!limits.allow_nul &&
        (key.find('\0') != std::string::npos || value.find('\0') != std::string::npos)) {
      return core::fail(core::Code::kMalformedRequest, "NUL byte in " + std::string(what));
    }
    if (limits.require_utf8 && (!valid_utf8(key) || !valid_utf8(value))) {
      return core::fail(core::Code::kMalformedRequest, "invalid UTF-8 in " + std::string(what));
    }
    if (value.size() > limits.max_value_bytes) {
      return core::param_error(core::Code::kFormParamInvalid, key, "is too long",
                               key + " is longer than allowed");
    }
    out.emplace_back(std::move(key), std::move(value));
    if (amp == in.size()) {
      break;
    }
  }
  if (const std::string* dup = first_duplicate(out)) {
    return core::param_error(core::Code::kFormParamDuplicate, *dup, "is given more than once",
                             *dup + " appears more than once in the " + std::string(what) +
                                 "; send each parameter once.");
  }
  return out;
}

}  // namespace

bool percent_decode_append(std::string_view in, bool plus_as_space, std::string& out) {
  out.reserve(out.size() + in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) {
        return false;  // truncated escape
      }
      int hi = hex_value(in[i + 1]);
      int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) {
        return false;
      }
      out.push_back(static_cast<char>((hi << 4) | lo));
      i += 2;
    } else if (c == '+' && plus_as_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return true;
}

std::optional<std::string> percent_decode(std::string_view in, bool plus_as_space) {
  std::string out;
  if (!percent_decode_append(in, plus_as_space, out)) {
    return std::nullopt;
  }
  return out;
}

void percent_encode_append(std::string_view in, std::string& out) {
  out.reserve(out.size() + in.size());
  for (char c : in) {
    auto u = static_cast<unsigned char>(c);
    if (kUnreserved[u]) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHexUpper[u >> 4]);
      out.push_back(kHexUpper[u & 0xF]);
    }
  }
}

std::string percent_encode(std::string_view in) {
  std::string out;
  percent_encode_append(in, out);
  return out;
}

core::Result<Fields> parse_form(std::string_view body, const FormLimits& limits) {
  return parse_urlencoded(body, limits, "form");
}

core::Result<Fields> parse_query(std::string_view query, const FormLimits& limits) {
  return parse_urlencoded(query, limits, "query");
}

bool is_form_media_type(std::string_view content_type) {
  // RFC 9110 §8.3.1: media-type = type "/" subtype parameters;
  // parameters = *( OWS ";" OWS [ parameter ] ); parameter = name "=" ( token / quoted-string ).
  std::size_t semi = content_type.find(';');
  if (!iequals(trim_ows(content_type.substr(0, semi)), "application/x-www-form-urlencoded")) {
    return false;
  }
  std::string_view rest =
      semi == std::string_view::npos ? std::string_view() : content_type.substr(semi + 1);
  while (!rest.empty()) {
    semi = rest.find(';');
    std::string_view param = trim_ows(rest.substr(0, semi));
    rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
    if (param.empty()) {
      continue;
    }
    const std::size_t eq = param.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return false;  // not name=value: a malformed Content-Type is not our media type
    }
    if (!iequals(param.substr(0, eq), "charset")) {
      continue;
    }
    std::string_view value = param.substr(eq + 1);
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (!iequals(value, "utf-8")) {
      return false;  // WHATWG URL §5.1: form bodies are UTF-8; anything else would be misread
    }
  }
  return true;
}

std::optional<std::string_view> find_field(const Fields& fields, std::string_view key) {
  for (const auto& [k, v] : fields) {
    if (k == key) {
      return std::string_view(v);
    }
  }
  return std::nullopt;
}

std::string form_encode(const Fields& fields) {
  std::string out;
  for (const auto& [k, v] : fields) {
    if (!out.empty()) {
      out.push_back('&');
    }
    percent_encode_append(k, out);
    out.push_back('=');
    percent_encode_append(v, out);
  }
  return out;
}

}  // namespace latchkey::http
