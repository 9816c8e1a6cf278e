#include "http/cookies.hpp"

#include <gtest/gtest.h>

#include <chrono>

#include "http/http_date.hpp"

namespace latchkey::http {
namespace {

TEST(ParseCookies, ParsesPairsAndToleratesSpaces) {
  auto c = parse_cookies("__client=abc.def.ghi;  __client_uat=0 ;\t theme=\"dark\";x=");
  ASSERT_EQ(c.size(), 4U);
  EXPECT_EQ(c[0].name, "__client");
  EXPECT_EQ(c[0].value, "abc.def.ghi");
  EXPECT_EQ(c[1].name, "__client_uat");
  EXPECT_EQ(c[1].value, "0");
  EXPECT_EQ(c[2].value, "dark");
  EXPECT_EQ(c[3].name, "x");
  EXPECT_EQ(c[3].value, "");
}

TEST(ParseCookies, IgnoresMalformedPairs) {
  auto c = parse_cookies("novalue; =empty; bad name=1; ok=1; ctl=a\x01z; ;;; also=2;");
  ASSERT_EQ(c.size(), 2U);
  EXPECT_EQ(c[0].name, "ok");
  EXPECT_EQ(c[1].name, "also");
  EXPECT_TRUE(parse_cookies("").empty());
  EXPECT_TRUE(parse_cookies(";;;   ;").empty());
  EXPECT_TRUE(parse_cookies(std::string("a=b\0c", 5)).empty());
}

TEST(ParseCookies, KeepsDuplicatesInOrderAndCapsCount) {
  auto c = parse_cookies("a=1; a=2");
  ASSERT_EQ(c.size(), 2U);
  EXPECT_EQ(c[0].value, "1");
  EXPECT_EQ(c[1].value, "2");
  std::string many;
  for (int i = 0; i < 5000; ++i) {
    many += "c" + std::to_string(i) + "=v; ";
  }
  EXPECT_EQ(parse_cookies(many).size(), 64U);
  EXPECT_EQ(parse_cookies(many, 10).size(), 10U);
}

TEST(ParseCookies, HugeAndGarbageInputDoesNotThrow) {
  std::string big(1 << 20, '=');
  EXPECT_NO_THROW((void)parse_cookies(big));
  std::string junk;
  for (int i = 0; i < 4096; ++i) {
    junk.push_back(static_cast<char>(i * 7 % 256));
  }
  EXPECT_NO_THROW((void)parse_cookies(junk));
}

// find_cookie sees exactly the pairs parse_cookies returns: malformed pairs skipped, quotes
// removed, at most 64 pairs per header.
TEST(FindCookie, AgreesWithParseCookies) {
  Request req;
  req.headers = {
      {"cookie", "bad; =x; n@me=1; ctl=a\x01z; q=\"quoted\"; __client = v1 ; __client=v2"}};
  EXPECT_EQ(find_cookie(req, "__client"), "v1");
  EXPECT_EQ(find_cookie(req, "q"), "quoted");
  EXPECT_FALSE(find_cookie(req, "ctl"));
  EXPECT_FALSE(find_cookie(req, "n@me"));
  EXPECT_FALSE(find_cookie(req, ""));

  std::string many;
  for (int i = 0; i < 63; ++i) {
    many += "c" + std::to_string(i) + "=" + std::to_string(i) + "; ";
  }
  req.headers = {{"cookie", many + "__client=in"}};
  EXPECT_EQ(parse_cookies(req.headers[0].value).size(), 64U);
  EXPECT_EQ(find_cookie(req, "__client"), "in");
  req.headers = {{"cookie", many + "c63=63; __client=out"}};
  EXPECT_EQ(parse_cookies(req.headers[0].value).size(), 64U);
  EXPECT_FALSE(find_cookie(req, "__client"));
  // The cap is per header: a later Cookie header is searched too.
  req.headers.push_back({"cookie", "__client=next"});
  EXPECT_EQ(find_cookie(req, "__client"), "next");
}

TEST(FindCookie, SearchesAllCookieHeaders) {
  Request req;
  req.headers = {{"cookie", "a=1"}, {"x-other", "__client=no"}, {"cookie", "__client=yes; b=2"}};
  EXPECT_EQ(find_cookie(req, "__client"), "yes");
  EXPECT_EQ(find_cookie(req, "a"), "1");
  EXPECT_FALSE(find_cookie(req, "missing"));
}

TEST(MatchCookie, CountsEveryVariantAcrossHeaders) {
  Request req;
  req.headers = {{"cookie", "__client=host; a=1"}};
  auto one = match_cookie(req, "__client");
  EXPECT_EQ(one.first, "host");
  EXPECT_EQ(one.count, 1U);
  // A planted Domain= variant arrives as a second pair, in the same header or another one.
  req.headers = {{"cookie", "__client=planted; a=1; __client=host"}};
  auto two = match_cookie(req, "__client");
  EXPECT_EQ(two.first, "planted");
  EXPECT_EQ(two.count, 2U);
  req.headers = {{"cookie", "__client=a"}, {"cookie", "__client=b"}};
  EXPECT_EQ(match_cookie(req, "__client").count, 2U);
  auto none = match_cookie(req, "missing");
  EXPECT_FALSE(none.first);
  EXPECT_EQ(none.count, 0U);
}

TEST(SetCookie, BuildsAllAttributes) {
  SetCookie c;
  c.name = "__client";
  c.value = "eyJhbGciOi.abc-_";
  c.max_age = std::chrono::seconds(3600);
  c.expires = std::chrono::system_clock::time_point(std::chrono::seconds(784111777));
  c.http_only = true;
  c.secure = true;
  c.same_site = SameSite::kLax;
  auto s = c.to_string();
  ASSERT_TRUE(s);
  EXPECT_EQ(
      *s,
      "__client=eyJhbGciOi.abc-_; Path=/; Max-Age=3600; Expires=Sun, 06 Nov 1994 08:49:37 GMT; "
      "HttpOnly; Secure; SameSite=Lax");
}

TEST(SetCookie, DomainPartitionedAndRemoval) {
  SetCookie c;
  c.name = "__client_uat";
  c.value = "0";
  c.domain = "example.com";
  c.path = "";
  c.secure = true;
  c.same_site = SameSite::kNone;
  c.partitioned = true;
  EXPECT_EQ(c.to_string().value(),
            "__client_uat=0; Domain=example.com; Secure; SameSite=None; Partitioned");
  auto r = SetCookie::removal("__client").to_string();
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "__client=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT");
}

TEST(SetCookie, RejectsHeaderInjectionAndBadAttributes) {
  // Security catalog K5: CR/LF can never reach a Set-Cookie header.
  SetCookie c;
  c.name = "a";
  c.value = "x\r\nSet-Cookie: evil=1";
  EXPECT_FALSE(c.to_string());
  c.value = "has space";
  EXPECT_FALSE(c.to_string());
  c.value = "semi;colon";
  EXPECT_FALSE(c.to_string());
  c.value = "ok";
  c.name = "bad name";
  EXPECT_FALSE(c.to_string());
  c.name = "a";
  c.path = "/x;Domain=evil.com";
  EXPECT_FALSE(c.to_string());
  c.path = "/";
  c.same_site = SameSite::kNone;  // requires Secure
  EXPECT_FALSE(c.to_string());
  c.secure = true;
  EXPECT_TRUE(c.to_string());
}

TEST(HttpDate, FormatsImfFixdate) {
  EXPECT_EQ(format_http_date(std::chrono::system_clock::time_point(std::chrono::seconds(0))),
            "Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_EQ(
      format_http_date(std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000))),
      "Fri, 15 Jan 2027 08:00:00 GMT");
}

}  // namespace
}  // namespace latchkey::http
