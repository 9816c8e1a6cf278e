#pragma once
// A fresh private directory under the system temp dir, removed with everything in it by the
// destructor. The one temp-dir helper of every suite (unit, contract, integration, security).
#include <filesystem>
#include <string>
#include <string_view>

namespace latchkey::test {

class TempDir {
 public:
  TempDir();  // throws std::runtime_error when mkdtemp fails
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  [[nodiscard]] std::string str() const { return path_.string(); }

  // Writes `text` to <dir>/<name> (replacing it) and returns the file's path.
  std::filesystem::path write(std::string_view name, std::string_view text) const;

 private:
  std::filesystem::path path_;
};

}  // namespace latchkey::test
