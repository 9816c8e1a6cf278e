#pragma once
// HMAC-SHA-256 (RFC 2104) on OpenSSL: webhook signatures (Standard Webhooks / Svix).
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace latchkey::crypto {

// The 32-byte MAC of `data` under `key` (any length), raw bytes.
core::Result<std::string> hmac_sha256(std::string_view key, std::string_view data);

}  // namespace latchkey::crypto
