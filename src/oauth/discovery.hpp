#pragma once
// OpenID Provider metadata (OIDC Discovery 1.0) and JWKS, fetched over HTTP and cached
// (see fetch_cache.hpp for the freshness, coalescing and rate-limit rules).
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "crypto/jwk.hpp"
#include "net/http_client.hpp"
#include "oauth/fetch_cache.hpp"

namespace latchkey::oauth {

// Outbound HTTP is net/'s; oauth speaks it through these names.
using net::form_encode;
using net::form_urlencode;
using net::HttpClient;
using net::HttpRequest;
using net::HttpResponse;
using net::make_curl_http_client;

struct ProviderMetadata {
  std::string issuer;
  std::string authorization_endpoint;
  std::string token_endpoint;
  std::string userinfo_endpoint;  // may be empty
  std::string jwks_uri;
  // ID token algorithms we accept from this provider: the intersection of the advertised
  // id_token_signing_alg_values_supported with what we implement (never none or HS*);
  // RS256 when nothing usable is advertised (OIDC Discovery §3: RS256 MUST be supported).
  std::vector<crypto::Alg> id_token_algs;
  // RFC 9207 §3: when true, an authorization response without `iss` must be rejected.
  bool iss_parameter_supported = false;
};

using JwkSet = std::vector<crypto::Jwk>;

// Deadline and size cap for every outbound call (design.md §3.12).
struct OutboundLimits {
  std::chrono::milliseconds timeout{10'000};
  std::chrono::milliseconds connect_timeout{5'000};
  std::size_t max_response_bytes = 1024 * 1024;
};

// One budget for every outbound call of one operation: a callback's discovery, token, JWKS and
// userinfo calls together (oauth.callback_deadline). Each call gets min(its own timeout, what
// remains). On the steady clock: a step of the wall clock neither shortens nor stretches it.
struct Deadline {
  using Clock = std::chrono::steady_clock;
  Clock::time_point at = Clock::time_point::max();  // max = none

  [[nodiscard]] static Deadline after(std::chrono::milliseconds d) { return {Clock::now() + d}; }
  // What is left, 0 once passed; `cap` when there is no deadline or more than `cap` is left.
  [[nodiscard]] std::chrono::milliseconds remaining(std::chrono::milliseconds cap) const;
};

// Clips `req`'s timeouts to what remains of `deadline`. Fails (kOAuthProviderUnavailable,
// Reason::kDeadline, naming `step`) when nothing remains: the call is not made.
core::Status clip_to_deadline(HttpRequest& req, const Deadline& deadline, std::string_view step);

// Parses and validates a discovery document. `expected_issuer` must equal the document's `issuer`
// byte for byte (OIDC Discovery §4.3); endpoints must be absolute https (loopback http allowed).
core::Result<ProviderMetadata> parse_discovery(std::string_view json,
                                               std::string_view expected_issuer);

// "<issuer>/.well-known/openid-configuration", a trailing '/' of the issuer removed first
// (OIDC Discovery §4).
std::string discovery_url(std::string_view issuer);

class MetadataCache {
 public:
  MetadataCache(HttpClient& http, const core::Clock& clock, OutboundLimits limits,
                FetchCacheOptions discovery_options = {},
                FetchCacheOptions jwks_options = {std::chrono::seconds(3600),
                                                  std::chrono::seconds(10),
                                                  std::chrono::seconds(30)});

  // Discovery for the issuer at `issuer`; the document's `issuer` must equal `expected_issuer`
  // (the same string, except for multi-tenant templates). A failed refresh keeps the last good
  // document (catalog A27/H12).
  core::Result<std::shared_ptr<const ProviderMetadata>> discover(const std::string& issuer,
                                                                 const std::string& expected_issuer,
                                                                 const Deadline& deadline = {});

  // The key set at `uri`. `force_refresh` (unknown kid) refetches at most once per cooldown.
  core::Result<std::shared_ptr<const JwkSet>> jwks(const std::string& uri, bool force_refresh,
                                                   const Deadline& deadline = {});

  [[nodiscard]] std::uint64_t jwks_fetch_count(const std::string& uri) const {
    return jwks_.fetch_count(uri);
  }

 private:
  core::Result<HttpResponse> get_json(const std::string& url, const Deadline& deadline,
                                      std::string_view step);

  HttpClient& http_;
  OutboundLimits limits_;
  FetchCache<ProviderMetadata> discovery_;
  FetchCache<JwkSet> jwks_;
};

}  // namespace latchkey::oauth
