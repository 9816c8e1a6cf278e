#pragma once
// The numbered schema migrations, embedded at build time from
// src/store/migrations/<engine>/NNNN_*.sql (embed_migrations.cmake). Both engines keep the same
// numbering; a contract test checks it.
#include <span>
#include <string_view>

namespace latchkey::store {

struct Migration {
  int version;            // 1 for 0001_init.sql
  std::string_view name;  // "0001_init"
  std::string_view sql;   // the whole file
};

// Ascending by version.
std::span<const Migration> sqlite_migrations();
std::span<const Migration> postgres_migrations();

}  // namespace latchkey::store
