#include "api/dto/encode.hpp"

#include <boost/json.hpp>

#include <algorithm>

#include "api/errors.hpp"
#include "flows/policy.hpp"

namespace latchkey::api::dto {
namespace json = boost::json;
namespace {

json::value opt(const std::optional<std::string>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}
json::value opt(const std::optional<std::int64_t>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

json::value parse_or_empty(const std::string& text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) {
    return json::object();
  }
  return v;
}

// "oauth_google" -> "google"
std::string provider_name(std::string_view strategy) {
  if (strategy.starts_with("oauth_")) {
    strategy.remove_prefix(6);
  }
  return std::string(strategy);
}

json::object verification(const flows::Verification& v) {
  json::object o;
  o["object"] = "verification";
  o["status"] = v.status;
  o["strategy"] = v.strategy;
  o["external_verification_redirect_url"] = opt(v.external_verification_redirect_url);
  if (v.error) {
    o["error"] = json::parse(error_json(v.error->to_error()));
  } else {
    o["error"] = nullptr;
  }
  o["attempts"] = nullptr;
  o["expire_at"] = opt(v.expire_at_ms);
  return o;
}

json::object simple_verification(std::string_view status, std::string_view strategy) {
  return json::object{{"object", "verification"}, {"status", status}, {"strategy", strategy},
                      {"attempts", nullptr},      {"expire_at", nullptr}};
}

std::string primary_email(const flows::UserView& u) {
  for (const auto& e : u.emails) {
    if (u.user.primary_email_address_id && e.id == *u.user.primary_email_address_id) {
      return e.email;
    }
  }
  return u.emails.empty() ? std::string() : u.emails.front().email;
}

}  // namespace

json::object user_json(const flows::UserView& u) {
  json::array emails;
  for (const auto& e : u.emails) {
    json::array linked;
    for (const auto& a : u.accounts) {
      if (a.email && *a.email == e.email) {
        linked.push_back(json::object{{"type", a.provider}, {"id", a.id}});
      }
    }
    json::object ver = simple_verification(e.verified ? "verified" : "unverified",
                                           e.verification_strategy.value_or("email_code"));
    emails.push_back(json::object{{"object", "email_address"},
                                  {"id", e.id},
                                  {"email_address", e.email},
                                  {"verification", std::move(ver)},
                                  {"linked_to", std::move(linked)},
                                  {"created_at", e.created_at_ms},
                                  {"updated_at", e.updated_at_ms}});
  }
  json::array accounts;
  for (const auto& a : u.accounts) {
    accounts.push_back(json::object{
        {"object", "external_account"},
        {"id", a.id},
        {"provider", provider_name(a.provider)},
        {"identification_id", a.id},
        {"provider_user_id", a.provider_user_id},
        {"approved_scopes", a.approved_scopes},
        {"email_address", a.email.value_or("")},
        {"first_name", a.first_name.value_or("")},
        {"last_name", a.last_name.value_or("")},
        {"image_url", a.image_url.value_or("")},
        {"username", opt(a.username)},
        {"phone_number", nullptr},
        {"public_metadata", json::object()},
        {"label", nullptr},
        {"verification", simple_verification("verified", a.provider)},
        {"created_at", a.created_at_ms},
        {"updated_at", a.updated_at_ms}});
  }
  const auto& user = u.user;
  return json::object{{"object", "user"},
                      {"id", user.id},
                      {"username", opt(user.username)},
                      {"first_name", opt(user.first_name)},
                      {"last_name", opt(user.last_name)},
                      {"image_url", user.image_url.value_or("")},
                      {"has_image", user.image_url.has_value() && !user.image_url->empty()},
                      {"primary_email_address_id", opt(user.primary_email_address_id)},
                      {"primary_phone_number_id", nullptr},
                      {"primary_web3_wallet_id", nullptr},
                      {"password_enabled", false},
                      {"two_factor_enabled", false},
                      {"totp_enabled", false},
                      {"backup_code_enabled", false},
                      {"email_addresses", std::move(emails)},
                      {"phone_numbers", json::array()},
                      {"web3_wallets", json::array()},
                      {"passkeys", json::array()},
                      {"external_accounts", std::move(accounts)},
                      {"enterprise_accounts", json::array()},
                      {"saml_accounts", json::array()},
                      {"organization_memberships", json::array()},
                      {"public_metadata", parse_or_empty(user.public_metadata)},
                      {"unsafe_metadata", parse_or_empty(user.unsafe_metadata)},
                      {"external_id", nullptr},
                      {"last_sign_in_at", opt(user.last_sign_in_at_ms)},
                      {"banned", false},
                      {"locked", false},
                      {"create_organization_enabled", false},
                      {"create_organizations_limit", nullptr},
                      {"delete_self_enabled", false},
                      {"legal_accepted_at", opt(user.legal_accepted_at_ms)},
                      {"created_at", user.created_at_ms},
                      {"updated_at", user.updated_at_ms}};
}

json::object session_json(const flows::SessionView& s, const TokenSource& token) {
  const auto& u = s.user.user;
  json::value tasks = nullptr;
  if (s.session.tasks) {
    boost::system::error_code ec;
    auto v = json::parse(*s.session.tasks, ec);
    if (!ec && v.is_array()) {
      tasks = std::move(v);
    }
  }
  json::value last_token = nullptr;
  if (token) {
    if (auto jwt = token(s.session)) {
      last_token = json::object{{"object", "token"}, {"jwt", *jwt}};
    }
  }
  const std::int64_t age_min =
      std::max<std::int64_t>(0, (s.session.last_active_at_ms - s.session.created_at_ms) / 60'000);
  return json::object{
      {"object", "session"},
      {"id", s.session.id},
      {"status", s.session.status},
      {"expire_at", s.session.expire_at_ms},
      {"abandon_at", s.session.abandon_at_ms},
      {"last_active_at", s.session.last_active_at_ms},
      {"last_active_organization_id", nullptr},
      {"actor", nullptr},
      {"factor_verification_age", json::array{age_min, -1}},
      {"user", user_json(s.user)},
      {"public_user_data", json::object{{"first_name", opt(u.first_name)},
                                        {"last_name", opt(u.last_name)},
                                        {"image_url", u.image_url.value_or("")},
                                        {"has_image", u.image_url.has_value() && !u.image_url->empty()},
                                        {"identifier", primary_email(s.user)},
                                        {"username", opt(u.username)}}},
      {"tasks", std::move(tasks)},
      {"last_active_token", std::move(last_token)},
      {"created_at", s.session.created_at_ms},
      {"updated_at", s.session.updated_at_ms}};
}

json::object sign_in_json(const store::SignIn& row, const flows::SignInData& d) {
  json::value ffv = nullptr;
  if (d.first_factor) {
    ffv = verification(*d.first_factor);
  }
  json::value user_data = nullptr;
  if (d.identity) {
    user_data = json::object{{"first_name", d.identity->first_name},
                             {"last_name", d.identity->last_name},
                             {"image_url", d.identity->image_url},
                             {"has_image", !d.identity->image_url.empty()}};
  }
  return json::object{{"object", "sign_in"},
                      {"id", row.id},
                      {"status", row.status},
                      {"supported_identifiers", json::array()},
                      {"identifier", opt(d.identifier)},
                      {"supported_first_factors", json::array()},
                      {"supported_second_factors", nullptr},
                      {"first_factor_verification", std::move(ffv)},
                      {"second_factor_verification", nullptr},
                      {"user_data", std::move(user_data)},
                      {"created_session_id", opt(d.created_session_id)},
                      {"abandon_at", row.abandon_at_ms}};
}

json::object sign_up_json(const store::SignUp& row, const flows::SignUpData& d,
                          const std::vector<std::string>& configured_required) {
  json::array required;
  for (const auto& f : flows::required_fields(configured_required)) {
    required.push_back(json::string(f));
  }
  json::array missing;
  if (row.status != flows::kComplete) {
    for (const auto& f : flows::missing_fields(d, configured_required)) {
      missing.push_back(json::string(f));
    }
  }
  json::array unverified;
  json::value email_ver = nullptr;
  if (d.email_address) {
    const std::string strategy =
        d.email_verified && d.identity ? "from_" + d.identity->strategy
        : d.email_verified && d.external_account ? "from_" + d.external_account->strategy
                                                  : "email_code";
    json::object ev = simple_verification(d.email_verified ? "verified" : "unverified", strategy);
    ev["next_action"] = "";
    ev["supported_strategies"] = json::array();
    email_ver = std::move(ev);
  }
  json::value ext = nullptr;
  if (d.external_account) {
    ext = verification(*d.external_account);
  }
  return json::object{
      {"object", "sign_up"},
      {"id", row.id},
      {"status", row.status},
      {"required_fields", std::move(required)},
      {"optional_fields", json::array()},
      {"missing_fields", std::move(missing)},
      {"unverified_fields", std::move(unverified)},
      {"verifications", json::object{{"email_address", std::move(email_ver)},
                                     {"phone_number", nullptr},
                                     {"web3_wallet", nullptr},
                                     {"external_account", std::move(ext)}}},
      {"username", opt(d.username)},
      {"email_address", opt(d.email_address)},
      {"phone_number", nullptr},
      {"web3_wallet", nullptr},
      {"password_enabled", false},
      {"first_name", opt(d.first_name)},
      {"last_name", opt(d.last_name)},
      {"unsafe_metadata", parse_or_empty(d.unsafe_metadata)},
      {"public_metadata", json::object()},
      {"custom_action", false},
      {"external_id", nullptr},
      {"created_session_id", opt(d.created_session_id)},
      {"created_user_id", opt(d.created_user_id)},
      {"abandon_at", row.abandon_at_ms},
      {"legal_accepted_at", opt(d.legal_accepted_at_ms)}};
}

json::object client_json(const flows::ClientView& c, const TokenSource& token,
                         const std::vector<std::string>& configured_required) {
  json::array sessions;
  for (const auto& s : c.sessions) {
    if (s.session.status == "active" || s.session.status == "pending") {
      sessions.push_back(session_json(s, token));
    }
  }
  json::value sign_in = nullptr;
  if (c.sign_in && c.sign_in_data) {
    sign_in = sign_in_json(*c.sign_in, *c.sign_in_data);
  }
  json::value sign_up = nullptr;
  if (c.sign_up && c.sign_up_data) {
    sign_up = sign_up_json(*c.sign_up, *c.sign_up_data, configured_required);
  }
  return json::object{{"object", "client"},
                      {"id", c.client.id},
                      {"sessions", std::move(sessions)},
                      {"sign_in", std::move(sign_in)},
                      {"sign_up", std::move(sign_up)},
                      {"last_active_session_id", opt(c.client.last_active_session_id)},
                      {"last_authentication_strategy", opt(c.client.last_authentication_strategy)},
                      // null: the SDK then never detours through /v1/client/touch (README §2.E)
                      {"cookie_expires_at", nullptr},
                      {"captcha_bypass", false},
                      {"created_at", c.client.created_at_ms},
                      {"updated_at", c.client.updated_at_ms}};
}

std::string environment_json(const EnvironmentSettings& env) {
  auto attribute = [](bool enabled, bool required, bool first_factor) {
    return json::object{{"enabled", enabled},
                        {"required", required},
                        {"used_for_first_factor", first_factor},
                        {"first_factors", json::array()},
                        {"used_for_second_factor", false},
                        {"second_factors", json::array()},
                        {"verifications", json::array()},
                        {"verify_at_sign_up", false}};
  };
  auto required = [&](std::string_view f) {
    return std::find(env.required_fields.begin(), env.required_fields.end(), f) !=
           env.required_fields.end();
  };
  json::object social;
  for (const auto& p : env.social) {
    social[p.strategy] = json::object{{"enabled", true},
                                      {"required", false},
                                      {"authenticatable", true},
                                      {"strategy", p.strategy},
                                      {"not_selectable", false},
                                      {"deprecated", false},
                                      {"name", p.name},
                                      {"logo_url", nullptr},
                                      {"block_email_subaddresses", false}};
  }
  json::object attributes{{"email_address", attribute(true, true, false)},
                          {"first_name", attribute(true, required("first_name"), false)},
                          {"last_name", attribute(true, required("last_name"), false)},
                          {"username", attribute(required("username"), required("username"), false)},
                          {"password", attribute(false, false, false)},
                          {"phone_number", attribute(false, false, false)},
                          {"web3_wallet", attribute(false, false, false)}};
  json::object display{{"object", "display_config"},
                       {"id", "display_config_latchkey"},
                       {"instance_environment_type", "production"},
                       {"application_name", env.application_name},
                       {"branded", false},
                       {"captcha_public_key", nullptr},
                       {"captcha_public_key_invisible", nullptr},
                       {"captcha_widget_type", nullptr},
                       {"captcha_provider", "turnstile"},
                       {"captcha_oauth_bypass", json::array()},
                       {"captcha_heartbeat", false},
                       {"sign_in_url", env.sign_in_url},
                       {"sign_up_url", env.sign_up_url},
                       {"home_url", env.home_url},
                       {"after_sign_in_url", env.home_url},
                       {"after_sign_up_url", env.home_url},
                       {"after_sign_out_one_url", env.home_url},
                       {"after_sign_out_all_url", env.home_url},
                       {"after_switch_session_url", env.home_url},
                       {"user_profile_url", env.home_url},
                       {"logo_image_url", ""},
                       {"favicon_image_url", ""},
                       {"preferred_sign_in_strategy", "otp"},
                       {"show_devmode_warning", false},
                       {"support_email", nullptr},
                       {"terms_url", nullptr},
                       {"privacy_policy_url", nullptr},
                       {"theme", json::object()},
                       {"google_one_tap_client_id", nullptr}};
  json::object user_settings{
      {"attributes", std::move(attributes)},
      {"social", std::move(social)},
      {"enterprise_sso", json::object{{"enabled", false}}},
      {"sign_in", json::object{{"second_factor", json::object{{"required", false}}}}},
      {"sign_up", json::object{{"captcha_enabled", false},
                               {"progressive", true},
                               {"mode", "public"},
                               {"legal_consent_enabled", required("legal_accepted")}}},
      {"password_settings", json::object{{"min_length", 8}}}};
  json::object o{{"object", "environment"},
                 {"id", "env_latchkey"},
                 {"auth_config", json::object{{"object", "auth_config"},
                                              {"id", "aac_latchkey"},
                                              {"single_session_mode", env.single_session_mode},
                                              {"claimed_at", nullptr},
                                              {"reverification", false},
                                              {"preferred_channels", nullptr}}},
                 {"display_config", std::move(display)},
                 {"user_settings", std::move(user_settings)},
                 {"organization_settings", json::object{{"enabled", false}}},
                 {"commerce_settings", json::object()},
                 {"maintenance_mode", false},
                 {"client_debug_mode", false},
                 {"partitioned_cookies", false}};
  return json::serialize(o);
}

}  // namespace latchkey::api::dto
