#pragma once
// Representative views for the FAPI encoder tests: a signed-in client with a full user, sign-ins
// in each status, sign-ups with and without missing fields. Builders with defaults (design.md
// §3.16); each test changes what it needs.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "flows/attempts.hpp"
#include "flows/flow_types.hpp"
#include "store/store.hpp"

namespace latchkey::api::samples {

inline constexpr std::int64_t kT0 = 1'800'000'000'000;

inline store::EmailAddress email(std::string id, std::string address, bool verified,
                                 std::optional<std::string> strategy) {
  store::EmailAddress e;
  e.id = std::move(id);
  e.user_id = "user_1";
  e.email = std::move(address);
  e.verified = verified;
  e.verification_strategy = std::move(strategy);
  e.created_at_ms = kT0 + 1;
  e.updated_at_ms = kT0 + 2;
  return e;
}

inline store::ExternalAccount account(std::string id, std::string provider,
                                      std::optional<std::string> address) {
  store::ExternalAccount a;
  a.id = std::move(id);
  a.user_id = "user_1";
  a.provider = std::move(provider);
  a.provider_user_id = "sub-" + a.id;
  a.email = std::move(address);
  a.email_verified = true;
  a.approved_scopes = "openid email profile";
  a.created_at_ms = kT0 + 3;
  a.updated_at_ms = kT0 + 4;
  return a;
}

// A user with two addresses (one verified and linked to Google, one unverified without a
// strategy), a Google and a GitHub account, public metadata, and names that need escaping.
inline flows::UserView full_user() {
  flows::UserView u;
  u.user.id = "user_1";
  u.user.first_name = "Zo\xC3\xAB \"Q\" \\ \x01\n\t\xF0\x9F\x94\x91";
  u.user.last_name = "Liddell";
  u.user.username = std::nullopt;
  u.user.image_url = "https://img.example/a.png?x=1&y=2";
  u.user.primary_email_address_id = "idn_2";
  u.user.public_metadata = R"({"role":"admin","tags":["a","b"],"n":1.5,"nested":{"x":null}})";
  u.user.unsafe_metadata = "{}";
  u.user.legal_accepted_at_ms = kT0 - 10;
  u.user.last_sign_in_at_ms = kT0 - 5;
  u.user.created_at_ms = kT0 - 100;
  u.user.updated_at_ms = kT0 - 50;
  u.emails.push_back(email("idn_1", "old@example.com", false, std::nullopt));
  u.emails.push_back(email("idn_2", "alice@example.com", true, "from_oauth_google"));
  auto google = account("eac_1", "oauth_google", "alice@example.com");
  google.first_name = "Alice";
  google.last_name = "L";
  google.image_url = "https://lh3.example/p";
  u.accounts.push_back(google);
  auto github = account("eac_2", "oauth_github", std::nullopt);
  github.username = "alice-gh";
  u.accounts.push_back(github);
  return u;
}

inline store::Session session(std::string id, std::string status) {
  store::Session s;
  s.id = std::move(id);
  s.client_id = "client_1";
  s.user_id = "user_1";
  s.status = std::move(status);
  s.expire_at_ms = kT0 + 7 * 86'400'000LL;
  s.abandon_at_ms = kT0 + 30 * 86'400'000LL;
  s.last_active_at_ms = kT0 + 185'000;  // 3 minutes after creation
  s.created_at_ms = kT0;
  s.updated_at_ms = kT0 + 185'000;
  return s;
}

inline flows::SessionView session_view(std::string id, std::string status) {
  flows::SessionView v;
  v.session = session(std::move(id), std::move(status));
  v.user = full_user();
  return v;
}

inline store::Client client_row() {
  store::Client c;
  c.id = "client_1";
  c.cookie_token_hash = std::string(64, 'a');
  c.expire_at_ms = kT0 + 90 * 86'400'000LL;
  c.created_at_ms = kT0 - 1000;
  c.updated_at_ms = kT0 - 500;
  return c;
}

// Signed in: an active session (with tasks), a pending one (user without emails or accounts),
// and an ended one that the client must not list.
inline flows::ClientView signed_in_client() {
  flows::ClientView c;
  c.client = client_row();
  c.client.last_active_session_id = "sess_1";
  c.client.last_authentication_strategy = "oauth_google";
  auto active = session_view("sess_1", "active");
  active.session.tasks = R"([{"key":"choose-organization"}])";
  c.sessions.push_back(active);
  auto pending = session_view("sess_2", "pending");
  pending.user.emails.clear();
  pending.user.accounts.clear();
  pending.user.user.image_url = std::nullopt;
  pending.user.user.first_name = std::nullopt;
  pending.user.user.username = "alice";
  pending.user.user.primary_email_address_id = std::nullopt;
  pending.user.user.public_metadata = "not json";
  pending.user.user.unsafe_metadata = "[1,2]";
  pending.session.tasks = "{\"not\":\"an array\"}";
  pending.session.last_active_at_ms = pending.session.created_at_ms - 1;  // clock skew: age 0
  c.sessions.push_back(pending);
  c.sessions.push_back(session_view("sess_3", "ended"));
  return c;
}

inline store::SignIn sign_in_row(std::string status) {
  store::SignIn s;
  s.id = "sia_1";
  s.client_id = "client_1";
  s.status = std::move(status);
  s.abandon_at_ms = kT0 + 86'400'000LL;
  s.created_at_ms = kT0;
  s.updated_at_ms = kT0;
  return s;
}

inline flows::Verification oauth_verification(std::string status) {
  flows::Verification v;
  v.status = std::move(status);
  v.strategy = "oauth_google";
  v.external_verification_redirect_url =
      "https://accounts.example/auth?response_type=code&state=s%20t&login_hint=a%40b";
  v.expire_at_ms = kT0 + 600'000;
  return v;
}

inline flows::PendingIdentity identity() {
  flows::PendingIdentity id;
  id.strategy = "oauth_google";
  id.provider = "google";
  id.provider_user_id = "sub-new";
  id.email = "new@example.com";
  id.email_verified = true;
  id.first_name = "New";
  id.last_name = "Person";
  id.image_url = "";
  id.access_token_enc = "sealed";
  return id;
}

inline store::SignUp sign_up_row(std::string status) {
  store::SignUp s;
  s.id = "sua_1";
  s.client_id = "client_1";
  s.status = std::move(status);
  s.abandon_at_ms = kT0 + 86'400'000LL;
  s.created_at_ms = kT0;
  s.updated_at_ms = kT0;
  return s;
}

struct SignInCase {
  const char* name;
  store::SignIn row;
  flows::SignInData data;
};

// One sign-in per status the SDK distinguishes, plus a failed first factor carrying an error.
inline std::vector<SignInCase> sign_in_cases() {
  std::vector<SignInCase> out;
  out.push_back({"needs_identifier", sign_in_row("needs_identifier"), {}});
  {
    flows::SignInData d;
    d.strategy = "oauth_google";
    d.identifier = "alice@example.com";
    d.first_factor = oauth_verification("unverified");
    out.push_back({"needs_first_factor", sign_in_row("needs_first_factor"), d});
  }
  {
    flows::SignInData d;
    d.strategy = "oauth_google";
    flows::Verification v;
    v.status = "failed";
    v.strategy = "oauth_google";
    v.error = flows::VerificationError{core::Code::kExternalAccountEmailUnverified,
                                       "",
                                       "Custom \"long\" message",
                                       {{"provider", "google"}, {"param_name", "email"}}};
    d.first_factor = v;
    out.push_back({"failed", sign_in_row("needs_first_factor"), d});
  }
  {
    flows::SignInData d;
    d.strategy = "oauth_google";
    d.identifier = "new@example.com";
    d.first_factor = oauth_verification("transferable");
    d.first_factor->error =
        flows::VerificationError{core::Code::kExternalAccountNotFound, "", "", {}};
    d.identity = identity();
    out.push_back({"transferable", sign_in_row("needs_first_factor"), d});
  }
  {
    flows::SignInData d;
    d.strategy = "oauth_google";
    d.identifier = "alice@example.com";
    d.first_factor = oauth_verification("verified");
    d.first_factor->external_verification_redirect_url = std::nullopt;
    d.identity = identity();
    d.identity->image_url = "https://img.example/new.png";
    d.user_id = "user_1";
    d.created_session_id = "sess_1";
    out.push_back({"complete", sign_in_row("complete"), d});
  }
  return out;
}

struct SignUpCase {
  const char* name;
  store::SignUp row;
  flows::SignUpData data;
  std::vector<std::string> required;  // configured
};

inline std::vector<SignUpCase> sign_up_cases() {
  std::vector<SignUpCase> out;
  {
    // Nothing known yet; unparseable unsafe metadata is shown as {}.
    flows::SignUpData d;
    d.unsafe_metadata = "oops";
    out.push_back({"bare", sign_up_row("missing_requirements"), d, {}});
  }
  {
    // From a transfer: verified email from the identity, names and legal consent still missing.
    flows::SignUpData d;
    d.email_address = "new@example.com";
    d.email_verified = true;
    d.first_name = "New";
    d.unsafe_metadata = R"({"k":"v","list":[true,false,null]})";
    d.identity = identity();
    d.external_account = oauth_verification("verified");
    d.external_account->external_verification_redirect_url = std::nullopt;
    out.push_back({"missing",
                   sign_up_row("missing_requirements"),
                   d,
                   {"first_name", "last_name", "legal_accepted", "username"}});
  }
  {
    // An address the SDK typed in: unverified, email_code.
    flows::SignUpData d;
    d.email_address = "typed@example.com";
    d.username = "typed_user";
    d.last_name = "";
    out.push_back({"email_code", sign_up_row("missing_requirements"), d, {"last_name"}});
  }
  {
    // Complete, the address verified through the external account only ("from_" + its
    // strategy).
    flows::SignUpData d;
    d.email_address = "done@example.com";
    d.email_verified = true;
    d.first_name = "Done";
    d.last_name = "User";
    d.username = "done_user";
    d.legal_accepted_at_ms = kT0 - 1;
    d.external_account = oauth_verification("verified");
    d.external_account->strategy = "oauth_github";
    d.created_session_id = "sess_9";
    d.created_user_id = "user_9";
    out.push_back({"complete", sign_up_row("complete"), d, {"first_name", "username"}});
  }
  return out;
}

// A client in the middle of signing in: no sessions, a sign-in and a sign-up attempt.
inline flows::ClientView attempting_client() {
  flows::ClientView c;
  c.client = client_row();
  auto si = sign_in_cases()[1];
  c.sign_in = si.row;
  c.sign_in_data = si.data;
  auto su = sign_up_cases()[1];
  c.sign_up = su.row;
  c.sign_up_data = su.data;
  return c;
}

}  // namespace latchkey::api::samples
