#include "crypto/jwk.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <boost/json/array.hpp>
#include <boost/json/string.hpp>
#include <boost/json/value.hpp>
#include <stdexcept>

#include "core/base64.hpp"
#include "crypto/json.hpp"
#include "crypto/jws.hpp"
#include "crypto/openssl_util.hpp"

namespace latchkey::crypto {
namespace {

namespace json = boost::json;

core::Error jwk_error(std::string why) {
  return core::Error(core::Code::kInternal, "invalid JWK").with_internal(std::move(why));
}

// An optional string member: nullopt when absent, error when present with another type.
core::Result<std::optional<std::string_view>> opt_string(const json::object& o,
                                                         std::string_view name) {
  const auto* v = o.if_contains(name);
  if (v == nullptr) {
    return std::nullopt;
  }
  if (!v->is_string()) {
    return std::unexpected(jwk_error(std::string(name) + " is not a string"));
  }
  return std::string_view(v->get_string());
}

// A required base64url member (RFC 7518 uses base64url without padding for every key parameter).
core::Result<std::string> b64_member(const json::object& o, std::string_view name,
                                     std::size_t max_len) {
  auto s = opt_string(o, name);
  if (!s) {
    return std::unexpected(std::move(s.error()));
  }
  if (!*s) {
    return std::unexpected(jwk_error(std::string("missing ") + std::string(name)));
  }
  if ((*s)->size() > (max_len * 4 + 2) / 3) {
    return std::unexpected(jwk_error(std::string(name) + " too long"));
  }
  auto bytes = core::base64url_decode(**s);
  if (!bytes || bytes->empty()) {
    return std::unexpected(jwk_error(std::string(name) + " is not base64url"));
  }
  return std::move(*bytes);
}

const unsigned char* uc(const std::string& s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

core::Result<PublicKey> fromdata(const char* type, const OSSL_PARAM* params) {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, const_cast<OSSL_PARAM*>(params)) !=
          1) {
    return std::unexpected(jwk_error(std::string("cannot build key: ") + drain_openssl_errors()));
  }
  EvpPkeyPtr pkey(raw);
  return PublicKey::from_evp(pkey.get());
}

core::Result<PublicKey> rsa_key(const json::object& o) {
  auto n = b64_member(o, "n", 2048);  // 16384 bits
  if (!n) {
    return std::unexpected(std::move(n.error()));
  }
  auto e = b64_member(o, "e", 8);
  if (!e) {
    return std::unexpected(std::move(e.error()));
  }
  BnPtr bn_n(BN_bin2bn(uc(*n), static_cast<int>(n->size()), nullptr));
  BnPtr bn_e(BN_bin2bn(uc(*e), static_cast<int>(e->size()), nullptr));
  if (!bn_n || !bn_e) {
    return std::unexpected(jwk_error("out of memory"));
  }
  // An even or tiny exponent is never a real RSA key (and e = 1 makes "signatures" trivial).
  if (!BN_is_odd(bn_e.get()) || BN_is_one(bn_e.get())) {
    return std::unexpected(jwk_error("invalid RSA exponent"));
  }
  if (BN_num_bits(bn_n.get()) < 2048) {
    return std::unexpected(jwk_error("RSA modulus shorter than 2048 bits (RFC 7518 §3.3)"));
  }
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
    return std::unexpected(jwk_error("out of memory"));
  }
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  if (!params) {
    return std::unexpected(jwk_error("out of memory"));
  }
  return fromdata("RSA", params.get());
}

