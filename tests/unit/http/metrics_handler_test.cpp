#include "http/metrics_handler.hpp"

#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>

#include "support/prometheus.hpp"

namespace latchkey::http {
namespace {

TEST(Metrics, CustomCollectorAndHandler) {
  core::Metrics m(false);
  m.add_collector([](std::string& out) { out += "# TYPE custom gauge\ncustom 42\n"; });
  Request req;
  Response res = metrics_handler(m)(req);
  EXPECT_EQ(res.header("content-type"), core::kPrometheusContentType);
  EXPECT_EQ(testing::prometheus_samples(res.body)["custom"], "42");
}

}  // namespace
}  // namespace latchkey::http
