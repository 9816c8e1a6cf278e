#pragma once
// Helpers shared by the harnesses. A violated invariant is a finding: FUZZ_CHECK prints what
// broke and aborts, so libFuzzer saves the input as crash-<sha1> (scripts/fuzz.sh prints it).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#define FUZZ_CHECK(cond)                                                                   \
  do {                                                                                     \
    if (!(cond)) {                                                                         \
      std::fprintf(stderr, "FUZZ_CHECK failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                        \
    }                                                                                      \
  } while (false)

namespace latchkey::fuzz {

inline std::string_view as_view(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

inline bool has_control(std::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) {
      return true;
    }
  }
  return false;
}

inline std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

// Reads the input front to back: selector bytes first, then the rest. (FuzzedDataProvider takes
// integers from the END of the input, which makes seed files awkward to write by hand.)
class Reader {
 public:
  Reader(const std::uint8_t* data, std::size_t size)
      : rest_(reinterpret_cast<const char*>(data), size) {}
  // The next byte, 0 once the input is exhausted.
  std::uint8_t byte() {
    if (rest_.empty()) {
      return 0;
    }
    const auto b = static_cast<std::uint8_t>(rest_.front());
    rest_.remove_prefix(1);
    return b;
  }
  // Everything up to the first `sep` byte (consumed), or everything left.
  std::string until(char sep) {
    const std::size_t pos = rest_.find(sep);
    std::string out(rest_.substr(0, pos));
    rest_.remove_prefix(pos == std::string_view::npos ? rest_.size() : pos + 1);
    return out;
  }
  std::string rest() {
    std::string out(rest_);
    rest_ = {};
    return out;
  }

 private:
  std::string_view rest_;
};

}  // namespace latchkey::fuzz
