// Redeeming an authorization code (RFC 6749 §4.1.3 with the PKCE verifier, RFC 7636 §4.5) and
// turning the provider's answer into an ExternalIdentity: the validated ID token and userinfo for
// OIDC providers, the REST API for GitHub.
#include <openssl/evp.h>

#include <algorithm>
#include <boost/json.hpp>

#include "core/base64.hpp"
#include "crypto/jws.hpp"
#include "oauth/detail/pending.hpp"
#include "oauth/detail/profile.hpp"
#include "oauth/detail/support.hpp"
#include "oauth/id_token.hpp"
#include "oauth/service.hpp"

namespace latchkey::oauth {
namespace {

using Code = core::Code;
using detail::clean_identity;
using detail::clean_text;
using detail::err;
using detail::iequals;
using detail::join;
using detail::parse_object;
using detail::sanitize;
using detail::split_name;
using detail::str;
using detail::verified_flag;

// OIDC Core 3.1.3.8 / 3.3.2.11: base64url of the left-most half of the hash of the ASCII
// access token, the hash being the one of the ID token's JOSE alg (SHA-512 for Ed25519).
std::string left_half_hash(crypto::Alg alg, std::string_view value) {
  const EVP_MD* md = EVP_sha256();
  switch (alg) {
    case crypto::Alg::kRS384:
    case crypto::Alg::kES384:
      md = EVP_sha384();
      break;
    case crypto::Alg::kRS512:
    case crypto::Alg::kEdDSA:
      md = EVP_sha512();
      break;
    default:
      break;
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(value.data(), value.size(), digest, &len, md, nullptr) != 1) {
    return {};
  }
  return core::base64url_encode(std::string_view(reinterpret_cast<const char*>(digest), len / 2));
}

}  // namespace

struct Service::TokenResponse {
  std::string access_token;
  std::string refresh_token;
  std::string id_token;
  std::string scope;
};

core::Result<Service::TokenResponse> Service::exchange_code(
    const Provider& p, const std::string& token_endpoint, const CallbackParams& params,
    const detail::PendingFields& pending, bool require_id_token, const Deadline& deadline) {
  std::vector<std::pair<std::string, std::string>> form = {
      {"grant_type", "authorization_code"},
      {"code", params.code},
      {"redirect_uri", pending.redirect_uri},
      {"code_verifier", std::string(pending.code_verifier.reveal())},
  };
  auto built = base_request("POST", token_endpoint, deadline, "the token request");
  if (!built) {
    return std::unexpected(std::move(built.error()));
  }
  HttpRequest& req = *built;
  req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  if (p.token_auth == TokenAuthMethod::kClientSecretBasic) {
    req.headers.emplace_back("Authorization",
                             basic_authorization(p.client_id, p.client_secret.reveal()));
  } else {
    form.emplace_back("client_id", p.client_id);
    form.emplace_back("client_secret", std::string(p.client_secret.reveal()));
  }
  req.body = form_encode(form);
  auto resp = http_.send(req);
  if (!resp) {
    return std::unexpected(std::move(resp.error()));
  }
  auto body = parse_object(resp->body, Code::kOAuthTokenExchangeFailed, "token response");
  if (resp->status < 200 || resp->status > 299) {
    std::string why = "token endpoint answered HTTP " + std::to_string(resp->status);
    if (body) {
      why += " error '" + sanitize(str(*body, "error")) + "'";
    }
    return std::unexpected(err(Code::kOAuthTokenExchangeFailed, why));
  }
  if (!body) {
    return std::unexpected(std::move(body.error()));
  }
  // GitHub answers errors with 200 and an "error" member.
  if (body->contains("error")) {
    return std::unexpected(err(Code::kOAuthTokenExchangeFailed,
                               "token endpoint error '" + sanitize(str(*body, "error")) +
                                   "': " + sanitize(str(*body, "error_description"))));
  }
  TokenResponse out;
  out.access_token = str(*body, "access_token");
  if (out.access_token.empty()) {
    return std::unexpected(err(Code::kOAuthTokenExchangeFailed,
                               "token response lacks "
                               "access_token"));
  }
  // RFC 6749 §5.1: token_type is REQUIRED and case-insensitive; we only speak Bearer (RFC 6750).
  if (!iequals(str(*body, "token_type"), "bearer")) {
    return std::unexpected(err(Code::kOAuthTokenExchangeFailed, "token_type is not Bearer"));
  }
  out.refresh_token = str(*body, "refresh_token");
  out.id_token = str(*body, "id_token");
  out.scope = str(*body, "scope");
  if (require_id_token && out.id_token.empty()) {
    return std::unexpected(err(Code::kOAuthTokenExchangeFailed, "token response lacks id_token"));
  }
  return out;
}

core::Result<ExternalIdentity> Service::complete_oidc(const Provider& p,
                                                      const ProviderMetadata& meta,
                                                      const CallbackParams& params,
                                                      const detail::PendingFields& pending,
                                                      const Deadline& deadline) {
  if (pending.nonce.empty()) {
    // We always send a nonce to OIDC providers; an attempt without one is not ours.
    return std::unexpected(err(Code::kOAuthStateInvalid, "pending OIDC attempt lacks nonce"));
  }
  auto tokens = exchange_code(p, meta.token_endpoint, params, pending, true, deadline);
  if (!tokens) {
    return std::unexpected(std::move(tokens.error()));
  }
  IdTokenExpectations expect;
  expect.issuer = p.issuer_template.empty() ? p.issuer : p.issuer_template;
  expect.issuer_is_template = !p.issuer_template.empty();
  expect.alternate_issuers = p.alternate_issuers;
  expect.client_id = p.client_id;
  expect.allowed_algs = meta.id_token_algs;
  expect.nonce = std::string(pending.nonce.reveal());
  expect.leeway = options_.id_token_leeway;
  expect.max_age = options_.id_token_max_age;
  const std::string jwks_uri = meta.jwks_uri;
  KeySource keys = [this, jwks_uri, deadline](bool force) {
    return cache_.jwks(jwks_uri, force, deadline);
  };
  auto token = validate_id_token(tokens->id_token, expect, keys, clock_);
  if (!token) {
    return std::unexpected(std::move(token.error()));
  }
  // OIDC Core 3.1.3.8: in the code flow at_hash is optional, but a present one must match the
  // access token it came with (catalog A24) - a mismatch means the pair was spliced together.
  if (const auto* at_hash = token->claims.if_contains("at_hash")) {
    auto jws = crypto::decode_jws(tokens->id_token, expect.max_bytes);
    const auto* text = at_hash->if_string();
    if (!jws || text == nullptr || text->empty() ||
        left_half_hash(jws->alg, tokens->access_token) != std::string_view(*text)) {
      return std::unexpected(err(Code::kOAuthIdTokenInvalid, core::Reason::kAtHash,
                                 "reason=at_hash: at_hash does not match the access token"));
    }
  }
  if (params.iss && expect.issuer_is_template && *params.iss != token->issuer) {
    return std::unexpected(err(Code::kOAuthIdTokenInvalid, core::Reason::kIss,
                               "reason=iss: ID token iss differs from the authorization response"));
  }
  const auto& c = token->claims;
  ExternalIdentity id;
  id.strategy = p.strategy;
  id.provider = p.provider;
  id.issuer = token->issuer;
  id.provider_user_id = token->subject;
  id.email = str(c, "email");
  id.email_verified =
      !id.email.empty() && p.trust_email_verified && verified_flag(c, "email_verified");
  id.first_name = str(c, "given_name");
  id.last_name = str(c, "family_name");
  id.name = str(c, "name");
  id.image_url = str(c, "picture");
  id.username = str(c, "preferred_username");

  if (id.email.empty() && !meta.userinfo_endpoint.empty()) {
    auto built = base_request("GET", meta.userinfo_endpoint, deadline, "the userinfo request");
    if (!built) {
      return std::unexpected(std::move(built.error()));
    }
    HttpRequest& req = *built;
    // RFC 6750 §2.1: the access token goes in the Authorization header, never in the URL.
    req.headers.emplace_back("Authorization", "Bearer " + tokens->access_token);
    auto resp = http_.send(req);
    if (!resp) {
      return std::unexpected(std::move(resp.error()));
    }
    if (resp->status != 200) {
      return std::unexpected(err(Code::kOAuthProviderUnavailable,
                                 "userinfo answered HTTP " + std::to_string(resp->status)));
    }
    auto info = parse_object(resp->body, Code::kOAuthProviderUnavailable, "userinfo response");
    if (!info) {
      return std::unexpected(std::move(info.error()));
    }
    // OIDC Core §5.3.4: a UserInfo sub that differs from the ID token's MUST NOT be used.
    if (str(*info, "sub") != token->subject) {
      return std::unexpected(err(Code::kOAuthIdTokenInvalid, core::Reason::kUserinfoSub,
                                 "reason=userinfo_sub: userinfo sub differs from the ID token"));
    }
    id.email = str(*info, "email");
    id.email_verified =
        !id.email.empty() && p.trust_email_verified && verified_flag(*info, "email_verified");
    auto fill = [&](std::string& field, std::string_view key) {
      if (field.empty()) {
        field = str(*info, key);
      }
    };
    fill(id.first_name, "given_name");
    fill(id.last_name, "family_name");
    fill(id.name, "name");
    fill(id.image_url, "picture");
    fill(id.username, "preferred_username");
  }
  id.approved_scopes =
      clean_text(tokens->scope.empty() ? join(p.scopes, ' ') : tokens->scope, 1024);
  id.access_token = core::Secret(std::move(tokens->access_token));
  id.refresh_token = core::Secret(std::move(tokens->refresh_token));
  id.id_token = core::Secret(std::move(tokens->id_token));
  clean_identity(id);
  return id;
}

core::Result<ExternalIdentity> Service::complete_github(const Provider& p,
                                                        const CallbackParams& params,
                                                        const detail::PendingFields& pending,
                                                        const Deadline& deadline) {
  auto tokens = exchange_code(p, p.token_endpoint, params, pending, false, deadline);
  if (!tokens) {
    return std::unexpected(std::move(tokens.error()));
  }
  auto api_get = [&](const std::string& path) -> core::Result<boost::json::value> {
    auto built = base_request("GET", p.api_base + path, deadline, "GitHub " + path);
    if (!built) {
      return std::unexpected(std::move(built.error()));
    }
    HttpRequest& req = *built;
    req.headers.emplace_back("Authorization", "Bearer " + tokens->access_token);
    req.headers.emplace_back("Accept", "application/vnd.github+json");
    auto resp = http_.send(req);
    if (!resp) {
      return std::unexpected(std::move(resp.error()));
    }
    if (resp->status != 200) {
      return std::unexpected(
          err(Code::kOAuthProviderUnavailable,
              "GitHub " + path + " answered HTTP " + std::to_string(resp->status)));
    }
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(resp->body, ec);
    if (ec) {
      return std::unexpected(
          err(Code::kOAuthProviderUnavailable, "GitHub " + path + " is not JSON"));
    }
    return v;
  };
  auto user = api_get("/user");
  if (!user) {
    return std::unexpected(std::move(user.error()));
  }
  const auto* u = user->if_object();
  if (u == nullptr) {
    return std::unexpected(err(Code::kOAuthProviderUnavailable, "GitHub /user is not an object"));
  }
  ExternalIdentity id;
  id.strategy = p.strategy;
  id.provider = p.provider;
  const auto* uid = u->if_contains("id");
  if (uid != nullptr && uid->is_int64() && uid->get_int64() > 0) {
    id.provider_user_id = std::to_string(uid->get_int64());
  } else if (uid != nullptr && uid->is_uint64()) {
    id.provider_user_id = std::to_string(uid->get_uint64());
  } else {
    return std::unexpected(err(Code::kOAuthProviderUnavailable, "GitHub /user lacks a numeric id"));
  }
  id.username = str(*u, "login");
  id.name = str(*u, "name");
  id.image_url = str(*u, "avatar_url");
  split_name(id.name, id.first_name, id.last_name);

  // /user's email is whatever the user made public and says nothing about verification: only
  // the primary entry of /user/emails, and only when it is verified, counts (catalog D7). If the
  // call fails we fail closed rather than guess.
  auto emails = api_get("/user/emails");
  if (!emails) {
    return std::unexpected(std::move(emails.error()));
  }
  const auto* list = emails->if_array();
  if (list == nullptr) {
    return std::unexpected(
        err(Code::kOAuthProviderUnavailable, "GitHub /user/emails is not an array"));
  }
  bool found_primary = false;
  for (const auto& e : *list) {
    const auto* o = e.if_object();
    if (o == nullptr) {
      continue;
    }
    const auto* primary = o->if_contains("primary");
    if (primary == nullptr || !primary->is_bool() || !primary->get_bool()) {
      continue;
    }
    found_primary = true;
    id.email = str(*o, "email");
    const auto* verified = o->if_contains("verified");
    id.email_verified =
        !id.email.empty() && verified != nullptr && verified->is_bool() && verified->get_bool();
    break;
  }
  if (!found_primary) {
    id.email = str(*u, "email");
    id.email_verified = false;
  }
  // GitHub lists granted scopes comma-separated.
  std::string scopes = tokens->scope;
  std::replace(scopes.begin(), scopes.end(), ',', ' ');
  id.approved_scopes = clean_text(scopes.empty() ? join(p.scopes, ' ') : scopes, 1024);
  id.access_token = core::Secret(std::move(tokens->access_token));
  id.refresh_token = core::Secret(std::move(tokens->refresh_token));
  clean_identity(id);
  return id;
}

}  // namespace latchkey::oauth
