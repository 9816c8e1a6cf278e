#include "backends.hpp"

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace latchkey::store::testing {
namespace {

struct ConnCloser {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct ResultClearer {
  void operator()(PGresult* r) const { PQclear(r); }
};

// Schemas made by pg_url_for() in this process, by scratch path.
std::mutex schemas_mu;
std::map<std::string, std::string>& schemas() {
  static std::map<std::string, std::string> m;
  return m;
}

// Drops the schemas once every test is done (every store closed).
class PgSchemaCleanup : public ::testing::Environment {
 public:
  void TearDown() override {
    std::lock_guard lock(schemas_mu);
    for (const auto& [path, schema] : schemas()) {
      try {
        pg_admin("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
      } catch (const std::exception& e) {
        ADD_FAILURE() << "dropping test schema " << schema << ": " << e.what();
      }
    }
    schemas().clear();
  }
};
[[maybe_unused]] ::testing::Environment* const kCleanup =
    ::testing::AddGlobalTestEnvironment(new PgSchemaCleanup);

}  // namespace

std::string pg_test_url() {
  const char* url = std::getenv("LATCHKEY_TEST_PG_URL");
  return url != nullptr ? std::string(url) : std::string();
}

std::string pg_admin(const std::string& sql) {
  std::unique_ptr<PGconn, ConnCloser> conn(PQconnectdb(pg_test_url().c_str()));
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
    throw std::runtime_error(std::string("cannot connect to LATCHKEY_TEST_PG_URL: ") +
                             (conn ? PQerrorMessage(conn.get()) : "out of memory"));
  }
  PQsetNoticeProcessor(conn.get(), [](void*, const char*) {}, nullptr);
  std::unique_ptr<PGresult, ResultClearer> res(PQexec(conn.get(), sql.c_str()));
  const auto status = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    throw std::runtime_error("pg_admin: " + std::string(PQerrorMessage(conn.get())));
  }
  if (status == PGRES_TUPLES_OK && PQntuples(res.get()) > 0 && PQnfields(res.get()) > 0) {
    return PQgetvalue(res.get(), 0, 0);
  }
  return {};
}

std::string pg_url_for(const std::filesystem::path& scratch) {
  std::string schema;
  {
    std::lock_guard lock(schemas_mu);
    auto& m = schemas();
    if (auto it = m.find(scratch.string()); it != m.end()) {
      schema = it->second;
    } else {
      // Scratch names are unique while they exist; a schema left by a crashed run is replaced.
      schema = "lk_test_" +
               std::to_string(std::hash<std::string>{}(scratch.string()) % 1'000'000'007) + "_" +
               std::to_string(m.size());
      pg_admin("DROP SCHEMA IF EXISTS " + schema + " CASCADE; CREATE SCHEMA " + schema);
      m.emplace(scratch.string(), schema);
    }
  }
  std::string url = pg_test_url();
  url += url.find('?') == std::string::npos ? '?' : '&';
  return url + "options=-c%20search_path%3D" + schema;
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
  // PostgreSQL only when a test database is given; pg_store_test.cpp reports the skip.
  if (!pg_test_url().empty()) {
    out.push_back(Backend{"postgres", [](const std::filesystem::path& scratch) {
                            PostgresOptions o;
                            o.url = pg_url_for(scratch);
                            auto store = open_postgres(o);
                            if (!store) {
                              throw std::runtime_error("open_postgres failed: " +
                                                       store.error().internal);
                            }
                            return std::move(*store);
                          }});
  }
  return out;
}

}  // namespace latchkey::store::testing
