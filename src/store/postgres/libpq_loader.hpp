#pragma once
// libpq is loaded on first use (core/shared_library.hpp): a node on SQLite never maps it or its
// dependencies. open_postgres() calls load_libpq() first, so a missing or too old libpq is a
// start-up error naming the library, not a crash in the middle of a request.
#include "core/error.hpp"

namespace latchkey::store {

// Loads libpq.so.5 and checks it has every function we call (pipeline mode needs libpq >= 14).
core::Status load_libpq();

}  // namespace latchkey::store