core::Result<PublicKey> ec_key(const json::object& o) {
  auto crv = opt_string(o, "crv");
  if (!crv) {
    return std::unexpected(std::move(crv.error()));
  }
  std::size_t size = 0;
  const char* group = nullptr;
  if (*crv == "P-256") {
    size = 32;
    group = "P-256";
  } else if (*crv == "P-384") {
    size = 48;
    group = "P-384";
  } else {
    return std::unexpected(jwk_error("unsupported EC curve"));
  }
  auto x = b64_member(o, "x", size);
  if (!x) {
    return std::unexpected(std::move(x.error()));
  }
  auto y = b64_member(o, "y", size);
  if (!y) {
    return std::unexpected(std::move(y.error()));
  }
  // RFC 7518 §6.2.1.2/3: x and y MUST be the full coordinate size.
  if (x->size() != size || y->size() != size) {
    return std::unexpected(jwk_error("EC coordinate is not full-size"));
  }
  std::string point;
  point.reserve(1 + 2 * size);
  point.push_back('\x04');  // SEC 1 §2.3.3 uncompressed point
  point += *x;
  point += *y;
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return std::unexpected(jwk_error("out of memory"));
  }
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  if (!params) {
    return std::unexpected(jwk_error("out of memory"));
  }
  auto key = fromdata("EC", params.get());
  if (!key) {
    return key;
  }
  // Invalid-curve attacks: the point must be on the curve, not infinity, of the right order.
  EvpPkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, key->native(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    drain_openssl_errors();
    return std::unexpected(jwk_error("EC point is not on the curve"));
  }
  return key;
}

core::Result<PublicKey> okp_key(const json::object& o) {
  auto crv = opt_string(o, "crv");
  if (!crv) {
    return std::unexpected(std::move(crv.error()));
  }
  if (*crv != "Ed25519") {
    return std::unexpected(jwk_error("unsupported OKP curve"));
  }
  auto x = b64_member(o, "x", 32);
  if (!x) {
    return std::unexpected(std::move(x.error()));
  }
  if (x->size() != 32) {
    return std::unexpected(jwk_error("Ed25519 public key is not 32 bytes"));
  }
  EvpPkeyPtr pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, uc(*x), x->size()));
  if (!pkey) {
    return std::unexpected(jwk_error("cannot build Ed25519 key: " + drain_openssl_errors()));
  }
  return PublicKey::from_evp(pkey.get());
}

std::string bn_member(EVP_PKEY* pkey, const char* name, int pad_to) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &raw) != 1) {
    drain_openssl_errors();
    return {};
  }
  BnPtr bn(raw);
  const int len = pad_to > 0 ? pad_to : BN_num_bytes(bn.get());
  std::string out(static_cast<std::size_t>(len), '\0');
  if (BN_bn2binpad(bn.get(), reinterpret_cast<unsigned char*>(out.data()), len) != len) {
    return {};
  }
  return core::base64url_encode(out);
}

// The RFC 7638 required members of `key`, each already base64url-encoded.
struct Members {
  std::string_view kty;
  std::string_view crv;
  std::string n, e, x, y;
};

Members members(const PublicKey& key) {
  Members m;
  EVP_PKEY* p = key.native();
  switch (key.kind()) {
    case KeyKind::kRsa:
      m.kty = "RSA";
      m.n = bn_member(p, OSSL_PKEY_PARAM_RSA_N, 0);
      m.e = bn_member(p, OSSL_PKEY_PARAM_RSA_E, 0);
      break;
    case KeyKind::kEcP256:
    case KeyKind::kEcP384: {
      const int size = key.kind() == KeyKind::kEcP256 ? 32 : 48;
      m.kty = "EC";
      m.crv = key.kind() == KeyKind::kEcP256 ? "P-256" : "P-384";
      m.x = bn_member(p, OSSL_PKEY_PARAM_EC_PUB_X, size);
      m.y = bn_member(p, OSSL_PKEY_PARAM_EC_PUB_Y, size);
      break;
    }
    case KeyKind::kEd25519: {
      m.kty = "OKP";
      m.crv = "Ed25519";
      std::string raw(32, '\0');
      std::size_t len = raw.size();
      if (EVP_PKEY_get_raw_public_key(p, reinterpret_cast<unsigned char*>(raw.data()), &len) == 1 &&
          len == 32) {
        m.x = core::base64url_encode(raw);
      }
      break;
    }
  }
  return m;
}

}  // namespace

