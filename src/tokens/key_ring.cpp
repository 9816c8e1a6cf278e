#include "tokens/key_ring.hpp"

#include <sodium.h>

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <limits>
#include <utility>

#include "core/base64.hpp"
#include "crypto/json.hpp"
#include "crypto/jwk.hpp"
#include "crypto/jws.hpp"

namespace latchkey::tokens {

namespace json = boost::json;
using core::Code;

struct KeyRing::LoadedKey {
  std::string kid;
  crypto::Alg alg = crypto::Alg::kRS256;
  std::int64_t created_at_ms = 0;
  bool active = false;
  std::optional<std::int64_t> retired_at_ms;
  std::int64_t published_until_ms = std::numeric_limits<std::int64_t>::max();
  crypto::PublicKey public_key;
  std::optional<crypto::PrivateKey> private_key;  // the active key only
  std::string header_prefix;                      // base64url(JOSE header) + "." (active only)
};

struct KeyRing::Snapshot {
  std::vector<std::shared_ptr<const LoadedKey>> keys;  // newest first, expired ones left out
  std::shared_ptr<const LoadedKey> active;             // the key that signs until staged_from_ms
  // A rotated-in key younger than keys.activation_delay: published, and signing from
  // staged_from_ms on (its private key is ready, so the switch needs no reload).
  std::shared_ptr<const LoadedKey> staged;
  std::int64_t staged_from_ms = std::numeric_limits<std::int64_t>::max();
  std::shared_ptr<const std::string> jwks;

  [[nodiscard]] const LoadedKey* signer(std::int64_t now_ms) const {
    return staged && now_ms >= staged_from_ms ? staged.get() : active.get();
  }
  // The earliest end of a retired key's publication window: the JWKS must be rebuilt then.
  std::int64_t jwks_valid_until_ms = std::numeric_limits<std::int64_t>::max();

