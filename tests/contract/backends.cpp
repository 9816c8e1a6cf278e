#include "backends.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <stdexcept>
#include <string>
#include <system_error>

namespace latchkey::store::testing {

ScratchDir::ScratchDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "latchkey-store-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) {
    throw std::runtime_error("mkdtemp failed");
  }
  path_ = tmpl;
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::vector<Backend> all_backends() {
  std::vector<Backend> out;
  out.push_back(Backend{"sqlite_file", [](const std::filesystem::path& scratch) {
                          auto store = open_sqlite((scratch / "db" / "latchkey.db").string());
                          if (!store) {
                            throw std::runtime_error("open_sqlite failed: " +
                                                     store.error().internal);
                          }
                          return std::move(*store);
                        }});
  return out;
}

}  // namespace latchkey::store::testing
