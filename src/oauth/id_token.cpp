#include "oauth/id_token.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <optional>

#include "core/base64.hpp"
#include "crypto/json.hpp"
#include "crypto/jws.hpp"

namespace latchkey::oauth {
namespace {

constexpr std::size_t kMaxSubLength = 255;  // OIDC Core §2: sub MUST NOT exceed 255 ASCII chars
constexpr std::size_t kMaxTidLength = 64;

core::Error invalid(core::Reason reason, std::string detail) {
  return core::Error(core::Code::kOAuthIdTokenInvalid)
      .with_reason(reason)
      .with_internal("reason=" + std::string(core::reason_name(reason)) + ": " + std::move(detail));
}

// RFC 7519 §2 NumericDate: JSON number of seconds, possibly non-integer.
std::optional<std::int64_t> numeric_date(const boost::json::object& claims, std::string_view key) {
  const auto* v = claims.if_contains(key);
  if (v == nullptr) {
    return std::nullopt;
  }
  if (const auto* i = v->if_int64()) {
    return *i;
  }
  if (const auto* u = v->if_uint64()) {
    if (*u > static_cast<std::uint64_t>(INT64_MAX)) {
      return std::nullopt;
    }
    return static_cast<std::int64_t>(*u);
  }
  if (const auto* d = v->if_double()) {
    if (!std::isfinite(*d) || *d > 9.0e15 || *d < -9.0e15) {
      return std::nullopt;
    }
    return static_cast<std::int64_t>(std::floor(*d));
  }
  return std::nullopt;
}

const boost::json::string* string_claim(const boost::json::object& claims, std::string_view key) {
  const auto* v = claims.if_contains(key);
  return v == nullptr ? nullptr : v->if_string();
}

bool valid_tid(std::string_view tid) {
  if (tid.empty() || tid.size() > kMaxTidLength) {
    return false;
  }
  return std::all_of(tid.begin(), tid.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
  });
}

core::Status check_issuer(const boost::json::object& claims, const IdTokenExpectations& expect,
                          std::string& out) {
  const auto* iss = string_claim(claims, "iss");
  if (iss == nullptr) {
    return std::unexpected(invalid(core::Reason::kIss, "iss absent"));
  }
  out = std::string(*iss);
  std::string expected = expect.issuer;
  if (expect.issuer_is_template) {
    // Microsoft multi-tenant (catalog A34): iss must be the template with the token's own tid.
    const auto* tid = string_claim(claims, "tid");
    if (tid == nullptr || !valid_tid(*tid)) {
      return std::unexpected(invalid(core::Reason::kTid, "tid absent or malformed"));
    }
    const auto pos = expected.find(kTenantPlaceholder);
    if (pos != std::string::npos) {
      expected.replace(pos, kTenantPlaceholder.size(), std::string_view(*tid));
    }
  }
  // Byte-exact comparison, no normalisation (OIDC Core 3.1.3.7 step 2, catalog A1).
  if (out == expected) {
    return {};
  }
  for (const auto& alt : expect.alternate_issuers) {
    if (out == alt) {
      return {};
    }
  }
  return std::unexpected(
      invalid(core::Reason::kIss, "iss '" + out.substr(0, 200) + "' is not '" + expected + "'"));
}

core::Status check_audience(const boost::json::object& claims, const IdTokenExpectations& expect) {
  const auto* aud = claims.if_contains("aud");
  if (aud == nullptr) {
    return std::unexpected(invalid(core::Reason::kAud, "aud absent"));
  }
  std::size_t count = 0;
  bool ours = false;
  if (const auto* s = aud->if_string()) {
    count = 1;
    ours = *s == expect.client_id;
  } else if (const auto* arr = aud->if_array()) {
    for (const auto& a : *arr) {
      const auto* s2 = a.if_string();
      if (s2 == nullptr) {
        return std::unexpected(invalid(core::Reason::kAud, "aud array holds a non-string"));
      }
      ++count;
      ours = ours || *s2 == expect.client_id;
    }
  } else {
    return std::unexpected(invalid(core::Reason::kAud, "aud is neither string nor array"));
  }
  if (!ours) {
    return std::unexpected(invalid(core::Reason::kAud, "aud does not contain our client_id"));
  }
  // OIDC Core 3.1.3.7 steps 4-5: with several audiences azp must be present; when present it must
  // be us (we treat the SHOULD as MUST).
  const auto* azp_value = claims.if_contains("azp");
  if (azp_value != nullptr) {
    const auto* azp = azp_value->if_string();
    if (azp == nullptr || *azp != expect.client_id) {
      return std::unexpected(invalid(core::Reason::kAzp, "azp is not our client_id"));
    }
  } else if (count > 1) {
    return std::unexpected(invalid(core::Reason::kAzp, "several audiences and no azp"));
  }
  return {};
}

core::Status check_times(const boost::json::object& claims, const IdTokenExpectations& expect,
                         const core::Clock& clock) {
  const std::int64_t now = clock.now_s();
  const std::int64_t leeway = expect.leeway.count();
  const auto exp = numeric_date(claims, "exp");
  if (!exp) {
    return std::unexpected(invalid(core::Reason::kExp, "exp absent or not a NumericDate"));
  }
  // Leeway moves `now`, not the token's value: exp is any int64 the IdP sent (up to INT64_MAX),
  // and `*exp + leeway` would overflow (found by fuzz/fuzz_id_token).
  if (now - leeway >= *exp) {
    return std::unexpected(invalid(core::Reason::kExp, "expired"));
  }
  const auto iat = numeric_date(claims, "iat");
  if (!iat) {
    return std::unexpected(invalid(core::Reason::kIat, "iat absent or not a NumericDate"));
  }
  if (*iat > now + leeway) {
    return std::unexpected(invalid(core::Reason::kIat, "iat in the future (IdP clock skew)"));
  }
  if (*iat < now - expect.max_age.count() - leeway) {
    return std::unexpected(invalid(core::Reason::kIat, "issued too long ago"));
  }
  if (claims.contains("nbf")) {
    const auto nbf = numeric_date(claims, "nbf");
    if (!nbf || *nbf > now + leeway) {
      return std::unexpected(invalid(core::Reason::kNbf, "not yet valid"));
    }
  }
  return {};
}

bool key_matches(const crypto::Jwk& jwk, crypto::Alg alg) {
  if (jwk.key.empty()) {
    return false;
  }
  if (!jwk.use.empty() && jwk.use != "sig") {
    return false;
  }
  if (jwk.alg && *jwk.alg != alg) {
    return false;
  }
  return crypto::key_fits(jwk.key.kind(), alg);
}

// Finds the verifying key. With a kid: the key with that kid (refreshing the JWKS once if unknown);
// without: up to max_candidate_keys keys of a fitting type (conformance kid-absent-*).
core::Status verify_with_keys(const crypto::Jws& jws, const IdTokenExpectations& expect,
                              const KeySource& keys) {
  bool refreshed = false;
  auto set = keys(false);
  for (;;) {
    if (!set) {
      return std::unexpected(std::move(set.error()));
    }
    const JwkSet& jwks = **set;
    if (jws.kid) {
      bool kid_known = false;
      for (const auto& jwk : jwks) {
        if (jwk.kid != *jws.kid) {
          continue;
        }
        kid_known = true;
        if (!key_matches(jwk, jws.alg)) {
          continue;
        }
        if (crypto::verify_signature(jwk.key, jws.alg, jws.signing_input, jws.signature)) {
          return {};
        }
        return std::unexpected(invalid(core::Reason::kSignature, "signature does not verify"));
      }
      if (kid_known) {
        return std::unexpected(
            invalid(core::Reason::kAlg,
                    "key for kid does not fit alg " + std::string(crypto::to_string(jws.alg))));
      }
    } else {
      std::size_t tried = 0;
      for (const auto& jwk : jwks) {
        if (tried >= expect.max_candidate_keys) {
          break;
        }
        if (!key_matches(jwk, jws.alg)) {
          continue;
        }
        ++tried;
        if (crypto::verify_signature(jwk.key, jws.alg, jws.signing_input, jws.signature)) {
          return {};
        }
      }
      if (tried > 0) {
        return std::unexpected(invalid(core::Reason::kSignature, "no candidate key verifies"));
      }
    }
    if (refreshed) {
      return std::unexpected(invalid(core::Reason::kKid, "no key for kid after JWKS refresh"));
    }
    // Unknown kid: the IdP may have rotated keys (OIDC Core §10.1.1). One refresh, rate-limited
    // by the source.
    refreshed = true;
    set = keys(true);
  }
}

// True when the JOSE header decodes and names an alg we do not implement ("none", "HS256", ...).
bool header_alg_unknown(std::string_view compact) {
  const auto dot = compact.find('.');
  if (dot == std::string_view::npos || dot > 4096) {
    return false;
  }
  auto header = core::base64url_decode(compact.substr(0, dot));
  if (!header) {
    return false;
  }
  boost::system::error_code ec;
  auto v = boost::json::parse(*header, ec);
  const auto* o = ec ? nullptr : v.if_object();
  const auto* alg = o == nullptr ? nullptr : o->if_contains("alg");
  return alg != nullptr && alg->is_string() && !crypto::alg_from_string(alg->as_string());
}

}  // namespace

