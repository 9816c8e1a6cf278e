#pragma once
// Message rendering (internal to delivery/, tested on its own): the texts per Purpose, Clerk's
// wording ("123456 is your verification code"), and the MIME form of an email (text and HTML
// alternatives, Date, Message-ID, an RFC 2047 encoded Subject).
#include <cstdint>
#include <string>
#include <string_view>

#include "delivery/delivery.hpp"

namespace latchkey::delivery::render {

struct Texts {
  std::string subject;
  std::string text;  // LF line ends
  std::string html;
};

// The code or link is the only secret in them.
Texts email_texts(Purpose purpose, std::string_view application_name, std::string_view code,
                  std::string_view link, int expires_in_minutes);
std::string sms_text(Purpose purpose, std::string_view application_name, std::string_view code,
                     std::string_view link, int expires_in_minutes);

struct Envelope {
  std::string from;  // the From header as configured
  std::string to;
  std::string message_id;  // without brackets: "<random>@<domain>"
  std::int64_t date_ms = 0;
  std::string boundary;  // multipart boundary (random)
};
// The whole message: headers and a multipart/alternative body, quoted-printable parts, CRLF.
std::string mime(const Envelope& envelope, const Texts& texts);

// RFC 5322 date-time in UTC: "Thu, 03 Dec 2026 13:32:13 +0000".
std::string rfc5322_date(std::int64_t ms);
// RFC 2047 "=?UTF-8?B?...?=" words (each at most 75 characters), folded with CRLF SP; ASCII text
// without specials is returned as is.
std::string encode_header_words(std::string_view text);
// RFC 2045 §6.7 quoted-printable of UTF-8 text with LF line ends; lines as CRLF, soft breaks
// keep every line at most 76 characters.
std::string quoted_printable(std::string_view text);
// The address of a From value: "Name <a@b>" -> "a@b", "a@b" -> "a@b".
std::string address_of(std::string_view from);

}  // namespace latchkey::delivery::render