  [[nodiscard]] const LoadedKey* find(std::string_view kid, std::int64_t now_ms) const {
    for (const auto& k : keys) {
      if (k->kid == kid && now_ms < k->published_until_ms) {
        return k.get();
      }
    }
    return nullptr;
  }
};

namespace {

core::Error key_error(std::string why) {
  return core::Error(Code::kInternal, "signing keys unavailable").with_internal(std::move(why));
}

core::Error invalid_token(std::string_view reason) {
  return core::Error(Code::kAuthenticationInvalid).with_internal(std::string(reason));
}

std::string aad_for(std::string_view kid) { return "signing-key:" + std::string(kid); }

std::int64_t published_until(const StoredKey& row, std::chrono::seconds retire_after) {
  if (!row.retired_at_ms) {
    return std::numeric_limits<std::int64_t>::max();
  }
  return *row.retired_at_ms +
         std::chrono::duration_cast<std::chrono::milliseconds>(retire_after).count();
}

bool has_active(const std::vector<StoredKey>& rows) {
  for (const auto& r : rows) {
    if (r.active) {
      return true;
    }
  }
  return false;
}

// A JWT NumericDate (RFC 7519 §2): a JSON number. nullopt for anything else.
std::optional<double> numeric_date(const json::value& v) {
  if (v.is_int64()) {
    return static_cast<double>(v.get_int64());
  }
  if (v.is_uint64()) {
    return static_cast<double>(v.get_uint64());
  }
  if (v.is_double()) {
    return v.get_double();
  }
  return std::nullopt;
}

}  // namespace

KeyRing::KeyRing(KeyStore& store, const core::Clock& clock, core::Random& random,
                 core::Secret master_key, KeyRingOptions options)
    : store_(store),
      clock_(clock),
      random_(random),
      sealer_(master_key),
      options_(std::move(options)),
      snapshot_(std::make_shared<const Snapshot>(
          Snapshot{.keys = {},
                   .active = nullptr,
                   .staged = nullptr,
                   .staged_from_ms = std::numeric_limits<std::int64_t>::max(),
                   .jwks = std::make_shared<const std::string>(R"({"keys":[]})"),
                   .jwks_valid_until_ms = std::numeric_limits<std::int64_t>::max()})) {}

KeyRing::~KeyRing() = default;

std::shared_ptr<const KeyRing::Snapshot> KeyRing::current() const {
  return snapshot_.load(std::memory_order_acquire);
}

// Fills the JWKS and its validity from the keys published at `now_ms`.
void KeyRing::publish(Snapshot* snap, std::int64_t now_ms) {
  json::array arr;
  std::int64_t valid_until = std::numeric_limits<std::int64_t>::max();
  for (const auto& k : snap->keys) {
    if (now_ms >= k->published_until_ms) {
      continue;
    }
    valid_until = std::min(valid_until, k->published_until_ms);
    arr.emplace_back(crypto::public_jwk(k->public_key, k->kid, k->alg));
  }
  json::object doc;
  doc["keys"] = std::move(arr);
  snap->jwks = std::make_shared<const std::string>(json::serialize(doc));
  snap->jwks_valid_until_ms = valid_until;
}

core::Result<std::shared_ptr<const KeyRing::Snapshot>> KeyRing::build_snapshot(
    const std::vector<StoredKey>& rows, const Snapshot* previous) const {
  const std::int64_t now = clock_.now_ms();
  auto snap = std::make_shared<Snapshot>();
  // Which key signs (rows are newest first): the newest active key once it is activation_delay
  // old; before that the key it replaced (retired by the same rotation), while still published.
  // A key with no predecessor (first start) signs at once.
  const std::int64_t delay_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(options_.activation_delay).count();
  std::string signer_kid;
  std::string staged_kid;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (!rows[i].active || now >= published_until(rows[i], options_.retire_after)) {
      continue;
    }
    signer_kid = rows[i].kid;
    const std::int64_t ready_at = rows[i].created_at_ms + delay_ms;
    if (now < ready_at) {
      for (std::size_t j = 0; j < rows.size(); ++j) {  // any order: created_at may tie
        if (j != i && rows[j].retired_at_ms && *rows[j].retired_at_ms >= rows[i].created_at_ms &&
            now < published_until(rows[j], options_.retire_after)) {
          staged_kid = rows[i].kid;
          signer_kid = rows[j].kid;
          snap->staged_from_ms = ready_at;
          break;
        }
      }
    }
    break;
  }
  for (const auto& row : rows) {
    const std::int64_t until = published_until(row, options_.retire_after);
    if (now >= until) {
      continue;  // past its publication window: pruned
    }
    const bool is_signer = row.kid == signer_kid && !snap->active;
    const bool is_staged = row.kid == staged_kid && !snap->staged;
    const bool signs = is_signer || is_staged;  // needs its private key
    // Reuse what is already loaded (no second decryption) when the row has not changed.
    if (previous != nullptr) {
      std::shared_ptr<const LoadedKey> reuse;
      for (const auto& k : previous->keys) {
        if (k->kid == row.kid && k->active == row.active && k->retired_at_ms == row.retired_at_ms &&
            (!signs || k->private_key.has_value())) {
          reuse = k;
        }
      }
      if (reuse) {
        snap->keys.push_back(reuse);
        if (is_signer) {
          snap->active = reuse;
        } else if (is_staged) {
          snap->staged = reuse;
        }
        continue;
      }
    }
    auto key = std::make_shared<LoadedKey>();
    key->kid = row.kid;
    key->created_at_ms = row.created_at_ms;
    key->active = row.active;
    key->retired_at_ms = row.retired_at_ms;
    key->published_until_ms = until;
    const auto alg = crypto::alg_from_string(row.algorithm);
    if (!alg) {
      return std::unexpected(key_error("signing key " + row.kid + ": unsupported algorithm"));
    }
    key->alg = *alg;
    if (signs) {
      auto pem = sealer_.open(row.private_key_enc, aad_for(row.kid));
      if (!pem) {
        return std::unexpected(key_error("signing key " + row.kid +
                                         ": cannot decrypt private key (wrong master key?)"));
      }
      auto priv = crypto::private_key_from_pem(*pem);
      sodium_memzero(pem->data(), pem->size());
      if (!priv) {
        return std::unexpected(key_error("signing key " + row.kid + ": invalid private key"));
      }
      key->public_key = priv->public_key();
      key->private_key = std::move(*priv);
      json::object header;
      header["alg"] = crypto::to_string(*alg);
      header["kid"] = row.kid;
      header["typ"] = "JWT";
      key->header_prefix = core::base64url_encode(json::serialize(header)) + ".";
    } else {
      auto obj = crypto::parse_strict_object(row.public_jwk);
      if (!obj) {
        return std::unexpected(key_error("signing key " + row.kid + ": malformed public JWK"));
      }
      auto jwk = crypto::parse_jwk(*obj);
      if (!jwk) {
        return std::unexpected(key_error("signing key " + row.kid + ": " + jwk.error().internal));
      }
      key->public_key = std::move(jwk->key);
    }
    // The kid is the RFC 7638 thumbprint: a row whose key does not match its kid was tampered
    // with or corrupted, and must not sign or verify anything.
    if (crypto::jwk_thumbprint(key->public_key) != row.kid ||
        !crypto::key_fits(key->public_key.kind(), *alg)) {
      return std::unexpected(key_error("signing key " + row.kid + ": key does not match kid/alg"));
    }
    snap->keys.push_back(key);
    if (is_signer) {
      snap->active = std::move(key);
    } else if (is_staged) {
      snap->staged = std::move(key);
    }
  }
  publish(snap.get(), now);
  return std::shared_ptr<const Snapshot>(std::move(snap));
}

