#pragma once
// A scriptable, hostile-capable OpenID provider for the security catalog (security-catalog.md
// §2.M), on 127.0.0.1:0. Unlike tests/integration/fake_oidc.hpp it serves every connection on its
// own thread, so a route can hang, trickle or stream forever without blocking the others, and
// every part of what it answers is scriptable:
//   - the ID token: any header and claims (hook), signing mode (RS256, corrupted signature,
//     alg none, HS256 keyed with the client secret, ES256, another key), or a raw string;
//   - the token response JSON (hook), the discovery document (hook or raw body), the JWKS
//     (key list or raw body), the userinfo answer (hook), GitHub's /user and /user/emails;
//   - a transport fault per path: delay, hang, trickle, close without answering, oversized body,
//     endless chunked body, a huge Content-Length, a raw (malformed) body with any status;
//   - counts every call per path (to assert "the token endpoint was not called").
// The token endpoint checks code, redirect_uri, client credentials and PKCE like a real provider.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <boost/json.hpp>
#include <chrono>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../integration/harness.hpp"
#include "core/base64.hpp"
#include "crypto/jwk.hpp"
#include "crypto/jws.hpp"
#include "crypto/key.hpp"

namespace latchkey::sec {

namespace json = boost::json;
using namespace std::chrono_literals;

struct User {
  std::string sub = "idp-user-1";
  std::string email = "ada@example.com";
  bool email_verified = true;
  std::string given_name = "Ada";
  std::string family_name = "Lovelace";
};

enum class Sign { kRs256, kCorruptSignature, kAlgNone, kHs256ClientSecret, kEs256, kOtherRsaKey };

struct Fault {
  enum Kind {
    kNone,
    kHang,           // accept, read the request, never answer (until the IdP stops)
    kTrickle,        // answer one byte every `delay`
    kClose,          // close without answering
    kOversized,      // a valid-looking JSON body of `bytes` bytes
    kEndlessChunked, // chunked body that never ends
    kHugeLength,     // Content-Length: 10^12, then a few bytes and silence
    kRaw,            // `status`, `content_type`, `body` as given
  };
  Fault() = default;
  Fault(Kind k, std::chrono::milliseconds d = {}, std::size_t n = 0, int st = 200,
        std::string ct = "application/json", std::string b = {})
      : kind(k), delay(d), bytes(n), status(st), content_type(std::move(ct)), body(std::move(b)) {}
  Kind kind = kNone;
  std::chrono::milliseconds delay{0};  // also: plain delay before a normal answer
  std::size_t bytes = 0;
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

struct IdpKey {
  const crypto::PrivateKey* key;
  std::string kid;  // "" = no kid in the JWK
  crypto::Alg alg;
};

inline const crypto::PrivateKey& rsa_key(int n) {
  static const crypto::PrivateKey k1 = *crypto::generate_key(crypto::Alg::kRS256);
  static const crypto::PrivateKey k2 = *crypto::generate_key(crypto::Alg::kRS256);
  static const crypto::PrivateKey k3 = *crypto::generate_key(crypto::Alg::kRS256);
  return n == 1 ? k1 : n == 2 ? k2 : k3;
}
inline const crypto::PrivateKey& ec_key() {
  static const crypto::PrivateKey k = *crypto::generate_key(crypto::Alg::kES256);
  return k;
}

inline std::string b64(std::string_view s) { return core::base64url_encode(s); }

class ScriptIdp {
 public:
  static constexpr const char* kClientId = "sec-client-id";
  static constexpr const char* kClientSecret = "sec-client-secret-5b1e0c2d9a77";

  // `issuer_path` is appended to the base URL to form the issuer ("/common/v2.0" for Microsoft).
  explicit ScriptIdp(std::string issuer_path = "") : issuer_path_(std::move(issuer_path)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd_, 128) != 0) {
      throw std::runtime_error("ScriptIdp: bind/listen");
    }
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    keys_ = {{&rsa_key(1), "k1", crypto::Alg::kRS256}};
    sign_kid_ = "k1";
    accept_thread_ = std::thread([this] { accept_loop(); });
  }
  ScriptIdp(const ScriptIdp&) = delete;
  ScriptIdp& operator=(const ScriptIdp&) = delete;
  ~ScriptIdp() { stop(); }

