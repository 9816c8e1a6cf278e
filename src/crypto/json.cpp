#include "crypto/json.hpp"

#include <algorithm>
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value_stack.hpp>
#include <cmath>
#include <string>
#include <vector>

namespace latchkey::crypto {
namespace {

namespace json = boost::json;

// A basic_parser handler that builds the value exactly like boost::json::parser (through a
// value_stack) and additionally remembers the member names of every open object, so duplicates
// are found when the object closes.
class StrictHandler {
 public:
  static constexpr std::size_t max_object_size = json::object::max_size();
  static constexpr std::size_t max_array_size = json::array::max_size();
  static constexpr std::size_t max_key_size = json::string::max_size();
  static constexpr std::size_t max_string_size = json::string::max_size();

  json::value_stack st;
  bool duplicate = false;

  bool on_document_begin(json::error_code&) {
    st.reset();
    return true;
  }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) {
    frames_.emplace_back();
    return true;
  }
  bool on_object_end(std::size_t n, json::error_code& ec) {
    auto& keys = frames_.back();
    std::sort(keys.begin(), keys.end());
    if (std::adjacent_find(keys.begin(), keys.end()) != keys.end()) {
      duplicate = true;
      ec = json::error::syntax;
      return false;
    }
    frames_.pop_back();
    st.push_object(n);
    return true;
  }
  bool on_array_begin(json::error_code&) { return true; }
  bool on_array_end(std::size_t n, json::error_code&) {
    st.push_array(n);
    return true;
  }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    key_.append(s.data(), s.size());
    st.push_chars(s);
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code&) {
    key_.append(s.data(), s.size());
    frames_.back().push_back(std::move(key_));
    key_.clear();
    st.push_key(s);
    return true;
  }
  bool on_string_part(json::string_view s, std::size_t, json::error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_string(json::string_view s, std::size_t, json::error_code&) {
    st.push_string(s);
    return true;
  }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(std::int64_t i, json::string_view, json::error_code&) {
    st.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, json::string_view, json::error_code&) {
    st.push_uint64(u);
    return true;
  }
  bool on_double(double d, json::string_view, json::error_code& ec) {
    // A number beyond double's range (1e400) becomes +-inf here, which Boost.JSON 1.81 then
    // serialises as "Infinity": not JSON, so the document could not be written back (found by
    // fuzz/fuzz_json). No JOSE or JWKS value is that large; refuse it.
    if (!std::isfinite(d)) {
      ec = json::error::exponent_overflow;
      return false;
    }
    st.push_double(d);
    return true;
  }
  bool on_bool(bool b, json::error_code&) {
    st.push_bool(b);
    return true;
  }
  bool on_null(json::error_code&) {
    st.push_null();
    return true;
  }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }

 private:
  std::vector<std::vector<std::string>> frames_;
  std::string key_;
};

core::Error malformed(std::string why) {
  return core::Error(core::Code::kMalformedRequest, "malformed JSON").with_internal(std::move(why));
}

}  // namespace

core::Result<json::object> parse_strict_object(std::string_view text, JsonLimits limits) {
  if (text.size() > limits.max_bytes) {
    return std::unexpected(
        malformed("JSON document larger than " + std::to_string(limits.max_bytes) + " bytes"));
  }
  json::parse_options opts;
  opts.max_depth = limits.max_depth;
  json::basic_parser<StrictHandler> parser(opts);
  json::error_code ec;
  const std::size_t used = parser.write_some(false, text.data(), text.size(), ec);
  if (parser.handler().duplicate) {
    return std::unexpected(malformed("duplicate object member"));
  }
  if (ec) {
    return std::unexpected(malformed("invalid JSON: " + ec.message()));
  }
  if (used != text.size()) {
    return std::unexpected(malformed("trailing data after JSON document"));
  }
  json::value v = parser.handler().st.release();
  if (!v.is_object()) {
    return std::unexpected(malformed("top level is not a JSON object"));
  }
  return std::move(v.get_object());
}

}  // namespace latchkey::crypto
