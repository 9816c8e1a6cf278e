#include "sessions/clients.hpp"

#include "crypto/jws.hpp"

namespace latchkey::sessions {
namespace {

using core::Code;
using core::Error;
using core::fail;

constexpr std::string_view kStaleReason = "reason=stale_client_credential";

std::string to_hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xF]);
  }
  return out;
}

}  // namespace

bool is_stale_credential(const core::Error& e) {
  return e.code == Code::kAuthenticationInvalid && e.reason == core::Reason::kStaleClientCredential;
}

Clients::Clients(ClientSettings settings, core::Random& random)
    : settings_(settings), random_(random) {}

std::string Clients::hash_token(std::string_view token) { return to_hex(crypto::sha256(token)); }

core::Result<std::optional<store::Client>> Clients::find(store::Tx& tx, const Caller& caller,
                                                         std::int64_t now) const {
  if (caller.ambiguous_client_cookie || !caller.client_token || caller.client_token->empty() ||
      caller.client_token->size() > 256) {
    return std::optional<store::Client>();
  }
  const std::string hash = hash_token(*caller.client_token);
  auto c = tx.find_client_by_cookie_hash(hash);
  if (!c) {
    return fail(std::move(c.error()));
  }
  if (*c) {
    if ((*c)->expire_at_ms <= now) {
      return std::optional<store::Client>();
    }
    return std::move(*c);
  }
  // A credential this client had before its last rotation. It reveals nothing and mints nothing,
  // and the request must not create a client either: its Set-Cookie would overwrite the new
  // credential of a browser whose request merely raced the rotation. The SDK answers a 401 by
  // re-reading the client with the cookie it has now (Clerk.handleUnauthenticated), which keeps
  // the user signed in.
  auto stale = tx.find_client_by_previous_cookie_hash(hash);
  if (!stale) {
    return fail(std::move(stale.error()));
  }
  if (*stale && (*stale)->previous_cookie_valid_until_ms > now && (*stale)->expire_at_ms > now) {
    return fail(Error(Code::kAuthenticationInvalid, "Client credential replaced",
                      "This browser's client credential was replaced by a newer one. Retry the "
                      "request.")
                    .with_reason(core::Reason::kStaleClientCredential)
                    .with_internal(std::string(kStaleReason) + ": rotated-out __client value"));
  }
  return std::optional<store::Client>();
}

core::Result<store::Client> Clients::require(store::Tx& tx, const Caller& caller,
                                             std::int64_t now) const {
  auto c = find(tx, caller, now);
  if (!c) {
    return fail(std::move(c.error()));
  }
  if (!*c) {
    return fail(Error(Code::kClientNotFound));
  }
  return std::move(**c);
}

core::Result<store::Client> Clients::find_or_create(store::Tx& tx, const Caller& caller,
                                                    std::int64_t now,
                                                    std::optional<std::string>& issued) {
  auto found = find(tx, caller, now);
  if (!found) {
    return fail(std::move(found.error()));
  }
  if (*found) {
    return std::move(**found);
  }
  store::Client client;
  client.id = random_.id("client");
  std::string token = random_.token(32);
  client.cookie_token_hash = hash_token(token);
  client.expire_at_ms = now + settings_.client_lifetime.count();
  client.created_at_ms = now;
  client.updated_at_ms = now;
  if (auto st = tx.insert_client(client); !st) {
    return fail(std::move(st.error()));
  }
  issued = std::move(token);
  return client;
}

std::string Clients::rotate(store::Client& client, std::int64_t now) {
  std::string token = random_.token(32);
  client.previous_cookie_token_hash = std::move(client.cookie_token_hash);
  client.previous_cookie_valid_until_ms = now + settings_.rotation_grace.count();
  client.cookie_token_hash = hash_token(token);
  client.updated_at_ms = now;
  return token;
}

}  // namespace latchkey::sessions
