#include "http/form.hpp"

#include <gtest/gtest.h>

#include <string>

namespace latchkey::http {
namespace {

TEST(PercentDecode, DecodesEscapesAndOptionallyPlus) {
  EXPECT_EQ(percent_decode("a%20b%2Fc%2f"), "a b/c/");
  EXPECT_EQ(percent_decode("a+b"), "a+b");
  EXPECT_EQ(percent_decode("a+b", true), "a b");
  EXPECT_EQ(percent_decode(""), "");
  EXPECT_EQ(percent_decode("%00"), std::string(1, '\0'));
}

TEST(PercentDecode, RejectsInvalidEscapes) {
  EXPECT_FALSE(percent_decode("%"));
  EXPECT_FALSE(percent_decode("%4"));
  EXPECT_FALSE(percent_decode("abc%"));
  EXPECT_FALSE(percent_decode("%zz"));
  EXPECT_FALSE(percent_decode("%4g"));
  EXPECT_FALSE(percent_decode("%%41"));
}

TEST(PercentEncode, EncodesAllButUnreserved) {
  EXPECT_EQ(percent_encode("aZ09-._~"), "aZ09-._~");
  EXPECT_EQ(percent_encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
  EXPECT_EQ(percent_encode(std::string("\0\r\n", 3)), "%00%0D%0A");
  std::string all;
  for (int i = 0; i < 256; ++i) {
    all.push_back(static_cast<char>(i));
  }
  EXPECT_EQ(percent_decode(percent_encode(all)), all);
}

TEST(Utf8, ValidatesStrictly) {
  EXPECT_TRUE(valid_utf8("plain ascii"));
  EXPECT_TRUE(valid_utf8("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"));  // é € 😀
  EXPECT_FALSE(valid_utf8("\xC0\xAF"));                             // overlong '/'
  EXPECT_FALSE(valid_utf8("\xED\xA0\x80"));                         // surrogate U+D800
  EXPECT_FALSE(valid_utf8("\xFF\xFE"));
  EXPECT_FALSE(valid_utf8("\xE2\x82"));          // truncated
  EXPECT_FALSE(valid_utf8("\xF4\x90\x80\x80"));  // > U+10FFFF
}

TEST(ParseForm, ParsesFieldsInOrder) {
  auto f = parse_form("identifier=alice%40example.com&strategy=oauth_google&a=1&flag&x=a+b");
  ASSERT_TRUE(f) << f.error().message;
  ASSERT_EQ(f->size(), 5U);
  EXPECT_EQ((*f)[2].first, "a");
  EXPECT_EQ(find_field(*f, "identifier"), "alice@example.com");
  EXPECT_EQ(find_field(*f, "strategy"), "oauth_google");
  EXPECT_EQ(find_field(*f, "a"), "1");
  EXPECT_EQ(find_field(*f, "flag"), "");
  EXPECT_EQ(find_field(*f, "x"), "a b");
  EXPECT_FALSE(find_field(*f, "missing"));
}

// One parameter, one value (issue 9, finding 5): a duplicate is refused, never resolved by order,
// so the handler and anything in front of it cannot read different values.
TEST(ParseForm, RefusesDuplicateParametersNamingThem) {
  for (std::string_view bad :
       {"strategy=oauth_google&strategy=oauth_github", "redirect_url=/a&x=1&redirect_url=/a",
        "a=1&%61=2", "flag&flag", "a=1&a", "=1&=2", "x+y=1&x%20y=2"}) {
    SCOPED_TRACE(bad);
    auto f = parse_form(bad);
    ASSERT_FALSE(f);
    EXPECT_EQ(f.error().code, core::Code::kFormParamDuplicate);
    ASSERT_NE(f.error().find_meta("param_name"), nullptr);
  }
  auto f = parse_form("code=a&state=b&code=a");
  ASSERT_FALSE(f);
  EXPECT_EQ(*f.error().find_meta("param_name"), "code");
  // Also past the pairwise path (more than 32 fields).
  std::string many;
  for (int i = 0; i < 100; ++i) {
    many += "k" + std::to_string(i) + "=v&";
  }
  ASSERT_TRUE(parse_form(many));
  auto dup = parse_form(many + "k57=w");
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, core::Code::kFormParamDuplicate);
  EXPECT_EQ(*dup.error().find_meta("param_name"), "k57");
  // Keys are case-sensitive: these are two parameters.
  EXPECT_TRUE(parse_form("a=1&A=2"));
}

TEST(ParseForm, SkipsEmptyPairs) {
  auto f = parse_form("&&a=1&&&b=&");
  ASSERT_TRUE(f);
  ASSERT_EQ(f->size(), 2U);
  EXPECT_EQ((*f)[1].first, "b");
  EXPECT_EQ((*f)[1].second, "");
  auto empty = parse_form("");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

TEST(ParseForm, RejectsInvalidEscapes) {
  for (std::string_view bad : {"a=%", "a=%2", "a=%zz", "%=1", "a=1&b=%G0"}) {
    auto f = parse_form(bad);
    ASSERT_FALSE(f) << bad;
    EXPECT_EQ(f.error().code, core::Code::kMalformedRequest);
  }
}

TEST(ParseForm, RejectsNulBytesUnlessAllowed) {
  // Security catalog K4: never truncated at NUL by C-string handling further down.
  auto f = parse_form("identifier=alice%40example.com%00.evil.com");
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().code, core::Code::kMalformedRequest);
  std::string raw_nul = std::string("a=b") + '\0' + "c";
  EXPECT_FALSE(parse_form(raw_nul));
  FormLimits lenient;
  lenient.allow_nul = true;
  auto ok = parse_form("a=%00", lenient);
  ASSERT_TRUE(ok);
  EXPECT_EQ((*ok)[0].second, std::string(1, '\0'));
}

TEST(ParseForm, RejectsInvalidUtf8) {
  EXPECT_FALSE(parse_form("first_name=%C0%AF"));
  EXPECT_FALSE(parse_form("first_name=%ED%A0%80"));
  EXPECT_FALSE(parse_form("%FF=1"));
  EXPECT_TRUE(parse_form("first_name=%C3%A9"));
}

TEST(ParseForm, EnforcesFieldCount) {
  std::string body;
  for (int i = 0; i < 5000; ++i) {
    body += "k" + std::to_string(i) + "=v&";
  }
  auto f = parse_form(body);
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().code, core::Code::kMalformedRequest);
  FormLimits many;
  many.max_fields = 10'000;
  auto ok = parse_form(body, many);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->size(), 5000U);
}

