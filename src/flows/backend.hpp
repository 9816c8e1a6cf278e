#pragma once
// The Backend API's use cases (issue 13), HTTP-free like the Frontend API's: the instance's
// secret keys, users managed by the application's server, and their sessions. They run over the
// same FlowDeps, store and SessionService as the Frontend API, so a user created here is the
// user the Frontend API signs in, and a session revoked here is signed out there. The CLI
// (`latchkey users|sessions|secret-keys`) calls the same services.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/secret.hpp"
#include "flows/flow_types.hpp"
#include "store/store.hpp"

namespace latchkey::flows {

// ---- secret keys ----------------------------------------------------------------------------

struct NewSecretKey {
  store::SecretKey row;
  core::Secret key;  // sk_live_...: shown once, never stored
};

class SecretKeys {
 public:
  explicit SecretKeys(FlowDeps& d) : d_(d) {}

  core::Result<NewSecretKey> create();
  core::Result<std::vector<store::SecretKey>> list();
  core::Status revoke(const std::string& id);
  // Whether `bearer` is a valid (unrevoked) secret key. A store failure is an error, not a no.
  core::Result<bool> verify(std::string_view bearer);

 private:
  FlowDeps& d_;
};

// ---- users ----------------------------------------------------------------------------------

// users.createUser / updateUser. Metadata fields are JSON object text (the caller parsed them).
struct UserParams {
  std::vector<std::string> email_addresses;  // create only: the first becomes primary
  std::optional<std::string> first_name;
  std::optional<std::string> last_name;
  std::optional<std::string> username;
  std::optional<core::Secret> password;
  bool skip_password_checks = false;
  std::optional<std::string> primary_email_address_id;  // update only
  std::optional<std::string> public_metadata;
  std::optional<std::string> private_metadata;
  std::optional<std::string> unsafe_metadata;
};

// users.updateUserMetadata: each present object is deep-merged into the stored one (a key
// whose value is null is removed), as Clerk does.
struct MetadataPatch {
  std::optional<std::string> public_metadata;
  std::optional<std::string> private_metadata;
  std::optional<std::string> unsafe_metadata;
};

class BackendUsers {
 public:
  explicit BackendUsers(FlowDeps& d) : d_(d) {}

  core::Result<UserView> get(const std::string& id);
  core::Result<std::vector<UserView>> list(const store::UserQuery& query);
  core::Result<std::int64_t> count(const store::UserQuery& query);
  core::Result<UserView> create(const UserParams& params);
  core::Result<UserView> update(const std::string& id, const UserParams& params);
  core::Result<UserView> merge_metadata(const std::string& id, const MetadataPatch& patch);
  // Deletes the user with its addresses, accounts and sessions.
  core::Status remove(const std::string& id);
  // users.banUser: banned, and every live session revoked; unbanUser lifts it.
  core::Result<UserView> set_banned(const std::string& id, bool banned);
  // users.lockUser: locked until unlocked (the password lockout's column, far in the future);
  // unlockUser also clears the count of wrong passwords.
  core::Result<UserView> set_locked(const std::string& id, bool locked);
  // users.setPasswordCompromised / unsetPasswordCompromised: the password must be replaced. A
  // password sign-in then ends in needs_new_password, any other sign-in in a session with the
  // reset-password task; `revoke_all_sessions` signs the user out everywhere now. A user without
  // a password is 422 (param password).
  core::Result<UserView> set_password_compromised(const std::string& id, bool compromised,
                                                  bool revoke_all_sessions);
  // users.verifyPassword: Ok when the password is the user's, else form_password_incorrect.
  core::Status verify_password(const std::string& id, const core::Secret& password);
  // users.disableUserMFA: the authenticator app and the backup codes go (an account recovery);
  // the next sign-in asks for no second factor.
  core::Result<UserView> disable_mfa(const std::string& id);

