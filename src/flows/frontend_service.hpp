#pragma once
// The Frontend API's domain logic, HTTP-free (design.md §3.4): clients, sign-in and sign-up
// attempts, the OAuth round trip, transfers, account linking, sessions. Every write happens in
// one store transaction, so a failure leaves no half-made user, session or link. Provider calls
// happen outside transactions (no lock is held across the network).
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/random.hpp"
#include "crypto/sealer.hpp"
#include "flows/attempts.hpp"
#include "oauth/service.hpp"
#include "store/store.hpp"

namespace latchkey::flows {

struct FrontendSettings {
  std::string public_origin;      // "http://localhost:5173"
  std::string callback_url;       // <public_url><prefix>/v1/oauth_callback (exact redirect_uri)
  std::vector<std::string> allowed_origins;  // normalised; includes public_origin
  std::vector<std::string> required_fields;  // configured (first_name, last_name, ...)
  std::chrono::milliseconds session_lifetime{std::chrono::hours(24 * 7)};
  std::chrono::milliseconds client_lifetime{std::chrono::hours(24 * 90)};
  std::chrono::milliseconds attempt_lifetime{std::chrono::hours(24)};
  std::chrono::milliseconds oauth_state_lifetime{std::chrono::minutes(10)};
  bool single_session_mode = true;
  // How long a rotated-out client credential is still recognised as a stale copy (answered 401,
  // never with a new client and cookie) instead of an unknown one: covers requests of the same
  // browser that were in flight when the credential rotated.
  std::chrono::milliseconds client_rotation_grace{std::chrono::seconds(60)};
};

struct UserView {
  store::User user;
  std::vector<store::EmailAddress> emails;
  std::vector<store::ExternalAccount> accounts;
};

struct SessionView {
  store::Session session;
  UserView user;
};

// A client as the SDK sees it: only live (active/pending, unexpired) sessions are listed.
struct ClientView {
  store::Client client;
  std::vector<SessionView> sessions;
  std::optional<store::SignIn> sign_in;
  std::optional<SignInData> sign_in_data;
  std::optional<store::SignUp> sign_up;
  std::optional<SignUpData> sign_up_data;

  [[nodiscard]] const SessionView* find_session(std::string_view id) const;
};

// Who is asking: the __client cookie token (if any) and the request's origin after the CORS
// allowlist (empty when absent or not allowed).
struct Caller {
  std::optional<std::string> client_token;
  std::string origin;
  // More than one client cookie came with the request (a planted Domain= or Path= variant beside
  // ours): it is never resolved by order, so the caller has no client (docs/security.md).
  bool ambiguous_client_cookie = false;
};

struct SignInParams {
  std::optional<std::string> strategy;
  std::optional<std::string> identifier;
  std::optional<std::string> redirect_url;
  std::optional<std::string> action_complete_redirect_url;
  bool transfer = false;
};

struct SignUpParams {
  std::optional<std::string> strategy;
  std::optional<std::string> redirect_url;
  std::optional<std::string> action_complete_redirect_url;
  std::optional<std::string> first_name;
  std::optional<std::string> last_name;
  std::optional<std::string> username;
  std::optional<std::string> email_address;
  std::optional<bool> legal_accepted;
  std::optional<std::string> unsafe_metadata;  // JSON object text
  bool transfer = false;
};

struct Mutation {
  ClientView client;                          // state after the change
  // The client's credential was issued (a client was created) or rotated (who is signed in
  // changed): set this cookie. The previous value no longer reveals a session or mints a token.
  std::optional<std::string> new_client_token;
  std::string resource_id;                    // the sign-in / sign-up / session acted on
};

struct CallbackOutcome {
  std::string redirect_to;  // absolute URL to send the browser to (303)
  // Why the provider round trip failed (recorded on the attempt too); nullopt on success. The
  // handler logs it as the audit event (design.md §3.13: log once, at the boundary).
  std::optional<core::Error> failure;
  // A session was created: the client credential rotated; set this cookie on the redirect.
  std::optional<std::string> new_client_token;
};

// A session that may mint a token right now.
struct TokenGrant {
  store::Session session;
};

class FrontendService {
 public:
  FrontendService(FrontendSettings settings, store::Store& store, oauth::Service& oauth,
                  const crypto::Sealer& sealer, const core::Clock& clock, core::Random& random);

  // nullopt: no (live) client for this caller.
  core::Result<std::optional<ClientView>> get_client(const Caller& caller);

  core::Result<Mutation> create_sign_in(const Caller& caller, const SignInParams& params);
  core::Result<Mutation> get_sign_in(const Caller& caller, const std::string& id);
  core::Result<Mutation> create_sign_up(const Caller& caller, const SignUpParams& params);
  core::Result<Mutation> get_sign_up(const Caller& caller, const std::string& id);
  core::Result<Mutation> update_sign_up(const Caller& caller, const std::string& id,
                                        const SignUpParams& params);

  // The provider's redirect back to us. Errors (400 envelope) only when no attempt of this
  // caller can carry the failure; otherwise the failure is recorded on the attempt and the
  // browser goes back to the app like on success.
  core::Result<CallbackOutcome> oauth_callback(const Caller& caller,
                                               const oauth::CallbackParams& params,
                                               const std::string& state);

