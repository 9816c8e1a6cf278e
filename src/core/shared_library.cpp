#include "core/shared_library.hpp"

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>

namespace latchkey::core {

Status SharedLibrary::load() {
  std::call_once(once_, [this] {
    // RTLD_NOW: a missing symbol fails here, not in the middle of a request. RTLD_LOCAL: its
    // symbols do not leak into the global scope that later libraries resolve against.
    void* h = ::dlopen(soname_, RTLD_NOW | RTLD_LOCAL);
    if (h == nullptr) {
      const char* why = ::dlerror();
      error_ = std::string(soname_) + " could not be loaded: " + (why != nullptr ? why : "unknown");
      return;
    }
    handle_.store(h, std::memory_order_release);
  });
  if (!loaded()) {
    return fail(Error(Code::kServiceUnavailable).with_internal(error_));
  }
  return {};
}

void* SharedLibrary::symbol(const char* name) {
  if (auto st = load(); !st) {
    std::fprintf(stderr, "latchkey: %s\n", error_.c_str());
    std::abort();
  }
  void* p = ::dlsym(handle_.load(std::memory_order_acquire), name);
  if (p == nullptr) {
    std::fprintf(stderr, "latchkey: %s has no symbol %s\n", soname_, name);
    std::abort();
  }
  return p;
}

bool SharedLibrary::has_symbol(const char* name) {
  void* h = handle_.load(std::memory_order_acquire);
  return h != nullptr && ::dlsym(h, name) != nullptr;
}

}  // namespace latchkey::core
