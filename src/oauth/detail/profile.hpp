#pragma once
// Internal to oauth/: what a provider says about the user, bounded and cleaned before anything
// stores it or shows it to apps (catalog H14, K2, K4).
#include <cstddef>
#include <string>
#include <string_view>

#include "oauth/service.hpp"

namespace latchkey::oauth::detail {

// Profile text from a provider is stored and shown to apps: keep at most `max_bytes` of valid
// UTF-8 without control characters (no CR/LF log or header injection, no ANSI escapes, no NUL
// that C code would truncate at). Invalid sequences are dropped.
std::string clean_text(std::string_view in, std::size_t max_bytes);

// Bounds and cleans what the provider said about the user before anything stores it.
void clean_identity(ExternalIdentity& id);

// "Ada King Lovelace" -> "Ada", "King Lovelace" (GitHub has one name field).
void split_name(const std::string& name, std::string& first, std::string& last);

}  // namespace latchkey::oauth::detail