  core::Result<Mutation> touch_session(const Caller& caller, const std::string& session_id);
  // "ended" (session.end) or "removed" (session.remove).
  core::Result<Mutation> end_session(const Caller& caller, const std::string& session_id,
                                     std::string_view new_status);
  // clerk.signOut(): every live session of the client is removed; the client stays.
  core::Result<Mutation> sign_out(const Caller& caller);
  // client.destroy(): sessions end and the client is deleted. Returns the deleted client's id.
  core::Result<std::string> destroy_client(const Caller& caller);

  core::Result<TokenGrant> authorize_token(const Caller& caller, const std::string& session_id);

  [[nodiscard]] const FrontendSettings& settings() const { return settings_; }
  [[nodiscard]] static std::string hash_client_token(std::string_view token);

 private:
  core::Result<Mutation> get_attempt(const Caller& caller, const std::string& id, bool sign_up);
  core::Result<std::optional<store::Client>> find_client(store::Tx& tx, const Caller& caller,
                                                         std::int64_t now);
  // A new credential for `client` (the caller writes the client): the old one stops working at
  // once and is remembered as stale for settings_.client_rotation_grace. Returns the cookie value.
  std::string rotate_credential(store::Client& client, std::int64_t now);
  core::Result<store::Client> find_or_create_client(store::Tx& tx, const Caller& caller,
                                                    std::int64_t now,
                                                    std::optional<std::string>& new_token);
  core::Result<store::Client> require_client(store::Tx& tx, const Caller& caller,
                                             std::int64_t now);
  core::Result<ClientView> load_view(store::Tx& tx, const store::Client& client, std::int64_t now);
  core::Result<std::vector<store::Session>> live_sessions(store::Tx& tx,
                                                          const std::string& client_id,
                                                          std::int64_t now);
  // Creates the session and rotates the client credential into `issued_token`.
  core::Result<std::string> create_session(store::Tx& tx, store::Client& client,
                                           const std::string& user_id, std::int64_t now,
                                           std::optional<std::string>& issued_token);
  core::Result<std::string> create_user(store::Tx& tx, const SignUpData& data,
                                        const PendingIdentity& identity, std::int64_t now);
  core::Status link_external_account(store::Tx& tx, const std::string& user_id,
                                     const PendingIdentity& identity, std::int64_t now);
  core::Status refresh_external_account(store::Tx& tx, store::ExternalAccount account,
                                        const PendingIdentity& identity, std::int64_t now);
  // Persists the single-use state of an authorization request made before the transaction
  // (discovery may need the network; no store lock is held across it).
  core::Status save_oauth_state(store::Tx& tx, const store::Client& client,
                                std::string_view attempt_type, const std::string& attempt_id,
                                const std::string& strategy,
                                const oauth::AuthorizationRequest& request, std::int64_t now);
  // Everything an OAuth start needs before the transaction: the strategy is enabled, the redirect
  // URLs are allowed (made absolute), and the provider's authorization request is built.
  struct OAuthStart {
    std::string redirect_url;
    std::string action_complete_redirect_url;
    oauth::AuthorizationRequest request;
  };
  core::Result<OAuthStart> start_oauth(const Caller& caller, const std::string& strategy,
                                       const std::optional<std::string>& redirect_url,
                                       const std::optional<std::string>& action_url,
                                       std::string_view login_hint);
  core::Result<std::string> resolve_redirect(const std::optional<std::string>& url,
                                             const Caller& caller, std::string_view param,
                                             bool required);
  // Where an identity leads for a sign-in: the user to sign in, or the reason it can't.
  struct Resolution {
    std::optional<std::string> user_id;
    std::optional<store::ExternalAccount> existing_account;
    bool link_by_email = false;
    std::optional<core::Error> refusal;
  };
  core::Result<Resolution> resolve_identity(store::Tx& tx, const PendingIdentity& identity);
  // Completes a sign-in for `user_id` (session etc.), or records why it can't.
  core::Status finish_sign_in(store::Tx& tx, store::Client& client, store::SignIn& row,
                              SignInData& data, const PendingIdentity& identity,
                              const Resolution& resolution, std::int64_t now,
                              std::optional<std::string>& issued_token);
  core::Status apply_sign_up_identity(store::Tx& tx, store::Client& client, store::SignUp& row,
                                      SignUpData& data, const PendingIdentity& identity,
                                      std::int64_t now, std::optional<std::string>& issued_token);
  core::Status try_complete_sign_up(store::Tx& tx, store::Client& client, store::SignUp& row,
                                    SignUpData& data, std::int64_t now,
                                    std::optional<std::string>& issued_token);
  PendingIdentity seal_identity(const oauth::ExternalIdentity& id) const;

  FrontendSettings settings_;
  store::Store& store_;
  oauth::Service& oauth_;
  const crypto::Sealer& sealer_;
  const core::Clock& clock_;
  core::Random& random_;
};

}  // namespace latchkey::flows
