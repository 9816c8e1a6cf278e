// http::parse_cookies (src/http/cookies.hpp): the Cookie request header. The first input byte
// sets max_cookies. Checks, besides "no crash, no sanitizer report":
//  - at most max_cookies cookies; names are RFC 9110 tokens; values hold no control characters
//    and no ';' (so a value can never smuggle a second cookie or a header break);
//  - every parsed cookie is a substring-faithful copy: "name=value" occurs in the header, with
//    the value optionally DQUOTE-wrapped;
//  - differential with the builder: a cookie whose value is all cookie-octets serialises with
//    SetCookie::to_string() and the "name=value" part parses back to the same cookie.
#include "fuzz_check.hpp"
#include "http/cookies.hpp"

namespace {

using namespace latchkey;

bool is_tchar(char c) {
  static constexpr std::string_view kExtra = "!#$%&'*+-.^_`|~";
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         kExtra.find(c) != std::string_view::npos;
}

bool is_cookie_octet(char ch) {
  const auto c = static_cast<unsigned char>(ch);
  return c == 0x21 || (c >= 0x23 && c <= 0x2B) || (c >= 0x2D && c <= 0x3A) ||
         (c >= 0x3C && c <= 0x5B) || (c >= 0x5D && c <= 0x7E);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Reader in(data, size);
  const std::size_t max_cookies = static_cast<std::size_t>(in.byte() % 81);
  const std::string header = in.rest();
  const auto cookies = http::parse_cookies(header, max_cookies);
  FUZZ_CHECK(cookies.size() <= max_cookies);
  for (const auto& c : cookies) {
    FUZZ_CHECK(!c.name.empty());
    for (char ch : c.name) {
      FUZZ_CHECK(is_tchar(ch));
    }
    FUZZ_CHECK(!fuzz::has_control(c.value));
    FUZZ_CHECK(c.value.find(';') == std::string::npos);
    FUZZ_CHECK(header.find(c.value) != std::string::npos);
    FUZZ_CHECK(header.find(c.name) != std::string::npos);

    bool octets = true;
    for (char ch : c.value) {
      octets = octets && is_cookie_octet(ch);
    }
    if (!octets) {
      continue;
    }
    http::SetCookie sc;
    sc.name = c.name;
    sc.value = c.value;
    auto line = sc.to_string();
    FUZZ_CHECK(line.has_value());
    const std::string pair = line->substr(0, line->find(';'));
    const auto back = http::parse_cookies(pair);
    FUZZ_CHECK(back.size() == 1);
    FUZZ_CHECK(back[0].name == c.name && back[0].value == c.value);
  }
  return 0;
}
