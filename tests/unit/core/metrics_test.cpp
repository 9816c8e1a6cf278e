#include "core/metrics.hpp"

#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "support/prometheus.hpp"

namespace latchkey::core {
namespace {

TEST(Metrics, CounterExposition) {
  Metrics m(false);
  auto& c = m.counter("latchkey_oauth_failures_total", "OAuth failures by reason.",
                      {{"reason", "state_invalid"}});
  c.inc();
  c.inc(2);
  m.counter("latchkey_oauth_failures_total", "OAuth failures by reason.",
            {{"reason", "id_token_invalid"}})
      .inc();
  // Same labels: the same series.
  EXPECT_EQ(&m.counter("latchkey_oauth_failures_total", "", {{"reason", "state_invalid"}}), &c);
  std::string text = m.render();
  EXPECT_NE(text.find("# HELP latchkey_oauth_failures_total OAuth failures by reason.\n"
                      "# TYPE latchkey_oauth_failures_total counter\n"),
            std::string::npos);
  auto s = testing::prometheus_samples(text);
  EXPECT_EQ(s[R"(latchkey_oauth_failures_total{reason="state_invalid"})"], "3");
  EXPECT_EQ(s[R"(latchkey_oauth_failures_total{reason="id_token_invalid"})"], "1");
  // HELP/TYPE only once per family.
  EXPECT_EQ(text.find("# TYPE latchkey_oauth_failures_total"),
            text.rfind("# TYPE latchkey_oauth_failures_total"));
}

TEST(Metrics, GaugeAndUnlabelled) {
  Metrics m(false);
  auto& g = m.gauge("latchkey_things", "Things.");
  g.inc();
  g.inc();
  g.dec();
  g.add(0.5);
  auto s = testing::prometheus_samples(m.render());
  EXPECT_EQ(s["latchkey_things"], "1.5");
}

TEST(Metrics, HistogramExposition) {
  Metrics m(false);
  const double bounds[] = {0.1, 1.0};
  auto& h = m.histogram("latchkey_op_seconds", "Op time.", bounds, {{"route", "a"}});
  h.observe(0.05);
  h.observe(0.1);  // le is inclusive
  h.observe(0.5);
  h.observe(7);
  std::string text = m.render();
  EXPECT_NE(text.find("# TYPE latchkey_op_seconds histogram\n"), std::string::npos);
  auto s = testing::prometheus_samples(text);
  EXPECT_EQ(s[R"(latchkey_op_seconds_bucket{route="a",le="0.1"})"], "2");
  EXPECT_EQ(s[R"(latchkey_op_seconds_bucket{route="a",le="1"})"], "3");
  EXPECT_EQ(s[R"(latchkey_op_seconds_bucket{route="a",le="+Inf"})"], "4");
  EXPECT_EQ(s[R"(latchkey_op_seconds_count{route="a"})"], "4");
  EXPECT_DOUBLE_EQ(std::stod(s[R"(latchkey_op_seconds_sum{route="a"})"]), 7.65);
}

TEST(Metrics, EscapesLabelValues) {
  Metrics m(false);
  m.counter("latchkey_x_total", "x", {{"route", "a\"b\\c\nd"}}).inc();
  EXPECT_NE(m.render().find(R"(latchkey_x_total{route="a\"b\\c\nd"} 1)"), std::string::npos);
}

TEST(Metrics, RejectsMisuse) {
  Metrics m(false);
  m.counter("latchkey_a_total", "a", {{"reason", "x"}});
  EXPECT_THROW(m.gauge("latchkey_a_total", "a"), std::invalid_argument);
  EXPECT_THROW(m.counter("latchkey_a_total", "a", {{"other", "x"}}), std::invalid_argument);
  EXPECT_THROW(m.counter("9bad", "a"), std::invalid_argument);
  EXPECT_THROW(m.counter("bad-name", "a"), std::invalid_argument);
  EXPECT_THROW(m.counter("latchkey_b_total", "b", {{"__reserved", "x"}}), std::invalid_argument);
  const double bad[] = {1.0, 0.5};
  EXPECT_THROW(m.histogram("latchkey_h", "h", bad), std::invalid_argument);
}

TEST(Metrics, ConcurrentIncrementsAreNotLost) {
  Metrics m(false);
  auto& c = m.counter("latchkey_c_total", "c");
  auto& h = m.histogram("latchkey_h_seconds", "h");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c.inc();
        h.observe(0.001);
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(c.value(), 40000U);
  EXPECT_EQ(h.snapshot().count, 40000U);
}

TEST(Metrics, ProcessMetrics) {
  Metrics m(true);
  auto s = testing::prometheus_samples(m.render());
  ASSERT_TRUE(s.contains("process_resident_memory_bytes"));
  EXPECT_GT(std::stod(s["process_resident_memory_bytes"]), 1e5);
  ASSERT_TRUE(s.contains("process_open_fds"));
  EXPECT_GE(std::stod(s["process_open_fds"]), 3);
  ASSERT_TRUE(s.contains("process_cpu_seconds_total"));
  EXPECT_GE(std::stod(s["process_cpu_seconds_total"]), 0);
  ASSERT_TRUE(s.contains("process_start_time_seconds"));
  EXPECT_GT(std::stod(s["process_start_time_seconds"]), 1.6e9);
}

}  // namespace
}  // namespace latchkey::core
