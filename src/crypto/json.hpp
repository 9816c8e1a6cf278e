#pragma once
// Strict JSON for security-relevant documents (JOSE headers, JWT claims, JWKS).
//
// Boost.JSON silently keeps the last of duplicate object members; RFC 7515 §5.2 step 4 says a JOSE
// header with duplicate member names MUST be rejected (or the last one used), and different parsers
// choosing different duplicates is a known signature-bypass pattern. So we reject duplicates at
// every nesting level, bound size and depth, and require the top level to be an object.
#include <boost/json/object.hpp>
#include <cstddef>
#include <string_view>

#include "core/error.hpp"

namespace latchkey::crypto {

struct JsonLimits {
  std::size_t max_bytes = 64 * 1024;
  std::size_t max_depth = 16;
};

// Parses `text` as one JSON object; fails (kMalformedRequest, reason in Error::internal) on syntax
// errors, trailing data, a non-object top level, duplicate member names, or exceeded limits.
core::Result<boost::json::object> parse_strict_object(std::string_view text,
                                                      JsonLimits limits = {});

}  // namespace latchkey::crypto