core::Result<Jwk> parse_jwk(const json::object& o) {
  auto kty = opt_string(o, "kty");
  if (!kty) {
    return std::unexpected(std::move(kty.error()));
  }
  if (!*kty) {
    return std::unexpected(jwk_error("missing kty"));
  }
  Jwk out;
  auto kid = opt_string(o, "kid");
  auto use = opt_string(o, "use");
  auto alg = opt_string(o, "alg");
  for (auto* r : {&kid, &use, &alg}) {
    if (!*r) {
      return std::unexpected(std::move(r->error()));
    }
  }
  if (*kid) {
    if ((*kid)->size() > 256) {
      return std::unexpected(jwk_error("kid too long"));
    }
    out.kid = std::string(**kid);
  }
  if (*use) {
    out.use = std::string(**use);
  }
  if (*alg) {
    out.alg = alg_from_string(**alg);
    if (!out.alg) {
      return std::unexpected(jwk_error("unsupported alg"));
    }
  }
  core::Result<PublicKey> key = std::unexpected(jwk_error("unsupported kty"));
  if (**kty == "RSA") {
    key = rsa_key(o);
  } else if (**kty == "EC") {
    key = ec_key(o);
  } else if (**kty == "OKP") {
    key = okp_key(o);
  }
  if (!key) {
    return std::unexpected(std::move(key.error()));
  }
  if (out.alg && !key_fits(key->kind(), *out.alg)) {
    return std::unexpected(jwk_error("alg does not fit the key type"));
  }
  out.key = std::move(*key);
  return out;
}

core::Result<std::vector<Jwk>> parse_jwks(std::string_view text, JwksLimits limits) {
  auto doc = parse_strict_object(text, JsonLimits{.max_bytes = limits.max_bytes, .max_depth = 8});
  if (!doc) {
    return std::unexpected(
        jwk_error("malformed JWKS document: " + std::move(doc.error().internal)));
  }
  const auto* keys = doc->if_contains("keys");
  if (keys == nullptr || !keys->is_array()) {
    return std::unexpected(jwk_error("JWKS has no \"keys\" array"));
  }
  const auto& arr = keys->get_array();
  if (arr.size() > limits.max_keys) {
    return std::unexpected(jwk_error("JWKS has too many keys"));
  }
  std::vector<Jwk> out;
  out.reserve(arr.size());
  for (const auto& entry : arr) {
    if (!entry.is_object()) {
      return std::unexpected(jwk_error("JWKS entry is not an object"));
    }
    auto jwk = parse_jwk(entry.get_object());
    if (!jwk) {
      continue;  // unsupported or unusable key: skipped, see header
    }
    if (jwk->use == "enc") {
      continue;
    }
    out.push_back(std::move(*jwk));
  }
  return out;
}

json::object public_jwk(const PublicKey& key, std::string_view kid, Alg alg) {
  if (key.empty() || !key_fits(key.kind(), alg)) {
    throw std::invalid_argument("public_jwk: key does not fit alg");
  }
  Members m = members(key);
  json::object o;
  o.reserve(7);
  o["kty"] = m.kty;
  o["kid"] = kid;
  o["alg"] = to_string(alg);
  o["use"] = "sig";
  if (key.kind() == KeyKind::kRsa) {
    o["n"] = m.n;
    o["e"] = m.e;
  } else {
    o["crv"] = m.crv;
    o["x"] = m.x;
    if (key.kind() != KeyKind::kEd25519) {
      o["y"] = m.y;
    }
  }
  return o;
}

std::string jwk_thumbprint(const PublicKey& key) {
  if (key.empty()) {
    return {};
  }
  // RFC 7638 §3.2: required members only, lexicographic order, no whitespace. Every value is
  // base64url or a fixed name, so no JSON escaping is ever needed.
  Members m = members(key);
  std::string canon;
  switch (key.kind()) {
    case KeyKind::kRsa:
      canon = R"({"e":")" + m.e + R"(","kty":"RSA","n":")" + m.n + R"("})";
      break;
    case KeyKind::kEcP256:
    case KeyKind::kEcP384:
      canon = R"({"crv":")" + std::string(m.crv) + R"(","kty":"EC","x":")" + m.x + R"(","y":")" +
              m.y + R"("})";
      break;
    case KeyKind::kEd25519:
      canon = R"({"crv":"Ed25519","kty":"OKP","x":")" + m.x + R"("})";
      break;
  }
  return core::base64url_encode(sha256(canon));
}

}  // namespace latchkey::crypto
