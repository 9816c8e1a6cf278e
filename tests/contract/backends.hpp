#pragma once
// The backends the store contract suite runs against: SQLite always; PostgreSQL when the
// environment variable LATCHKEY_TEST_PG_URL names a database (scripts/pg-test-cluster.sh starts a
// throwaway one). Each PostgreSQL "scratch database" is a schema of its own in that database,
// dropped at exit.
#include <filesystem>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "store/store.hpp"
#include "support/temp_dir.hpp"

namespace latchkey::store::testing {

struct Backend {
  std::string name;  // test-name suffix: letters, digits, underscore
  // A store, NOT migrated, on the database that `scratch` names: a new scratch directory gives a
  // fresh empty database; the same directory again gives the same database (for tests that open it
  // twice). `scratch` outlives the stores made from it.
  std::function<std::unique_ptr<Store>(const std::filesystem::path& scratch)> make;
};

std::vector<Backend> all_backends();

// LATCHKEY_TEST_PG_URL, or "" when PostgreSQL tests are skipped.
std::string pg_test_url();
// A URL for the PostgreSQL schema that `scratch` names (created empty on first use, dropped at
// exit): the URL with search_path set to that schema.
std::string pg_url_for(const std::filesystem::path& scratch);
// Runs SQL on the test database through a connection of its own; returns the first value of the
// first row ("" if none) or throws std::runtime_error.
std::string pg_admin(const std::string& sql);

// GoogleTest prints the backend by name in failure messages.
inline void PrintTo(const Backend& backend, std::ostream* os) { *os << backend.name; }

// The scratch directory a backend's database is named by: the test-support library's TempDir
// (a fresh empty directory under the system temp dir, removed by the destructor).
using ScratchDir = ::latchkey::test::TempDir;

}  // namespace latchkey::store::testing
