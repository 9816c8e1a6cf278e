#pragma once
// The OAuth 2.0 / OIDC relying party (design.md §4, RFC 9700): builds authorization requests
// (state, PKCE S256, nonce) and completes callbacks (RFC 9207 iss check, code exchange, ID token
// validation, userinfo / GitHub profile) into an ExternalIdentity. HTTP-free towards our own
// clients; outbound HTTP, time and randomness are injected (design.md §3.6).
//
// The pending authorization (state, PKCE verifier, nonce, redirect_uri) is oauth/'s own: begin()
// seals it into one opaque value, and complete() opens it again. Storing that value next to the
// single-use `state` and making `state` single-use are the caller's job (flows/ + store/); this
// service is stateless apart from caches.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/random.hpp"
#include "core/secret.hpp"
#include "crypto/sealer.hpp"
#include "net/http_client.hpp"
#include "oauth/discovery.hpp"
#include "oauth/provider.hpp"

namespace latchkey::oauth {

namespace detail {
struct PendingFields;
}  // namespace detail

// What begin() keeps for complete(): the state, the PKCE verifier, the nonce and the redirect_uri,
// sealed as one value (crypto::Sealer, bound to the strategy). Opaque to everyone but oauth/: the
// caller stores sealed() as-is with the single-use state and hands it back to complete().
class PendingAuthorization {
 public:
  PendingAuthorization() = default;
  // A value read back from storage (what sealed() gave).
  explicit PendingAuthorization(std::string sealed) : sealed_(std::move(sealed)) {}

  // Text-safe, for any column type.
  [[nodiscard]] const std::string& sealed() const { return sealed_; }

