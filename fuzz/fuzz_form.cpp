// http::parse_form / http::parse_query / http::percent_decode (src/http/form.hpp): request bodies
// and query strings. The first input byte picks the limits (defaults or tight ones) and which
// entry point runs. Checks, besides "no crash, no sanitizer report":
//  - accepted fields respect every limit: count, decoded key and value sizes, no NUL, UTF-8,
//    no key twice;
//  - round trip: parse(form_encode(fields)) == fields;
//  - percent_decode(percent_encode(x)) == x for the raw input, and percent_decode agrees with a
//    tiny reference decoder on arbitrary input;
//  - valid_utf8 agrees with Boost.JSON's UTF-8 validation (differential oracle).
#include <boost/json.hpp>

#include "fuzz_check.hpp"
#include "http/form.hpp"

namespace {

using namespace latchkey;

int hex(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  c = static_cast<char>(c | 0x20);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

std::optional<std::string> reference_decode(std::string_view in, bool plus) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%') {
      if (in.size() - i < 3 || hex(in[i + 1]) < 0 || hex(in[i + 2]) < 0) {
        return std::nullopt;
      }
      out.push_back(static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2])));
      i += 2;
    } else {
      out.push_back(plus && in[i] == '+' ? ' ' : in[i]);
    }
  }
  return out;
}

// Boost.JSON validates UTF-8 in strings (RFC 8259 §8.1): wrap the bytes, escaping only what
// JSON requires, and see whether it parses.
bool boost_says_utf8(std::string_view s) {
  std::string doc = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\' || u < 0x20) {
      static constexpr char kHex[] = "0123456789abcdef";
      doc += "\\u00";
      doc += kHex[u >> 4];
      doc += kHex[u & 0xF];
    } else {
      doc += c;
    }
  }
  doc += '"';
  boost::json::error_code ec;
  (void)boost::json::parse(doc, ec);
  return !ec;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Reader in(data, size);
  const auto selector = in.byte();
  const std::string input = in.rest();

  http::FormLimits limits;
  if ((selector & 1U) != 0) {
    limits = {.max_fields = 4,
              .max_key_bytes = 8,
              .max_value_bytes = 16,
              .max_input_bytes = 256,
              .allow_nul = (selector & 4U) != 0,
              .require_utf8 = (selector & 8U) == 0};
  }
  const bool query = (selector & 2U) != 0;
  auto fields = query ? http::parse_query(input, limits) : http::parse_form(input, limits);
  if (fields) {
    FUZZ_CHECK(input.size() <= limits.max_input_bytes);
    FUZZ_CHECK(fields->size() <= limits.max_fields);
    for (std::size_t i = 0; i < fields->size(); ++i) {
      const auto& [k, v] = (*fields)[i];
      // One parameter, one value: no key twice.
      for (std::size_t j = 0; j < i; ++j) {
        FUZZ_CHECK((*fields)[j].first != k);
      }
      FUZZ_CHECK(k.size() <= limits.max_key_bytes);
      FUZZ_CHECK(v.size() <= limits.max_value_bytes);
      if (!limits.allow_nul) {
        FUZZ_CHECK(k.find('\0') == std::string::npos && v.find('\0') == std::string::npos);
      }
      if (limits.require_utf8) {
        FUZZ_CHECK(http::valid_utf8(k) && http::valid_utf8(v));
      }
    }
    http::FormLimits wide = limits;
    wide.max_input_bytes = 16 * 1024 * 1024;
    auto again = http::parse_form(http::form_encode(*fields), wide);
    FUZZ_CHECK(again.has_value());
    FUZZ_CHECK(*again == *fields);
  } else {
    const auto code = fields.error().code;
    FUZZ_CHECK(code == core::Code::kRequestBodyTooLarge || code == core::Code::kMalformedRequest ||
               code == core::Code::kFormParamInvalid || code == core::Code::kFormParamDuplicate);
  }

  const bool plus = (selector & 16U) != 0;
  FUZZ_CHECK(http::percent_decode(input, plus) == reference_decode(input, plus));
  FUZZ_CHECK(http::percent_decode(http::percent_encode(input), plus) == input);
  FUZZ_CHECK(http::valid_utf8(input) == boost_says_utf8(input));
  return 0;
}
