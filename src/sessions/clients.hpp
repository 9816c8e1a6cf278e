#pragma once
// The browser's client and its credential: the random token in the __client cookie, of which only
// a hash is stored. The credential rotates whenever who is signed in changes (session fixation,
// OWASP ASVS 7.2.4; docs/security.md "Client credential"); the replaced value is remembered for a
// short grace so a request that raced the rotation is refused rather than given a new client.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "core/random.hpp"
#include "store/store.hpp"

namespace latchkey::sessions {

// Who is asking: the __client cookie token (if any) and the request's origin after the CORS
// allowlist (empty when absent or not allowed).
struct Caller {
  std::optional<std::string> client_token;
  std::string origin{};
  // More than one client cookie came with the request (a planted Domain= or Path= variant beside
  // ours): it is never resolved by order, so the caller has no client (docs/security.md).
  bool ambiguous_client_cookie = false;
  // The peer's address as the server sees it (for sending limits and audit); "" when unknown.
  std::string remote_ip{};
};

struct ClientSettings {
  std::chrono::milliseconds client_lifetime{std::chrono::hours(24 * 90)};
  // How long a rotated-out credential is still recognised as a stale copy.
  std::chrono::milliseconds rotation_grace{std::chrono::seconds(60)};
};

class Clients {
 public:
  Clients(ClientSettings settings, core::Random& random);

  // Hex SHA-256 of a cookie token: what the store and the rate limiter hold.
  [[nodiscard]] static std::string hash_token(std::string_view token);

  // The caller's live client; nullopt when the cookie is absent, ambiguous, unknown or expired.
  // A stale copy of a rotated credential (within the grace) fails with 401
  // authentication_invalid, internal reason "stale_client_credential": it reveals nothing, and
  // the request must not create a client either (its Set-Cookie would overwrite the browser's
  // new credential).
  core::Result<std::optional<store::Client>> find(store::Tx& tx, const Caller& caller,
                                                  std::int64_t now) const;
  // As find, but no client is 404 client_not_found.
  core::Result<store::Client> require(store::Tx& tx, const Caller& caller, std::int64_t now) const;
  // As find, but creates (and inserts) an anonymous client when there is none; its cookie value
  // goes to `issued`.
  core::Result<store::Client> find_or_create(store::Tx& tx, const Caller& caller, std::int64_t now,
                                             std::optional<std::string>& issued);
  // A new credential for `client` (the caller writes the client): the old one stops working at
  // once and is remembered as stale for the grace. Returns the cookie value.
  std::string rotate(store::Client& client, std::int64_t now);

  [[nodiscard]] const ClientSettings& settings() const { return settings_; }

 private:
  ClientSettings settings_;
  core::Random& random_;
};

// Whether an error is the refusal of a stale credential (see Clients::find).
[[nodiscard]] bool is_stale_credential(const core::Error& e);

}  // namespace latchkey::sessions
