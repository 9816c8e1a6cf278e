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
  static_assert(crypto_auth_hmacsha256_KEYBYTES == crypto_generichash_BYTES);
  std::string sub(crypto_auth_hmacsha256_KEYBYTES, '\0');
  constexpr std::string_view kLabel = "latchkey sealer mac key v1";
  crypto_generichash(reinterpret_cast<unsigned char*>(sub.data()), sub.size(), uc(kLabel),
                     kLabel.size(), uc(key_.reveal()), key_.reveal().size());
  mac_key_ = core::Secret(std::move(sub));
}

std::string Sealer::mac(std::string_view context, std::string_view message) const {
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, uc(mac_key_.reveal()), mac_key_.reveal().size());
  // Length-prefixed context, so ("ab","c") and ("a","bc") differ.
  const std::string len = std::to_string(context.size()) + ":";
  crypto_auth_hmacsha256_update(&st, uc(len), len.size());
  crypto_auth_hmacsha256_update(&st, uc(context), context.size());
  crypto_auth_hmacsha256_update(&st, uc(message), message.size());
  std::string out(crypto_auth_hmacsha256_BYTES, '\0');
  crypto_auth_hmacsha256_final(&st, reinterpret_cast<unsigned char*>(out.data()));
  sodium_memzero(&st, sizeof st);
  return core::base64url_encode(out);
}

bool Sealer::mac_equals(std::string_view expected_mac, std::string_view context,
                        std::string_view message) const {
  const std::string actual = mac(context, message);
  return actual.size() == expected_mac.size() &&
         sodium_memcmp(actual.data(), expected_mac.data(), actual.size()) == 0;
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
