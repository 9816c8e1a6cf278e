#include "support/fake_idp.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstring>
#include <ctime>
#include <stdexcept>

#include "core/base64.hpp"
#include "crypto/jwk.hpp"
#include "crypto/jws.hpp"
#include "support/url.hpp"

namespace latchkey::test {

namespace json = boost::json;

const crypto::PrivateKey& rsa_key(int n) {
  static const crypto::PrivateKey k1 = *crypto::generate_key(crypto::Alg::kRS256);
  static const crypto::PrivateKey k2 = *crypto::generate_key(crypto::Alg::kRS256);
  static const crypto::PrivateKey k3 = *crypto::generate_key(crypto::Alg::kRS256);
  return n == 1 ? k1 : n == 2 ? k2 : k3;
}

const crypto::PrivateKey& ec_key() {
  static const crypto::PrivateKey k = *crypto::generate_key(crypto::Alg::kES256);
  return k;
}

std::string b64(std::string_view s) { return core::base64url_encode(s); }

FakeIdp::FakeIdp(std::string issuer_path)
    : FakeIdp(Options{.issuer_path = std::move(issuer_path)}) {}

FakeIdp::FakeIdp(Options options)
    : keys_{{&rsa_key(1), "k1", crypto::Alg::kRS256}},
      sign_kid_("k1"),
      options_(std::move(options)),
      server_([this](const FakeRequest& r) { return handle(r); }) {}

EnvVars FakeIdp::google_env() const {
  return {{"LATCHKEY_PROVIDERS_OAUTH_GOOGLE_CLIENT_ID", client_id()},
          {"LATCHKEY_PROVIDERS_OAUTH_GOOGLE_CLIENT_SECRET", client_secret()},
          {"LATCHKEY_PROVIDERS_OAUTH_GOOGLE_ISSUER", issuer()}};
}

EnvVars FakeIdp::microsoft_env() const {
  return {{"LATCHKEY_PROVIDERS_OAUTH_MICROSOFT_CLIENT_ID", client_id()},
          {"LATCHKEY_PROVIDERS_OAUTH_MICROSOFT_CLIENT_SECRET", client_secret()},
          {"LATCHKEY_PROVIDERS_OAUTH_MICROSOFT_ISSUER", issuer()}};
}

EnvVars FakeIdp::github_env() const {
  return {
      {"LATCHKEY_PROVIDERS_OAUTH_GITHUB_CLIENT_ID", client_id()},
      {"LATCHKEY_PROVIDERS_OAUTH_GITHUB_CLIENT_SECRET", client_secret()},
      {"LATCHKEY_PROVIDERS_OAUTH_GITHUB_AUTHORIZATION_ENDPOINT", base() + "/login/oauth/authorize"},
      {"LATCHKEY_PROVIDERS_OAUTH_GITHUB_TOKEN_ENDPOINT", base() + "/login/oauth/access_token"},
      {"LATCHKEY_PROVIDERS_OAUTH_GITHUB_API_BASE", base() + options_.github_api_path}};
}

FakeIdp::Grant FakeIdp::authorize(const std::string& authorization_url, const User& user) {
  auto q = query_params(authorization_url);
  EXPECT_EQ(q["response_type"], "code");
  EXPECT_EQ(q["code_challenge_method"], "S256");
  std::lock_guard lock(mu_);
  Grant g{"code-" + std::to_string(++next_code_), q["state"], q["nonce"]};
  codes_[g.code] = Pending{user, q["nonce"], q["code_challenge"], q["redirect_uri"], false};
  latest_code_ = g.code;
  return g;
}

FakeIdp::Grant FakeIdp::authorize(const std::string& authorization_url, const User& user,
                                  const std::string& expected_redirect_uri) {
  EXPECT_TRUE(authorization_url.starts_with(base() + "/authorize?")) << authorization_url;
  auto q = query_params(authorization_url);
  EXPECT_EQ(q["client_id"], client_id());
  EXPECT_EQ(q["redirect_uri"], expected_redirect_uri);
  EXPECT_EQ(q["code_challenge"].size(), 43U);
  EXPECT_GE(q["state"].size(), 32U);
  EXPECT_GE(q["nonce"].size(), 16U);
  EXPECT_NE(q["scope"].find("openid"), std::string::npos);
  return authorize(authorization_url, user);
}

void FakeIdp::set_delay(const std::string& path, std::chrono::milliseconds d) {
  std::lock_guard lock(mu_);
  faults_[path] = Fault{Fault::kNone, d};
}

void FakeIdp::set_claims_hook(std::function<void(json::object& claims)> hook) {
  std::lock_guard lock(mu_);
  claims_hook = std::move(hook);
}

void FakeIdp::sign_with(const IdpKey& k) {
  sign_kid_ = k.kid;
  if (k.alg == crypto::Alg::kES256) {
    EXPECT_EQ(k.key, &ec_key()) << "ES256 tokens are signed with ec_key()";
    sign_mode_ = Sign::kEs256;
  } else {
    sign_key_ = k.key;
    sign_mode_ = Sign::kRs256;
  }
}

std::vector<std::string> FakeIdp::violations() const {
  std::lock_guard lock(mu_);
  return violations_;
}

std::vector<std::string> FakeIdp::secrets_seen() const {
  std::lock_guard lock(mu_);
  return secrets_seen_;
}

std::int64_t FakeIdp::now_s() const {
  return options_.clock != nullptr ? options_.clock->now_s()
                                   : static_cast<std::int64_t>(std::time(nullptr));
}

std::string FakeIdp::make_id_token(const Pending& p) {
  const auto now = now_s();
  json::object header{{"alg", "RS256"}, {"typ", "JWT"}};
  if (!sign_kid_.empty()) {
    header["kid"] = sign_kid_;
  }
  json::object claims{{"iss", token_issuer_.empty() ? issuer() : token_issuer_},
                      {"sub", p.user.sub},
                      {"aud", client_id()},
                      {"iat", now},
                      {"exp", now + 600},
                      {"nonce", p.nonce},
                      {"email", p.user.email},
                      {"email_verified", p.user.email_verified}};
  for (const auto& [claim, value] :
       {std::pair<const char*, const std::string&>{"given_name", p.user.given_name},
        {"family_name", p.user.family_name},
        {"name", p.user.name},
        {"picture", p.user.picture},
        {"preferred_username", p.user.username}}) {
    if (!value.empty()) {
      claims[claim] = value;
    }
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
  if (claims_hook) {
    claims_hook(claims);
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
      const std::string& secret = client_secret();
      HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
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
      sig =
          *crypto::sign(sign_key_ != nullptr ? *sign_key_ : rsa_key(1), crypto::Alg::kRS256, input);
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

FakeResponse FakeIdp::handle(const FakeRequest& r) {
  std::lock_guard lock(mu_);
  Fault fault;
  if (auto f = faults_.find(r.path); f != faults_.end()) {
    fault = f->second;
  }
  using T = FakeResponse::Transport;
  FakeResponse out;
  switch (fault.kind) {
    case Fault::kNone:
    case Fault::kTrickle:
      out = answer(r);
      out.delay = fault.delay;  // before the answer, or between its bytes
      out.transport = fault.kind == Fault::kTrickle ? T::kTrickle : T::kNormal;
      break;
    case Fault::kOversized:
      out = FakeResponse{200, "application/json",
                         "{\"pad\":\"" + std::string(fault.bytes, 'a') + "\"}"};
      break;
    case Fault::kRaw:
      out = FakeResponse{fault.status, fault.content_type, fault.body, fault.delay};
      break;
    case Fault::kHang:
    case Fault::kClose:
    case Fault::kEndlessChunked:
    case Fault::kHugeLength: {
      static const std::map<Fault::Kind, T> kTransport = {
          {Fault::kHang, T::kHang},
          {Fault::kClose, T::kClose},
          {Fault::kEndlessChunked, T::kEndlessChunked},
          {Fault::kHugeLength, T::kHugeLength}};
      out.transport = kTransport.at(fault.kind);
      break;
    }
  }
  return out;
}

FakeResponse FakeIdp::token(const FakeRequest& r) {
  const std::string ok_json = "application/json";
  auto f = query_params("?" + r.body);
  auto bad = [&](const std::string& why) {
    violations_.push_back(why);
    return FakeResponse{400, ok_json, R"({"error":"invalid_grant"})"};
  };
  Pending lenient;
  Pending* grant = &lenient;
  if (options_.check_token_requests) {
    if (r.method != "POST" || f["grant_type"] != "authorization_code") {
      return bad("not an authorization_code POST");
    }
    auto found = codes_.find(f["code"]);
    if (found == codes_.end() || found->second.used) {
      return bad("unknown or reused code");
    }
    grant = &found->second;
    grant->used = true;
  } else if (auto latest = codes_.find(latest_code_); latest != codes_.end()) {
    grant = &latest->second;
  }
  const Pending& p = *grant;
  secrets_seen_.push_back(f["code_verifier"]);
  secrets_seen_.push_back(f["code"]);
  if (options_.check_token_requests) {
    if (f["redirect_uri"] != p.redirect_uri) {
      return bad("redirect_uri mismatch");
    }
    if (f["client_id"] != client_id() || f["client_secret"] != client_secret()) {
      return bad("bad client credentials");
    }
    // RFC 7636 §4.6: BASE64URL(SHA256(code_verifier)) == code_challenge.
    if (b64(crypto::sha256(f["code_verifier"])) != p.code_challenge) {
      return bad("PKCE verifier mismatch");
    }
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
    // The access token the answer carries is the one the API honours.
    if (const auto* scripted = body.if_contains("access_token");
        scripted && scripted->is_string()) {
      access_tokens_[std::string(scripted->as_string())] = p.user;
    }
  }
  return {200, ok_json, json::serialize(body)};
}

FakeResponse FakeIdp::answer(const FakeRequest& r) {
  const std::string ok_json = "application/json";
  // At any prefix, as multi-tenant providers serve it (/common/v2.0/..., /{tenant}/v2.0/...).
  if (r.path.ends_with("/.well-known/openid-configuration")) {
    const std::string b = base();
    json::array algs;
    for (const auto& a : signing_algs_) {
      algs.emplace_back(a);
    }
    json::object doc{{"issuer", issuer()},
                     {"authorization_endpoint", b + "/authorize"},
                     {"token_endpoint", b + "/token"},
                     {"userinfo_endpoint", b + "/userinfo"},
                     {"jwks_uri", b + "/jwks"},
                     {"response_types_supported", json::array{"code"}},
                     {"subject_types_supported", json::array{"public"}},
                     {"id_token_signing_alg_values_supported", algs},
                     {"code_challenge_methods_supported", json::array{"S256"}}};
    if (discovery_hook) {
      discovery_hook(doc);
    }
    return {200, ok_json, json::serialize(doc)};
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
    return {200, ok_json, json::serialize(json::object{{"keys", keys}})};
  }
  if (r.path == "/token" || r.path == "/login/oauth/access_token") {
    return token(r);
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
      return {401, ok_json, R"({"error":"invalid_token"})"};
    }
    json::object info{{"sub", u->sub}, {"email", u->email}, {"email_verified", u->email_verified}};
    if (!u->given_name.empty()) {
      info["given_name"] = u->given_name;
    }
    if (!u->family_name.empty()) {
      info["family_name"] = u->family_name;
    }
    if (userinfo_hook) {
      userinfo_hook(info);
    }
    return {200, ok_json, json::serialize(info)};
  }
  const std::string& api = options_.github_api_path;
  if (r.path == api + "/user" || r.path == api + "/user/emails") {
    const User* u = bearer_user();
    if (u == nullptr) {
      return {401, ok_json, R"({"message":"Bad credentials"})"};
    }
    if (r.path == api + "/user") {
      json::object o;
      try {
        o["id"] = std::stoll(u->sub);  // GitHub ids are numbers
      } catch (const std::exception&) {
        o["id"] = u->sub;
      }
      o["login"] = u->username.empty() ? "octo" : u->username;
      o["name"] = u->name.empty() ? u->given_name + " " + u->family_name : u->name;
      o["email"] = u->email;
      if (!u->picture.empty()) {
        o["avatar_url"] = u->picture;
      }
      return {200, ok_json, json::serialize(o)};
    }
    json::value emails =
        github_emails
            ? github_emails(*u)
            : json::value(json::array{json::object{
                  {"email", u->email}, {"primary", true}, {"verified", u->email_verified}}});
    return {200, ok_json, json::serialize(emails)};
  }
  return {404, "text/plain", "not found"};
}

}  // namespace latchkey::test
