#include "crypto/hmac.hpp"

#include <openssl/evp.h>

#include <array>

namespace latchkey::crypto {

core::Result<std::string> hmac_sha256(std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  std::size_t len = 0;
  // One-shot EVP_Q_mac (OpenSSL 3): no context to leak. An empty key is passed as one byte's
  // address with length 0 (OpenSSL refuses a null key).
  static constexpr unsigned char kEmpty = 0;
  const void* k = key.empty() ? static_cast<const void*>(&kEmpty) : key.data();
  char digest[] = "SHA256";
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, digest, nullptr, k, key.size(),
                reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(),
                out.size(), &len) == nullptr) {
    return core::fail(core::Error(core::Code::kInternal).with_internal("HMAC-SHA-256 failed"));
  }
  return std::string(reinterpret_cast<const char*>(out.data()), len);
}

}  // namespace latchkey::crypto
