#pragma once
// Shared by the config tests (with the test-support library's TempDir, included here).
#include <string_view>

#include "support/temp_dir.hpp"

namespace latchkey::config::testing {

// A valid 32-byte key, standard base64 ("0123456789abcdef0123456789abcdef").
inline constexpr std::string_view kKey32 = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

}  // namespace latchkey::config::testing
