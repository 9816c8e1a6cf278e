#pragma once
// The canonical forms of identifiers (issue 11 item 1), public so that everything that writes
// or looks up an identifier outside a flow (the `users import` command) applies exactly the form
// the flows apply at sign-up, sign-in and linking.
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace latchkey::flows {

// The one canonical form of an email identifier, applied alike at sign-up, sign-in, linking and
// import: surrounding whitespace trimmed, ASCII letters lower-cased (the store compares that
// way); refused (form_param_invalid, param `param`) unless it is one local part, one '@' and a
// dotted domain of printable characters, at most 320 bytes, without invisible characters.
core::Result<std::string> canonical_email(std::string_view raw, std::string_view param);

// "a***@example.com": what the SDK shows as a factor's safe_identifier.
std::string mask_email(std::string_view email);

}  // namespace latchkey::flows
