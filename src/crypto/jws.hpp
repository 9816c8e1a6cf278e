#pragma once
// JWS compact serialization (RFC 7515 §7.1) with JOSE algorithms (RFC 7518 §3, RFC 8037 §3.1).
//
// decode_jws() only checks structure; it never verifies. Callers pick the key by kid from a trusted
// set, require jws.alg to be the key's configured alg, then call verify_signature(). The token
// never chooses the key type: verify_signature() refuses any alg the key does not fit.
#include <boost/json/object.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "crypto/key.hpp"

namespace latchkey::crypto {

struct Jws {
  boost::json::object header;
  std::string payload;        // decoded bytes (for JWTs, the claims JSON; see parse_strict_object)
  std::string signing_input;  // ASCII(BASE64URL(header) || '.' || BASE64URL(payload))
  std::string signature;      // decoded bytes
  Alg alg = Alg::kRS256;
  std::optional<std::string> kid;
};

// Strict structure: size <= max_bytes (checked first), exactly three non-empty segments, strict
// base64url (no padding/whitespace), header a JSON object without duplicate members whose "alg" is
// one of Alg ("none", HS*, unknown are rejected), no "crit" (RFC 7515 §4.1.11: we understand no
// extensions), no header-supplied keys "jku"/"jwk"/"x5u" (RFC 8725 §3.10, ASVS 9.1.3), "kid"/"typ"
// strings when present. Errors are kAuthenticationInvalid with the reason in Error::internal.
core::Result<Jws> decode_jws(std::string_view compact, std::size_t max_bytes = 16 * 1024);

// False unless `key` fits `alg` (see key_fits) and `signature` is a valid JOSE signature of
// `signing_input`: RSASSA-PKCS1-v1_5 (RS*), RSASSA-PSS with MGF1 and salt = hash length (PS256),
// ECDSA with the raw R||S encoding of RFC 7518 §3.4 (ES*), Ed25519 (EdDSA). Thread-safe.
bool verify_signature(const PublicKey& key, Alg alg, std::string_view signing_input,
                      std::string_view signature);

// The raw JOSE signature (R||S for ECDSA). Fails if the key does not fit `alg`. Thread-safe.
core::Result<std::string> sign(const PrivateKey& key, Alg alg, std::string_view signing_input);

// SHA-256 of `data`, 32 raw bytes.
std::string sha256(std::string_view data);

}  // namespace latchkey::crypto
