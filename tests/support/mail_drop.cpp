#include "support/mail_drop.hpp"

#include <gtest/gtest.h>

#include <algorithm>
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

}  // namespace latchkey::test
