// Forwarders for the libcurl functions Latchkey calls, resolved from libcurl.so.4 at first use.
// Each definition is checked against <curl/curl.h>; the call sites in curl_http_client.cpp stay
// plain libcurl.
#define CURL_DISABLE_TYPECHECK  // the type-checking macros would rename our definitions
#include "net/libcurl_loader.hpp"

#include <curl/curl.h>

#include <cstdarg>
#include <mutex>

#include "core/shared_library.hpp"

namespace latchkey::net {
namespace {

core::SharedLibrary& libcurl() {
  static core::SharedLibrary lib("libcurl.so.4");
  return lib;
}

template <typename Fn>
Fn resolve(const char* name) {
  return core::function_cast<Fn>(libcurl().symbol(name));
}

}  // namespace
}  // namespace latchkey::net

#define LATCHKEY_LIBCURL_FUNCTIONS(X)                                                    \
  X(CURLcode, curl_global_init, (long flags), (flags))                                   \
  X(CURL*, curl_easy_init, (void), ())                                                   \
  X(CURLcode, curl_easy_perform, (CURL * curl), (curl))                                  \
  X(void, curl_easy_reset, (CURL * curl), (curl))                                        \
  X(void, curl_easy_cleanup, (CURL * curl), (curl))                                      \
  X(const char*, curl_easy_strerror, (CURLcode code), (code))                            \
  X(curl_slist*, curl_slist_append, (curl_slist * list, const char* data), (list, data)) \
  X(void, curl_slist_free_all, (curl_slist * list), (list))

#define LATCHKEY_LIBCURL_FORWARD(ret, name, params, args)                \
  extern "C" ret name params {                                           \
    static const auto fn = latchkey::net::resolve<ret(*) params>(#name); \
    return fn args;                                                      \
  }
LATCHKEY_LIBCURL_FUNCTIONS(LATCHKEY_LIBCURL_FORWARD)

// The two variadic entry points. curl_easy_setopt's third argument is a long, an object pointer,
// a function pointer or a curl_off_t, as the option number's range says (CURLOPTTYPE_*, the same
// rule libcurl applies when it reads it); curl_easy_getinfo's is always a pointer.
extern "C" CURLcode curl_easy_setopt(CURL* curl, CURLoption option, ...) {
  static const auto fn =
      latchkey::net::resolve<CURLcode (*)(CURL*, CURLoption, ...)>("curl_easy_setopt");
  va_list ap;
  va_start(ap, option);
  CURLcode rc;
  if (option < CURLOPTTYPE_OBJECTPOINT) {
    rc = fn(curl, option, va_arg(ap, long));
  } else if (option < CURLOPTTYPE_FUNCTIONPOINT) {
    rc = fn(curl, option, va_arg(ap, void*));
  } else if (option < CURLOPTTYPE_OFF_T) {
    using AnyFunction = void (*)();
    rc = fn(curl, option, va_arg(ap, AnyFunction));
  } else if (option < CURLOPTTYPE_BLOB) {
    rc = fn(curl, option, va_arg(ap, curl_off_t));
  } else {
    rc = fn(curl, option, va_arg(ap, void*));
  }
  va_end(ap);
  return rc;
}

extern "C" CURLcode curl_easy_getinfo(CURL* curl, CURLINFO info, ...) {
  static const auto fn =
      latchkey::net::resolve<CURLcode (*)(CURL*, CURLINFO, ...)>("curl_easy_getinfo");
  va_list ap;
  va_start(ap, info);
  void* out = va_arg(ap, void*);
  va_end(ap);
  return fn(curl, info, out);
}

namespace latchkey::net {

core::Status load_libcurl() {
  if (auto st = libcurl().load(); !st) {
    return st;
  }
  static constexpr const char* kNames[] = {
#define LATCHKEY_LIBCURL_NAME(ret, name, params, args) #name,
      LATCHKEY_LIBCURL_FUNCTIONS(LATCHKEY_LIBCURL_NAME)
#undef LATCHKEY_LIBCURL_NAME
          "curl_easy_setopt",
      "curl_easy_getinfo"};
  for (const char* name : kNames) {
    if (!libcurl().has_symbol(name)) {
      return core::fail(core::Error(core::Code::kServiceUnavailable)
                            .with_internal(std::string("libcurl.so.4 lacks ") + name));
    }
  }
  return {};
}

core::Status init_libcurl() {
  static std::once_flag once;
  static core::Status outcome;
  std::call_once(once, [] {
    outcome = load_libcurl();
    if (outcome && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      outcome = core::fail(
          core::Error(core::Code::kServiceUnavailable).with_internal("curl_global_init failed"));
    }
  });
  return outcome;
}

}  // namespace latchkey::net
