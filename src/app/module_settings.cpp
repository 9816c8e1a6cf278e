#include "app/module_settings.hpp"

namespace latchkey::app {

oauth::Settings oauth_settings(const config::Config& c) {
  oauth::Settings s;
  for (const auto& p : c.providers) {
    s.providers.push_back(
        oauth::ProviderSettings{.strategy = p.strategy,
                                .name = p.name,
                                .client_id = p.client_id,
                                .client_secret = p.client_secret,
                                .issuer = p.issuer,
                                .scopes = p.scopes,
                                .authorization_endpoint = p.authorization_endpoint,
                                .token_endpoint = p.token_endpoint,
                                .userinfo_endpoint = p.userinfo_endpoint,
                                .jwks_uri = p.jwks_uri,
                                .api_base = p.api_base,
                                .token_auth_method = p.token_auth_method});
  }
  s.outbound_timeout = c.frontend.outbound_timeout;
  s.outbound_max_bytes = c.frontend.outbound_max_bytes;
  return s;
}

tokens::KeyRingOptions key_ring_options(const config::KeysConfig& k) {
  return tokens::KeyRingOptions{.algorithm = k.algorithm,
                                .rsa_bits = k.rsa_bits,
                                .retire_after = k.retire_after,
                                .activation_delay = k.activation_delay};
}

}  // namespace latchkey::app
