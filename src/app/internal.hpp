#pragma once
// Internal to app/: what the commands other than serve (app/admin.cpp) share with it.
#include <memory>
#include <string>
#include <string_view>

#include "app/store_key_store.hpp"
#include "config/config.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/random.hpp"
#include "core/secret.hpp"
#include "store/store.hpp"
#include "tokens/key_ring.hpp"

namespace latchkey::app {

struct Keys {
  std::unique_ptr<store::Store> store;
  std::unique_ptr<StoreKeyStore> key_store;  // over `store`; declared after it, destroyed before
  std::unique_ptr<tokens::KeyRing> ring;     // over `key_store`
};

// The store (migrated) and the signing keys; the master key into `master_out` when not null.
core::Result<Keys> open_keys(const config::Config& c, const core::Clock& clock,
                             core::Random& random, core::Secret* master_out);
// Logs `e` (its wire code and internal reason) for the command `what`; returns kExitRuntime.
int report_error(const core::Error& e, std::string_view what);
// "scheme://host[:port]" of an absolute URL.
std::string public_origin_of(const std::string& url);

}  // namespace latchkey::app
