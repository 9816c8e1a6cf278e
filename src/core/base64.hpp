#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace latchkey::core {

// RFC 4648 §5 base64url without padding (JOSE, PKCE).
std::string base64url_encode(std::string_view bytes);
// Strict: rejects padding, whitespace and characters outside the url-safe alphabet, and
// non-canonical trailing bits.
std::optional<std::string> base64url_decode(std::string_view text);
// RFC 4648 §4 standard base64 with padding.
std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace latchkey::core
