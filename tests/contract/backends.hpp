#pragma once
// The backends the store contract suite runs against. Adding PostgreSQL means adding one factory to
// all_backends() in backends.cpp; the tests do not change.
#include <filesystem>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "store/store.hpp"

namespace latchkey::store::testing {

struct Backend {
  std::string name;  // test-name suffix: letters, digits, underscore
  // A store, NOT migrated, on the database that `scratch` names: a new scratch directory gives a
  // fresh empty database; the same directory again gives the same database (for tests that open it
  // twice). `scratch` outlives the stores made from it.
  std::function<std::unique_ptr<Store>(const std::filesystem::path& scratch)> make;
};

std::vector<Backend> all_backends();

// GoogleTest prints the backend by name in failure messages.
inline void PrintTo(const Backend& backend, std::ostream* os) { *os << backend.name; }

// A fresh empty directory under the system temp dir, removed by the destructor.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace latchkey::store::testing
