#include "oauth/provider.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <string>

namespace latchkey::oauth {
namespace {

constexpr std::string_view kGoogleIssuer = "https://accounts.google.com";
constexpr std::string_view kMicrosoftIssuer = "https://login.microsoftonline.com/common/v2.0";
constexpr std::string_view kGithubAuthorize = "https://github.com/login/oauth/authorize";
constexpr std::string_view kGithubToken = "https://github.com/login/oauth/access_token";
constexpr std::string_view kGithubApi = "https://api.github.com";

core::Error config_error(const std::string& strategy, std::string why) {
  return core::Error(core::Code::kInternal, "invalid OAuth provider configuration")
      .with_meta("strategy", strategy)
      .with_internal("providers[" + strategy + "]: " + std::move(why));
}

bool valid_custom_name(std::string_view name) {
  if (name.empty() || name.size() > 64) {
    return false;
  }
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) {
      return false;
    }
  }
  return true;
}

// Microsoft's multi-tenant authorities publish the issuer as a template (the discovery document of
// /common/v2.0 says "https://login.microsoftonline.com/{tenantid}/v2.0"). /consumers is not one of
// them: its document names the fixed consumer tenant, so configure that tenant's issuer instead.
std::string tenant_template(std::string_view issuer) {
  for (const std::string_view tenant : {"/common/v2.0", "/organizations/v2.0"}) {
    if (issuer.ends_with(tenant)) {
      std::string out(issuer.substr(0, issuer.size() - tenant.size()));
      out += '/';
      out += kTenantPlaceholder;
      out += "/v2.0";
      return out;
    }
  }
  return {};
}

template <typename T>
void override_if_set(T& target, const T& value) {
  if (!value.empty()) {
    target = value;
  }
}

}  // namespace

bool is_acceptable_endpoint(std::string_view url) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) {
    return false;
  }
  const boost::urls::url_view& u = *parsed;
  if (u.has_userinfo() || u.has_fragment() || u.encoded_host().empty()) {
    return false;
  }
  // RFC 3986 §3.3: after an authority the path is empty or starts with '/'. Boost.URL 1.81 reads
  // "http://[::1]:x@evil.example/j" as host [::1] with path "x@evil.example/j"; curl reads
  // userinfo "[::1]:x" and connects to evil.example over plain http (found by fuzz_discovery).
  if (!u.encoded_path().empty() && !u.encoded_path().starts_with('/')) {
    return false;
  }
  if (u.scheme_id() == boost::urls::scheme::https) {
    return true;
  }
  if (u.scheme_id() == boost::urls::scheme::http) {
    // Plain http only towards this machine (tests, local demo IdP); never over a network.
    const std::string host = u.host_address();
    return host == "127.0.0.1" || host == "localhost" || host == "::1";
  }
  return false;
}

core::Result<Provider> make_provider(const ProviderSettings& cfg) {
  Provider p;
  p.strategy = cfg.strategy;
  const std::string& s = cfg.strategy;
  if (s == "oauth_google") {
    p.provider = "google";
    p.name = "Google";
    p.kind = ProviderKind::kOidc;
    p.issuer = kGoogleIssuer;
    // Google documents that ID tokens carry either form of its issuer.
    p.alternate_issuers = {"accounts.google.com"};
    p.scopes = {"openid", "email", "profile"};
  } else if (s == "oauth_microsoft") {
    p.provider = "microsoft";
    p.name = "Microsoft";
    p.kind = ProviderKind::kOidc;
    p.issuer = kMicrosoftIssuer;
    p.scopes = {"openid", "email", "profile"};
    p.trust_email_verified = false;
  } else if (s == "oauth_github") {
    p.provider = "github";
    p.name = "GitHub";
    p.kind = ProviderKind::kGithub;
    p.use_discovery = false;
    p.authorization_endpoint = kGithubAuthorize;
    p.token_endpoint = kGithubToken;
    p.api_base = kGithubApi;
    p.scopes = {"read:user", "user:email"};
  } else if (s.starts_with("oauth_custom_")) {
    const std::string name = s.substr(std::string_view("oauth_custom_").size());
    if (!valid_custom_name(name)) {
      return std::unexpected(config_error(s, "custom provider name must match [a-z0-9_-]{1,64}"));
    }
    p.provider = "custom_" + name;
    p.name = name;
    p.kind = ProviderKind::kOidc;
    p.scopes = {"openid", "email", "profile"};
    if (cfg.issuer.empty()) {
      return std::unexpected(config_error(s, "issuer is required for a custom OIDC provider"));
    }
  } else {
    return std::unexpected(
        config_error(s,
                     "unknown strategy (expected oauth_google, oauth_github, oauth_microsoft or "
                     "oauth_custom_<name>)"));
  }

  if (cfg.client_id.empty()) {
    return std::unexpected(config_error(s, "client_id is required"));
  }
  p.client_id = cfg.client_id;
  p.client_secret = cfg.client_secret;
  override_if_set(p.name, cfg.name);
  override_if_set(p.scopes, cfg.scopes);
  if (!cfg.issuer.empty()) {
    p.issuer = cfg.issuer;
    p.alternate_issuers.clear();  // an overridden issuer is matched exactly, nothing else
  }
  override_if_set(p.authorization_endpoint, cfg.authorization_endpoint);
  override_if_set(p.token_endpoint, cfg.token_endpoint);
  override_if_set(p.userinfo_endpoint, cfg.userinfo_endpoint);
  override_if_set(p.jwks_uri, cfg.jwks_uri);
  override_if_set(p.api_base, cfg.api_base);
  while (p.api_base.ends_with('/')) {
    p.api_base.pop_back();
  }

  if (cfg.token_auth_method == "client_secret_post" || cfg.token_auth_method.empty()) {
    p.token_auth = TokenAuthMethod::kClientSecretPost;
  } else if (cfg.token_auth_method == "client_secret_basic") {
    p.token_auth = TokenAuthMethod::kClientSecretBasic;
  } else {
    return std::unexpected(config_error(
        s, "token_auth_method must be client_secret_post or client_secret_basic, got '" +
               cfg.token_auth_method + "'"));
  }

  if (p.kind == ProviderKind::kOidc) {
    if (!is_acceptable_endpoint(p.issuer)) {
      return std::unexpected(config_error(s, "issuer must be an absolute https URL: " + p.issuer));
    }
    if (s == "oauth_microsoft") {
      p.issuer_template = tenant_template(p.issuer);
    }
  }
  for (const std::string* url : {&p.authorization_endpoint, &p.token_endpoint, &p.userinfo_endpoint,
                                 &p.jwks_uri, &p.api_base}) {
    if (!url->empty() && !is_acceptable_endpoint(*url)) {
      return std::unexpected(config_error(s, "endpoint must be an absolute https URL: " + *url));
    }
  }
  return p;
}

}  // namespace latchkey::oauth
