// crypto::parse_jwks and crypto::parse_jwk (src/crypto/jwk.hpp): key sets fetched from identity
// providers. Every input is tried both as a JWKS document and, when it is a JSON object, as one
// JWK. Checks, besides "no crash, no sanitizer report":
//  - limits: at most max_keys keys; no key with use "enc"; kid at most 256 bytes;
//  - every key is non-empty and fits its declared alg (the token can never pick the key type);
//  - round trip: public_jwk(key) parses back to a key with the same kind and RFC 7638 thumbprint.
#include "crypto/json.hpp"
#include "crypto/jwk.hpp"
#include "fuzz_check.hpp"

namespace {

using namespace latchkey;

crypto::Alg default_alg(crypto::KeyKind kind) {
  switch (kind) {
    case crypto::KeyKind::kRsa:
      return crypto::Alg::kRS256;
    case crypto::KeyKind::kEcP256:
      return crypto::Alg::kES256;
    case crypto::KeyKind::kEcP384:
      return crypto::Alg::kES384;
    case crypto::KeyKind::kEd25519:
      return crypto::Alg::kEdDSA;
  }
  std::abort();
}

void check_key(const crypto::Jwk& jwk) {
  FUZZ_CHECK(!jwk.key.empty());
  FUZZ_CHECK(jwk.kid.size() <= 256);
  if (jwk.alg) {
    FUZZ_CHECK(crypto::key_fits(jwk.key.kind(), *jwk.alg));
  }
  if (jwk.key.kind() == crypto::KeyKind::kRsa) {
    FUZZ_CHECK(jwk.key.bits() >= 2048);
  }
  const crypto::Alg alg = jwk.alg.value_or(default_alg(jwk.key.kind()));
  const auto published = crypto::public_jwk(jwk.key, jwk.kid, alg);
  auto back = crypto::parse_jwk(published);
  FUZZ_CHECK(back.has_value());
  FUZZ_CHECK(back->key.kind() == jwk.key.kind());
  FUZZ_CHECK(back->kid == jwk.kid);
  FUZZ_CHECK(crypto::jwk_thumbprint(back->key) == crypto::jwk_thumbprint(jwk.key));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::as_view(data, size);
  const crypto::JwksLimits limits{.max_bytes = 64 * 1024, .max_keys = 16};
  if (auto set = crypto::parse_jwks(text, limits)) {
    FUZZ_CHECK(set->size() <= limits.max_keys);
    for (const auto& jwk : *set) {
      FUZZ_CHECK(jwk.use != "enc");
      check_key(jwk);
    }
  }
  if (auto object = crypto::parse_strict_object(text)) {
    if (auto jwk = crypto::parse_jwk(*object)) {
      check_key(*jwk);
    }
  }
  return 0;
}