std::string_view id_token_failure_reason(const core::Error& error) {
  if (error.code != core::Code::kOAuthIdTokenInvalid ||
      error.reason == core::Reason::kUnspecified) {
    return {};
  }
  return core::reason_name(error.reason);
}

core::Result<ValidatedIdToken> validate_id_token(std::string_view compact,
                                                 const IdTokenExpectations& expect,
                                                 const KeySource& keys, const core::Clock& clock) {
  if (compact.size() > expect.max_bytes) {
    return std::unexpected(invalid(core::Reason::kMalformed, "token larger than the cap"));
  }
  // The header's alg string must name an algorithm we implement. "none", "HS256" etc. are not
  // values of crypto::Alg, so decode_jws rejects them before any key is looked at.
  auto jws = crypto::decode_jws(compact, expect.max_bytes);
  if (!jws) {
    // "alg":"none" comes with an empty signature, which the decoder reports first; name the
    // real problem in the log (catalog A13: reason=alg).
    const bool alg_problem = jws.error().internal.starts_with("alg") || header_alg_unknown(compact);
    return std::unexpected(
        invalid(alg_problem ? core::Reason::kAlg : core::Reason::kMalformed, jws.error().internal));
  }
  // decode_jws already refused "crit" (RFC 7515 §4.1.11) and header-supplied keys (jku, jwk, x5u):
  // keys come only from the issuer's jwks_uri.
  if (std::find(expect.allowed_algs.begin(), expect.allowed_algs.end(), jws->alg) ==
      expect.allowed_algs.end()) {
    return std::unexpected(invalid(
        core::Reason::kAlg,
        "alg " + std::string(crypto::to_string(jws->alg)) + " not allowed for this provider"));
  }
  // Strict: duplicate claim names are rejected, not "last one wins" (parser-differential attacks).
  auto payload = crypto::parse_strict_object(jws->payload);
  if (!payload) {
    return std::unexpected(invalid(core::Reason::kMalformed,
                                   "payload is not a JSON object: " + payload.error().internal));
  }
  // Signature first: no claim of an unverified token is trusted, or even looked at in detail.
  if (auto ok = verify_with_keys(*jws, expect, keys); !ok) {
    return std::unexpected(std::move(ok.error()));
  }
  ValidatedIdToken out;
  out.claims = std::move(*payload);
  const auto& claims = out.claims;
  if (auto ok = check_issuer(claims, expect, out.issuer); !ok) {
    return std::unexpected(std::move(ok.error()));
  }
  if (auto ok = check_audience(claims, expect); !ok) {
    return std::unexpected(std::move(ok.error()));
  }
  if (auto ok = check_times(claims, expect, clock); !ok) {
    return std::unexpected(std::move(ok.error()));
  }
  if (!expect.nonce.empty()) {
    const auto* nonce = string_claim(claims, "nonce");
    if (nonce == nullptr) {
      return std::unexpected(invalid(core::Reason::kNonce, "nonce absent"));
    }
    if (*nonce != expect.nonce) {
      return std::unexpected(invalid(core::Reason::kNonce, "nonce does not match"));
    }
  }
  const auto* sub = string_claim(claims, "sub");
  if (sub == nullptr || sub->empty() || sub->size() > kMaxSubLength) {
    return std::unexpected(invalid(core::Reason::kSub, "sub absent, empty or too long"));
  }
  out.subject = std::string(*sub);
  return out;
}

}  // namespace latchkey::oauth
