#include "http/metrics_handler.hpp"

#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>

namespace latchkey::http {
namespace {

// Parses exposition lines "name{labels} value" into a map, checking the line grammar.
std::map<std::string, std::string> samples(const std::string& text) {
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

TEST(Metrics, CustomCollectorAndHandler) {
  Metrics m(false);
  m.add_collector([](std::string& out) { out += "# TYPE custom gauge\ncustom 42\n"; });
  Request req;
  Response res = metrics_handler(m)(req);
  EXPECT_EQ(res.header("content-type"), kPrometheusContentType);
  EXPECT_EQ(samples(res.body)["custom"], "42");
}

}  // namespace
}  // namespace latchkey::http
