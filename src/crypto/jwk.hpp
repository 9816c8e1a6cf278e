#pragma once
// JSON Web Keys (RFC 7517), public keys only: RSA (RFC 7518 §6.3.1), EC (§6.2.1), OKP Ed25519
// (RFC 8037 §2). Private members (d, p, q, dp, dq, qi) are never read and never written.
#include <boost/json/object.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "crypto/key.hpp"

namespace latchkey::crypto {

struct Jwk {
  std::string kid;         // "" when the JWK has none
  std::optional<Alg> alg;  // the JWK's "alg" when present (always one the key fits)
  std::string use;         // "" when absent
  PublicKey key;
};

// One JWK. Errors (kInternal, reason in Error::internal) for: unsupported kty/crv/alg, an alg the
// key cannot be used with, RSA modulus < 2048 bits, EC coordinates not full-size or not a point on
// the curve, wrong member types.
core::Result<Jwk> parse_jwk(const boost::json::object& jwk);

struct JwksLimits {
  std::size_t max_bytes = 256 * 1024;  // Microsoft's JWKS with x5c chains is ~10-20 KB
  std::size_t max_keys = 64;
};

// {"keys":[...]}. Errors only when the document itself is malformed (not JSON, duplicate members,
// no "keys" array, an entry that is not an object, over the limits). Keys that cannot be used are
// skipped, so one odd key does not break verification with the others (OIDF conformance
// "IgnoresUnparseableKeyInJwks"): unsupported kty/crv/alg, use == "enc", weak or invalid keys.
core::Result<std::vector<Jwk>> parse_jwks(std::string_view json, JwksLimits limits = {});

// RFC 7517 public JWK with kty, kid, alg, use:"sig" and n,e | crv,x,y | crv,x.
// Precondition: key_fits(key.kind(), alg) and !key.empty(); violating it is a bug (throws
// std::invalid_argument).
boost::json::object public_jwk(const PublicKey& key, std::string_view kid, Alg alg);

// RFC 7638 JWK thumbprint: base64url(SHA-256(canonical required members)). "" for an empty key.
std::string jwk_thumbprint(const PublicKey& key);

}  // namespace latchkey::crypto
