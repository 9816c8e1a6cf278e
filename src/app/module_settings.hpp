#pragma once
// The one place where the configuration becomes the modules' own settings: the layers below app/
// take their own option structs and never see config::Config (cmake/layers.txt).
#include "config/config.hpp"
#include "delivery/delivery.hpp"
#include "oauth/service.hpp"
#include "tokens/key_ring.hpp"

namespace latchkey::app {

[[nodiscard]] oauth::Settings oauth_settings(const config::Config& c);
[[nodiscard]] tokens::KeyRingOptions key_ring_options(const config::KeysConfig& k);
// [delivery], [smtp], [sms], with the application name and the mail drop <data_dir>/mail/.
[[nodiscard]] delivery::Settings delivery_settings(const config::Config& c);

}  // namespace latchkey::app
