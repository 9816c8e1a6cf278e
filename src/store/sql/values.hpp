#pragma once
// Parameter-side pieces both engines share: how opaque bytes are marked for binding, the ASCII
// folding the store applies to emails, and the store's "no such row" error.
#include <algorithm>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace latchkey::store::sql {

// Opaque bytes (sealed tokens, encrypted keys), bound as BLOB (SQLite) or bytea (PostgreSQL)
// rather than text. Points at the caller's string, which outlives the statement.
struct Blob {
  const std::string* bytes;
};
struct OptBlob {
  const std::optional<std::string>* bytes;
};

inline std::string ascii_lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  });
  return out;
}

// "" for an empty needle, else a LIKE pattern (ESCAPE '\\') matching it anywhere, lower-cased.
inline std::string like_pattern(std::string_view needle) {
  if (needle.empty()) {
    return {};
  }
  std::string out = "%";
  for (const char c : ascii_lower(needle)) {
    if (c == '%' || c == '_' || c == '\\') {
      out.push_back('\\');
    }
    out.push_back(c);
  }
  out.push_back('%');
  return out;
}

inline core::Error not_found(std::string_view table) {
  return core::Error(core::Code::kResourceNotFound)
      .with_internal(std::string(table) + " row not found");
}

}  // namespace latchkey::store::sql
