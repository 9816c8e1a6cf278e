#pragma once
// The one place where the configuration becomes the modules' own settings: the layers below app/
// take their own option structs and never see config::Config (cmake/layers.txt).
#include "config/config.hpp"
#include "delivery/delivery.hpp"
#include "delivery/webhooks.hpp"
#include "flows/first_factors.hpp"
#include "flows/flow_types.hpp"
#include "oauth/service.hpp"
#include "passwords/passwords.hpp"
#include "tokens/key_ring.hpp"

namespace latchkey::app {

[[nodiscard]] oauth::Settings oauth_settings(const config::Config& c);
[[nodiscard]] tokens::KeyRingOptions key_ring_options(const config::KeysConfig& k);
// [delivery], [smtp], [sms], with the application name and the mail drop <data_dir>/mail/.
[[nodiscard]] delivery::Settings delivery_settings(const config::Config& c);
// [webhooks] and the [webhook_endpoints.<name>] tables; the instance id derived from the public
// URL unless webhooks.instance_id sets it.
[[nodiscard]] delivery::WebhookSettings webhook_settings(const config::Config& c);
[[nodiscard]] flows::IdentifierSettings identifier_settings(const config::Config& c);
// [mfa], with the application name as the authenticator apps' issuer.
[[nodiscard]] flows::MfaSettings mfa_settings(const config::Config& c);
[[nodiscard]] passwords::HashSettings password_hash_settings(const config::PasswordsConfig& p);
[[nodiscard]] passwords::PolicySettings password_policy(const config::PasswordsConfig& p);
[[nodiscard]] passwords::LockoutSettings password_lockout(const config::PasswordsConfig& p);

}  // namespace latchkey::app