 private:
  std::string sealed_;
};

struct AuthorizationRequest {
  std::string authorization_url;  // where to send the browser
  core::Secret state;             // 32 random bytes, base64url (also in authorization_url)
  PendingAuthorization pending;   // everything else complete() needs, sealed
};

// What the provider sent to our redirect URI (query parameters).
struct CallbackParams {
  std::string code;
  std::string error;
  std::string error_description;
  std::optional<std::string> iss;  // RFC 9207
};

struct ExternalIdentity {
  std::string strategy;          // "oauth_google"
  std::string provider;          // "google"
  std::string issuer;            // verified iss (OIDC); "" for GitHub
  std::string provider_user_id;  // OIDC sub / GitHub numeric id; with issuer, the stable key
  std::string email;
  bool email_verified = false;  // only a boolean true or the string "true" from a trusted provider
  std::string first_name;
  std::string last_name;
  std::string name;
  std::string image_url;
  std::string username;
  std::string approved_scopes;  // space-separated
  core::Secret access_token;
  core::Secret refresh_token;
  core::Secret id_token;
};

struct ServiceOptions {
  OutboundLimits limits;
  std::chrono::seconds id_token_leeway{60};
  std::chrono::seconds id_token_max_age{3600};
  FetchCacheOptions discovery_cache{};
  FetchCacheOptions jwks_cache{std::chrono::seconds(3600), std::chrono::seconds(10),
                               std::chrono::seconds(30)};
  // The bulkhead per provider: at most this many begin()/complete() calls for one provider at
  // once; one more is refused at once (kOAuthProviderUnavailable, Reason::kProviderBusy).
  std::size_t max_concurrent_per_provider = 16;
  // One deadline for all the outbound calls of one complete() (discovery, token, JWKS, userinfo,
  // GitHub's API) and of one begin() (discovery).
  std::chrono::milliseconds deadline{10'000};
};

// What the application configures (app/ fills it from the configuration).
struct Settings {
  std::vector<ProviderSettings> providers;  // in configuration order
  // Each outbound request (discovery, JWKS, token, userinfo) as a whole; connecting gets at most
  // 5 s of it.
  std::chrono::milliseconds outbound_timeout{10'000};
  std::size_t outbound_max_bytes = 1024 * 1024;         // per response body
  std::size_t max_concurrent_per_provider = 16;         // ServiceOptions
  std::chrono::milliseconds callback_deadline{10'000};  // ServiceOptions::deadline
};

class Service {
 public:
  // Builds the catalog; fails with the offending strategy named for invalid provider settings or
  // a strategy listed twice.
  // `sealer` seals the pending authorizations; it must outlive the service.
  static core::Result<std::unique_ptr<Service>> create(const Settings& settings, HttpClient& http,
                                                       const crypto::Sealer& sealer,
                                                       const core::Clock& clock,
                                                       core::Random& random);
  static core::Result<std::unique_ptr<Service>> create(std::vector<Provider> providers,
                                                       ServiceOptions options, HttpClient& http,
                                                       const crypto::Sealer& sealer,
                                                       const core::Clock& clock,
                                                       core::Random& random);

  // "oauth_google", ... in configuration order (for the environment endpoint).
  [[nodiscard]] std::vector<std::string> enabled_strategies() const;
  [[nodiscard]] const Provider* find(std::string_view strategy) const;

  // Starts an authorization code + PKCE request. `redirect_uri` is used verbatim; it is kept in
  // the pending authorization and sent again when completing.
  // `login_hint` (optional) is passed to the provider (OIDC Core 3.1.2.1).
  core::Result<AuthorizationRequest> begin(std::string_view strategy, std::string_view redirect_uri,
                                           std::string_view login_hint = {});

  // Finishes the flow begun for `strategy` with the `state` the callback presented, given back
  // the pending authorization begin() made for it. The pending value must open for `strategy`
  // (kInternal otherwise: another master key or a tampered row, not the provider's answer) and
  // hold this `state`. Nothing is sent to the provider after a front-channel error or an issuer
  // mismatch; no claim is used before the ID token is fully validated (nonce included).
  core::Result<ExternalIdentity> complete(std::string_view strategy, const CallbackParams& params,
                                          std::string_view state,
                                          const PendingAuthorization& pending);

  // Failures by reason since start ("id_token.nonce", "token_exchange", "access_denied", ...):
  // design.md §3.13, every failure branch is counted; the metrics endpoint reads this.
  [[nodiscard]] std::map<std::string, std::uint64_t> failure_counts() const;

  // Provider metadata (discovery merged with configured overrides).
  core::Result<ProviderMetadata> metadata(const Provider& provider, const Deadline& deadline = {});

  // begin()/complete() calls for `strategy` in progress right now (the bulkhead's count).
  [[nodiscard]] std::size_t in_flight(std::string_view strategy) const;

 private:
  Service(std::vector<Provider> providers, ServiceOptions options, HttpClient& http,
          const crypto::Sealer& sealer, const core::Clock& clock, core::Random& random);

  // service.cpp: the checks that need no network, then the provider kind's completion.
  core::Result<ExternalIdentity> complete_unmetered(std::string_view strategy,
                                                    const CallbackParams& params,
                                                    std::string_view state,
                                                    const detail::PendingFields& pending,
                                                    const Deadline& deadline);
  // One of the provider's max_concurrent_per_provider slots, held for a begin() or complete().
  class Slot;
  core::Result<Slot> take_slot(const Provider& p);
  void count_failure(const core::Error& error);
  // redeem.cpp: the code exchange and what the provider says about the user.
  core::Result<ExternalIdentity> complete_oidc(const Provider& p, const ProviderMetadata& meta,
                                               const CallbackParams& params,
                                               const detail::PendingFields& pending,
                                               const Deadline& deadline);
  core::Result<ExternalIdentity> complete_github(const Provider& p, const CallbackParams& params,
                                                 const detail::PendingFields& pending,
                                                 const Deadline& deadline);
  struct TokenResponse;
  core::Result<TokenResponse> exchange_code(const Provider& p, const std::string& token_endpoint,
                                            const CallbackParams& params,
                                            const detail::PendingFields& pending,
                                            bool require_id_token, const Deadline& deadline);
  // A request with the outbound limits, its timeouts clipped to `deadline` (fails when it has
  // passed: `step` names the call in the error).
  core::Result<HttpRequest> base_request(std::string method, std::string url,
                                         const Deadline& deadline, std::string_view step) const;

  std::vector<Provider> providers_;
  ServiceOptions options_;
  HttpClient& http_;
  const crypto::Sealer& sealer_;
  const core::Clock& clock_;
  core::Random& random_;
  MetadataCache cache_;
  std::unique_ptr<std::atomic<std::size_t>[]> in_flight_;  // by index in providers_
  mutable std::mutex failures_mu_;
  std::map<std::string, std::uint64_t> failures_;
};

// RFC 7636 §4.2: BASE64URL(SHA256(ASCII(code_verifier))).
std::string pkce_challenge(std::string_view code_verifier);

// RFC 6749 §2.3.1: "Basic " + base64(form_urlencode(client_id) ":" form_urlencode(secret)).
std::string basic_authorization(std::string_view client_id, std::string_view client_secret);

}  // namespace latchkey::oauth
