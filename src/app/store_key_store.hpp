#pragma once
// tokens::KeyStore over store::Store: signing keys are rows of the signing_keys table. It lives
// in app/, the composition root, because it is the one module allowed to depend on both tokens/
// and store/ without either depending on the other (cmake/layers.txt).
#include <functional>

#include "core/error.hpp"
#include "store/store.hpp"
#include "tokens/key_store.hpp"

namespace latchkey::app {

class StoreKeyStore final : public tokens::KeyStore {
 public:
  // `store` must outlive this object.
  explicit StoreKeyStore(store::Store& store) : store_(store) {}

  core::Status transaction(const std::function<core::Status(tokens::KeyStoreTx&)>& fn) override;
  core::Status read(const std::function<core::Status(tokens::KeyStoreTx&)>& fn) override;

 private:
  store::Store& store_;
};

}  // namespace latchkey::app
