#pragma once
// Reading the Prometheus text exposition in tests.
#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>

namespace latchkey::testing {

// Parses exposition lines "name{labels} value" into a map, checking the line grammar.
inline std::map<std::string, std::string> prometheus_samples(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
      continue;
    }
    auto sp = line.rfind(' ');
    EXPECT_NE(sp, std::string::npos) << line;
    out[line.substr(0, sp)] = line.substr(sp + 1);
  }
  return out;
}

}  // namespace latchkey::testing
