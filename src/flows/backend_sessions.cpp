// The Backend API's sessions, clients and the instance's secret keys (flows/backend.hpp).
#include <algorithm>
#include <utility>

#include "flows/backend.hpp"

namespace latchkey::flows {
namespace {

using core::Code;
using core::Error;
using core::fail;
using core::Result;
using core::Status;

// Only the whole key, prefix included, is hashed; a key is ~54 random base62 characters.
constexpr std::string_view kSecretKeyPrefix = "sk_live_";
constexpr std::size_t kMaxKeyLength = 256;

Result<store::Session> require_session(store::Tx& tx, const std::string& id) {
  auto s = tx.get_session(id);
  if (!s) {
    return fail(std::move(s.error()));
  }
  if (!*s) {
    return fail(Error(Code::kSessionNotFound));
  }
  return std::move(**s);
}

// A live session past its expiry reads as expired, as the Frontend API treats it.
void show_expiry(store::Session& s, std::int64_t now) {
  if ((s.status == "active" || s.status == "pending") && !sessions::is_live(s, now)) {
    s.status = "expired";
  }
}

Result<BackendClient> client_view(store::Tx& tx, store::Client client, std::int64_t now) {
  auto rows = tx.list_sessions_by_client(client.id);
  if (!rows) {
    return fail(std::move(rows.error()));
  }
  for (auto& s : *rows) {
    show_expiry(s, now);
  }
  return BackendClient{std::move(client), std::move(*rows)};
}

}  // namespace

// ---- secret keys ----------------------------------------------------------------------------

Result<NewSecretKey> SecretKeys::create() {
  // Two ids' worth of base62 (~320 bits): "sk_live_" + 54 characters.
  std::string key = d_.random.id("sk_live");
  key += d_.random.id("k").substr(2);
  NewSecretKey out;
  out.row.id = d_.random.id("skey");
  out.row.key_hash = sessions::Clients::hash_token(key);
  out.row.hint = key.substr(key.size() - 4);
  out.row.created_at_ms = d_.clock.now_ms();
  auto st = d_.store.transaction([&](store::Tx& tx) { return tx.insert_secret_key(out.row); });
  if (!st) {
    return fail(std::move(st.error()));
  }
  out.key = core::Secret(std::move(key));
  return out;
}

Result<std::vector<store::SecretKey>> SecretKeys::list() {
  std::vector<store::SecretKey> out;
  auto st = d_.store.read([&](store::Tx& tx) -> Status {
    auto rows = tx.list_secret_keys();
    if (!rows) {
      return fail(std::move(rows.error()));
    }
    out = std::move(*rows);
    return {};
  });
  if (!st) {
    return fail(std::move(st.error()));
  }
  return out;
}

Status SecretKeys::revoke(const std::string& id) {
  return d_.store.transaction(
      [&](store::Tx& tx) { return tx.revoke_secret_key(id, d_.clock.now_ms()); });
}

Result<bool> SecretKeys::verify(std::string_view bearer) {
  if (!bearer.starts_with(kSecretKeyPrefix) || bearer.size() > kMaxKeyLength) {
    return false;
  }
  const std::string hash = sessions::Clients::hash_token(bearer);
  bool valid = false;
  auto st = d_.store.read([&](store::Tx& tx) -> Status {
    auto row = tx.find_secret_key_by_hash(hash);
    if (!row) {
      return fail(std::move(row.error()));
    }
    // The lookup is by the hash of a high-entropy key, so its timing tells nothing useful.
    valid = *row && !(*row)->revoked_at_ms;
    return {};
  });
  if (!st) {
    return fail(std::move(st.error()));
  }
  return valid;
}

// ---- sessions -------------------------------------------------------------------------------

Result<SessionPage> BackendSessions::list(const SessionQuery& q) {
  if (q.user_id.empty() && q.client_id.empty()) {
    return fail(Error(Code::kFormParamMissing).with_meta("param_name", "user_id"));
  }
  SessionPage out;
  auto st = d_.store.read([&](store::Tx& tx) -> Status {
    auto rows = q.user_id.empty() ? tx.list_sessions_by_client(q.client_id)
                                  : tx.list_sessions_by_user(q.user_id);
    if (!rows) {
      return fail(std::move(rows.error()));
    }
    const std::int64_t now = d_.clock.now_ms();
    std::vector<store::Session> kept;
    for (auto& s : *rows) {
      if (!q.client_id.empty() && s.client_id != q.client_id) {
        continue;
      }
      show_expiry(s, now);
      if (!q.status.empty() && s.status != q.status) {
        continue;
      }
      kept.push_back(std::move(s));
    }
    std::reverse(kept.begin(), kept.end());  // newest first
    out.total_count = static_cast<std::int64_t>(kept.size());
    const auto begin = std::min<std::size_t>(kept.size(), static_cast<std::size_t>(q.offset));
    const auto end = std::min<std::size_t>(kept.size(), begin + static_cast<std::size_t>(q.limit));
    out.sessions.assign(std::make_move_iterator(kept.begin() + static_cast<std::ptrdiff_t>(begin)),
                        std::make_move_iterator(kept.begin() + static_cast<std::ptrdiff_t>(end)));
    return {};
  });
  if (!st) {
    return fail(std::move(st.error()));
  }
  return out;
}

Result<store::Session> BackendSessions::get(const std::string& id) {
  store::Session out;
  auto st = d_.store.read([&](store::Tx& tx) -> Status {
    auto s = require_session(tx, id);
    if (!s) {
      return fail(std::move(s.error()));
    }
    out = std::move(*s);
    return {};
  });
  if (!st) {
    return fail(std::move(st.error()));
  }
  show_expiry(out, d_.clock.now_ms());
  return out;
}

Result<store::Session> BackendSessions::revoke(const std::string& id) {
  store::Session out;
  auto st = d_.store.transaction([&](store::Tx& tx) -> Status {
    auto s = d_.sessions.revoke(tx, id, d_.clock.now_ms());
    if (!s) {
      return fail(std::move(s.error()));
    }
    out = std::move(*s);
    return {};
  });
  if (!st) {
    return fail(std::move(st.error()));
  }
  return out;
}

Result<std::string> BackendSessions::token(const std::string& id) {
  auto s = get(id);
  if (!s) {
    return fail(std::move(s.error()));
  }
  if (!sessions::is_live(*s, d_.clock.now_ms())) {
    return fail(Error(Code::kSessionEnded));
  }
  return d_.sessions.token(*s, d_.settings.public_origin);
}

// ---- clients --------------------------------------------------------------------------------

Result<ClientPage> BackendClients::list(std::int64_t limit, std::int64_t offset) {
  ClientPage out;
  const std::int64_t now = d_.clock.now_ms();
  auto st = d_.store.read([&](store::Tx& tx) -> Status {
    auto total = tx.count_clients();
    if (!total) {
      return fail(std::move(total.error()));
    }
    auto rows = tx.list_clients(limit, offset);
    if (!rows) {
      return fail(std::move(rows.error()));
    }
    out.total_count = *total;
    out.clients.clear();  // a retried read starts again
    for (auto& c : *rows) {
      auto v = client_view(tx, std::move(c), now);
      if (!v) {
        return fail(std::move(v.error()));
      }
      out.clients.push_back(std::move(*v));
    }
    return {};
  });
  if (!st) {
    return fail(std::move(st.error()));
  }
  return out;
}

Result<BackendClient> BackendClients::get(const std::string& id) {
  BackendClient out;
  auto st = d_.store.read([&](store::Tx& tx) -> Status {
    auto c = tx.get_client(id);
    if (!c) {
      return fail(std::move(c.error()));
    }
    if (!*c) {
      return fail(Error(Code::kClientNotFound));
    }
    auto v = client_view(tx, std::move(**c), d_.clock.now_ms());
    if (!v) {
      return fail(std::move(v.error()));
    }
    out = std::move(*v);
    return {};
  });
  if (!st) {
    return fail(std::move(st.error()));
  }
  return out;
}

Result<BackendClient> BackendClients::verify(std::string_view token) {
  if (token.empty() || token.size() > kMaxKeyLength) {
    return fail(Error(Code::kClientNotFound));
  }
  const std::string hash = sessions::Clients::hash_token(token);
  BackendClient out;
  auto st = d_.store.read([&](store::Tx& tx) -> Status {
    auto c = tx.find_client_by_cookie_hash(hash);
    if (!c) {
      return fail(std::move(c.error()));
    }
    const std::int64_t now = d_.clock.now_ms();
    if (!*c || (*c)->expire_at_ms <= now) {
      return fail(Error(Code::kClientNotFound));
    }
    auto v = client_view(tx, std::move(**c), now);
    if (!v) {
      return fail(std::move(v.error()));
    }
    out = std::move(*v);
    return {};
  });
  if (!st) {
    return fail(std::move(st.error()));
  }
  return out;
}

}  // namespace latchkey::flows
