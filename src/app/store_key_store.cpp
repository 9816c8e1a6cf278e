#include "app/store_key_store.hpp"

#include <string>
#include <utility>
#include <vector>

namespace latchkey::app {
namespace {

tokens::StoredKey from_row(store::SigningKey row) {
  return tokens::StoredKey{.kid = std::move(row.kid),
                           .algorithm = std::move(row.algorithm),
                           .public_jwk = std::move(row.public_jwk),
                           .private_key_enc = std::move(row.private_key_enc),
                           .created_at_ms = row.created_at_ms,
                           .active = row.active,
                           .retired_at_ms = row.retired_at_ms};
}

store::SigningKey to_row(const tokens::StoredKey& key) {
  return store::SigningKey{.kid = key.kid,
                           .algorithm = key.algorithm,
                           .public_jwk = key.public_jwk,
                           .private_key_enc = key.private_key_enc,
                           .created_at_ms = key.created_at_ms,
                           .active = key.active,
                           .retired_at_ms = key.retired_at_ms};
}

class TxAdapter final : public tokens::KeyStoreTx {
 public:
  explicit TxAdapter(store::Tx& tx) : tx_(tx) {}

  core::Result<std::vector<tokens::StoredKey>> list() override {
    auto rows = tx_.list_signing_keys();
    if (!rows) {
      return std::unexpected(std::move(rows.error()));
    }
    std::vector<tokens::StoredKey> keys;
    keys.reserve(rows->size());
    for (auto& row : *rows) {
      keys.push_back(from_row(std::move(row)));
    }
    return keys;
  }
  core::Status insert(const tokens::StoredKey& key) override {
    return tx_.insert_signing_key(to_row(key));
  }
  core::Status retire(const std::string& kid, std::int64_t at_ms) override {
    return tx_.retire_signing_key(kid, at_ms);
  }
  core::Status remove(const std::string& kid) override { return tx_.delete_signing_key(kid); }

 private:
  store::Tx& tx_;
};

}  // namespace

core::Status StoreKeyStore::transaction(
    const std::function<core::Status(tokens::KeyStoreTx&)>& fn) {
  return store_.transaction([&](store::Tx& tx) {
    TxAdapter adapter(tx);
    return fn(adapter);
  });
}

core::Status StoreKeyStore::read(const std::function<core::Status(tokens::KeyStoreTx&)>& fn) {
  return store_.read([&](store::Tx& tx) {
    TxAdapter adapter(tx);
    return fn(adapter);
  });
}

}  // namespace latchkey::app
