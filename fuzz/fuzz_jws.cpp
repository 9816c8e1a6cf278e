// crypto::decode_jws + crypto::verify_signature (src/crypto/jws.hpp) on arbitrary compact
// serialisations. Checks, besides "no crash, no sanitizer report":
//  - an accepted JWS has exactly three strict base64url segments (re-encoding each decoded part
//    gives back the bytes sent: no padding, no whitespace, no non-canonical trailing bits);
//  - the header has a string alg that is one of ours, no crit, no header-supplied key;
//  - signing_input is the first two segments, byte for byte;
//  - verify_signature never accepts a token against a key the harness never signed with, and
//    never for an alg the key does not fit (exercises the ECDSA R||S and RSA size paths).
#include <vector>

#include "core/base64.hpp"
#include "crypto/jws.hpp"
#include "crypto/key.hpp"
#include "fuzz_check.hpp"

namespace {

using namespace latchkey;

const std::vector<crypto::PrivateKey>& keys() {
  static const std::vector<crypto::PrivateKey> k = [] {
    std::vector<crypto::PrivateKey> out;
    for (auto alg :
         {crypto::Alg::kRS256, crypto::Alg::kES256, crypto::Alg::kES384, crypto::Alg::kEdDSA}) {
      auto key = crypto::generate_key(alg);
      if (!key) {
        std::abort();
      }
      out.push_back(std::move(*key));
    }
    return out;
  }();
  return k;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view compact = fuzz::as_view(data, size);
  const std::size_t max_bytes = 8 * 1024;
  auto jws = crypto::decode_jws(compact, max_bytes);
  if (!jws) {
    FUZZ_CHECK(jws.error().code == core::Code::kAuthenticationInvalid);
    return 0;
  }
  FUZZ_CHECK(compact.size() <= max_bytes);
  const std::size_t d1 = compact.find('.');
  const std::size_t d2 = compact.find('.', d1 + 1);
  FUZZ_CHECK(d1 != std::string_view::npos && d2 != std::string_view::npos);
  FUZZ_CHECK(compact.find('.', d2 + 1) == std::string_view::npos);
  FUZZ_CHECK(jws->signing_input == compact.substr(0, d2));
  FUZZ_CHECK(core::base64url_encode(jws->payload) == compact.substr(d1 + 1, d2 - d1 - 1));
  FUZZ_CHECK(core::base64url_encode(jws->signature) == compact.substr(d2 + 1));
  auto header_bytes = core::base64url_decode(compact.substr(0, d1));
  FUZZ_CHECK(header_bytes.has_value());
  FUZZ_CHECK(core::base64url_encode(*header_bytes) == compact.substr(0, d1));

  const auto* alg = jws->header.if_contains("alg");
  FUZZ_CHECK(alg != nullptr && alg->is_string());
  auto parsed_alg = crypto::alg_from_string(alg->get_string());
  FUZZ_CHECK(parsed_alg.has_value() && *parsed_alg == jws->alg);
  for (std::string_view banned : {"crit", "jku", "jwk", "x5u"}) {
    FUZZ_CHECK(!jws->header.contains(banned));
  }
  if (const auto* kid = jws->header.if_contains("kid")) {
    FUZZ_CHECK(kid->is_string() && jws->kid && *jws->kid == std::string_view(kid->get_string()));
  } else {
    FUZZ_CHECK(!jws->kid);
  }

  // The fuzzer cannot forge signatures of keys generated in this process.
  for (const auto& key : keys()) {
    FUZZ_CHECK(
        !crypto::verify_signature(key.public_key(), jws->alg, jws->signing_input, jws->signature));
  }
  return 0;
}
