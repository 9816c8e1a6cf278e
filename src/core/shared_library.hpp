#pragma once
// A shared library loaded on first use (dlopen), for dependencies most deployments never touch:
// libpq (only with a postgres:// database URL) and libcurl (only once a provider is called).
// Not linking them keeps their dependency trees (GnuTLS, Kerberos, LDAP, libssh2, ...) out of
// the process until they are needed: about 4.7 MiB of idle RSS on Debian 12 (docs/benchmarks.md).
//
// Call sites keep using the libraries' own API: store/postgres/libpq_loader.cpp and
// oauth/libcurl_loader.cpp define each function we use as a forwarder to the symbol resolved
// here, so the headers still type-check every call.
#include <atomic>
#include <mutex>
#include <string>

#include "core/error.hpp"

namespace latchkey::core {

class SharedLibrary {
 public:
  // `soname` is the runtime name the package installs ("libpq.so.5"), never the -dev symlink.
  explicit SharedLibrary(const char* soname) : soname_(soname) {}
  SharedLibrary(const SharedLibrary&) = delete;
  SharedLibrary& operator=(const SharedLibrary&) = delete;

  // Loads the library once (thread-safe; later calls return the first outcome). The error names
  // the library and the loader's reason, for a start-up message or an internal log line.
  Status load();
  [[nodiscard]] bool loaded() const { return handle_.load(std::memory_order_acquire) != nullptr; }

  // The address of `name` in the library, loading it first. A library that cannot be loaded or
  // lacks the symbol is an installation fault the callers' load() check reports cleanly; reaching
  // here without it aborts with the reason on stderr rather than calling through a null pointer.
  void* symbol(const char* name);

  // Whether the loaded library exports `name` (false when it is not loaded).
  [[nodiscard]] bool has_symbol(const char* name);

  [[nodiscard]] const char* soname() const { return soname_; }

 private:
  const char* soname_;
  std::once_flag once_;
  std::atomic<void*> handle_{nullptr};
  std::string error_;
};

// Converts a dlsym result to a function pointer (POSIX guarantees the representation).
template <typename Fn>
Fn function_cast(void* p) {
  Fn f;
  static_assert(sizeof(f) == sizeof(p));
  __builtin_memcpy(&f, &p, sizeof(f));
  return f;
}

}  // namespace latchkey::core
