#pragma once
// UTF-8 validation, shared by the form parser (http/) and the JSON log writer (core/log).
#include <string_view>

namespace latchkey::core {

// True when `s` is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
[[nodiscard]] bool valid_utf8(std::string_view s);

}  // namespace latchkey::core
