#pragma once
// The fake identity provider of every suite: an OpenID provider (and GitHub's OAuth and REST API)
// on 127.0.0.1:0, scriptable down to the byte for the security catalog (security-catalog.md
// §2.M), on FakeHttpServer (each connection on its own thread, so a route can hang, trickle or
// stream forever without blocking the others). Everything it answers can be scripted:
//   - the ID token: any header and claims (hooks), the issuer, signing mode (RS256, corrupted
//     signature, alg none, HS256 keyed with the client secret, ES256, another key), the kid and
//     the key, or a rewrite of the finished token;
//   - the token response JSON (hook), the discovery document (hook; the algorithms it
//     advertises), the JWKS (key list), the userinfo answer (hook), GitHub's /user/emails;
//   - a transport fault per path: delay, hang, trickle, close without answering, oversized body,
//     endless chunked body, a huge Content-Length, a raw (malformed) body with any status;
//   - it counts and records every call per path (to assert "the token endpoint was not called").
// The user agent is the test: authorize() reads the authorization URL Latchkey produced and hands
// out a one-time code bound to its PKCE challenge, nonce and redirect_uri. By default the token
// endpoint checks code, redirect_uri, client credentials and PKCE like a real provider and records
// every violation; `check_token_requests = false` answers any code for the latest grant (for
// relying-party unit tests that assert on the token request themselves).
#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "crypto/key.hpp"
#include "support/http_server.hpp"
#include "support/process.hpp"

namespace latchkey::test {

struct IdpUser {
  std::string sub = "idp-user-1";
  std::string email = "ada@example.com";
  bool email_verified = true;
  std::string given_name = "Ada";
  std::string family_name = "Lovelace";
  // Optional profile ("" = not sent): OIDC `name`, `picture` and `preferred_username`; GitHub's
  // `name` (default: given and family name), `avatar_url` and `login` (default "octo").
  std::string name{};
  std::string picture{};
  std::string username{};
};

enum class Sign { kRs256, kCorruptSignature, kAlgNone, kHs256ClientSecret, kEs256, kOtherRsaKey };

// What goes wrong on one path.
struct Fault {
  enum Kind {
    kNone,            // a normal answer, after `delay`
    kHang,            // accept, read the request, never answer (until the IdP stops)
    kTrickle,         // answer one byte every `delay`
    kClose,           // close without answering
    kOversized,       // a valid-looking JSON body of `bytes` bytes
    kEndlessChunked,  // chunked body that never ends
    kHugeLength,      // Content-Length: 10^12, then a few bytes and silence
    kRaw,             // `status`, `content_type`, `body` as given, after `delay`
  };
  Fault() = default;
  Fault(Kind k, std::chrono::milliseconds d = {}, std::size_t n = 0, int st = 200,
        std::string ct = "application/json", std::string b = {})
      : kind(k), delay(d), bytes(n), status(st), content_type(std::move(ct)), body(std::move(b)) {}
  // A raw answer: any status, media type and body.
  static Fault raw(int status, std::string content_type, std::string body,
                   std::chrono::milliseconds delay = {}) {
    return Fault(kRaw, delay, 0, status, std::move(content_type), std::move(body));
  }

  Kind kind = kNone;
  std::chrono::milliseconds delay{0};  // also: plain delay before a normal answer
  std::size_t bytes = 0;
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

// A key published in the JWKS.
struct IdpKey {
  const crypto::PrivateKey* key;
  std::string kid;  // "" = no kid in the JWK
  crypto::Alg alg;
};

// Keys made once per test binary (generation is the slow part): three RSA keys (n = 1, 2, 3) and
// one P-256 key.
const crypto::PrivateKey& rsa_key(int n);
const crypto::PrivateKey& ec_key();

std::string b64(std::string_view s);  // base64url without padding

inline constexpr const char* kFakeIdpClientId = "fake-idp-client-id";
inline constexpr const char* kFakeIdpClientSecret = "fake-idp-client-secret-5b1e0c2d9a77";

struct FakeIdpOptions {
  std::string issuer_path{};  // appended to the base URL to form the issuer ("/common/v2.0")
  std::string client_id = kFakeIdpClientId;
  std::string client_secret = kFakeIdpClientSecret;
  const core::Clock* clock = nullptr;  // iat/exp of ID tokens; default: the system clock
  bool check_token_requests = true;    // false: any code is good for the latest grant
  std::string github_api_path{};       // where GitHub's /user and /user/emails live ("" = root)
};

class FakeIdp {
 public:
  using Options = FakeIdpOptions;
  using User = IdpUser;
  static constexpr const char* kClientId = kFakeIdpClientId;
  static constexpr const char* kClientSecret = kFakeIdpClientSecret;

  explicit FakeIdp(std::string issuer_path = "");
  explicit FakeIdp(Options options);
  FakeIdp(const FakeIdp&) = delete;
  FakeIdp& operator=(const FakeIdp&) = delete;
  ~FakeIdp() { stop(); }

