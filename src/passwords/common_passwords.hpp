#pragma once
// The bundled list of the most common breached passwords (data/common_passwords.txt: its sources
// and licences are in its header and data/NOTICE.common-passwords), compiled into the binary as a
// sorted table at build time. No network lookup, ever.
#include <cstddef>
#include <string_view>

namespace latchkey::passwords {

// True when `password`, with its ASCII letters lowered, is on the list. The list is ASCII only, so
// a password with any non-ASCII character is never on it (Unicode normalisation would change
// nothing: NFC maps no non-ASCII sequence to ASCII).
[[nodiscard]] bool is_common_password(std::string_view password);

// How many passwords the table holds (for tests and the startup log).
[[nodiscard]] std::size_t common_password_count();

}  // namespace latchkey::passwords
