#include "crypto/jws.hpp"

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <array>
#include <boost/json/string.hpp>
#include <boost/json/value.hpp>

#include "core/base64.hpp"
#include "crypto/json.hpp"
#include "crypto/openssl_util.hpp"

namespace latchkey::crypto {
namespace {

// Digests are fetched once: an implicit fetch inside every EVP_DigestSignInit would take the
// provider lock on each call, which hurts exactly the concurrent hot path. Never freed on purpose.
const EVP_MD* md_for(Alg alg) {
  static const EVP_MD* const kSha256 = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
  static const EVP_MD* const kSha384 = EVP_MD_fetch(nullptr, "SHA2-384", nullptr);
  static const EVP_MD* const kSha512 = EVP_MD_fetch(nullptr, "SHA2-512", nullptr);
  switch (alg) {
    case Alg::kRS256:
    case Alg::kPS256:
    case Alg::kES256:
      return kSha256;
    case Alg::kRS384:
    case Alg::kES384:
      return kSha384;
    case Alg::kRS512:
      return kSha512;
    case Alg::kEdDSA:
      return nullptr;  // Ed25519 is "pure": it hashes internally (RFC 8032 §5.1)
  }
  return nullptr;
}

bool is_pss(Alg alg) { return alg == Alg::kPS256; }
bool is_ecdsa(Alg alg) { return alg == Alg::kES256 || alg == Alg::kES384; }
// RFC 7518 §3.4: R and S are each the size of the curve order, zero-padded.
int ecdsa_half(Alg alg) { return alg == Alg::kES256 ? 32 : 48; }

const unsigned char* uc(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

bool set_pss(EVP_PKEY_CTX* pctx, Alg alg) {
  // RFC 7518 §3.5: MGF1 with the same hash, salt length = hash output length.
  return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1 &&
         EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md_for(alg)) == 1;
}

// JOSE R||S -> DER ECDSA-Sig-Value for OpenSSL. Empty on failure.
std::string raw_to_der(std::string_view raw, int half) {
  if (raw.size() != static_cast<std::size_t>(2 * half)) {
    return {};
  }
  EcdsaSigPtr sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(uc(raw), half, nullptr);
  BIGNUM* s = BN_bin2bn(uc(raw.substr(static_cast<std::size_t>(half))), half, nullptr);
  if (!sig || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return {};
  }
  unsigned char* der = nullptr;
  const int len = i2d_ECDSA_SIG(sig.get(), &der);
  if (len <= 0) {
    return {};
  }
  std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  return out;
}

// DER ECDSA-Sig-Value -> JOSE R||S. Empty on failure.
std::string der_to_raw(std::string_view der, int half) {
  const unsigned char* p = uc(der);
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) {
    return {};
  }
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::string out(static_cast<std::size_t>(2 * half), '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  if (BN_bn2binpad(r, o, half) != half || BN_bn2binpad(s, o + half, half) != half) {
    return {};
  }
  return out;
}

core::Error jws_error(std::string why) {
  return core::Error(core::Code::kAuthenticationInvalid).with_internal(std::move(why));
}

core::Error sign_error(std::string why) {
  return core::Error(core::Code::kInternal, "signing failed").with_internal(std::move(why));
}

}  // namespace

std::string sha256(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md.data(), &len, md_for(Alg::kRS256), nullptr) != 1) {
    // Only on allocation failure; a digest that silently came back empty would be a bug magnet.
    throw std::bad_alloc();
  }
  return std::string(reinterpret_cast<const char*>(md.data()), len);
}

bool verify_signature(const PublicKey& key, Alg alg, std::string_view signing_input,
                      std::string_view signature) {
  if (key.empty() || !key_fits(key.kind(), alg)) {
    return false;
  }
  std::string der;
  if (is_ecdsa(alg)) {
    der = raw_to_der(signature, ecdsa_half(alg));
    if (der.empty()) {
      return false;
    }
    signature = der;
  } else if (alg == Alg::kEdDSA) {
    if (signature.size() != 64) {
      return false;
    }
  } else if (signature.size() != static_cast<std::size_t>(EVP_PKEY_get_size(key.native()))) {
    // RFC 8017 §8.2.2 step 1: the signature is exactly k octets.
    return false;
  }
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  bool ok = ctx &&
            EVP_DigestVerifyInit(ctx.get(), &pctx, md_for(alg), nullptr, key.native()) == 1 &&
            (!is_pss(alg) || set_pss(pctx, alg)) &&
            EVP_DigestVerify(ctx.get(), uc(signature), signature.size(), uc(signing_input),
                             signing_input.size()) == 1;
  ERR_clear_error();  // a failed verification leaves entries in this thread's error queue
  return ok;
}

namespace {

bool is_rsa(Alg alg) {
  return alg == Alg::kRS256 || alg == Alg::kRS384 || alg == Alg::kRS512 || alg == Alg::kPS256;
}

// RSA signing is the hot path of session tokens. EVP_DigestSignInit fetches the algorithm and
// builds a fresh context on every call; instead each thread keeps a few contexts already
// initialised for EVP_PKEY_sign (padding and digest set) and signs the digest with them. A
// context holds a reference to its key, so a cached key's address cannot be reused while cached.
struct CachedSignCtx {
  EVP_PKEY* key = nullptr;
  Alg alg = Alg::kRS256;
  EVP_PKEY_CTX* ctx = nullptr;
};

class SignCtxCache {
 public:
  SignCtxCache() = default;
  SignCtxCache(const SignCtxCache&) = delete;
  SignCtxCache& operator=(const SignCtxCache&) = delete;
  ~SignCtxCache() {
    for (auto& e : entries_) {
      EVP_PKEY_CTX_free(e.ctx);
    }
  }

