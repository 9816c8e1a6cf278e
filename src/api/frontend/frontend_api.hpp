#pragma once
// The Frontend API routes (fapi README): thin adapters that parse cookies, origin and form
// bodies, call flows::FrontendService, and encode {response, client} envelopes.
#include <chrono>
#include <memory>
#include <string>

#include "flows/frontend_service.hpp"
#include "http/cors.hpp"
#include "http/router.hpp"
#include "sessions/session_tokens.hpp"

namespace latchkey::api {

struct FrontendApiOptions {
  std::string prefix = "/__clerk";
  std::string public_origin;
  bool secure_cookies = false;  // public URL is https
  std::chrono::seconds client_cookie_max_age{90 * 24 * 3600};
  std::vector<std::string> required_fields;
  std::string environment_json;  // prebuilt
};

class FrontendApi {
 public:
  FrontendApi(flows::FrontendService& service, sessions::SessionTokens& tokens,
              const http::Cors& cors, FrontendApiOptions options);
  // Adds every FAPI route under options.prefix.
  void register_routes(http::Router& router);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace latchkey::api
