// oauth::parse_discovery (src/oauth/discovery.hpp): OpenID Provider metadata as an IdP (or
// whoever answers in its place) sends it. The first input byte picks the expected issuer.
// Checks, besides "no crash, no sanitizer report":
//  - an accepted document names exactly the expected issuer (OIDC Discovery §4.3);
//  - every endpoint we keep is https, or http to a loopback host, without userinfo or fragment
//    (checked with a small independent reading of the URL, not with is_acceptable_endpoint);
//  - the algorithm list is non-empty (RS256 fallback).
#include "fuzz_check.hpp"
#include "http/form.hpp"
#include "oauth/discovery.hpp"

namespace {

using namespace latchkey;

void check_endpoint(const std::string& url, bool required) {
  if (url.empty()) {
    FUZZ_CHECK(!required);
    return;
  }
  const std::string lower = fuzz::ascii_lower(url);
  const bool https = lower.starts_with("https://");
  FUZZ_CHECK(https || lower.starts_with("http://"));
  FUZZ_CHECK(url.find('#') == std::string::npos);
  const std::size_t start = https ? 8 : 7;
  std::size_t end = url.find_first_of("/?", start);
  if (end == std::string::npos) {
    end = url.size();
  }
  const std::string_view authority = std::string_view(url).substr(start, end - start);
  FUZZ_CHECK(authority.find('@') == std::string_view::npos);
  FUZZ_CHECK(!authority.empty());
  if (!https) {
    std::string_view host = authority;
    if (host.starts_with('[')) {
      host = host.substr(0, host.find(']') + 1);
    } else {
      host = host.substr(0, host.find(':'));
    }
    const auto decoded = http::percent_decode(host);
    FUZZ_CHECK(decoded.has_value());
    const std::string h = fuzz::ascii_lower(*decoded);
    FUZZ_CHECK(h == "127.0.0.1" || h == "localhost" || h == "[::1]");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static constexpr std::string_view kIssuers[] = {
      "https://issuer.example", "https://login.example/{tenantid}/v2.0", "http://127.0.0.1:9000"};
  fuzz::Reader in(data, size);
  const std::string_view issuer = kIssuers[in.byte() % 3];
  const std::string doc = in.rest();
  auto m = oauth::parse_discovery(doc, issuer);
  if (!m) {
    FUZZ_CHECK(m.error().code == core::Code::kOAuthProviderUnavailable);
    return 0;
  }
  FUZZ_CHECK(m->issuer == issuer);
  check_endpoint(m->authorization_endpoint, true);
  check_endpoint(m->token_endpoint, true);
  check_endpoint(m->jwks_uri, true);
  check_endpoint(m->userinfo_endpoint, false);
  FUZZ_CHECK(!m->id_token_algs.empty());
  return 0;
}
