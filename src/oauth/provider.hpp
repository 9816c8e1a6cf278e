#pragma once
// The provider catalog (design.md §2 "oauth/"): what differs between identity providers is data
// (endpoints, scopes, issuer rules, quirks), not code paths. Built once at start-up from
// ProviderSettings (which app/ fills from the configuration); immutable afterwards.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/secret.hpp"

namespace latchkey::oauth {

enum class ProviderKind {
  kOidc,    // OpenID Connect: discovery, ID token, optional userinfo
  kGithub,  // plain OAuth 2.0: profile from the REST API
};

enum class TokenAuthMethod { kClientSecretPost, kClientSecretBasic };

struct Provider {
  std::string strategy;  // "oauth_google", "oauth_custom_acme"
  std::string provider;  // the FAPI provider name: "google", "github", "microsoft", "custom_acme"
  std::string name;      // display name
  ProviderKind kind = ProviderKind::kOidc;
  std::string client_id;
  core::Secret client_secret;
  TokenAuthMethod token_auth = TokenAuthMethod::kClientSecretPost;
  std::vector<std::string> scopes;

  // OIDC. `issuer` is where discovery is fetched (<issuer>/.well-known/openid-configuration) and,
  // unless `issuer_template` is set, the exact `iss` expected in discovery and ID tokens
  // (OIDC Discovery §4.3, OIDC Core 3.1.3.7 step 2: byte-equal, no normalisation).
  std::string issuer;
  // Multi-tenant issuers (Microsoft /common, /organizations, /consumers): discovery's `issuer`
  // equals this template verbatim, and an ID token's `iss` must equal it with "{tenantid}" replaced
  // by the token's own `tid` claim (security catalog A34).
  std::string issuer_template;
  // Additional exact `iss` values the provider is documented to emit (Google:
  // "accounts.google.com").
  std::vector<std::string> alternate_issuers;
  bool use_discovery = true;

  // Static endpoints: GitHub's, or overrides of discovered ones (empty = from discovery).
  std::string authorization_endpoint;
  std::string token_endpoint;
  std::string userinfo_endpoint;
  std::string jwks_uri;
  std::string api_base;  // GitHub REST API base

  // Whether the provider's `email_verified` claim can be trusted for account linking. False for
  // Microsoft Entra multi-tenant: any tenant admin can set a user's `email` (nOAuth, catalog D6).
  bool trust_email_verified = true;
};

inline constexpr std::string_view kTenantPlaceholder = "{tenantid}";

// One configured provider, as the operator wrote it (app/ copies it from a [[providers]] entry;
// docs/configuration.md). Empty fields keep the provider's defaults.
struct ProviderSettings {
  std::string strategy;  // oauth_google, oauth_github, oauth_microsoft, oauth_custom_<name>
  std::string name;      // display name
  std::string client_id;
  core::Secret client_secret;
  std::string issuer;               // OIDC issuer (custom; microsoft tenant issuer override)
  std::vector<std::string> scopes;  // empty = provider default
  // Endpoint overrides (tests point Google/GitHub-shaped providers at a local IdP).
  std::string authorization_endpoint;
  std::string token_endpoint;
  std::string userinfo_endpoint;
  std::string jwks_uri;
  std::string api_base;                                  // GitHub API base
  std::string token_auth_method = "client_secret_post";  // or client_secret_basic
};

// Builds a catalog entry from its settings. Fails (start-up error naming the strategy) for an
// unknown strategy, a missing client_id, a custom provider without issuer, or an endpoint that is
// not absolute https (plain http is allowed only for loopback hosts: tests and local demos).
core::Result<Provider> make_provider(const ProviderSettings& cfg);

// https://host/..., or http://127.0.0.1|localhost|[::1]/...; no userinfo, no fragment.
bool is_acceptable_endpoint(std::string_view url);

}  // namespace latchkey::oauth