TEST(ParseForm, EnforcesLengths) {
  std::string huge_value = "password=" + std::string(70 * 1024, 'x');
  auto v = parse_form(huge_value);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, core::Code::kFormParamInvalid);
  ASSERT_NE(v.error().find_meta("param_name"), nullptr);
  EXPECT_EQ(*v.error().find_meta("param_name"), "password");
  EXPECT_EQ(v.error().message.find("xxx"), std::string::npos);  // never echo the value

  auto k = parse_form(std::string(300, 'k') + "=1");
  ASSERT_FALSE(k);
  EXPECT_EQ(k.error().code, core::Code::kMalformedRequest);

  auto total = parse_form(std::string(2 * 1024 * 1024, 'a'));
  ASSERT_FALSE(total);
  EXPECT_EQ(total.error().code, core::Code::kRequestBodyTooLarge);
}

TEST(ParseForm, SurvivesHostileGarbage) {
  // Deterministic pseudo-random bytes: never crash, always a value or an error.
  std::uint32_t x = 12345;
  for (int round = 0; round < 2000; ++round) {
    std::string s;
    std::size_t len = (x % 64);
    for (std::size_t i = 0; i < len; ++i) {
      x = x * 1103515245 + 12345;
      static constexpr char kAlphabet[] = "a=&%+0Fz\xC3\xA9\x00\xFF";
      s.push_back(kAlphabet[(x >> 16) % (sizeof kAlphabet - 1)]);
    }
    x = x * 1103515245 + 12345;
    auto f = parse_form(s);
    if (f) {
      for (const auto& [key, value] : *f) {
        EXPECT_TRUE(valid_utf8(key));
        EXPECT_TRUE(valid_utf8(value));
        EXPECT_EQ(value.find('\0'), std::string::npos);
      }
    }
  }
}

TEST(ParseQuery, SameGrammarAsForms) {
  auto q = parse_query("redirect_url=https%3A%2F%2Fapp.example.com%2Fdone&_clerk_js_version=5.0.0");
  ASSERT_TRUE(q);
  EXPECT_EQ(find_field(*q, "redirect_url"), "https://app.example.com/done");
  EXPECT_EQ(find_field(*q, "_clerk_js_version"), "5.0.0");
  EXPECT_FALSE(parse_query("code=%"));
}

TEST(ParseQuery, RefusesDuplicateParameters) {
  // What the SDK sends on every request (fapi README §1.5) passes: each parameter once.
  EXPECT_TRUE(parse_query("__clerk_api_version=2026-08-20&_clerk_js_version=6.40.0&_method=PATCH"));
  for (std::string_view bad : {"_method=PATCH&_method=DELETE", "code=a&state=s&code=b",
                               "state=s&state=s", "__clerk_api_version=1&__clerk_api_version=1"}) {
    SCOPED_TRACE(bad);
    auto q = parse_query(bad);
    ASSERT_FALSE(q);
    EXPECT_EQ(q.error().code, core::Code::kFormParamDuplicate);
  }
}

TEST(FormMediaType, OnlyTheExactMediaTypeWithUtf8) {
  for (std::string_view ok :
       {"application/x-www-form-urlencoded", "APPLICATION/X-WWW-FORM-URLENCODED",
        "application/x-www-form-urlencoded;charset=UTF-8",
        "application/x-www-form-urlencoded; charset=utf-8", "application/x-www-form-urlencoded ;",
        "application/x-www-form-urlencoded; charset=\"utf-8\"",
        " application/x-www-form-urlencoded", "application/x-www-form-urlencoded; foo=bar"}) {
    EXPECT_TRUE(is_form_media_type(ok)) << ok;
  }
  for (std::string_view bad :
       {"", "text/plain", "application/json", "multipart/form-data; boundary=x",
        "text/plain; x=application/x-www-form-urlencoded", "application/x-www-form-urlencodedx",
        "xapplication/x-www-form-urlencoded", "application/x-www-form-urlencoded, text/plain",
        "application/x-www-form-urlencoded; charset=utf-7",
        "application/x-www-form-urlencoded; charset=iso-8859-1",
        "application/x-www-form-urlencoded; garbage", "application / x-www-form-urlencoded"}) {
    EXPECT_FALSE(is_form_media_type(bad)) << bad;
  }
}

TEST(FormEncode, RoundTrips) {
  Fields in{{"grant_type", "authorization_code"}, {"code", "a b+c/=&"}, {"empty", ""}};
  std::string enc = form_encode(in);
  EXPECT_EQ(enc, "grant_type=authorization_code&code=a%20b%2Bc%2F%3D%26&empty=");
  auto back = parse_form(enc);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, in);
}

}  // namespace
}  // namespace latchkey::http