  EVP_PKEY_CTX* get(EVP_PKEY* key, Alg alg) {
    for (auto& e : entries_) {
      if (e.key == key && e.alg == alg && e.ctx != nullptr) {
        return e.ctx;
      }
    }
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr);
    const bool ok = ctx != nullptr && EVP_PKEY_sign_init(ctx) == 1 &&
                    EVP_PKEY_CTX_set_signature_md(ctx, md_for(alg)) == 1 &&
                    (is_pss(alg) ? set_pss(ctx, alg)
                                 : EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1);
    if (!ok) {
      EVP_PKEY_CTX_free(ctx);
      return nullptr;
    }
    auto& slot = entries_[next_++ % entries_.size()];  // a handful of keys per thread at most
    EVP_PKEY_CTX_free(slot.ctx);
    slot = CachedSignCtx{key, alg, ctx};
    return ctx;
  }

 private:
  std::array<CachedSignCtx, 4> entries_{};
  std::size_t next_ = 0;
};

core::Result<std::string> sign_rsa_cached(const PrivateKey& key, Alg alg,
                                          std::string_view signing_input) {
  thread_local SignCtxCache cache;
  EVP_PKEY_CTX* ctx = cache.get(key.native(), alg);
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int digest_len = 0;
  if (ctx == nullptr || EVP_Digest(signing_input.data(), signing_input.size(), digest.data(),
                                   &digest_len, md_for(alg), nullptr) != 1) {
    return std::unexpected(sign_error(drain_openssl_errors()));
  }
  std::size_t len = static_cast<std::size_t>(EVP_PKEY_get_size(key.native()));
  std::string sig(len, '\0');
  if (EVP_PKEY_sign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len, digest.data(),
                    digest_len) != 1) {
    return std::unexpected(sign_error(drain_openssl_errors()));
  }
  sig.resize(len);
  return sig;
}

}  // namespace

core::Result<std::string> sign(const PrivateKey& key, Alg alg, std::string_view signing_input) {
  if (!key.native() || !key_fits(key.kind(), alg)) {
    return std::unexpected(
        sign_error(std::string("key does not fit ") + std::string(to_string(alg))));
  }
  if (is_rsa(alg)) {
    return sign_rsa_cached(key, alg, signing_input);
  }
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  std::size_t len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), &pctx, md_for(alg), nullptr, key.native()) != 1 ||
      (is_pss(alg) && !set_pss(pctx, alg)) ||
      EVP_DigestSign(ctx.get(), nullptr, &len, uc(signing_input), signing_input.size()) != 1) {
    return std::unexpected(sign_error(drain_openssl_errors()));
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     uc(signing_input), signing_input.size()) != 1) {
    return std::unexpected(sign_error(drain_openssl_errors()));
  }
  sig.resize(len);
  if (is_ecdsa(alg)) {
    sig = der_to_raw(sig, ecdsa_half(alg));
    if (sig.empty()) {
      return std::unexpected(sign_error("cannot convert ECDSA signature"));
    }
  }
  return sig;
}

core::Result<Jws> decode_jws(std::string_view compact, std::size_t max_bytes) {
  if (compact.size() > max_bytes) {
    return std::unexpected(jws_error("malformed: token larger than limit"));
  }
  const std::size_t d1 = compact.find('.');
  const std::size_t d2 = d1 == std::string_view::npos ? d1 : compact.find('.', d1 + 1);
  if (d2 == std::string_view::npos || compact.find('.', d2 + 1) != std::string_view::npos) {
    return std::unexpected(jws_error("malformed: not three segments"));
  }
  const std::string_view h64 = compact.substr(0, d1);
  const std::string_view p64 = compact.substr(d1 + 1, d2 - d1 - 1);
  const std::string_view s64 = compact.substr(d2 + 1);
  if (h64.empty() || p64.empty() || s64.empty()) {
    return std::unexpected(jws_error("malformed: empty segment"));
  }
  auto header_bytes = core::base64url_decode(h64);
  auto payload = core::base64url_decode(p64);
  auto signature = core::base64url_decode(s64);
  if (!header_bytes || !payload || !signature) {
    return std::unexpected(jws_error("malformed: invalid base64url"));
  }
  auto header =
      parse_strict_object(*header_bytes, JsonLimits{.max_bytes = max_bytes, .max_depth = 4});
  if (!header) {
    return std::unexpected(jws_error("malformed header: " + header.error().internal));
  }
  Jws out;
  const auto* alg = header->if_contains("alg");
  if (alg == nullptr || !alg->is_string()) {
    return std::unexpected(jws_error("alg missing"));
  }
  const auto parsed_alg = alg_from_string(alg->get_string());
  if (!parsed_alg) {
    return std::unexpected(jws_error("alg not allowed"));
  }
  out.alg = *parsed_alg;
  if (header->contains("crit")) {
    return std::unexpected(jws_error("crit header not supported"));
  }
  for (std::string_view name : {"jku", "jwk", "x5u"}) {
    if (header->contains(name)) {
      return std::unexpected(jws_error("header-supplied key not allowed"));
    }
  }
  if (const auto* kid = header->if_contains("kid")) {
    if (!kid->is_string()) {
      return std::unexpected(jws_error("kid is not a string"));
    }
    out.kid = std::string(kid->get_string());
  }
  if (const auto* typ = header->if_contains("typ"); typ != nullptr && !typ->is_string()) {
    return std::unexpected(jws_error("typ is not a string"));
  }
  out.header = std::move(*header);
  out.payload = std::move(*payload);
  out.signature = std::move(*signature);
  out.signing_input = std::string(compact.substr(0, d2));
  return out;
}

}  // namespace latchkey::crypto
