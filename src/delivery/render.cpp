#include "delivery/render.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <ctime>

#include "core/base64.hpp"
#include "core/html.hpp"

namespace latchkey::delivery::render {
using core::html_escape;

namespace {

std::string minutes(int n) { return std::to_string(n) + (n == 1 ? " minute" : " minutes"); }

std::string html_page(std::string_view application_name, std::string_view heading,
                      std::string_view lead, std::string_view big, std::string_view after) {
  std::string h;
  h += "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>";
  h += html_escape(heading);
  h += "</title></head>\n<body style=\"font-family:sans-serif;color:#212126\">\n";
  h += "<p style=\"font-size:14px;color:#747686\">" + html_escape(application_name) + "</p>\n";
  h += "<h1 style=\"font-size:20px\">" + html_escape(heading) + "</h1>\n";
  h += "<p>" + html_escape(lead) + "</p>\n";
  h += std::string(big);
  h += "<p>" + html_escape(after) + "</p>\n</body></html>\n";
  return h;
}

}  // namespace

Texts email_texts(Purpose purpose, std::string_view application_name, std::string_view code,
                  std::string_view link, int expires_in_minutes) {
  const std::string app(application_name);
  const std::string expiry = "This code expires in " + minutes(expires_in_minutes) + ".";
  const std::string code_block =
      "<p style=\"font-size:28px;font-weight:bold;letter-spacing:4px\">" + html_escape(code) +
      "</p>\n";
  Texts t;
  std::string heading;
  std::string lead;
  std::string after = "To protect your account, do not share this code. " + expiry +
                      " If you did not ask for it, you can ignore this email.";
  switch (purpose) {
    case Purpose::kVerificationCode:
      t.subject = std::string(code) + " is your verification code";
      heading = "Verification code";
      lead = "Enter the following verification code when prompted:";
      break;
    case Purpose::kSignInCode:
      t.subject = std::string(code) + " is your sign-in code";
      heading = "Sign in to " + app;
      lead = "Enter the following code to sign in to " + app + ":";
      break;
    case Purpose::kResetPasswordCode:
      t.subject = std::string(code) + " is your reset password code";
      heading = "Reset your password";
      lead = "Enter the following code to reset the password of your " + app + " account:";
      break;
    case Purpose::kSignUpAttempt: {
      t.subject = "Someone tried to sign up to " + app + " with your email address";
      heading = "You already have an account";
      lead = "Someone tried to create a " + app +
             " account with this email address. There is one already: sign in instead, or "
             "reset your password if you forgot it.";
      after = "If it was not you, you can ignore this email: nothing was changed.";
      t.text = heading + "\n\n" + lead + "\n\n" + after + "\n\n— " + app + "\n";
      t.html = html_page(app, heading, lead, "", after);
      return t;
    }
    case Purpose::kEmailLink:
    case Purpose::kVerificationLink: {
      const bool verify = purpose == Purpose::kVerificationLink;
      t.subject = verify ? "Verify your email address for " + app : "Sign in to " + app;
      heading = verify ? std::string("Verify your email address") : "Sign in to " + app;
      lead = verify
                 ? "Click the link below to verify your email address and finish signing up to " +
                       app + ":"
                 : "Click the link below to sign in to " + app + ":";
      after = "This link expires in " + minutes(expires_in_minutes) +
              ". If you did not ask for it, you can ignore this email.";
      t.text = heading + "\n\n" + lead + "\n\n" + std::string(link) + "\n\n" + after + "\n\n— " +
               app + "\n";
      const std::string button =
          "<p><a href=\"" + html_escape(link) + "\" style=\"font-size:16px;font-weight:bold\">" +
          html_escape(verify ? "Verify your email address" : "Sign in to " + app) +
          "</a></p>\n<p style=\"font-size:12px\">" + html_escape(link) + "</p>\n";
      t.html = html_page(app, heading, lead, button, after);
      return t;
    }
  }
  t.text =
      heading + "\n\n" + lead + "\n\n" + std::string(code) + "\n\n" + after + "\n\n— " + app + "\n";
  t.html = html_page(app, heading, lead, code_block, after);
  return t;
}

std::string sms_text(Purpose purpose, std::string_view application_name, std::string_view code,
                     std::string_view link, int expires_in_minutes) {
  const std::string app(application_name);
  switch (purpose) {
    case Purpose::kVerificationCode:
      return std::string(code) + " is your verification code for " + app +
             ". Do not share it with anyone.";
    case Purpose::kSignInCode:
      return std::string(code) + " is your " + app + " sign-in code. Do not share it with anyone.";
    case Purpose::kResetPasswordCode:
      return std::string(code) + " is your " + app +
             " reset password code. Do not share it with anyone.";
    case Purpose::kEmailLink:
      return "Sign in to " + app + ": " + std::string(link) + " (expires in " +
             minutes(expires_in_minutes) + ")";
    case Purpose::kVerificationLink:
      return "Verify your email address for " + app + ": " + std::string(link) + " (expires in " +
             minutes(expires_in_minutes) + ")";
    case Purpose::kSignUpAttempt:
      return "Someone tried to sign up to " + app +
             " with this number. You already have an account: sign in instead.";
  }
  return {};
}

std::string rfc5322_date(std::int64_t ms) {
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  static constexpr std::array<const char*, 7> kDays{"Sun", "Mon", "Tue", "Wed",
                                                    "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday],
                tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

std::string encode_header_words(std::string_view text) {
  const bool plain = text.size() <= 70 && std::ranges::all_of(text, [](char c) {
                       const auto u = static_cast<unsigned char>(c);
                       return u >= 0x20 && u < 0x7F && c != '=' && c != '?';
                     });
  if (plain) {
    return std::string(text);
  }
  // 45 bytes of input make 60 base64 characters; with "=?UTF-8?B?" and "?=" a word is 72. Never
  // split a UTF-8 sequence across words (RFC 2047 §5).
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t n = std::min<std::size_t>(45, text.size() - i);
    while (i + n < text.size() && n > 0 &&
           (static_cast<unsigned char>(text[i + n]) & 0xC0) == 0x80) {
      --n;
    }
    if (n == 0) {
      n = std::min<std::size_t>(45, text.size() - i);
    }
    if (!out.empty()) {
      out += "\r\n ";
    }
    out += "=?UTF-8?B?" + core::base64_encode(text.substr(i, n)) + "?=";
    i += n;
  }
  return out;
}

std::string quoted_printable(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  std::size_t line = 0;
  auto soft_break_if = [&](std::size_t need) {
    if (line + need > 75) {
      out += "=\r\n";
      line = 0;
    }
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\r\n";
      line = 0;
      continue;
    }
    const bool at_line_end = i + 1 == text.size() || text[i + 1] == '\n';
    const bool literal =
        (u >= 33 && u <= 126 && c != '=') || ((c == ' ' || c == '\t') && !at_line_end);
    // A line starting with "." or "From " is left alone by QP; SMTP dot-stuffing is curl's job.
    if (literal) {
      soft_break_if(1);
      out.push_back(c);
      ++line;
    } else {
      soft_break_if(3);
      out.push_back('=');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0x0F]);
      line += 3;
    }
  }
  return out;
}

