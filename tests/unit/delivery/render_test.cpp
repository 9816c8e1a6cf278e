#include <gtest/gtest.h>

#include <string>

#include "core/base64.hpp"
#include "delivery/delivery.hpp"
#include "delivery/render.hpp"

namespace latchkey::delivery {
namespace {

using namespace std::chrono_literals;

// Undoes quoted-printable (RFC 2045 §6.7) so a test reads what a mail client shows.
std::string qp_decode(std::string_view in) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '=' && i + 2 < in.size() && in[i + 1] == '\r' && in[i + 2] == '\n') {
      i += 2;
    } else if (in[i] == '=' && i + 2 < in.size()) {
      out.push_back(static_cast<char>(std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else if (in[i] == '\r') {
      continue;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

TEST(Render, VerificationCodeHasClerksSubjectAndTheCodeInBothParts) {
  const auto t = render::email_texts(Purpose::kVerificationCode, "Acme", "123456", "", 10);
  EXPECT_EQ(t.subject, "123456 is your verification code");
  EXPECT_NE(t.text.find("123456"), std::string::npos);
  EXPECT_NE(t.text.find("expires in 10 minutes"), std::string::npos);
  EXPECT_NE(t.text.find("Acme"), std::string::npos);
  EXPECT_NE(t.html.find("123456"), std::string::npos);
  EXPECT_NE(t.html.find("Acme"), std::string::npos);
}

TEST(Render, EachPurposeHasItsOwnWording) {
  EXPECT_EQ(render::email_texts(Purpose::kSignInCode, "Acme", "111111", "", 10).subject,
            "111111 is your sign-in code");
  EXPECT_EQ(render::email_texts(Purpose::kResetPasswordCode, "Acme", "222222", "", 10).subject,
            "222222 is your reset password code");
  const auto link = render::email_texts(Purpose::kEmailLink, "Acme", "",
                                        "https://app.example/verify?token=a&b=1", 15);
  EXPECT_EQ(link.subject, "Sign in to Acme");
  EXPECT_NE(link.text.find("https://app.example/verify?token=a&b=1"), std::string::npos);
  EXPECT_NE(link.html.find("href=\"https://app.example/verify?token=a&amp;b=1\""),
            std::string::npos);
  EXPECT_NE(link.text.find("expires in 15 minutes"), std::string::npos);
  const auto verify = render::email_texts(Purpose::kVerificationLink, "Acme", "",
                                          "https://app.example/verify?token=v", 10);
  EXPECT_EQ(verify.subject, "Verify your email address for Acme");
  EXPECT_NE(verify.text.find("https://app.example/verify?token=v"), std::string::npos);
  EXPECT_EQ(verify.html.find("Sign in"), std::string::npos);
  EXPECT_EQ(purpose_from_name(purpose_name(Purpose::kVerificationLink)),
            Purpose::kVerificationLink);
  EXPECT_EQ(render::sms_text(Purpose::kVerificationCode, "Acme", "333333", "", 10),
            "333333 is your verification code for Acme. Do not share it with anyone.");
}

TEST(Render, ApplicationNameIsEscapedInHtml) {
  const auto t =
      render::email_texts(Purpose::kVerificationCode, "<b>Evil</b> & Co", "123456", "", 10);
  EXPECT_EQ(t.html.find("<b>Evil"), std::string::npos);
  EXPECT_NE(t.html.find("&lt;b&gt;Evil&lt;/b&gt; &amp; Co"), std::string::npos);
}

TEST(Render, MimeIsMultipartAlternativeWithTheHeadersMailClientsNeed) {
  const auto texts = render::email_texts(Purpose::kVerificationCode, "Acme", "123456", "", 10);
  const std::string m = render::mime({.from = "Acme <no-reply@acme.example>",
                                      .to = "ada@example.com",
                                      .message_id = "msg_1@acme.example",
                                      .date_ms = 1'796'300'000'000,
                                      .boundary = "lk-msg_1"},
                                     texts);
  const auto head_end = m.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos);
  const std::string head = m.substr(0, head_end + 2);
  EXPECT_NE(head.find("Date: Thu, 03 Dec 2026 12:13:20 +0000\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("From: \"Acme\" <no-reply@acme.example>\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("To: <ada@example.com>\r\n"), std::string::npos);
  EXPECT_NE(head.find("Subject: 123456 is your verification code\r\n"), std::string::npos);
  EXPECT_NE(head.find("Message-ID: <msg_1@acme.example>\r\n"), std::string::npos);
  EXPECT_NE(head.find("MIME-Version: 1.0\r\n"), std::string::npos);
  EXPECT_NE(head.find("Content-Type: multipart/alternative; boundary=\"lk-msg_1\"\r\n"),
            std::string::npos);
  const auto plain = m.find("--lk-msg_1\r\nContent-Type: text/plain; charset=utf-8\r\n");
  const auto html = m.find("--lk-msg_1\r\nContent-Type: text/html; charset=utf-8\r\n");
  ASSERT_NE(plain, std::string::npos);
  ASSERT_NE(html, std::string::npos);
  EXPECT_LT(plain, html);  // the preferred alternative comes last (RFC 2046 §5.1.4)
  EXPECT_TRUE(m.ends_with("--lk-msg_1--\r\n"));
  const std::string part = m.substr(plain, html - plain);
  EXPECT_NE(qp_decode(part.substr(part.find("\r\n\r\n") + 4)).find("123456"), std::string::npos);
  // Every line ends with CRLF and none is longer than 78 characters (RFC 5322 §2.1.1).
  std::size_t start = 0;
  while (start < m.size()) {
    const auto end = m.find("\r\n", start);
    ASSERT_NE(end, std::string::npos) << "a line without CRLF at " << start;
    EXPECT_LE(end - start, 78U) << m.substr(start, end - start);
    EXPECT_EQ(m.substr(start, end - start).find('\n'), std::string::npos);
    start = end + 2;
  }
}

TEST(Render, NonAsciiSubjectAndDisplayNameAreEncodedWords) {
  const auto texts = render::email_texts(Purpose::kEmailLink, "Café Zoë", "", "https://x", 10);
  const std::string m = render::mime({.from = "Café Zoë <no-reply@cafe.example>",
                                      .to = "ada@example.com",
                                      .message_id = "m@cafe.example",
                                      .date_ms = 0,
                                      .boundary = "b"},
                                     texts);
  const std::string subject_word = "=?UTF-8?B?" + core::base64_encode("Sign in to Café Zoë") + "?=";
  EXPECT_NE(m.find("Subject: " + subject_word + "\r\n"), std::string::npos) << m;
  EXPECT_NE(m.find("From: =?UTF-8?B?" + core::base64_encode("Café Zoë") +
                   "?= <no-reply@cafe.example>\r\n"),
            std::string::npos)
      << m;
}

TEST(Render, LongEncodedHeadersAreFoldedWithoutSplittingCharacters) {
  std::string text;
  for (int i = 0; i < 40; ++i) {
    text += "é";  // two bytes each
  }
  const std::string words = render::encode_header_words(text);
  std::string decoded;
  std::size_t pos = 0;
  while ((pos = words.find("=?UTF-8?B?", pos)) != std::string::npos) {
    const auto end = words.find("?=", pos + 10);
    ASSERT_NE(end, std::string::npos);
    EXPECT_LE(end + 2 - pos, 75U);
    const auto part = core::base64_decode(words.substr(pos + 10, end - pos - 10));
    ASSERT_TRUE(part.has_value());
    ASSERT_EQ(part->size() % 2, 0U) << "a word split a character";
    decoded += *part;
    pos = end + 2;
  }
  EXPECT_EQ(decoded, text);
  EXPECT_NE(words.find("\r\n "), std::string::npos);
}

TEST(Render, QuotedPrintableEscapesAndSoftBreaks) {
  EXPECT_EQ(render::quoted_printable("a=b"), "a=3Db");
  EXPECT_EQ(render::quoted_printable("trailing \nx"), "trailing=20\r\nx");
  EXPECT_EQ(render::quoted_printable("é"), "=C3=A9");
  const std::string long_line(200, 'x');
  const std::string qp = render::quoted_printable(long_line);
  EXPECT_NE(qp.find("=\r\n"), std::string::npos);
  EXPECT_EQ(qp_decode(qp), long_line);
}

TEST(Render, AddressOfAFromValue) {
  EXPECT_EQ(render::address_of("Acme <no-reply@acme.example>"), "no-reply@acme.example");
  EXPECT_EQ(render::address_of("no-reply@acme.example"), "no-reply@acme.example");
}

TEST(Backoff, DoublesFromTheBaseUpToTheCap) {
  EXPECT_EQ(backoff(1, 5s, 15min), 5s);
  EXPECT_EQ(backoff(2, 5s, 15min), 10s);
  EXPECT_EQ(backoff(3, 5s, 15min), 20s);
  EXPECT_EQ(backoff(8, 5s, 15min), 640s);
  EXPECT_EQ(backoff(9, 5s, 15min), 15min);
  EXPECT_EQ(backoff(1000, 5s, 15min), 15min);  // no overflow
  EXPECT_EQ(backoff(0, 5s, 15min), 5s);
}

TEST(CallingCode, ReadsTheCountryCodeOfAnE164Number) {
  EXPECT_EQ(calling_code("+14155550100"), "1");
  EXPECT_EQ(calling_code("+447700900123"), "44");
  EXPECT_EQ(calling_code("+79161234567"), "7");
  EXPECT_EQ(calling_code("+353851234567"), "353");
  EXPECT_EQ(calling_code("+2348031234567"), "234");
  EXPECT_EQ(calling_code("+8613800138000"), "86");
  EXPECT_FALSE(calling_code("447700900123").has_value());
  EXPECT_FALSE(calling_code("+04477009001").has_value());
  EXPECT_FALSE(calling_code("+44 7700 900123").has_value());
  EXPECT_FALSE(calling_code("+123").has_value());
  EXPECT_FALSE(calling_code("+1234567890123456").has_value());
}

}  // namespace
}  // namespace latchkey::delivery
