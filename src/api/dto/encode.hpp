#pragma once
// JSON shapes of the Frontend API resources, as the pinned SDK reads them (fapi README §3,
// samples/*.json). Timestamps are integers in milliseconds.
#include <boost/json/object.hpp>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "flows/frontend_service.hpp"

namespace latchkey::api::dto {

// Returns the session's current token (nullopt: leave last_active_token null).
using TokenSource = std::function<std::optional<std::string>(const store::Session&)>;

boost::json::object user_json(const flows::UserView& user);
boost::json::object session_json(const flows::SessionView& session, const TokenSource& token);
boost::json::object sign_in_json(const store::SignIn& row, const flows::SignInData& data);
boost::json::object sign_up_json(const store::SignUp& row, const flows::SignUpData& data,
                                 const std::vector<std::string>& configured_required);
boost::json::object client_json(const flows::ClientView& client, const TokenSource& token,
                                const std::vector<std::string>& configured_required);

struct SocialProvider {
  std::string strategy;  // oauth_google
  std::string name;      // Google
};

struct EnvironmentSettings {
  std::string application_name;
  std::string sign_in_url;   // absolute
  std::string sign_up_url;   // absolute
  std::string home_url;      // absolute
  std::vector<SocialProvider> social;
  std::vector<std::string> required_fields;  // configured
  bool single_session_mode = true;
};
// Built once at start-up; the environment handler serves the cached string.
std::string environment_json(const EnvironmentSettings& env);

}  // namespace latchkey::api::dto
