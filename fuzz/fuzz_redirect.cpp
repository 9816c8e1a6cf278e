// flows::resolve_redirect_url (src/flows/policy.hpp): redirect_url and friends (security catalog
// §2.C). The first input byte picks the base origin; the rest is the URL as the client sent it.
// Oracle: an independent, WHATWG-minded reading of the URL we return (the browser is what follows
// it). For every accepted URL, besides "no crash, no sanitizer report":
//  - no control characters, spaces or backslashes (WHATWG strips or reinterprets them);
//  - scheme http/https followed by "//"; an authority without userinfo; the origin (lower-case
//    scheme and host, default port dropped) is one of the allowed origins;
//  - no fragment; a relative input ("/x") resolves under the base origin;
//  - deterministic: resolving the result again gives the result.
#include <algorithm>

#include "flows/policy.hpp"
#include "fuzz_check.hpp"

namespace {

using namespace latchkey;

const std::vector<std::string>& allowed() {
  // An IPv6 literal too: host parsing differs most between parsers around "[...]".
  static const std::vector<std::string> a = {"https://app.example.com", "http://localhost:3000",
                                             "https://accounts.example.com:8443",
                                             "http://[::1]:3000"};
  return a;
}

std::string whatwg_origin(std::string_view url) {
  const std::size_t colon = url.find(':');
  FUZZ_CHECK(colon != std::string_view::npos);
  const std::string scheme = fuzz::ascii_lower(url.substr(0, colon));
  FUZZ_CHECK(scheme == "http" || scheme == "https");
  FUZZ_CHECK(url.substr(colon + 1, 2) == "//");
  const std::size_t start = colon + 3;
  std::size_t end = url.find_first_of("/?#", start);
  if (end == std::string_view::npos) {
    end = url.size();
  }
  const std::string_view authority = url.substr(start, end - start);
  FUZZ_CHECK(authority.find('@') == std::string_view::npos);
  std::string_view host = authority;
  std::string_view port;
  const std::size_t last_colon = authority.rfind(':');
  if (last_colon != std::string_view::npos &&
      authority.find(']', last_colon) == std::string_view::npos) {
    host = authority.substr(0, last_colon);
    port = authority.substr(last_colon + 1);
  }
  std::string origin = scheme + "://" + fuzz::ascii_lower(host);
  if (!port.empty() && !(scheme == "http" && port == "80") &&
      !(scheme == "https" && port == "443")) {
    origin += ":" + std::string(port);
  }
  return origin;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Reader in(data, size);
  const std::string& base = allowed()[in.byte() % allowed().size()];
  const std::string url = in.rest();
  auto out = flows::resolve_redirect_url(url, base, allowed(), "redirect_url");
  if (!out) {
    FUZZ_CHECK(out.error().code == core::Code::kRedirectUrlInvalid);
    return 0;
  }
  const std::string& r = *out;
  FUZZ_CHECK(!fuzz::has_control(r));
  FUZZ_CHECK(r.find_first_of(" \\#") == std::string::npos);
  const std::string origin = whatwg_origin(r);
  FUZZ_CHECK(std::find(allowed().begin(), allowed().end(), origin) != allowed().end());
  if (!url.empty() && url.front() == '/') {
    FUZZ_CHECK(r.starts_with(base));
    FUZZ_CHECK(origin == base);
  }
  auto again = flows::resolve_redirect_url(r, base, allowed(), "redirect_url");
  FUZZ_CHECK(again.has_value() && *again == r);
  return 0;
}
