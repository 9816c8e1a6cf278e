#include "api/dto/encode.hpp"

#include "flows/status.hpp"

#include <boost/json.hpp>

#include <algorithm>

#include "api/errors.hpp"
#include "flows/policy.hpp"

namespace latchkey::api::dto {
namespace json = boost::json;
namespace {

// JSON text stored by us (metadata, tasks) is re-checked before it is embedded: anything that
// does not parse as the expected kind is replaced, so a bad row can never break the response.
// The common "{}" costs no parse.
void embedded_object(JsonWriter& w, std::string_view text) {
  if (text == "{}") {
    w.raw("{}");
    return;
  }
  boost::system::error_code ec;
  const json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) {
    w.raw("{}");
    return;
  }
  w.raw(json::serialize(v));
}

void embedded_array_or_null(JsonWriter& w, const std::optional<std::string>& text) {
  if (!text) {
    w.value(nullptr);
    return;
  }
  boost::system::error_code ec;
  const json::value v = json::parse(*text, ec);
  if (ec || !v.is_array()) {
    w.value(nullptr);
    return;
  }
  w.raw(json::serialize(v));
}

// "oauth_google" -> "google"
std::string_view provider_name(std::string_view strategy) {
  if (strategy.starts_with("oauth_")) {
    strategy.remove_prefix(6);
  }
  return strategy;
}

bool has_image(const std::optional<std::string>& url) { return url && !url->empty(); }

std::string_view or_empty(const std::optional<std::string>& v) {
  return v ? std::string_view(*v) : std::string_view();
}

void verification(JsonWriter& w, const flows::Verification& v) {
  w.begin_object();
  w.members(R"("object":"verification")");
  w.field("status", v.status);
  w.field("strategy", v.strategy);
  w.field("external_verification_redirect_url", v.external_verification_redirect_url);
  w.key("error");
  if (v.error) {
    w.raw(error_json(v.error->to_error()));
  } else {
    w.value(nullptr);
  }
  if (v.code_mac || v.strategy == "password" || v.strategy == "totp" ||
      v.strategy == "backup_code") {
    w.field("attempts", static_cast<std::int64_t>(v.attempts));  // first factors count them
  } else {
    w.members(R"("attempts":null)");
  }
  w.field("expire_at", v.expire_at_ms);
  w.end_object();
}

// Opens a verification object with its constant members; the caller may add more, then closes.
void begin_simple_verification(JsonWriter& w, std::string_view status, std::string_view strategy) {
  w.begin_object();
  w.members(R"("object":"verification")");
  w.field("status", status);
  w.field("strategy", strategy);
  w.members(R"("attempts":null,"expire_at":null)");
}

std::string_view primary_email(const flows::UserView& u) {
  for (const auto& e : u.emails) {
    if (u.user.primary_email_address_id && e.id == *u.user.primary_email_address_id) {
      return e.email;
    }
  }
  return u.emails.empty() ? std::string_view() : std::string_view(u.emails.front().email);
}

void email_address(JsonWriter& w, const store::EmailAddress& e,
                   const std::vector<store::ExternalAccount>& accounts) {
  w.begin_object();
  w.members(R"("object":"email_address")");
  w.field("id", e.id);
  w.field("email_address", e.email);
  w.key("verification");
  begin_simple_verification(w, e.verified ? "verified" : "unverified",
                            e.verification_strategy ? std::string_view(*e.verification_strategy)
                                                    : std::string_view("email_code"));
  w.end_object();
  w.key("linked_to");
  w.begin_array();
  for (const auto& a : accounts) {
    if (a.email && *a.email == e.email) {
      w.begin_object();
      w.field("type", a.provider);
      w.field("id", a.id);
      w.end_object();
    }
  }
  w.end_array();
  w.field("created_at", e.created_at_ms);
  w.field("updated_at", e.updated_at_ms);
  w.end_object();
}

void external_account(JsonWriter& w, const store::ExternalAccount& a) {
  w.begin_object();
  w.members(R"("object":"external_account")");
  w.field("id", a.id);
  w.field("provider", provider_name(a.provider));
  w.field("identification_id", a.id);
  w.field("provider_user_id", a.provider_user_id);
  w.field("approved_scopes", a.approved_scopes);
  w.field("email_address", or_empty(a.email));
  w.field("first_name", or_empty(a.first_name));
  w.field("last_name", or_empty(a.last_name));
  w.field("image_url", or_empty(a.image_url));
  w.field("username", a.username);
  w.members(R"("phone_number":null,"public_metadata":{},"label":null)");
  w.key("verification");
  begin_simple_verification(w, "verified", a.provider);
  w.end_object();
  w.field("created_at", a.created_at_ms);
  w.field("updated_at", a.updated_at_ms);
  w.end_object();
}

}  // namespace

