#include "crypto/sealer.hpp"

#include <sodium.h>

#include <stdexcept>

#include "core/base64.hpp"

namespace latchkey::crypto {
namespace {

constexpr std::string_view kPrefix = "v1.";
constexpr std::size_t kNonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr std::size_t kTag = crypto_aead_xchacha20poly1305_ietf_ABYTES;

static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == Sealer::kKeyBytes);

const unsigned char* uc(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

core::Error open_error(std::string why) {
  return core::Error(core::Code::kInternal, "cannot decrypt stored secret")
      .with_internal(std::move(why));
}

}  // namespace

Sealer::Sealer(const core::Secret& key32) : key_(key32) {
  if (key_.reveal().size() != kKeyBytes) {
    throw std::invalid_argument("encryption key must be exactly 32 bytes");
  }
  if (sodium_init() < 0) {
    throw std::runtime_error("libsodium initialisation failed");
  }
}

std::string Sealer::seal(std::string_view plaintext, std::string_view aad) const {
  std::string raw(kNonce + plaintext.size() + kTag, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  randombytes_buf(out, kNonce);
  unsigned long long clen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(out + kNonce, &clen, uc(plaintext), plaintext.size(),
                                             uc(aad), aad.size(), nullptr, out, uc(key_.reveal()));
  raw.resize(kNonce + static_cast<std::size_t>(clen));
  std::string sealed(kPrefix);
  sealed += core::base64url_encode(raw);
  return sealed;
}

core::Result<std::string> Sealer::open(std::string_view sealed, std::string_view aad) const {
  if (!sealed.starts_with(kPrefix)) {
    return std::unexpected(open_error("unknown sealed format"));
  }
  auto raw = core::base64url_decode(sealed.substr(kPrefix.size()));
  if (!raw) {
    return std::unexpected(open_error("sealed data is not base64url"));
  }
  if (raw->size() < kNonce + kTag) {
    return std::unexpected(open_error("sealed data truncated"));
  }
  const auto* in = uc(*raw);
  std::string plain(raw->size() - kNonce - kTag, '\0');
  unsigned long long plen = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(reinterpret_cast<unsigned char*>(plain.data()),
                                                 &plen, nullptr, in + kNonce, raw->size() - kNonce,
                                                 uc(aad), aad.size(), in, uc(key_.reveal())) != 0) {
    return std::unexpected(open_error("authentication failed (tampered, wrong key or wrong aad)"));
  }
  plain.resize(static_cast<std::size_t>(plen));
  return plain;
}

}  // namespace latchkey::crypto