 private:
  FlowDeps& d_;
};

// When lockUser locks until: 9999-12-31T23:59:59Z.
inline constexpr std::int64_t kLockedForever = 253'402'300'799'000;

// Deep merge of JSON object texts (Clerk's metadata merge): `patch`'s keys replace `base`'s,
// objects merge recursively, a null removes the key. kFormParamInvalid if either is not an
// object.
core::Result<std::string> merge_json_objects(std::string_view base, std::string_view patch);

// ---- email addresses ------------------------------------------------------------------------

// emailAddresses.createEmailAddress: the address in the canonical form (flows/identifiers.hpp).
struct NewEmailParams {
  std::string user_id;
  std::string email_address;
  bool verified = false;
  std::optional<bool> primary;  // default: primary when it is the user's first address
};

// emailAddresses.updateEmailAddress: each present flag is applied (verified=false unverifies;
// primary=true makes it primary; primary=false is refused on the primary address).
struct EmailPatch {
  std::optional<bool> verified;
  std::optional<bool> primary;
};

// An address with its owner's external accounts (for linked_to).
struct EmailView {
  store::EmailAddress email;
  std::vector<store::ExternalAccount> accounts;
};

class BackendEmails {
 public:
  explicit BackendEmails(FlowDeps& d) : d_(d) {}

  // 404 resource_not_found for an unknown id.
  core::Result<EmailView> get(const std::string& id);
  // 404 for an unknown user; 422 form_identifier_exists for an address anyone has.
  core::Result<EmailView> create(const NewEmailParams& params);
  core::Result<EmailView> update(const std::string& id, const EmailPatch& patch);
  // The primary address of a user who has others is refused (make another one primary first).
  core::Status remove(const std::string& id);

 private:
  FlowDeps& d_;
};

// ---- sessions -------------------------------------------------------------------------------

struct SessionQuery {
  std::string user_id;  // one of user_id and client_id is required
  std::string client_id;
  std::string status;  // "" = any
  std::int64_t limit = 10;
  std::int64_t offset = 0;
};

struct SessionPage {
  std::vector<store::Session> sessions;  // newest first
  std::int64_t total_count = 0;
};

class BackendSessions {
 public:
  explicit BackendSessions(FlowDeps& d) : d_(d) {}

  core::Result<SessionPage> list(const SessionQuery& query);
  core::Result<store::Session> get(const std::string& id);
  core::Result<store::Session> revoke(const std::string& id);
  // sessions.getToken: the session token the Frontend API mints, for a live session.
  core::Result<std::string> token(const std::string& id);

 private:
  FlowDeps& d_;
};

// ---- clients --------------------------------------------------------------------------------

// A client as the Backend API shows it: the row and every session it holds (oldest first, a live
// session past its expiry shown as expired).
struct BackendClient {
  store::Client client;
  std::vector<store::Session> sessions;
};

struct ClientPage {
  std::vector<BackendClient> clients;  // newest first
  std::int64_t total_count = 0;
};

class BackendClients {
 public:
  explicit BackendClients(FlowDeps& d) : d_(d) {}

  core::Result<ClientPage> list(std::int64_t limit, std::int64_t offset);
  // kClientNotFound for an unknown id.
  core::Result<BackendClient> get(const std::string& id);
  // clients.verifyClient(token): the client whose current `__client` credential is `token` and
  // which has not expired; a rotated-out credential or an expired client is kClientNotFound.
  core::Result<BackendClient> verify(std::string_view token);

 private:
  FlowDeps& d_;
};

struct Backend {
  explicit Backend(FlowDeps& d)
      : keys(d),
        users(d),
        sessions(d),
        clients(d),
        emails(d),
        testing_tokens(d.testing_tokens),
        clock(d.clock) {}
  SecretKeys keys;
  BackendUsers users;
  BackendSessions sessions;
  BackendClients clients;
  BackendEmails emails;
  // POST /v1/testing_tokens: set only with [testing] enabled (nullptr: the route refuses).
  const TestingTokens* testing_tokens;
  const core::Clock& clock;
};

}  // namespace latchkey::flows