std::string address_of(std::string_view from) {
  const auto lt = from.rfind('<');
  const auto gt = from.rfind('>');
  if (lt != std::string_view::npos && gt != std::string_view::npos && gt > lt) {
    return std::string(from.substr(lt + 1, gt - lt - 1));
  }
  return std::string(from);
}

std::string mime(const Envelope& e, const Texts& t) {
  // A display name with non-ASCII characters is encoded; the address stays as it is.
  std::string from = e.from;
  const auto lt = from.rfind('<');
  if (lt != std::string::npos && lt > 0) {
    std::string name = from.substr(0, lt);
    while (!name.empty() && name.back() == ' ') {
      name.pop_back();
    }
    if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
      name = name.substr(1, name.size() - 2);
    }
    const bool ascii = std::ranges::all_of(name, [](char c) {
      return static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7F &&
             c != '"' && c != '\\';
    });
    from = (ascii ? "\"" + name + "\"" : encode_header_words(name)) + " " + from.substr(lt);
  }
  std::string m;
  m += "Date: " + rfc5322_date(e.date_ms) + "\r\n";
  m += "From: " + from + "\r\n";
  m += "To: <" + e.to + ">\r\n";
  m += "Subject: " + encode_header_words(t.subject) + "\r\n";
  m += "Message-ID: <" + e.message_id + ">\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Auto-Submitted: auto-generated\r\n";
  m += "Content-Type: multipart/alternative; boundary=\"" + e.boundary + "\"\r\n";
  m += "\r\n";
  m += "--" + e.boundary + "\r\n";
  m += "Content-Type: text/plain; charset=utf-8\r\n";
  m += "Content-Transfer-Encoding: quoted-printable\r\n\r\n";
  m += quoted_printable(t.text) + "\r\n";
  m += "--" + e.boundary + "\r\n";
  m += "Content-Type: text/html; charset=utf-8\r\n";
  m += "Content-Transfer-Encoding: quoted-printable\r\n\r\n";
  m += quoted_printable(t.html) + "\r\n";
  m += "--" + e.boundary + "--\r\n";
  return m;
}

}  // namespace latchkey::delivery::render
