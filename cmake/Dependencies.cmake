# Every dependency is a Debian 12 package installed by scripts/install-deps.sh.
find_package(Threads REQUIRED)
find_package(OpenSSL 3 REQUIRED)
if(LATCHKEY_STATIC_DEPS)
  set(Boost_USE_STATIC_LIBS ON)
endif()
find_package(Boost 1.81 REQUIRED COMPONENTS json url)
find_package(SQLite3 REQUIRED)
find_package(PostgreSQL REQUIRED)  # libpq (libpq-dev)
find_package(CURL REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(CLI11 REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
pkg_check_modules(TOMLPP REQUIRED IMPORTED_TARGET tomlplusplus)
# src/crypto/totp.cpp: RFC 6238 codes (liboath-dev).
pkg_check_modules(OATH REQUIRED IMPORTED_TARGET liboath)
# src/passwords: libcrypt (libcrypt-dev) verifies imported bcrypt digests, its static archive under
# LATCHKEY_STATIC_DEPS; zxcvbn-c (libzxcvbn-dev) estimates strength, always the shared library
# (Debian's libzxcvbn.a is not position-independent, and the executables are PIE).
if(LATCHKEY_STATIC_DEPS)
  find_library(LATCHKEY_CRYPT_LIB NAMES libcrypt.a REQUIRED)
else()
  find_library(LATCHKEY_CRYPT_LIB NAMES crypt REQUIRED)
endif()
find_library(LATCHKEY_ZXCVBN_SO NAMES libzxcvbn.so zxcvbn REQUIRED)

# LATCHKEY_STATIC_DEPS (the release preset and bench/run.sh): SQLite, libsodium, Boost.JSON/URL,
# spdlog/fmt and toml++ go into the binary (the Debian packages' static archives and header-only
# modes), and libstdc++ into the `latchkey` executable (src/cli; test executables keep the shared
# one GoogleTest uses). libc and libcrypto stay shared: glibc is not meant to be linked statically,
# and libcrypto is also what libcurl and libpq bring when they are loaded on first use. Fewer shared
# objects to map and relocate at start: docs/benchmarks.md, idle RSS. The price: a security update
# of one of those Debian packages needs a rebuild of Latchkey (docs/deployment.md).
add_library(latchkey_dep_log INTERFACE)
add_library(latchkey_dep_toml INTERFACE)
if(LATCHKEY_STATIC_DEPS)
  find_library(LATCHKEY_SQLITE3_A NAMES libsqlite3.a REQUIRED)
  set_target_properties(SQLite::SQLite3 PROPERTIES IMPORTED_LOCATION ${LATCHKEY_SQLITE3_A}
                        INTERFACE_LINK_LIBRARIES "m;Threads::Threads;${CMAKE_DL_LIBS}")
  find_library(LATCHKEY_SODIUM_A NAMES libsodium.a REQUIRED)
  set_target_properties(PkgConfig::SODIUM PROPERTIES INTERFACE_LINK_LIBRARIES
                        "${LATCHKEY_SODIUM_A};Threads::Threads")
  set_target_properties(spdlog::spdlog_header_only PROPERTIES INTERFACE_LINK_LIBRARIES
                        "Threads::Threads;fmt::fmt-header-only")
  target_link_libraries(latchkey_dep_log INTERFACE spdlog::spdlog_header_only fmt::fmt-header-only)
  target_include_directories(latchkey_dep_toml INTERFACE ${TOMLPP_INCLUDE_DIRS})
  target_compile_definitions(latchkey_dep_toml INTERFACE TOML_HEADER_ONLY=1)
else()
  target_link_libraries(latchkey_dep_log INTERFACE spdlog::spdlog fmt::fmt)
  target_link_libraries(latchkey_dep_toml INTERFACE PkgConfig::TOMLPP)
endif()

if(LATCHKEY_TESTS)
  find_package(GTest REQUIRED)
endif()
if(LATCHKEY_BENCH)
  find_package(benchmark REQUIRED)
endif()