core::Status KeyRing::install(const std::vector<StoredKey>& rows) const {
  auto snap = build_snapshot(rows, current().get());
  if (!snap) {
    return std::unexpected(std::move(snap.error()));
  }
  snapshot_.store(std::move(*snap), std::memory_order_release);
  return {};
}

core::Result<StoredKey> KeyRing::new_key_row() const {
  const auto alg = crypto::alg_from_string(options_.algorithm);
  if (!alg) {
    return std::unexpected(
        key_error("keys.algorithm: unsupported algorithm " + options_.algorithm));
  }
  auto priv = crypto::generate_key(*alg, options_.rsa_bits);
  if (!priv) {
    return std::unexpected(key_error("keys: cannot generate key: " + priv.error().internal));
  }
  StoredKey row;
  row.kid = crypto::jwk_thumbprint(priv->public_key());
  row.algorithm = std::string(crypto::to_string(*alg));
  row.public_jwk = json::serialize(crypto::public_jwk(priv->public_key(), row.kid, *alg));
  std::string pem = crypto::to_pem(*priv);
  if (pem.empty()) {
    return std::unexpected(key_error("keys: cannot encode private key"));
  }
  row.private_key_enc = sealer_.seal(pem, aad_for(row.kid));
  sodium_memzero(pem.data(), pem.size());
  row.created_at_ms = clock_.now_ms();
  row.active = true;
  return row;
}

core::Status KeyRing::load_or_create() {
  std::vector<StoredKey> rows;
  auto st = store_.read([&](KeyStoreTx& tx) -> core::Status {
    auto listed = tx.list();
    if (!listed) {
      return std::unexpected(std::move(listed.error()));
    }
    rows = std::move(*listed);
    return {};
  });
  if (!st) {
    return st;
  }
  if (!has_active(rows)) {
    // Generate outside the transaction (RSA key generation is slow), then insert only if no
    // other process got there first: the re-check runs inside the write transaction.
    auto fresh = new_key_row();
    if (!fresh) {
      return std::unexpected(std::move(fresh.error()));
    }
    st = store_.transaction([&](KeyStoreTx& tx) -> core::Status {
      auto listed = tx.list();
      if (!listed) {
        return std::unexpected(std::move(listed.error()));
      }
      rows = std::move(*listed);
      if (has_active(rows)) {
        return {};
      }
      if (auto ins = tx.insert(*fresh); !ins) {
        return ins;
      }
      rows.insert(rows.begin(), *fresh);
      return {};
    });
    if (!st) {
      return st;
    }
  }
  return install(rows);
}

