#include "support/mail_drop.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

namespace latchkey::test {

namespace fs = std::filesystem;

std::vector<std::string> mails_to(const fs::path& data_dir, const std::string& to) {
  std::vector<std::pair<fs::file_time_type, std::string>> found;
  const fs::path dir = data_dir / "mail";
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    return {};
  }
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() != ".eml") {
      continue;
    }
    std::ifstream in(e.path());
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    if (text.find("To: <" + to + ">") != std::string::npos) {
      found.emplace_back(e.last_write_time(ec), std::move(text));
    }
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (auto& f : found) {
    out.push_back(std::move(f.second));
  }
  return out;
}

std::string mailed_code(const fs::path& data_dir, const std::string& to, std::size_t count) {
  static const std::regex kCode(R"(\b(\d{6})\b)");
  for (int i = 0; i < 200; ++i) {
    const auto mails = mails_to(data_dir, to);
    if (mails.size() >= count) {
      std::smatch m;
      if (std::regex_search(mails.back(), m, kCode)) {
        return m[1];
      }
      ADD_FAILURE() << "the newest message to " << to << " has no code";
      return "";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ADD_FAILURE() << "fewer than " << count << " messages reached " << to;
  return "";
}

namespace {

// Quoted-printable (RFC 2045 §6.7) back to text: soft line breaks joined, =XX decoded.
std::string unquote_printable(const std::string& in) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '=') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 < in.size() && in[i + 1] == '\r' && in[i + 2] == '\n') {
      i += 2;
    } else if (i + 1 < in.size() && in[i + 1] == '\n') {
      i += 1;
    } else if (i + 2 < in.size() && std::isxdigit(static_cast<unsigned char>(in[i + 1])) != 0 &&
               std::isxdigit(static_cast<unsigned char>(in[i + 2])) != 0) {
      out.push_back(static_cast<char>(std::stoi(in.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back('=');
    }
  }
  return out;
}

}  // namespace

std::string mailed_link(const fs::path& data_dir, const std::string& to, std::size_t count) {
  static const std::regex kLink(R"((https?://[^\s"<>]+/v1/verify\?token=[A-Za-z0-9_.\-]+))");
  for (int i = 0; i < 200; ++i) {
    const auto mails = mails_to(data_dir, to);
    if (mails.size() >= count) {
      const std::string text = unquote_printable(mails.back());
      std::smatch m;
      if (std::regex_search(text, m, kLink)) {
        return m[1];
      }
      ADD_FAILURE() << "the newest message to " << to << " has no email link";
      return "";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ADD_FAILURE() << "fewer than " << count << " messages reached " << to;
  return "";
}

}  // namespace latchkey::test
