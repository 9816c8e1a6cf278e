#pragma once
// libcurl is loaded on first use (core/shared_library.hpp): a node maps it, and its dependency
// tree (GnuTLS, Kerberos, LDAP, libssh2, ...), only once it first calls an identity provider.
#include "core/error.hpp"

namespace latchkey::net {

// Loads libcurl.so.4 and checks it has every function we call. The HTTP client calls it before
// its first request and turns a failure into "provider unavailable".
core::Status load_libcurl();

// load_libcurl() and then curl_global_init, once per process (thread-safe); every client calls it
// before its first handle. The outcome of the first call is returned to every later one.
core::Status init_libcurl();

}  // namespace latchkey::net