  // Ends every connection (hanging ones included). Idempotent.
  void stop() { server_.stop(); }

  [[nodiscard]] std::string base() const { return server_.base_url(); }
  [[nodiscard]] std::string issuer() const { return base() + options_.issuer_path; }
  [[nodiscard]] const std::string& client_id() const { return options_.client_id; }
  [[nodiscard]] const std::string& client_secret() const { return options_.client_secret; }
  // The transport: calls counted and the last request recorded per path.
  [[nodiscard]] FakeHttpServer& server() { return server_; }
  [[nodiscard]] int calls(const std::string& path) const { return server_.count(path); }
  [[nodiscard]] int token_calls() const {
    return calls("/token") + calls("/login/oauth/access_token");
  }
  [[nodiscard]] int userinfo_calls() const { return calls("/userinfo"); }
  [[nodiscard]] std::string discovery_path() const {
    return options_.issuer_path + "/.well-known/openid-configuration";
  }

  // Latchkey's oauth_google / oauth_microsoft pointed here (issuer override: exact match,
  // discovery from here), and oauth_github with its endpoints here.
  [[nodiscard]] EnvVars google_env() const;
  [[nodiscard]] EnvVars microsoft_env() const;
  [[nodiscard]] EnvVars github_env() const;

  struct Grant {
    std::string code;
    std::string state;
    std::string nonce;
  };

  // The user approves at the provider: a one-time code bound to the request's PKCE challenge,
  // nonce and redirect_uri (as a real provider binds them).
  Grant authorize(const std::string& authorization_url, const User& user);
  // The same, checking the authorization request first as a strict provider would (RFC 6749
  // §4.1.1, RFC 7636 §4.3, OIDC Core 3.1.2.1): endpoint, client_id, the exact redirect_uri,
  // S256 challenge, state and nonce entropy, the openid scope.
  Grant authorize(const std::string& authorization_url, const User& user,
                  const std::string& expected_redirect_uri);

  // ---- scripting: under the lock (connection threads read all of it) ----
  template <typename F>
  void script(F&& f) {
    std::lock_guard lock(mu_);
    f(*this);
  }
  void set_delay(const std::string& path, std::chrono::milliseconds d);
  void set_token_delay(std::chrono::milliseconds d) { set_delay("/token", d); }
  void set_discovery_delay(std::chrono::milliseconds d) { set_delay(discovery_path(), d); }
  // Changes every ID token's claims from now on (a misbehaving or hostile provider).
  void set_claims_hook(std::function<void(boost::json::object& claims)> hook);
  // Signs from now on with `k` (an RS256 key, or ec_key() for ES256), its kid in the header.
  // Not locked: call it inside script() once connections may be served.
  void sign_with(const IdpKey& k);

  std::function<void(boost::json::object& claims)> claims_hook;  // runs before id_token_hook
  std::function<void(boost::json::object& header, boost::json::object& claims)> id_token_hook;
  std::function<std::string(const std::string& id_token)> id_token_transform;
  std::function<void(boost::json::object& body)> token_response_hook;
  std::function<void(boost::json::object& doc)> discovery_hook;
  std::function<void(boost::json::object& info)> userinfo_hook;
  std::function<boost::json::value(const User&)> github_emails;  // default: [{primary, verified}]

  std::vector<IdpKey> keys_;                           // published in the JWKS
  std::string sign_kid_;                               // kid put in the header ("" = none)
  const crypto::PrivateKey* sign_key_ = nullptr;       // RS256 key; default: rsa_key(1)
  Sign sign_mode_ = Sign::kRs256;                      // kEs256 signs with ec_key()
  std::vector<std::string> signing_algs_ = {"RS256"};  // advertised in discovery
  std::string token_issuer_;                           // the ID token's iss ("" = issuer())
  std::map<std::string, Fault> faults_;                // by path

  // Protocol violations the token endpoint saw (should stay empty).
  [[nodiscard]] std::vector<std::string> violations() const;
  // Every code, PKCE verifier, access token and ID token that crossed the token endpoint.
  [[nodiscard]] std::vector<std::string> secrets_seen() const;

 private:
  struct Pending {
    User user;
    std::string nonce;
    std::string code_challenge;
    std::string redirect_uri;
    bool used = false;
  };

  FakeResponse handle(const FakeRequest& r);  // takes the lock
  FakeResponse answer(const FakeRequest& r);  // under the lock
  FakeResponse token(const FakeRequest& r);
  std::string make_id_token(const Pending& p);
  [[nodiscard]] std::int64_t now_s() const;

  Options options_;
  mutable std::mutex mu_;
  std::map<std::string, Pending> codes_;
  std::string latest_code_;
  std::map<std::string, User> access_tokens_;
  std::vector<std::string> violations_;
  std::vector<std::string> secrets_seen_;
  int next_code_ = 0;
  FakeHttpServer server_;  // last: its threads call handle()
};

}  // namespace latchkey::test
