#pragma once
// HTML text escaping, for the few pages and message bodies Latchkey writes itself (the OAuth
// callback's error page, the HTML part of an email).
#include <string>
#include <string_view>

namespace latchkey::core {

// `text` with & < > " ' as character references: safe in element content and in quoted
// attribute values.
std::string html_escape(std::string_view text);

}  // namespace latchkey::core