core::Result<std::string> KeyRing::rotate() {
  auto fresh = new_key_row();
  if (!fresh) {
    return std::unexpected(std::move(fresh.error()));
  }
  std::vector<StoredKey> rows;
  const std::int64_t now = fresh->created_at_ms;
  auto st = store_.transaction([&](KeyStoreTx& tx) -> core::Status {
    auto listed = tx.list();
    if (!listed) {
      return std::unexpected(std::move(listed.error()));
    }
    rows.clear();
    for (auto& row : *listed) {
      if (row.active) {
        if (auto r = tx.retire(row.kid, now); !r) {
          return r;
        }
        row.active = false;
        row.retired_at_ms = now;
      } else if (now >= published_until(row, options_.retire_after)) {
        if (auto r = tx.remove(row.kid); !r) {
          return r;
        }
        continue;
      }
      rows.push_back(std::move(row));
    }
    if (auto r = tx.insert(*fresh); !r) {
      return r;
    }
    rows.insert(rows.begin(), *fresh);
    return {};
  });
  if (!st) {
    return std::unexpected(std::move(st.error()));
  }
  if (auto in = install(rows); !in) {
    return std::unexpected(std::move(in.error()));
  }
  return fresh->kid;
}

core::Status KeyRing::reload() { return reload_impl(); }

core::Status KeyRing::reload_impl() const {
  std::vector<StoredKey> rows;
  bool expired = false;
  const std::int64_t now = clock_.now_ms();
  auto st = store_.read([&](KeyStoreTx& tx) -> core::Status {
    auto listed = tx.list();
    if (!listed) {
      return std::unexpected(std::move(listed.error()));
    }
    rows = std::move(*listed);
    expired = false;
    for (const auto& row : rows) {
      expired = expired || (!row.active && now >= published_until(row, options_.retire_after));
    }
    return {};
  });
  if (!st) {
    return st;
  }
  if (expired) {
    // Rare (once per rotation): delete rows past their publication window.
    st = store_.transaction([&](KeyStoreTx& tx) -> core::Status {
      auto listed = tx.list();
      if (!listed) {
        return std::unexpected(std::move(listed.error()));
      }
      rows.clear();
      for (auto& row : *listed) {
        if (!row.active && now >= published_until(row, options_.retire_after)) {
          if (auto r = tx.remove(row.kid); !r) {
            return r;
          }
          continue;
        }
        rows.push_back(std::move(row));
      }
      return {};
    });
    if (!st) {
      return st;
    }
  }
  last_reload_ms_.store(now, std::memory_order_relaxed);
  return install(rows);
}

void KeyRing::reload_for_unknown_kid() const {
  const std::int64_t now = clock_.now_ms();
  std::int64_t last = last_reload_ms_.load(std::memory_order_relaxed);
  if (now - last < kReloadCooldownMs && now >= last) {
    return;
  }
  // Only one thread wins the slot; the others keep using the current snapshot.
  if (!last_reload_ms_.compare_exchange_strong(last, now, std::memory_order_relaxed)) {
    return;
  }
  // A failed reload keeps the current snapshot; the token is then refused as unknown_kid.
  (void)reload_impl();
}

std::shared_ptr<const std::string> KeyRing::jwks() const {
  auto snap = current();
  const std::int64_t now = clock_.now_ms();
  if (now < snap->jwks_valid_until_ms) {
    return snap->jwks;
  }
  // A retired key's window ended: republish without it (no store access needed).
  auto next = std::make_shared<Snapshot>(*snap);
  std::erase_if(next->keys, [&](const auto& k) { return now >= k->published_until_ms; });
  publish(next.get(), now);
  std::shared_ptr<const Snapshot> fresh = next;
  snapshot_.compare_exchange_strong(snap, fresh, std::memory_order_acq_rel);
  return fresh->jwks;
}

std::string KeyRing::jwks_json() const { return *jwks(); }

