// oauth::validate_id_token (src/oauth/id_token.hpp) with a fixed key set, clock and expectations.
// Structure-aware (security catalog §3.4): most inputs are split into a JOSE header and a claim
// set that the harness base64url-encodes and SIGNS with a key from the provider's JWKS, so the
// fuzzer gets past the signature check and exercises the claim validation (iss, tid template,
// aud/azp, exp/iat/nbf, nonce, sub). Some inputs are used raw, as the whole compact token, and
// some are signed by a key the provider does not have.
//
// Oracle for every token that validates (an independent re-statement of OIDC Core 3.1.3.7):
// it was signed by a key of the set; iss is the expected issuer (or an alternate, or the template
// with the token's own tid); aud holds our client_id and azp is ours when present or required;
// exp/iat/nbf are NumericDates inside the leeway; the nonce matches; sub is 1..255 bytes. The key
// source is refreshed at most once per validation.
#include <boost/json.hpp>
#include <cmath>
#include <memory>

#include "core/base64.hpp"
#include "core/clock.hpp"
#include "crypto/jwk.hpp"
#include "crypto/jws.hpp"
#include "fuzz_check.hpp"
#include "oauth/id_token.hpp"

namespace {

using namespace latchkey;
namespace json = boost::json;

constexpr std::string_view kIssuer = "https://issuer.example";
constexpr std::string_view kTemplate = "https://login.example/{tenantid}/v2.0";
constexpr std::string_view kAlternate = "issuer.example";
constexpr std::string_view kClientId = "client-123";
constexpr std::string_view kNonce = "n-0S6_WzA2Mj";
constexpr std::int64_t kNow = 1'800'000'000;

struct Signer {
  crypto::PrivateKey key;
  crypto::Alg alg;
  std::string kid;
  bool in_set;
};

struct Fixture {
  std::vector<Signer> signers;
  std::shared_ptr<const oauth::JwkSet> set;
};

crypto::PrivateKey make_key(crypto::Alg alg) {
  auto key = crypto::generate_key(alg);
  if (!key) {
    std::abort();
  }
  return std::move(*key);
}

const Fixture& fixture() {
  static const Fixture f = [] {
    Fixture out;
    out.signers.push_back({make_key(crypto::Alg::kES256), crypto::Alg::kES256, "ec1", true});
    out.signers.push_back({make_key(crypto::Alg::kEdDSA), crypto::Alg::kEdDSA, "ed1", true});
    // Same kid as a key of the set but a different key: must never verify.
    out.signers.push_back({make_key(crypto::Alg::kEdDSA), crypto::Alg::kEdDSA, "ed1", false});
    out.signers.push_back({make_key(crypto::Alg::kES256), crypto::Alg::kES256, "zz9", false});
    json::array keys;
    for (const auto& s : out.signers) {
      if (s.in_set) {
        keys.push_back(crypto::public_jwk(s.key.public_key(), s.kid, s.alg));
      }
    }
    // An RSA key (RS256 is allowed, but no fuzz input is ever signed with it) and an
    // encryption key that parse_jwks must drop.
    auto rsa = make_key(crypto::Alg::kRS256);
    keys.push_back(crypto::public_jwk(rsa.public_key(), "rsa1", crypto::Alg::kRS256));
    auto enc =
        crypto::public_jwk(make_key(crypto::Alg::kES256).public_key(), "enc1", crypto::Alg::kES256);
    enc["use"] = "enc";
    keys.push_back(enc);
    auto parsed = crypto::parse_jwks(json::serialize(json::object{{"keys", keys}}));
    if (!parsed || parsed->size() != 3) {
      std::abort();
    }
    out.set = std::make_shared<const oauth::JwkSet>(std::move(*parsed));
    return out;
  }();
  return f;
}

// NumericDate as the oracle reads it: integral or finite real seconds, in a wide type.
std::optional<long double> date(const json::object& claims, std::string_view key) {
  const auto* v = claims.if_contains(key);
  if (v == nullptr) {
    return std::nullopt;
  }
  if (const auto* i = v->if_int64()) {
    return static_cast<long double>(*i);
  }
  if (const auto* u = v->if_uint64()) {
    return static_cast<long double>(*u);
  }
  if (const auto* d = v->if_double(); d != nullptr && std::isfinite(*d)) {
    return std::floor(static_cast<long double>(*d));
  }
  return std::nullopt;
}

const json::string* str(const json::object& claims, std::string_view key) {
  const auto* v = claims.if_contains(key);
  return v == nullptr ? nullptr : v->if_string();
}

void check_accepted(const oauth::ValidatedIdToken& t, const oauth::IdTokenExpectations& expect) {
  const auto& c = t.claims;
  const auto* iss = str(c, "iss");
  FUZZ_CHECK(iss != nullptr && t.issuer == std::string_view(*iss));
  if (expect.issuer_is_template) {
    const auto* tid = str(c, "tid");
    FUZZ_CHECK(tid != nullptr && !tid->empty());
    std::string expected(kTemplate);
    expected.replace(expected.find("{tenantid}"), 10, std::string_view(*tid));
    FUZZ_CHECK(t.issuer == expected || t.issuer == kAlternate);
  } else {
    FUZZ_CHECK(t.issuer == kIssuer || t.issuer == kAlternate);
  }

  const auto* aud = c.if_contains("aud");
  FUZZ_CHECK(aud != nullptr);
  std::size_t audiences = 0;
  bool ours = false;
  if (const auto* s = aud->if_string()) {
    audiences = 1;
    ours = *s == kClientId;
  } else {
    FUZZ_CHECK(aud->is_array());
    for (const auto& a : aud->get_array()) {
      FUZZ_CHECK(a.is_string());
      ++audiences;
      ours = ours || a.get_string() == kClientId;
    }
  }
  FUZZ_CHECK(ours);
  if (c.contains("azp") || audiences > 1) {
    const auto* azp = str(c, "azp");
    FUZZ_CHECK(azp != nullptr && *azp == kClientId);
  }

  const long double now = kNow;
  const long double leeway = static_cast<long double>(expect.leeway.count());
  const auto exp = date(c, "exp");
  FUZZ_CHECK(exp && now < *exp + leeway);
  const auto iat = date(c, "iat");
  FUZZ_CHECK(iat && *iat <= now + leeway);
  FUZZ_CHECK(*iat >= now - static_cast<long double>(expect.max_age.count()) - leeway);
  if (c.contains("nbf")) {
    const auto nbf = date(c, "nbf");
    FUZZ_CHECK(nbf && *nbf <= now + leeway);
  }
  if (!expect.nonce.empty()) {
    const auto* nonce = str(c, "nonce");
    FUZZ_CHECK(nonce != nullptr && *nonce == expect.nonce);
  }
  const auto* sub = str(c, "sub");
  FUZZ_CHECK(sub != nullptr && !sub->empty() && sub->size() <= 255);
  FUZZ_CHECK(t.subject == std::string_view(*sub));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Fixture& fx = fixture();
  fuzz::Reader in(data, size);
  const auto mode = in.byte();
  const auto flags = in.byte();

  oauth::IdTokenExpectations expect;
  expect.issuer_is_template = (flags & 1U) != 0;
  expect.issuer = std::string(expect.issuer_is_template ? kTemplate : kIssuer);
  expect.alternate_issuers = {std::string(kAlternate)};
  expect.client_id = std::string(kClientId);
  expect.allowed_algs = {crypto::Alg::kRS256, crypto::Alg::kES256, crypto::Alg::kEdDSA};
  expect.nonce = (flags & 2U) != 0 ? std::string(kNonce) : std::string();
  expect.max_bytes = 8 * 1024;

  std::string token;
  const Signer* signer = nullptr;
  if (mode % 4 == 0) {
    token = in.rest();
  } else {
    signer = &fx.signers[(mode >> 2) % fx.signers.size()];
    std::string header;
    if (mode % 4 == 1) {
      header = in.until('\xff');  // fuzzed header (up to a 0xFF byte), signed anyway
    } else {
      json::object h{{"alg", crypto::to_string(signer->alg)}, {"typ", "JWT"}};
      if ((flags & 4U) == 0) {
        h["kid"] = signer->kid;
      }
      header = json::serialize(h);
    }
    const std::string payload = in.rest();
    const std::string signing_input =
        core::base64url_encode(header) + "." + core::base64url_encode(payload);
    auto sig = crypto::sign(signer->key, signer->alg, signing_input);
    FUZZ_CHECK(sig.has_value());
    token = signing_input + "." + core::base64url_encode(*sig);
  }

  int refreshes = 0;
  const oauth::KeySource keys =
      [&](bool force_refresh) -> core::Result<std::shared_ptr<const oauth::JwkSet>> {
    if (force_refresh) {
      ++refreshes;
    }
    return fx.set;
  };
  core::ManualClock clock{std::chrono::system_clock::time_point(std::chrono::seconds(kNow))};
  auto result = oauth::validate_id_token(token, expect, keys, clock);
  FUZZ_CHECK(refreshes <= 1);
  if (std::getenv("FUZZ_VERBOSE") != nullptr) {
    std::fprintf(stderr, "validate_id_token: %s\n",
                 result ? "accepted" : result.error().internal.c_str());
  }
  if (!result) {
    FUZZ_CHECK(result.error().code == core::Code::kOAuthIdTokenInvalid);
    FUZZ_CHECK(!oauth::id_token_failure_reason(result.error()).empty());
    return 0;
  }
  // Only tokens the harness signed with a key of the provider's set can ever validate.
  FUZZ_CHECK(signer != nullptr && signer->in_set);
  check_accepted(*result, expect);
  return 0;
}