void write_email_address(JsonWriter& w, const store::EmailAddress& email,
                         const std::vector<store::ExternalAccount>& accounts) {
  email_address(w, email, accounts);
}

void write_user(JsonWriter& w, const flows::UserView& u, const BackendUser* backend) {
  const auto& user = u.user;
  w.begin_object();
  w.members(R"("object":"user")");
  w.field("id", user.id);
  w.field("username", user.username);
  w.field("first_name", user.first_name);
  w.field("last_name", user.last_name);
  w.field("image_url", or_empty(user.image_url));
  w.field("has_image", has_image(user.image_url));
  w.field("primary_email_address_id", user.primary_email_address_id);
  w.members(R"("primary_phone_number_id":null,"primary_web3_wallet_id":null)");
  w.field("password_enabled", user.password_digest.has_value());
  // Backup codes only count beside another second factor (they are the way back in when the
  // phone with the authenticator app is lost).
  w.field("two_factor_enabled", u.mfa.totp);
  w.field("totp_enabled", u.mfa.totp);
  w.field("backup_code_enabled", u.mfa.totp && u.mfa.backup_codes > 0);
  w.key("email_addresses");
  w.begin_array();
  for (const auto& e : u.emails) {
    email_address(w, e, u.accounts);
  }
  w.end_array();
  w.members(R"("phone_numbers":[],"web3_wallets":[],"passkeys":[])");
  w.key("external_accounts");
  w.begin_array();
  for (const auto& a : u.accounts) {
    external_account(w, a);
  }
  w.end_array();
  w.members(R"("enterprise_accounts":[],"saml_accounts":[],"organization_memberships":[])");
  w.key("public_metadata");
  embedded_object(w, user.public_metadata);
  w.key("unsafe_metadata");
  embedded_object(w, user.unsafe_metadata);
  w.members(R"("external_id":null)");
  w.field("last_sign_in_at", user.last_sign_in_at_ms);
  if (backend != nullptr) {
    w.key("private_metadata");
    embedded_object(w, user.private_metadata);
    const bool locked = user.locked_until_ms && *user.locked_until_ms > backend->now_ms;
    w.field("banned", user.banned);
    w.field("locked", locked);
    w.key("lockout_expires_in_seconds");
    if (locked) {
      w.value((*user.locked_until_ms - backend->now_ms + 999) / 1000);
    } else {
      w.value(nullptr);
    }
    w.members(R"("deprovisioned":false,"password_last_updated_at":null,"last_active_at":null,)"
              R"("verification_attempts_remaining":null,"create_organization_enabled":false,)"
              R"("create_organizations_limit":null,"delete_self_enabled":false)");
  } else {
    w.members(R"("banned":false,"locked":false,"create_organization_enabled":false,)"
              R"("create_organizations_limit":null,"delete_self_enabled":false)");
  }
  w.field("legal_accepted_at", user.legal_accepted_at_ms);
  w.field("created_at", user.created_at_ms);
  w.field("updated_at", user.updated_at_ms);
  w.end_object();
}

