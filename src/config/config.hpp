#pragma once
// Configuration is parsed once into immutable, validated structs (design.md §3.5).
// Every key is documented in docs/configuration.md; every key can be overridden by the environment
// variable LATCHKEY_<SECTION>_<KEY> (upper case, dots of nested sections become underscores).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/secret.hpp"

namespace latchkey::config {

struct ServerConfig {
  std::string listen = "127.0.0.1:8787";             // host:port; port 0 = any free port (tests)
  std::string public_url = "http://127.0.0.1:8787";  // absolute base URL the world uses to reach us
  unsigned threads = 1;                              // I/O threads; 0 = one per core
  unsigned workers = 2;  // handler worker threads (blocking work: store, argon2id)
  // Threads of the routes that wait on an identity provider (the OAuth callback, sign-in/up with
  // an OAuth strategy or a captcha token): a hung provider never holds a `workers` thread.
  unsigned outbound_workers = 32;
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 64 * 1024;
  std::chrono::milliseconds read_timeout{10'000};
  std::chrono::milliseconds write_timeout{10'000};
  std::chrono::milliseconds idle_timeout{60'000};
  std::chrono::milliseconds shutdown_timeout{10'000};
  std::size_t max_connections = 10'000;
};

struct StorageConfig {
  std::string
      database_url;  // "" = sqlite file under data_dir; "sqlite:///path" or "postgres://..."
  std::filesystem::path data_dir = "latchkey-data";
  std::chrono::milliseconds busy_timeout{5'000};
};

struct KeysConfig {
  // 32-byte key (base64) that encrypts private signing keys and provider secrets at rest.
  // Empty = a key file `master.key` (0600) is created in data_dir on first start.
  core::Secret encryption_key;
  std::string algorithm = "RS256";
  unsigned rsa_bits = 2048;
  // A rotated-out key stays published this long after it stopped signing (>= longest token life).
  std::chrono::seconds retire_after{3600};
  // A new key is published at once but signs only this long after it was created, so every node
  // (each re-reads the keys every 5 s) and every verifier's JWKS cache can know it before the
  // first token it signs arrives; until then the key it replaced keeps signing. 0 = at once.
  std::chrono::seconds activation_delay{15};
};

struct LoggingConfig {
  std::string level = "info";   // trace, debug, info, warn, error, off
  std::string format = "json";  // json | text
  bool access_log = true;
};

struct OAuthProviderConfig {
  std::string strategy;  // oauth_google, oauth_github, oauth_microsoft, oauth_custom_<name>
  std::string name;      // display name
  std::string client_id;
  core::Secret client_secret;
  std::string issuer;               // OIDC issuer (custom; microsoft tenant issuer override)
  std::vector<std::string> scopes;  // empty = provider default
  // Endpoint overrides (tests point Google/GitHub-shaped providers at a local IdP).
  std::string authorization_endpoint;
  std::string token_endpoint;
  std::string userinfo_endpoint;
  std::string jwks_uri;
  std::string api_base;  // GitHub API base (default https://api.github.com)
  std::string token_auth_method = "client_secret_post";  // or client_secret_basic
};

struct FrontendApiConfig {
  std::string path_prefix = "/__clerk";  // FAPI base path (the SDK's proxyUrl)
  std::string application_name = "Latchkey";
  std::string sign_in_url = "/sign-in";
  std::string sign_up_url = "/sign-up";
  std::string home_url = "/";
  std::vector<std::string>
      allowed_origins;  // CORS + redirect targets; public_url's origin always allowed
  std::vector<std::string> required_fields;  // of first_name, last_name, username, legal_accepted
  std::chrono::seconds session_token_lifetime{60};
  std::chrono::seconds session_lifetime{7 * 24 * 3600};
  std::chrono::seconds client_lifetime{90 * 24 * 3600};
  std::chrono::seconds attempt_lifetime{24 * 3600};
  std::chrono::seconds oauth_state_lifetime{600};
  // A rotated-out __client value is recognised as a stale copy (401, no new client) this long.
  std::chrono::seconds client_rotation_grace{60};
  // A session's last_active_at is written at most this often (0 = on every touch); within it the
  // node remembers and answers the exact value.
  std::chrono::seconds last_active_write_interval{60};
  std::chrono::milliseconds outbound_timeout{10'000};
  std::size_t outbound_max_bytes = 1024 * 1024;
  bool single_session_mode = true;
  std::filesystem::path
      static_dir;  // serve clerk-js dist under <prefix>/npm/@clerk/clerk-js@6/dist/
};

// Rate limits (security catalog §2.G; docs/security.md). Counts are per window, per key; 0 turns a
// limit off. "client" keys are the browser's __client cookie, "ip" keys the peer address (or the
// X-Forwarded-For entry written by one of trusted_proxies).
struct RateLimitConfig {
  bool enabled = true;
  // Where the counters live: "memory" (each node its own), "database" (the store every node
  // shares), or "auto" = database with PostgreSQL storage, memory with SQLite (one node).
  std::string counters = "auto";
  std::chrono::milliseconds window{60'000};
  unsigned sign_in_per_ip = 60;  // POST sign_ins / sign_ups / PATCH sign_ups (attempts)
  unsigned sign_in_per_client = 20;
  unsigned verification_per_ip = 60;  // OAuth callbacks (verification attempts)
  unsigned verification_per_client = 20;
  unsigned token_per_ip = 600;  // POST sessions/{id}/tokens (token minting)
  unsigned token_per_client = 120;
  std::vector<std::string> trusted_proxies;  // exact IP addresses whose X-Forwarded-For is believed
};

// Email and SMS delivery (issue 11 item 4; docs/configuration.md): sending limits and retries.
struct DeliveryConfig {
  std::chrono::milliseconds limit_window{3'600'000};
  unsigned per_ip = 20;                    // messages asked for by one IP per window (0 = off)
  unsigned per_recipient = 10;             // messages to one address or number per window
  unsigned per_country = 500;              // SMS to one calling code per window (all requesters)
  std::vector<std::string> sms_countries;  // calling codes SMS may go to; empty = all
  unsigned max_attempts = 10;
  std::chrono::milliseconds max_age{24 * 3'600'000};
  std::chrono::milliseconds backoff_base{5'000};
  std::chrono::milliseconds backoff_max{900'000};
  std::chrono::milliseconds poll_interval{5'000};
};

// The SMTP submission server; host "" = none: messages go to the mail drop <data_dir>/mail/.
struct SmtpConfig {
  std::string host;
  unsigned port = 587;
  std::string tls = "starttls";  // starttls | implicit | none
  std::string username;
  core::Secret password;
  std::string from;  // "Name <address>" or an address; "" = <application_name> <no-reply@host>
  std::chrono::milliseconds timeout{30'000};
  std::filesystem::path ca_file;  // PEM bundle to verify the server; "" = the system trust store
};

// The SMS gateway; provider "" = none: SMS go to the mail drop too.
struct SmsConfig {
  std::string provider;  // "" | twilio | webhook
  std::string url;       // twilio: API base (default https://api.twilio.com); webhook: required
  std::string account_sid;
  core::Secret auth_token;
  std::string from;
};

// Which identifiers and first factors the instance offers (issue 11; with no configuration: email
// address + password, the address verified by an emailed code, as a new Clerk application).
struct IdentifiersConfig {
  bool email_address = true;  // sign in and sign up with an email address
  bool password = true;       // password first factor, required at sign-up
  bool email_code = true;     // email_code first factor and reset_password_email_code
  std::chrono::milliseconds code_lifetime{10 * 60'000};
  unsigned code_max_attempts = 3;
  std::chrono::milliseconds code_resend_cooldown{30'000};
  bool enumeration_protection = false;  // Clerk's "user enumeration protection" (off by default)
  bool email_link = false;  // email_link first factor and sign-up verification (off, as Clerk)
  std::chrono::milliseconds email_link_lifetime{10 * 60'000};
};

// Second factors a user may enroll (issue 12): an authenticator app (TOTP, RFC 6238) and backup
// codes beside it. A user who enrolled one must pass it after every first factor.
struct MfaConfig {
  bool authenticator_app = true;  // /v1/me/totp, the totp second factor
  bool backup_codes = true;       // /v1/me/backup_codes, the backup_code second factor
  unsigned max_attempts = 5;  // wrong second-factor codes before the sign-in's verification fails
  bool required = false;  // every user must have one: sessions of those without wait on setup-mfa
};

// Password hashing (argon2id, libsodium), policy (Clerk's codes) and the temporary lockout.
struct PasswordsConfig {
  unsigned hash_opslimit = 2;           // argon2id t (OWASP floor: t=2, m=19 MiB, p=1)
  unsigned hash_memlimit_kib = 19'456;  // argon2id m in KiB
  unsigned min_length = 8;
  unsigned max_length = 72;
  bool require_lowercase = false;
  bool require_uppercase = false;
  bool require_number = false;
  bool require_special = false;
  unsigned min_strength = 0;           // zxcvbn score 0..4 (0 = no strength check)
  bool reject_pwned = true;            // the bundled list of the most common breached passwords
  unsigned lockout_max_attempts = 10;  // consecutive wrong passwords (0 = no lockout)
  std::chrono::milliseconds lockout_duration{3'600'000};
};

// Clerk's test mode, so an app's own end-to-end suite runs against Latchkey: addresses with the
// `+clerk_test` subaddress accept the code 424242 and are sent nothing. Off by default, and
// refused together with an https public URL (a production marker) unless forced.
struct TestingConfig {
  bool enabled = false;
  bool allow_production = false;
};

// Bot protection on sign-up (issue 11 item 6; docs/configuration.md). Off by default: Clerk's
// default is on, but a widget needs a site key from the provider, which a fresh install has not.
struct BotProtectionConfig {
  bool enabled = false;
  std::string provider = "turnstile";  // turnstile | hcaptcha | recaptcha
  std::string site_key;                // shown to the browser (display_config.captcha_public_key)
  core::Secret secret_key;             // sent to siteverify only
  std::string verify_url;              // "" = the provider's siteverify URL
  std::string widget = "smart";        // smart | invisible
  std::chrono::milliseconds timeout{5'000};  // one siteverify call
  // OAuth strategies whose sign-ups need no token (Clerk's captcha_oauth_bypass default).
  std::vector<std::string> oauth_bypass{"oauth_google", "oauth_microsoft", "oauth_apple"};
};

// The relying party's bulkheads (issue 15 item 1): what one identity provider may hold at once,
// and how long one callback may spend talking to it.
struct OAuthConfig {
  // begin/complete calls to one provider at once; one more is refused (oauth_provider_unavailable).
  // Below server.outbound_workers, so a hung provider leaves outbound threads for the others.
  unsigned max_concurrent_per_provider = 16;
  // One deadline for all the outbound calls of a callback (discovery, token, JWKS, userinfo);
  // each call gets min(frontend.outbound_timeout, what remains).
  std::chrono::milliseconds callback_deadline{10'000};
};

// The Backend API (issue 13; docs/backend-api.md): /v1/users, /v1/sessions, ... for the
// application's server, authenticated with a secret key (`latchkey secret-keys create`). It is
// served on the main listener, under path_prefix.
struct BackendApiConfig {
  bool enabled = true;
  std::string path_prefix;  // "" = /v1/... at the root (the SDK's apiUrl is public_url + it)
};

// Webhooks (issue 13 item 6; docs/configuration.md "[webhooks]"): retries and timeouts. The
// endpoints are [webhook_endpoints.<name>] tables (WebhookEndpointConfig).
struct WebhooksConfig {
  // The waits before the 2nd, 3rd, ... attempt (durations); after the last one fails the
  // delivery is failed. Svix's schedule (now, then these) by default.
  std::vector<std::string> retry_schedule{"5s", "5m", "30m", "2h", "5h", "10h", "10h"};
  std::chrono::milliseconds timeout{15'000};  // one attempt
  std::chrono::milliseconds poll_interval{5'000};
  std::chrono::milliseconds retention{7LL * 24 * 3'600'000};  // finished deliveries kept
  std::string instance_id;  // the events' instance_id; "" = ins_ + a digest of server.public_url
};

// One endpoint: [webhook_endpoints.<name>] (name: a-z, 0-9, _; 1-32 characters).
struct WebhookEndpointConfig {
  std::string name;
  std::string url;              // http or https
  core::Secret signing_secret;  // whsec_<base64>; LATCHKEY_WEBHOOK_ENDPOINTS_<NAME>_SIGNING_SECRET
  std::vector<std::string> events;  // event types; empty = every event
};

struct Config {
  ServerConfig server;
  StorageConfig storage;
  KeysConfig keys;
  LoggingConfig logging;
  FrontendApiConfig frontend;
  RateLimitConfig ratelimit;
  DeliveryConfig delivery;
  SmtpConfig smtp;
  SmsConfig sms;
  IdentifiersConfig identifiers;
  PasswordsConfig passwords;
  MfaConfig mfa;
  TestingConfig testing;
  BotProtectionConfig bot_protection;
  OAuthConfig oauth;
  BackendApiConfig backend_api;
  std::vector<OAuthProviderConfig> providers;
  WebhooksConfig webhooks;
  std::vector<WebhookEndpointConfig> webhook_endpoints;  // in name order
};

// Loads `path` (may be empty: defaults only), applies LATCHKEY_* overrides from `env`, validates.
// Errors name the key (and the file line when it came from the file); the CLI turns them into
// exit 2. Messages never contain a secret value (client_secret, encryption_key, database_url).
struct ConfigError {
  std::string key;  // dotted key ("server.listen"), or the name of an unknown LATCHKEY_* variable
  std::string message;   // "server.listen (line 3): expected host:port, got ..."
  std::size_t line = 0;  // 1-based line in the file when the value came from it, else 0
  std::string env_var;   // the LATCHKEY_* variable when the value came from the environment
};
std::expected<Config, ConfigError> load(const std::filesystem::path& path,
                                        const std::map<std::string, std::string>& env);

// The process environment as a map (only LATCHKEY_* variables).
std::map<std::string, std::string> latchkey_environment();

// The one LATCHKEY_* variable that is not a config key: the CLI reads the config file path from it.
// load() ignores it (every other unknown LATCHKEY_* variable is an error).
inline constexpr std::string_view kConfigFileEnv = "LATCHKEY_CONFIG";

// The effective configuration as TOML text (every key, defaults included), for `latchkey config
// check`. Every non-empty secret is printed as "[redacted]", and so is the password of a
// database_url.
std::string describe(const Config& config);

// A duration as the configuration writes it ("500ms", "10s", "5m", "1h", "7d") in milliseconds
// (webhooks.retry_schedule, a list of them); nullopt when malformed.
std::optional<std::int64_t> duration_ms(std::string_view text);

}  // namespace latchkey::config
