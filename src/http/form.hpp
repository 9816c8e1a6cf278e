#pragma once
// Percent-encoding (RFC 3986 §2.1) and application/x-www-form-urlencoded (WHATWG URL §5) with
// strict limits: bad input is an Error value, never an exception or a crash (security catalog
// §2.K: K1 huge values, K2 invalid UTF-8, K4 NUL bytes).
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/utf8.hpp"

namespace latchkey::http {

// Decodes %XX escapes (and '+' as space when `plus_as_space`). nullopt on a truncated or non-hex
// escape. Decoded bytes are not validated further (callers decide about NUL and UTF-8).
[[nodiscard]] std::optional<std::string> percent_decode(std::string_view in,
                                                        bool plus_as_space = false);
// Appending form: false on an invalid escape (out then holds a partial result).
bool percent_decode_append(std::string_view in, bool plus_as_space, std::string& out);

// Encodes everything but RFC 3986 unreserved characters (ALPHA / DIGIT / "-" / "." / "_" / "~")
// as upper-case %XX: safe for a query component or a path segment.
[[nodiscard]] std::string percent_encode(std::string_view in);
void percent_encode_append(std::string_view in, std::string& out);

// True when `s` is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
using core::valid_utf8;

using Fields = std::vector<std::pair<std::string, std::string>>;

struct FormLimits {
  std::size_t max_fields = 256;
  std::size_t max_key_bytes = 256;          // decoded
  std::size_t max_value_bytes = 64 * 1024;  // decoded
  std::size_t max_input_bytes = 1024 * 1024;
  bool allow_nul = false;    // reject a decoded NUL byte in key or value (K4)
  bool require_utf8 = true;  // reject keys/values that are not valid UTF-8 (K2)
};

// application/x-www-form-urlencoded: '&'-separated pairs, '+' is a space, %XX escapes. Empty
// pairs are skipped, "a" is {"a",""}. One parameter, one value: a key that appears twice (after
// decoding: "a=1&%61=2" too) is refused, never resolved by order, so no two components can read
// different values from one request (HTTP parameter pollution).
// Errors: kRequestBodyTooLarge (input over max_input_bytes), kMalformedRequest (bad escape, NUL,
// invalid UTF-8, too many fields), kFormParamInvalid with meta param_name (value too long),
// kFormParamDuplicate with meta param_name (a key given twice).
[[nodiscard]] core::Result<Fields> parse_form(std::string_view body, const FormLimits& limits = {});
// The query string (without '?'); same grammar and rules as forms.
[[nodiscard]] core::Result<Fields> parse_query(std::string_view query,
                                               const FormLimits& limits = {});

// True when a Content-Type value is the media type application/x-www-form-urlencoded (RFC 9110
// §8.3.1: type and subtype case-insensitive, optional parameters after ';'), with no charset
// parameter or charset=utf-8 (WHATWG URL §5.1: the format is UTF-8 only).
[[nodiscard]] bool is_form_media_type(std::string_view content_type);

// The value for `key`, or nullopt (parse_form/parse_query leave at most one).
[[nodiscard]] std::optional<std::string_view> find_field(const Fields& fields,
                                                         std::string_view key);

// Serialises fields as application/x-www-form-urlencoded (for outbound POSTs: IdP token calls).
[[nodiscard]] std::string form_encode(const Fields& fields);

}  // namespace latchkey::http
