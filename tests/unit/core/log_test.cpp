#include "core/log.hpp"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <boost/json/parse.hpp>
#include <sstream>

namespace latchkey::core {
namespace {

TEST(JsonEscape, EscapesEverythingThatBreaksJson) {
  EXPECT_EQ(json_escape("plain"), "plain");
  EXPECT_EQ(json_escape("a\"b\\c"), "a\\\"b\\\\c");
  EXPECT_EQ(json_escape("l1\nl2\r\t"), "l1\\nl2\\r\\t");
  EXPECT_EQ(json_escape(std::string("\x01\x00", 2)), "\\u0001\\u0000");
  EXPECT_EQ(json_escape("caf\xC3\xA9"), "caf\xC3\xA9");
  EXPECT_EQ(json_escape("bad\xFF\xC3"), "bad\\ufffd\\ufffd");
}

TEST(AccessLog, JsonFieldsAreValidJsonAndCarryNoQuery) {
  AccessRecord r;
  r.request_id = "abc123";
  r.method = "GET";
  r.route = "/v1/oauth_callback";
  r.path = "/v1/oauth_callback\n\"evil\xFF";
  r.status = 302;
  r.bytes = 10;
  r.duration_ms = 1.5;
  r.remote = "127.0.0.1";
  std::string line = "{" + format_access_json_fields(r) + "}";
  boost::json::error_code ec;
  auto v = boost::json::parse(line, ec);
  ASSERT_FALSE(ec) << line;
  auto& o = v.as_object();
  EXPECT_EQ(o.at("request_id").as_string(), "abc123");
  EXPECT_EQ(o.at("status").as_int64(), 302);
  EXPECT_EQ(o.at("bytes").as_int64(), 10);
  EXPECT_DOUBLE_EQ(o.at("duration_ms").as_double(), 1.5);
  EXPECT_EQ(o.at("route").as_string(), "/v1/oauth_callback");
}

TEST(AccessLog, TextFormatCannotBeSplit) {
  AccessRecord r;
  r.request_id = "id";
  r.method = "GET";
  r.route = "unmatched";
  r.path = "/a b\r\nfake line";
  r.status = 404;
  std::string t = format_access_text(r);
  EXPECT_EQ(t.find('\n'), std::string::npos);
  EXPECT_EQ(t.find('\r'), std::string::npos);
  EXPECT_NE(t.find("status=404"), std::string::npos);
}

TEST(Logging, JsonLinesThroughSpdlogAreValid) {
  std::ostringstream out;
  ASSERT_TRUE(init_logging("info", "json", &out));
  spdlog::info("user said \"hi\"\n{}", "and {braces}");
  AccessRecord r;
  r.request_id = "rid";
  r.method = "POST";
  r.route = "r";
  r.path = "/p";
  r.status = 200;
  log_access(r);
  spdlog::debug("not shown at info");
  std::istringstream lines(out.str());
  int n = 0;
  for (std::string line; std::getline(lines, line); ++n) {
    boost::json::error_code ec;
    auto v = boost::json::parse(line, ec);
    ASSERT_FALSE(ec) << line;
    EXPECT_TRUE(v.as_object().contains("ts"));
    EXPECT_EQ(v.as_object().at("level").as_string(), "info");
  }
  EXPECT_EQ(n, 2);
  EXPECT_NE(out.str().find(R"("msg":"user said \"hi\"\nand {braces}")"), std::string::npos);
  EXPECT_NE(out.str().find(R"("request_id":"rid")"), std::string::npos);
  ASSERT_TRUE(init_logging("warn", "text", nullptr));
}

TEST(Logging, RejectsBadSettings) {
  EXPECT_FALSE(init_logging("loud", "json"));
  EXPECT_FALSE(init_logging("info", "xml"));
}

}  // namespace
}  // namespace latchkey::core