  void stop() {
    if (stop_.exchange(true)) {
      return;
    }
    accept_thread_.join();
    std::vector<std::thread> ts;
    {
      std::lock_guard lock(mu_);
      ts.swap(conn_threads_);
    }
    for (auto& t : ts) {
      t.join();
    }
    ::close(fd_);
  }

  [[nodiscard]] std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }
  [[nodiscard]] std::string issuer() const { return base() + issuer_path_; }
  [[nodiscard]] int calls(const std::string& path) const {
    std::lock_guard lock(mu_);
    auto it = counts_.find(path);
    return it == counts_.end() ? 0 : it->second;
  }
  [[nodiscard]] int token_calls() const { return calls("/token") + calls("/login/oauth/access_token"); }
  [[nodiscard]] int userinfo_calls() const { return calls("/userinfo"); }
  [[nodiscard]] std::string discovery_path() const {
    return issuer_path_ + "/.well-known/openid-configuration";
  }

  // Latchkey's oauth_google pointed here (issuer override: exact match, discovery from here).
  [[nodiscard]] it::EnvVars google_env() const {
    return {{"LATCHKEY_PROVIDERS_OAUTH_GOOGLE_CLIENT_ID", kClientId},
            {"LATCHKEY_PROVIDERS_OAUTH_GOOGLE_CLIENT_SECRET", kClientSecret},
            {"LATCHKEY_PROVIDERS_OAUTH_GOOGLE_ISSUER", issuer()}};
  }
  [[nodiscard]] it::EnvVars microsoft_env() const {
    return {{"LATCHKEY_PROVIDERS_OAUTH_MICROSOFT_CLIENT_ID", kClientId},
            {"LATCHKEY_PROVIDERS_OAUTH_MICROSOFT_CLIENT_SECRET", kClientSecret},
            {"LATCHKEY_PROVIDERS_OAUTH_MICROSOFT_ISSUER", issuer()}};
  }
  [[nodiscard]] it::EnvVars github_env() const {
    return {{"LATCHKEY_PROVIDERS_OAUTH_GITHUB_CLIENT_ID", kClientId},
            {"LATCHKEY_PROVIDERS_OAUTH_GITHUB_CLIENT_SECRET", kClientSecret},
            {"LATCHKEY_PROVIDERS_OAUTH_GITHUB_AUTHORIZATION_ENDPOINT", base() + "/login/oauth/authorize"},
            {"LATCHKEY_PROVIDERS_OAUTH_GITHUB_TOKEN_ENDPOINT", base() + "/login/oauth/access_token"},
            {"LATCHKEY_PROVIDERS_OAUTH_GITHUB_API_BASE", base()}};
  }

  struct Grant {
    std::string code;
    std::string state;
    std::string nonce;
  };

  // The user approves at the provider: a one-time code bound to the request's PKCE challenge,
  // nonce and redirect_uri (as a real provider binds them).
  Grant authorize(const std::string& authorization_url, const User& user) {
    auto q = it::query_params(authorization_url);
    EXPECT_EQ(q["response_type"], "code");
    EXPECT_EQ(q["code_challenge_method"], "S256");
    std::lock_guard lock(mu_);
    Grant g{"code-" + std::to_string(++next_code_), q["state"], q["nonce"]};
    codes_[g.code] = Pending{user, q["nonce"], q["code_challenge"], q["redirect_uri"], false};
    return g;
  }

  // ---- scripting (all under the lock; read by connection threads) ----
  template <typename F>
  void script(F&& f) {
    std::lock_guard lock(mu_);
    f(*this);
  }
  std::function<void(json::object& header, json::object& claims)> id_token_hook;
  std::function<std::string(const std::string& id_token)> id_token_transform;
  std::function<void(json::object& body)> token_response_hook;
  std::function<void(json::object& doc)> discovery_hook;
  std::function<void(json::object& info)> userinfo_hook;
  std::function<json::value(const User&)> github_emails;  // default: [{primary, verified}]
  std::vector<IdpKey> keys_;        // published in the JWKS
  std::string sign_kid_;            // kid put in the header ("" = none)
  const crypto::PrivateKey* sign_key_ = nullptr;  // default: rsa_key(1)
  Sign sign_mode_ = Sign::kRs256;
  std::map<std::string, Fault> faults_;  // by path

 private:
  struct Pending {
    User user;
    std::string nonce;
    std::string code_challenge;
    std::string redirect_uri;
    bool used = false;
  };
  struct Request {
    std::string method, path, query, body;
    std::map<std::string, std::string> headers;
  };

  std::string make_id_token(const Pending& p) {
    const auto now = static_cast<std::int64_t>(std::time(nullptr));
    json::object header{{"alg", "RS256"}, {"typ", "JWT"}};
    if (!sign_kid_.empty()) {
      header["kid"] = sign_kid_;
    }
    json::object claims{{"iss", issuer()},       {"sub", p.user.sub}, {"aud", kClientId},
                        {"iat", now},            {"exp", now + 600},  {"nonce", p.nonce},
                        {"email", p.user.email}, {"email_verified", p.user.email_verified}};
    if (!p.user.given_name.empty()) {
      claims["given_name"] = p.user.given_name;
    }
    if (!p.user.family_name.empty()) {
      claims["family_name"] = p.user.family_name;
    }
    switch (sign_mode_) {
      case Sign::kAlgNone:
        header["alg"] = "none";
        break;
      case Sign::kHs256ClientSecret:
        header["alg"] = "HS256";
        break;
      case Sign::kEs256:
        header["alg"] = "ES256";
        break;
      default:
        break;
    }
    if (id_token_hook) {
      id_token_hook(header, claims);
    }
    const std::string input = b64(json::serialize(header)) + "." + b64(json::serialize(claims));
    std::string sig;
    switch (sign_mode_) {
      case Sign::kAlgNone:
        break;
      case Sign::kHs256ClientSecret: {
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        HMAC(EVP_sha256(), kClientSecret, static_cast<int>(std::strlen(kClientSecret)),
             reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
        sig.assign(reinterpret_cast<const char*>(mac), len);
        sig[3] = static_cast<char>(sig[3] ^ 0x01);  // A17: MAC corrupted
        break;
      }
      case Sign::kEs256:
        sig = *crypto::sign(ec_key(), crypto::Alg::kES256, input);
        break;
      case Sign::kOtherRsaKey:
        sig = *crypto::sign(rsa_key(3), crypto::Alg::kRS256, input);
        break;
      default:
        sig = *crypto::sign(sign_key_ != nullptr ? *sign_key_ : rsa_key(1), crypto::Alg::kRS256,
                            input);
        if (sign_mode_ == Sign::kCorruptSignature) {
          sig[sig.size() / 2] = static_cast<char>(sig[sig.size() / 2] ^ 0x01);
        }
    }
    std::string token = input + "." + b64(sig);
    if (id_token_transform) {
      token = id_token_transform(token);
    }
    return token;
  }

  static std::string reply(int status, const std::string& ct, const std::string& body) {
    return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: " + ct +
           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
           body;
  }

  // Returns the normal answer for a request (under the lock).
  std::string answer(const Request& r) {
    const std::string ok_json = "application/json";
    if (r.path == discovery_path()) {
      const std::string b = base();
      json::object doc{{"issuer", issuer()},
                       {"authorization_endpoint", b + "/authorize"},
                       {"token_endpoint", b + "/token"},
                       {"userinfo_endpoint", b + "/userinfo"},
                       {"jwks_uri", b + "/jwks"},
                       {"response_types_supported", json::array{"code"}},
                       {"subject_types_supported", json::array{"public"}},
                       {"id_token_signing_alg_values_supported", json::array{"RS256"}},
                       {"code_challenge_methods_supported", json::array{"S256"}}};
      if (discovery_hook) {
        discovery_hook(doc);
      }
      return reply(200, ok_json, json::serialize(doc));
    }
    if (r.path == "/jwks") {
      json::array keys;
      for (const auto& k : keys_) {
        json::object jwk = crypto::public_jwk(k.key->public_key(), k.kid, k.alg);
        if (k.kid.empty()) {
          jwk.erase("kid");
        }
        keys.push_back(std::move(jwk));
      }
      return reply(200, ok_json, json::serialize(json::object{{"keys", keys}}));
    }
    if (r.path == "/token" || r.path == "/login/oauth/access_token") {
      auto f = it::query_params("?" + r.body);
      auto bad = [&](const std::string& why) {
        violations_.push_back(why);
        return reply(400, ok_json, R"({"error":"invalid_grant"})");
      };
      if (r.method != "POST" || f["grant_type"] != "authorization_code") {
        return bad("not an authorization_code POST");
      }
      auto found = codes_.find(f["code"]);
      if (found == codes_.end() || found->second.used) {
        return bad("unknown or reused code");
      }
      Pending& p = found->second;
      p.used = true;
      secrets_seen_.push_back(f["code_verifier"]);
      secrets_seen_.push_back(f["code"]);
      if (f["redirect_uri"] != p.redirect_uri) {
        return bad("redirect_uri mismatch");
      }
      if (f["client_id"] != kClientId || f["client_secret"] != kClientSecret) {
        return bad("bad client credentials");
      }
      if (b64(crypto::sha256(f["code_verifier"])) != p.code_challenge) {
        return bad("PKCE verifier mismatch");
      }
      const std::string at = "at-" + f["code"];
      access_tokens_[at] = p.user;
      json::object body{{"access_token", at}, {"token_type", "Bearer"}, {"expires_in", 3600}};
      secrets_seen_.push_back(at);
      if (r.path == "/token") {
        body["scope"] = "openid email profile";
        body["id_token"] = make_id_token(p);
        secrets_seen_.push_back(body["id_token"].as_string().c_str());
      } else {
        body["scope"] = "read:user,user:email";
      }
      if (token_response_hook) {
        token_response_hook(body);
      }
      return reply(200, ok_json, json::serialize(body));
    }
    auto bearer_user = [&]() -> const User* {
      auto h = r.headers.find("authorization");
      if (h == r.headers.end() || !h->second.starts_with("Bearer ")) {
        return nullptr;
      }
      auto u = access_tokens_.find(h->second.substr(7));
      return u == access_tokens_.end() ? nullptr : &u->second;
    };
    if (r.path == "/userinfo") {
      const User* u = bearer_user();
      if (u == nullptr) {
        return reply(401, ok_json, R"({"error":"invalid_token"})");
      }
      json::object info{{"sub", u->sub}, {"email", u->email}, {"email_verified", u->email_verified}};
      if (userinfo_hook) {
        userinfo_hook(info);
      }
      return reply(200, ok_json, json::serialize(info));
    }
    if (r.path == "/user" || r.path == "/user/emails") {
      const User* u = bearer_user();
      if (u == nullptr) {
        return reply(401, ok_json, R"({"message":"Bad credentials"})");
      }
      if (r.path == "/user") {
        json::object o{{"id", std::stoll(u->sub)},
                       {"login", "octo"},
                       {"name", u->given_name + " " + u->family_name},
                       {"email", u->email}};
        return reply(200, ok_json, json::serialize(o));
      }
      json::value emails = github_emails
                               ? github_emails(*u)
                               : json::value(json::array{json::object{{"email", u->email},
                                                                     {"primary", true},
                                                                     {"verified", u->email_verified}}});
      return reply(200, ok_json, json::serialize(emails));
    }
    return reply(404, "text/plain", "not found");
  }

  bool read_request(int c, Request& req) {
    std::string buf;
    char tmp[8192];
    std::size_t head_end = std::string::npos;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    std::size_t need = 0;
    for (;;) {
      if (stop_ || std::chrono::steady_clock::now() > deadline) {
        return false;
      }
      if (head_end != std::string::npos && buf.size() >= head_end + 4 + need) {
        break;
      }
      pollfd p{c, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) {
        continue;
      }
      const ssize_t n = ::recv(c, tmp, sizeof tmp, 0);
      if (n <= 0) {
        return false;
      }
      buf.append(tmp, static_cast<std::size_t>(n));
      if (head_end == std::string::npos) {
        head_end = buf.find("\r\n\r\n");
        if (head_end != std::string::npos) {
          const std::string head = buf.substr(0, head_end);
          std::size_t pos = head.find("\r\n");
          const std::string line = head.substr(0, pos);
          const auto sp1 = line.find(' ');
          const auto sp2 = line.find(' ', sp1 + 1);
          req.method = line.substr(0, sp1);
          const std::string target = line.substr(sp1 + 1, sp2 - sp1 - 1);
          const auto q = target.find('?');
          req.path = target.substr(0, q);
          req.query = q == std::string::npos ? "" : target.substr(q + 1);
          while (pos != std::string::npos) {
            const auto next = head.find("\r\n", pos + 2);
            const std::string h = head.substr(pos + 2, next == std::string::npos ? std::string::npos
                                                                                 : next - pos - 2);
            const auto colon = h.find(':');
            if (colon != std::string::npos) {
              std::string name = h.substr(0, colon);
              for (auto& ch : name) {
                ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
              }
              std::string value = h.substr(colon + 1);
              while (!value.empty() && value.front() == ' ') {
                value.erase(0, 1);
              }
              req.headers[name] = value;
            }
            pos = next;
          }
          if (auto cl = req.headers.find("content-length"); cl != req.headers.end()) {
            need = std::stoul(cl->second);
          }
        }
      }
    }
    req.body = buf.substr(head_end + 4, need);
    return true;
  }

  bool send_all(int c, std::string_view data) {
    std::size_t sent = 0;
    while (sent < data.size()) {
      if (stop_) {
        return false;
      }
      const ssize_t n = ::send(c, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) {
        return false;
      }
      sent += static_cast<std::size_t>(n);
    }
    return true;
  }

  // Sleeps in small steps; false when the IdP is stopping.
  bool nap(std::chrono::milliseconds d) {
    const auto until = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < until) {
      if (stop_) {
        return false;
      }
      std::this_thread::sleep_for(5ms);
    }
    return true;
  }

  void serve(int c) {
    Request req;
    if (!read_request(c, req)) {
      ::close(c);
      return;
    }
    Fault fault;
    std::string normal;
    {
      std::lock_guard lock(mu_);
      ++counts_[req.path];
      if (auto f = faults_.find(req.path); f != faults_.end()) {
        fault = f->second;
      }
      if (fault.kind == Fault::kNone || fault.kind == Fault::kTrickle) {
        normal = answer(req);
      }
    }
    switch (fault.kind) {
      case Fault::kNone:
        if (nap(fault.delay)) {
          send_all(c, normal);
        }
        break;
      case Fault::kHang:
        while (nap(50ms)) {
        }
        break;
      case Fault::kTrickle:
        for (const char ch : normal) {
          if (!nap(fault.delay) || !send_all(c, std::string_view(&ch, 1))) {
            break;
          }
        }
        break;
      case Fault::kClose:
        break;
      case Fault::kOversized: {
        std::string body = "{\"pad\":\"" + std::string(fault.bytes, 'a') + "\"}";
        send_all(c, reply(200, "application/json", body));
        break;
      }
      case Fault::kEndlessChunked: {
        if (!send_all(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         "Transfer-Encoding: chunked\r\n\r\n")) {
          break;
        }
        const std::string chunk = "4000\r\n" + std::string(0x4000, ' ') + "\r\n";
        while (send_all(c, chunk)) {
        }
        break;
      }
      case Fault::kHugeLength:
        if (send_all(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        "Content-Length: 1000000000000\r\n\r\n{\"a\":")) {
          while (nap(50ms)) {
          }
        }
        break;
      case Fault::kRaw:
        if (nap(fault.delay)) {
          send_all(c, reply(fault.status, fault.content_type, fault.body));
        }
        break;
    }
    ::close(c);
  }

  void accept_loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) {
        continue;
      }
      const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) {
        continue;
      }
      std::lock_guard lock(mu_);
      conn_threads_.emplace_back([this, c] { serve(c); });
    }
  }

 public:
  [[nodiscard]] std::vector<std::string> violations() const {
    std::lock_guard lock(mu_);
    return violations_;
  }
  // Every code, PKCE verifier, access token and ID token that crossed the token endpoint.
  [[nodiscard]] std::vector<std::string> secrets_seen() const {
    std::lock_guard lock(mu_);
    return secrets_seen_;
  }

 private:
  std::string issuer_path_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::thread accept_thread_;
  std::vector<std::thread> conn_threads_;
  std::map<std::string, int> counts_;
  std::map<std::string, Pending> codes_;
  std::map<std::string, User> access_tokens_;
  std::vector<std::string> violations_;
  std::vector<std::string> secrets_seen_;
  int next_code_ = 0;
};

}  // namespace latchkey::sec