core::Result<std::string> KeyRing::sign_jwt(const json::object& claims) const {
  const auto snap = current();
  const LoadedKey* key = snap->signer(clock_.now_ms());
  if (key == nullptr || !key->private_key) {
    return std::unexpected(key_error("no active signing key (load_or_create not called?)"));
  }
  const std::string payload = json::serialize(claims);
  std::string out;
  out.reserve(key->header_prefix.size() + (payload.size() * 4 + 2) / 3 + 1 + 700);
  out += key->header_prefix;
  out += core::base64url_encode(payload);
  auto sig = crypto::sign(*key->private_key, key->alg, out);
  if (!sig) {
    return std::unexpected(std::move(sig.error()));
  }
  out.push_back('.');
  out += core::base64url_encode(*sig);
  return out;
}

core::Result<json::object> KeyRing::verify_jwt(std::string_view jwt, std::int64_t leeway_s) const {
  auto jws = crypto::decode_jws(jwt);
  if (!jws) {
    return std::unexpected(std::move(jws.error()));
  }
  const auto* typ = jws->header.if_contains("typ");
  if (typ == nullptr || !typ->is_string() || typ->get_string() != "JWT") {
    return std::unexpected(invalid_token("typ"));
  }
  if (!jws->kid) {
    return std::unexpected(invalid_token("kid_missing"));
  }
  auto snap = current();
  const LoadedKey* key = snap->find(*jws->kid, clock_.now_ms());
  if (key == nullptr) {
    reload_for_unknown_kid();
    snap = current();
    key = snap->find(*jws->kid, clock_.now_ms());
    if (key == nullptr) {
      return std::unexpected(invalid_token("unknown_kid"));
    }
  }
  // The key's algorithm, never the token's choice (RFC 8725 §3.1).
  if (jws->alg != key->alg) {
    return std::unexpected(invalid_token("alg_mismatch"));
  }
  if (!crypto::verify_signature(key->public_key, key->alg, jws->signing_input, jws->signature)) {
    return std::unexpected(invalid_token("signature"));
  }
  auto claims = crypto::parse_strict_object(jws->payload);
  if (!claims) {
    return std::unexpected(invalid_token("malformed_claims"));
  }
  // RFC 7519 §4.1.4/4.1.5: exp and nbf with a small leeway for clock skew.
  const double now = static_cast<double>(clock_.now_s());
  const double leeway = static_cast<double>(leeway_s);
  const auto* exp_v = claims->if_contains("exp");
  const auto exp = exp_v != nullptr ? numeric_date(*exp_v) : std::nullopt;
  if (!exp) {
    return std::unexpected(invalid_token("exp_missing"));
  }
  if (now >= *exp + leeway) {
    return std::unexpected(invalid_token("expired"));
  }
  if (const auto* nbf_v = claims->if_contains("nbf")) {
    const auto nbf = numeric_date(*nbf_v);
    if (!nbf || now + leeway < *nbf) {
      return std::unexpected(invalid_token("not_yet_valid"));
    }
  }
  if (const auto* iat_v = claims->if_contains("iat")) {
    const auto iat = numeric_date(*iat_v);
    if (!iat || *iat > now + leeway) {
      return std::unexpected(invalid_token("issued_in_future"));
    }
  }
  return std::move(*claims);
}

std::vector<KeyInfo> KeyRing::list() const {
  const auto snap = current();
  const LoadedKey* signer = snap->signer(clock_.now_ms());
  std::vector<KeyInfo> out;
  out.reserve(snap->keys.size());
  for (const auto& k : snap->keys) {
    out.push_back(KeyInfo{.kid = k->kid,
                          .alg = std::string(crypto::to_string(k->alg)),
                          .created_at_ms = k->created_at_ms,
                          .active = k->active,
                          .signing = k.get() == signer,
                          .retired_at_ms = k->retired_at_ms});
  }
  return out;
}

std::string KeyRing::active_kid() const {
  const auto snap = current();
  const LoadedKey* signer = snap->signer(clock_.now_ms());
  return signer != nullptr ? signer->kid : std::string();
}

}  // namespace latchkey::tokens
