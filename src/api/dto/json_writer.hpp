#pragma once
// A streaming JSON writer that appends straight to a caller-owned std::string: the FAPI
// resources are written field by field instead of being built as Boost.JSON DOMs first (no
// per-key hashing, no per-node allocation; bench/analysis.md). The caller is responsible for the
// structure (every key is followed by exactly one value, containers are closed); the writer
// only places separators.
//
// Strings are escaped per RFC 8259 §7: '"' and '\' and the control characters below U+0020
// ("\b", "\f", "\n", "\r", "\t", else "\u00XX"); everything else is copied. Bytes that do not form
// valid UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF) become U+FFFD,
// so the output is valid JSON whatever the input (Boost.JSON's serializer copies such bytes).
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace latchkey::api::dto {

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  void begin_object() { opening('{'); }
  void end_object() { closing('}'); }
  void begin_array() { opening('['); }
  void end_array() { closing(']'); }

  // An object member's name; the next call writes its value.
  void key(std::string_view name) {
    if (plain(name)) {
      // [,]"name": in one append (names are short literals).
      const std::size_t comma = first_ ? 0 : 1;
      const std::size_t old = out_.size();
      const std::size_t total = old + comma + name.size() + 3;
      out_.resize_and_overwrite(total, [&](char* p, std::size_t) {
        p += old;
        if (comma != 0) {
          *p++ = ',';
        }
        *p++ = '"';
        std::memcpy(p, name.data(), name.size());
        p += name.size();
        p[0] = '"';
        p[1] = ':';
        return total;
      });
    } else {
      separate();
      append_escaped(out_, name);
      out_.push_back(':');
    }
    first_ = true;
  }

  void value(std::string_view s) {
    if (plain(s)) {
      // [,]"s" in one append.
      const std::size_t comma = first_ ? 0 : 1;
      const std::size_t old = out_.size();
      const std::size_t total = old + comma + s.size() + 2;
      // Returns `total`, not the size argument: libstdc++ 12 may pass the grown capacity there.
      out_.resize_and_overwrite(total, [&](char* p, std::size_t) {
        p += old;
        if (comma != 0) {
          *p++ = ',';
        }
        *p++ = '"';
        std::memcpy(p, s.data(), s.size());
        p[s.size()] = '"';
        return total;
      });
    } else {
      separate();
      append_escaped(out_, s);
    }
    first_ = false;
  }
  void value(const char* s) { value(std::string_view(s)); }
  void value(const std::string& s) { value(std::string_view(s)); }
  void value(bool b) { scalar(b ? std::string_view("true") : std::string_view("false")); }
  void value(std::int64_t n) {
    const std::size_t comma = first_ ? 0 : 1;
    const std::size_t old = out_.size();
    out_.resize_and_overwrite(old + comma + 20, [&](char* p, std::size_t) {
      char* const start = p;
      p += old;
      if (comma != 0) {
        *p++ = ',';
      }
      return static_cast<std::size_t>(std::to_chars(p, p + 20, n).ptr - start);
    });
    first_ = false;
  }
  void value(int n) { value(static_cast<std::int64_t>(n)); }
  void value(std::nullptr_t) { scalar("null"); }
  void value(const std::optional<std::string>& s) {
    if (s) {
      value(std::string_view(*s));
    } else {
      value(nullptr);
    }
  }
  void value(const std::optional<std::int64_t>& n) {
    if (n) {
      value(*n);
    } else {
      value(nullptr);
    }
  }

  // `name` followed by its value.
  template <typename T>
  void field(std::string_view name, const T& v) {
    key(name);
    value(v);
  }

  // A value that already is serialised, valid JSON (the caller guarantees it).
  void raw(std::string_view json) { scalar(json); }
  // One or more complete members ("a":null,"b":false), already serialised: constant runs of a
  // resource cost one append.
  void members(std::string_view json) { scalar(json); }

  // Appends `s` as a JSON string literal, quotes included.
  static void append_string(std::string& out, std::string_view s) {
    if (plain(s)) {
      out.push_back('"');
      out.append(s);
      out.push_back('"');
    } else {
      append_escaped(out, s);
    }
  }

 private:
  void separate() {
    if (!first_) {
      out_.push_back(',');
    }
  }
  void opening(char c) {
    if (first_) {
      out_.push_back(c);
    } else {
      const char b[2] = {',', c};
      out_.append(b, 2);
    }
    first_ = true;
  }
  void closing(char c) {
    out_.push_back(c);
    first_ = false;
  }
  void scalar(std::string_view text) {
    separate();
    out_.append(text);
    first_ = false;
  }

  // The slow path of append_string: some byte needs an escape or a UTF-8 check.
  static void append_escaped(std::string& out, std::string_view s) {
    out.push_back('"');
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const std::size_t n = s.size();
    std::size_t run = 0;  // start of the bytes not yet copied
    std::size_t i = 0;
    while (i < n) {
      while (i + 8 <= n && !needs_attention(load8(p + i))) {
        i += 8;
      }
      if (i == n) {
        break;
      }
      const unsigned char c = p[i];
      if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
        ++i;
        continue;
      }
      if (c >= 0x80) {
        const std::size_t len = utf8_sequence_length(p + i, n - i);
        if (len != 0) {
          i += len;
          continue;
        }
      }
      out.append(s.data() + run, i - run);
      escape(out, c);
      ++i;
      run = i;
    }
    out.append(s.data() + run, n - run);
    out.push_back('"');
  }

  // True when no byte of `s` needs an escape or a UTF-8 check (printable ASCII but '"', '\\').
  // Ids, URLs, timestamps and tokens are all plain: eight bytes per step.
  static bool plain(std::string_view s) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const std::size_t n = s.size();
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      if (needs_attention(load8(p + i))) {
        return false;
      }
    }
    for (; i < n; ++i) {
      const unsigned char c = p[i];
      if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') {
        return false;
      }
    }
    return true;
  }

  static std::uint64_t load8(const unsigned char* p) {
    std::uint64_t v = 0;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  // True when any byte of `v` is < 0x20, '"', '\\' or >= 0x80 (the classic "has zero byte"
  // bit trick, applied to v, v ^ '"' and v ^ '\\'; bytes >= 0x80 show in the high bits).
  static bool needs_attention(std::uint64_t v) {
    constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
    constexpr std::uint64_t kHigh = 0x8080808080808080ULL;
    const std::uint64_t below_space = v - kOnes * 0x20;
    const std::uint64_t quote = v ^ (kOnes * '"');
    const std::uint64_t backslash = v ^ (kOnes * '\\');
    return ((v | (below_space & ~v) | ((quote - kOnes) & ~quote) |
             ((backslash - kOnes) & ~backslash)) &
            kHigh) != 0;
  }

  // The escape of one byte that cannot be copied: a short form, \u00XX, or U+FFFD for a byte
  // that does not start a valid UTF-8 sequence.
  static void escape(std::string& out, unsigned char c) {
    switch (c) {
      case '"':
        out.append("\\\"");
        return;
      case '\\':
        out.append("\\\\");
        return;
      case '\b':
        out.append("\\b");
        return;
      case '\f':
        out.append("\\f");
        return;
      case '\n':
        out.append("\\n");
        return;
      case '\r':
        out.append("\\r");
        return;
      case '\t':
        out.append("\\t");
        return;
      default:
        break;
    }
    if (c >= 0x80) {
      out.append("\\ufffd");
      return;
    }
    static constexpr char kHex[] = "0123456789abcdef";
    const char u[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
    out.append(u, sizeof u);
  }

  // Length of the valid UTF-8 sequence starting at p (lead byte >= 0x80), 0 if invalid
  // (RFC 3629 §4: the well-formed byte sequences).
  static std::size_t utf8_sequence_length(const unsigned char* p, std::size_t avail) {
    const unsigned char c = p[0];
    std::size_t len = 0;
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) {
        lo = 0xA0;  // overlong
      } else if (c == 0xED) {
        hi = 0x9F;  // surrogates
      }
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) {
        lo = 0x90;  // overlong
      } else if (c == 0xF4) {
        hi = 0x8F;  // past U+10FFFF
      }
    } else {
      return 0;
    }
    if (avail < len || p[1] < lo || p[1] > hi) {
      return 0;
    }
    for (std::size_t k = 2; k < len; ++k) {
      if (p[k] < 0x80 || p[k] > 0xBF) {
        return 0;
      }
    }
    return len;
  }

  std::string& out_;
  bool first_ = true;
};

}  // namespace latchkey::api::dto