void write_session(JsonWriter& w, const flows::SessionView& s) {
  const auto& u = s.user.user;
  const std::int64_t age_min =
      std::max<std::int64_t>(0, (s.session.last_active_at_ms - s.session.created_at_ms) / 60'000);
  w.begin_object();
  w.members(R"("object":"session")");
  w.field("id", s.session.id);
  w.field("status", s.session.status);
  w.field("expire_at", s.session.expire_at_ms);
  w.field("abandon_at", s.session.abandon_at_ms);
  w.field("last_active_at", s.session.last_active_at_ms);
  w.members(R"("last_active_organization_id":null,"actor":null)");
  w.key("factor_verification_age");
  w.begin_array();
  w.value(age_min);
  w.value(-1);
  w.end_array();
  w.key("user");
  write_user(w, s.user);
  w.key("public_user_data");
  w.begin_object();
  w.field("first_name", u.first_name);
  w.field("last_name", u.last_name);
  w.field("image_url", or_empty(u.image_url));
  w.field("has_image", has_image(u.image_url));
  w.field("identifier", primary_email(s.user));
  w.field("username", u.username);
  w.end_object();
  w.key("tasks");
  embedded_array_or_null(w, s.session.tasks);
  w.key("last_active_token");
  if (s.token) {
    w.begin_object();
    w.members(R"("object":"token")");
    w.field("jwt", *s.token);
    w.end_object();
  } else {
    w.value(nullptr);
  }
  w.field("created_at", s.session.created_at_ms);
  w.field("updated_at", s.session.updated_at_ms);
  w.end_object();
}

void write_sign_in(JsonWriter& w, const store::SignIn& row, const flows::SignInData& d) {
  w.begin_object();
  w.members(R"("object":"sign_in")");
  w.field("id", row.id);
  w.field("status", row.status);
  if (d.factors.empty()) {
    w.members(R"("supported_identifiers":[])");
  } else {
    w.members(R"("supported_identifiers":["email_address"])");
  }
  w.field("identifier", d.identifier);
  w.key("supported_first_factors");
  w.begin_array();
  for (const auto& f : d.factors) {
    w.begin_object();
    w.field("strategy", f.strategy);
    if (!f.email_address_id.empty()) {
      w.field("safe_identifier", f.safe_identifier);
      w.field("email_address_id", f.email_address_id);
      w.field("primary", f.primary);
    }
    w.end_object();
  }
  w.end_array();
  w.key("supported_second_factors");
  if (d.second_factors.empty()) {
    w.value(nullptr);
  } else {
    w.begin_array();
    for (const auto& strategy : d.second_factors) {
      w.begin_object();
      w.field("strategy", strategy);
      w.end_object();
    }
    w.end_array();
  }
  w.key("first_factor_verification");
  if (d.first_factor) {
    verification(w, *d.first_factor);
  } else {
    w.value(nullptr);
  }
  w.key("second_factor_verification");
  if (d.second_factor) {
    verification(w, *d.second_factor);
  } else {
    w.value(nullptr);
  }
  w.key("user_data");
  if (d.identity) {
    w.begin_object();
    w.field("first_name", d.identity->first_name);
    w.field("last_name", d.identity->last_name);
    w.field("image_url", d.identity->image_url);
    w.field("has_image", !d.identity->image_url.empty());
    w.end_object();
  } else if (d.user_data) {
    w.begin_object();
    w.field("first_name", d.user_data->first_name);
    w.field("last_name", d.user_data->last_name);
    w.field("image_url", d.user_data->image_url);
    w.field("has_image", !d.user_data->image_url.empty());
    w.end_object();
  } else {
    w.value(nullptr);
  }
  w.field("created_session_id", d.created_session_id);
  w.field("abandon_at", row.abandon_at_ms);
  w.end_object();
}

void write_sign_up(JsonWriter& w, const store::SignUp& row, const flows::SignUpData& d,
                   const std::vector<std::string>& configured_required) {
  w.begin_object();
  w.members(R"("object":"sign_up")");
  w.field("id", row.id);
  w.field("status", row.status);
  const std::vector<std::string> required = flows::sign_up_requirements(configured_required, d);
  const bool in_progress = row.status != flows::to_wire(flows::SignUpStatus::kComplete);
  w.key("required_fields");
  w.begin_array();
  for (const auto& f : flows::required_fields(required)) {
    w.value(f);
  }
  w.end_array();
  w.members(R"("optional_fields":[])");
  w.key("missing_fields");
  w.begin_array();
  if (in_progress) {
    for (const auto& f : flows::missing_fields(d, required)) {
      w.value(f);
    }
  }
  w.end_array();
  // A social sign-up's address is the provider's word unless the provider did not vouch for it
  // (or gave none and the user typed one): then, once the provider verified the account, a code
  // verifies the address as for a sign-up without a provider.
  const bool social = d.identity || d.external_account;
  const bool account_verified = d.external_account && d.external_account->status == "verified";
  const bool by_code = d.email_address &&
                       (!social || d.email_verification || (!d.email_verified && account_verified));
  w.key("unverified_fields");
  w.begin_array();
  if (in_progress && d.email_address && !d.email_verified && (!social || account_verified)) {
    w.value("email_address");
  }
  w.end_array();
  w.key("verifications");
  w.begin_object();
  w.key("email_address");
  if (by_code) {
    // A sign-up verified by a code: needs_prepare until a code was sent, then needs_attempt.
    const flows::Verification* v = d.email_verification ? &*d.email_verification : nullptr;
    w.begin_object();
    w.members(R"("object":"verification")");
    w.field("status", v ? std::string_view(v->status) : std::string_view("unverified"));
    w.field("strategy", v && !v->strategy.empty() ? std::string_view(v->strategy)
                                                  : std::string_view("email_code"));
    w.key("error");
    if (v && v->error) {
      w.raw(error_json(v->error->to_error()));
    } else {
      w.value(nullptr);
    }
    w.field("attempts", static_cast<std::int64_t>(v ? v->attempts : 0));
    w.field("expire_at", v ? v->expire_at_ms : std::nullopt);
    w.field("next_action", d.email_verified                 ? ""
                           : v && v->status == "unverified" ? "needs_attempt"
                                                            : "needs_prepare");
    if (v && v->strategy == "email_link") {
      w.members(R"("supported_strategies":["email_code","email_link"])");
    } else {
      w.members(R"("supported_strategies":["email_code"])");
    }
    w.end_object();
  } else if (d.email_address) {
    const std::string strategy = d.email_verified && d.identity ? "from_" + d.identity->strategy
                                 : d.email_verified && d.external_account
                                     ? "from_" + d.external_account->strategy
                                     : "email_code";
    begin_simple_verification(w, d.email_verified ? "verified" : "unverified", strategy);
    w.members(R"("next_action":"","supported_strategies":[])");
    w.end_object();
  } else {
    w.value(nullptr);
  }
  w.members(R"("phone_number":null,"web3_wallet":null)");
  w.key("external_account");
  if (d.external_account) {
    verification(w, *d.external_account);
  } else {
    w.value(nullptr);
  }
  w.end_object();
  w.field("username", d.username);
  w.field("email_address", d.email_address);
  w.members(R"("phone_number":null,"web3_wallet":null)");
  w.field("password_enabled", d.password_digest.has_value());
  w.field("first_name", d.first_name);
  w.field("last_name", d.last_name);
  w.key("unsafe_metadata");
  embedded_object(w, d.unsafe_metadata);
  w.members(R"("public_metadata":{},"custom_action":false,"external_id":null)");
  w.field("created_session_id", d.created_session_id);
  w.field("created_user_id", d.created_user_id);
  w.field("abandon_at", row.abandon_at_ms);
  w.field("legal_accepted_at", d.legal_accepted_at_ms);
  w.end_object();
}

void write_client(JsonWriter& w, const flows::ClientView& c,
                  const std::vector<std::string>& configured_required) {
  w.begin_object();
  w.members(R"("object":"client")");
  w.field("id", c.client.id);
  w.key("sessions");
  w.begin_array();
  for (const auto& s : c.sessions) {
    if (s.session.status == "active" || s.session.status == "pending") {
      write_session(w, s);
    }
  }
  w.end_array();
  w.key("sign_in");
  if (c.sign_in && c.sign_in_data) {
    write_sign_in(w, *c.sign_in, *c.sign_in_data);
  } else {
    w.value(nullptr);
  }
  w.key("sign_up");
  if (c.sign_up && c.sign_up_data) {
    write_sign_up(w, *c.sign_up, *c.sign_up_data, configured_required);
  } else {
    w.value(nullptr);
  }
  w.field("last_active_session_id", c.client.last_active_session_id);
  w.field("last_authentication_strategy", c.client.last_authentication_strategy);
  // null: the SDK then never detours through /v1/client/touch (README §2.E)
  w.members(R"("cookie_expires_at":null,"captcha_bypass":false)");
  w.field("created_at", c.client.created_at_ms);
  w.field("updated_at", c.client.updated_at_ms);
  w.end_object();
}

void write_backend_session(JsonWriter& w, const store::Session& s) {
  w.begin_object();
  w.members(R"("object":"session")");
  w.field("id", s.id);
  w.field("client_id", s.client_id);
  w.field("user_id", s.user_id);
  w.field("status", s.status);
  w.field("last_active_at", s.last_active_at_ms);
  w.members(R"("last_active_organization_id":null,"actor":null)");
  w.field("expire_at", s.expire_at_ms);
  w.field("abandon_at", s.abandon_at_ms);
  w.field("created_at", s.created_at_ms);
  w.field("updated_at", s.updated_at_ms);
  w.end_object();
}

std::string backend_user_json(const flows::UserView& user, std::int64_t now_ms) {
  std::string out;
  JsonWriter w(out);
  const BackendUser extras{now_ms};
  write_user(w, user, &extras);
  return out;
}

std::string backend_session_json(const store::Session& session) {
  std::string out;
  JsonWriter w(out);
  write_backend_session(w, session);
  return out;
}

std::string user_json(const flows::UserView& user) {
  std::string out;
  JsonWriter w(out);
  write_user(w, user);
  return out;
}

std::string session_json(const flows::SessionView& session) {
  std::string out;
  JsonWriter w(out);
  write_session(w, session);
  return out;
}

std::string sign_in_json(const store::SignIn& row, const flows::SignInData& data) {
  std::string out;
  JsonWriter w(out);
  write_sign_in(w, row, data);
  return out;
}

std::string sign_up_json(const store::SignUp& row, const flows::SignUpData& data,
                         const std::vector<std::string>& configured_required) {
  std::string out;
  JsonWriter w(out);
  write_sign_up(w, row, data, configured_required);
  return out;
}

std::string client_json(const flows::ClientView& client,
                        const std::vector<std::string>& configured_required) {
  std::string out;
  JsonWriter w(out);
  write_client(w, client, configured_required);
  return out;
}

std::string environment_json(const EnvironmentSettings& env) {
  auto attribute = [](bool enabled, bool required, bool first_factor,
                      const std::vector<std::string_view>& first_factors = {},
                      const std::vector<std::string_view>& verifications = {},
                      std::string_view second_factor = {}) {
    json::array ff;
    for (auto f : first_factors) {
      ff.emplace_back(f);
    }
    json::array vs;
    for (auto v : verifications) {
      vs.emplace_back(v);
    }
    const bool verify = !vs.empty();
    return json::object{
        {"enabled", enabled},
        {"required", required},
        {"used_for_first_factor", first_factor},
        {"first_factors", std::move(ff)},
        {"used_for_second_factor", !second_factor.empty()},
        {"second_factors",
         second_factor.empty() ? json::array() : json::array{json::string(second_factor)}},
        {"verifications", std::move(vs)},
        {"verify_at_sign_up", verify}};
  };
  auto required = [&](std::string_view f) {
    return std::find(env.required_fields.begin(), env.required_fields.end(), f) !=
           env.required_fields.end();
  };
  json::object social;
  for (const auto& p : env.social) {
    social[p.strategy] = json::object{
        {"enabled", true},        {"required", false},       {"authenticatable", true},
        {"strategy", p.strategy}, {"not_selectable", false}, {"deprecated", false},
        {"name", p.name},         {"logo_url", nullptr},     {"block_email_subaddresses", false}};
  }
  // The address's first factors and verifications: email_code, and email_link when it is on.
  std::vector<std::string_view> email_factors;
  std::vector<std::string_view> email_verifications{"email_code"};
  if (env.email_code) {
    email_factors.emplace_back("email_code");
  }
  if (env.email_link) {
    email_factors.emplace_back("email_link");
    email_verifications.emplace_back("email_link");
  }
  json::object attributes{
      {"email_address", env.email_address && (env.password || env.email_code || env.email_link)
                            ? attribute(true, true, true, email_factors, email_verifications)
                            : attribute(true, true, false)},
      {"first_name", attribute(true, required("first_name"), false)},
      {"last_name", attribute(true, required("last_name"), false)},
      {"username", attribute(required("username"), required("username"), false)},
      {"password", env.password ? attribute(true, true, false) : attribute(false, false, false)},
      {"phone_number", attribute(false, false, false)},
      {"web3_wallet", attribute(false, false, false)},
      {"authenticator_app",
       attribute(env.authenticator_app, false, false, {}, {}, env.authenticator_app ? "totp" : "")},
      {"backup_code", attribute(env.authenticator_app && env.backup_codes, false, false, {}, {},
                                env.authenticator_app && env.backup_codes ? "backup_code" : "")}};
  json::value captcha_key = nullptr;
  json::value captcha_widget = nullptr;
  json::array captcha_bypass;
  if (env.captcha_enabled) {
    captcha_key = json::string(env.captcha_public_key);
    captcha_widget = json::string(env.captcha_widget_type);
    for (const auto& s : env.captcha_oauth_bypass) {
      captcha_bypass.emplace_back(s);
    }
  }
  json::object display{{"object", "display_config"},
                       {"id", "display_config_latchkey"},
                       {"instance_environment_type", "production"},
                       {"application_name", env.application_name},
                       {"branded", false},
                       {"captcha_public_key", captcha_key},
                       {"captcha_public_key_invisible", captcha_key},
                       {"captcha_widget_type", captcha_widget},
                       {"captcha_provider", env.captcha_provider},
                       {"captcha_oauth_bypass", std::move(captcha_bypass)},
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
      {"sign_in",
       json::object{{"second_factor", json::object{{"required", env.second_factor_required}}}}},
      {"sign_up", json::object{{"captcha_enabled", env.captcha_enabled},
                               {"progressive", true},
                               {"mode", "public"},
                               {"legal_consent_enabled", required("legal_accepted")}}},
      {"password_settings",
       json::object{{"disable_hibp", false},
                    {"min_length", env.password_min_length},
                    {"max_length", env.password_max_length},
                    {"require_special_char", false},
                    {"require_numbers", false},
                    {"require_uppercase", false},
                    {"require_lowercase", false},
                    {"show_zxcvbn", false},
                    {"min_zxcvbn_strength", 0},
                    {"enforce_hibp_on_sign_in", false},
                    {"allowed_special_characters", "!\"#$%&'()*+,-./:;<=>?@[]^_`{|}~"}}}};
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
