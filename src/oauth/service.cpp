#include "oauth/service.hpp"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cctype>
#include <set>

#include "core/base64.hpp"
#include "crypto/jws.hpp"
#include "oauth/id_token.hpp"

namespace latchkey::oauth {
namespace {

constexpr std::size_t kMaxCodeBytes = 4096;         // catalog B17
constexpr std::size_t kMaxProviderTextBytes = 256;  // catalog A29/H14: provider text in logs

using Code = core::Code;

core::Error err(Code code, std::string internal) {
  return core::Error(code).with_internal(std::move(internal));
}

// A failure with a typed reason (core/reason.hpp); `internal` names it again for the log.
core::Error err(Code code, core::Reason reason, std::string internal) {
  return core::Error(code).with_reason(reason).with_internal(std::move(internal));
}

// Provider-controlled text going to logs: truncated, control characters replaced (no log
// injection, catalog H14).
std::string sanitize(std::string_view text) {
  std::string out;
  for (const char c : text.substr(0, kMaxProviderTextBytes)) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u == 0x7f ? '?' : c);
  }
  return out;
}

std::string join(const std::vector<std::string>& parts, char sep) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) {
      out.push_back(sep);
    }
    out += p;
  }
  return out;
}

std::string str(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) {
    return {};
  }
  if (const auto* s = v->if_string()) {
    return std::string(*s);
  }
  return {};
}

// catalog A33: only boolean true, or the string "true" (Apple), means verified.
bool verified_flag(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) {
    return false;
  }
  if (const auto* b = v->if_bool()) {
    return *b;
  }
  if (const auto* s = v->if_string()) {
    return *s == "true";
  }
  return false;
}

core::Result<boost::json::object> parse_object(std::string_view body, Code code,
                                               std::string_view what) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) {
    return std::unexpected(err(code, std::string(what) + " is not a JSON object"));
  }
  return std::move(v.get_object());
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Multi-tenant template match: prefix + tid + suffix with a tid of [A-Za-z0-9-].
bool matches_template(std::string_view value, std::string_view templ) {
  const auto pos = templ.find(kTenantPlaceholder);
  if (pos == std::string_view::npos) {
    return value == templ;
  }
  const auto prefix = templ.substr(0, pos);
  const auto suffix = templ.substr(pos + kTenantPlaceholder.size());
  if (value.size() <= prefix.size() + suffix.size() || !value.starts_with(prefix) ||
      !value.ends_with(suffix)) {
    return false;
  }
  const auto tid = value.substr(prefix.size(), value.size() - prefix.size() - suffix.size());
  return tid.size() <= 64 && std::all_of(tid.begin(), tid.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  c == '-';
         });
}

// Profile text from a provider is stored and shown to apps (catalog H14, K2, K4): keep at most
// `max_bytes` of valid UTF-8 without control characters (no CR/LF log or header injection, no
// ANSI escapes, no NUL that C code would truncate at). Invalid sequences are dropped.
std::string clean_text(std::string_view in, std::size_t max_bytes) {
  std::string out;
  std::size_t i = 0;
  while (i < in.size()) {
    const auto c = static_cast<unsigned char>(in[i]);
    std::size_t len = 0;
    if (c < 0x80) {
      len = 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
    }
    bool ok = len > 0 && i + len <= in.size();
    for (std::size_t k = 1; ok && k < len; ++k) {
      ok = (static_cast<unsigned char>(in[i + k]) & 0xC0) == 0x80;
    }
    if (ok && len == 3) {
      const auto c1 = static_cast<unsigned char>(in[i + 1]);
      ok = !(c == 0xE0 && c1 < 0xA0) && !(c == 0xED && c1 >= 0xA0);  // overlong, surrogates
    } else if (ok && len == 4) {
      const auto c1 = static_cast<unsigned char>(in[i + 1]);
      ok = !(c == 0xF0 && c1 < 0x90) && !(c == 0xF4 && c1 >= 0x90);
    }
    if (!ok) {
      ++i;
      continue;
    }
    const bool control = len == 1 && (c < 0x20 || c == 0x7F);
    const bool c1_control = len == 2 && c == 0xC2 && static_cast<unsigned char>(in[i + 1]) < 0xA0;
    if (!control && !c1_control) {
      if (out.size() + len > max_bytes) {
        break;
      }
      out.append(in.substr(i, len));
    }
    i += len;
  }
  return out;
}

constexpr std::size_t kMaxNameBytes = 256;   // = flows::validate_name's limit
constexpr std::size_t kMaxEmailBytes = 320;  // RFC 3696 errata 1690
constexpr std::size_t kMaxUrlBytes = 2048;

// An address we can store: printable ASCII or UTF-8 without spaces or controls, one '@' with
// something on both sides. Anything else is treated as "no email" (and therefore unverified).
bool plausible_email(std::string_view e) {
  if (e.empty() || e.size() > kMaxEmailBytes) {
    return false;
  }
  for (const char ch : e) {
    const auto u = static_cast<unsigned char>(ch);
    if (u <= 0x20 || u == 0x7F) {
      return false;
    }
  }
  const auto at = e.find('@');
  return at != std::string_view::npos && at > 0 && at + 1 < e.size() &&
         e.find('@', at + 1) == std::string_view::npos && clean_text(e, kMaxEmailBytes) == e;
}

// Bounds and cleans what the provider said about the user before anything stores it.
void clean_identity(ExternalIdentity& id) {
  id.first_name = clean_text(id.first_name, kMaxNameBytes);
  id.last_name = clean_text(id.last_name, kMaxNameBytes);
  id.name = clean_text(id.name, kMaxNameBytes);
  id.username = clean_text(id.username, kMaxNameBytes);
  // Only web URLs are kept as an avatar (no javascript:/data: URLs reaching an <img> or <a>).
  const bool web_url =
      (id.image_url.starts_with("https://") || id.image_url.starts_with("http://")) &&
      id.image_url.size() <= kMaxUrlBytes &&
      clean_text(id.image_url, kMaxUrlBytes) == id.image_url &&
      id.image_url.find_first_of(" \"<>\\") == std::string::npos;
  if (!web_url) {
    id.image_url.clear();
  }
  if (!plausible_email(id.email)) {
    id.email.clear();
    id.email_verified = false;
  }
}

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

void split_name(const std::string& name, std::string& first, std::string& last) {
  const auto space = name.find(' ');
  if (space == std::string::npos) {
    first = name;
    return;
  }
  first = name.substr(0, space);
  last = name.substr(space + 1);
}

}  // namespace

struct Service::TokenResponse {
  std::string access_token;
  std::string refresh_token;
  std::string id_token;
  std::string scope;
};

std::string pkce_challenge(std::string_view code_verifier) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  SHA256(reinterpret_cast<const unsigned char*>(code_verifier.data()), code_verifier.size(),
         digest.data());
  return core::base64url_encode(
      std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

std::string basic_authorization(std::string_view client_id, std::string_view client_secret) {
  return "Basic " +
         core::base64_encode(form_urlencode(client_id) + ":" + form_urlencode(client_secret));
}

core::Result<std::unique_ptr<Service>> Service::create(const Settings& settings, HttpClient& http,
                                                       const core::Clock& clock,
                                                       core::Random& random) {
  std::vector<Provider> providers;
  for (const auto& pc : settings.providers) {
    auto p = make_provider(pc);
    if (!p) {
      return std::unexpected(std::move(p.error()));
    }
    providers.push_back(std::move(*p));
  }
  ServiceOptions options;
  options.limits.timeout = settings.outbound_timeout;
  options.limits.connect_timeout =
      std::min(settings.outbound_timeout, std::chrono::milliseconds(5'000));
  options.limits.max_response_bytes = settings.outbound_max_bytes;
  return create(std::move(providers), options, http, clock, random);
}

core::Result<std::unique_ptr<Service>> Service::create(std::vector<Provider> providers,
                                                       ServiceOptions options, HttpClient& http,
                                                       const core::Clock& clock,
                                                       core::Random& random) {
  std::set<std::string> seen;
  for (const auto& p : providers) {
    if (!seen.insert(p.strategy).second) {
      return std::unexpected(
          err(Code::kInternal, "providers: strategy " + p.strategy + " configured twice"));
    }
  }
  return std::unique_ptr<Service>(new Service(std::move(providers), options, http, clock, random));
}

Service::Service(std::vector<Provider> providers, ServiceOptions options, HttpClient& http,
                 const core::Clock& clock, core::Random& random)
    : providers_(std::move(providers)),
      options_(options),
      http_(http),
      clock_(clock),
      random_(random),
      cache_(http, clock, options.limits, options.discovery_cache, options.jwks_cache) {}

std::vector<std::string> Service::enabled_strategies() const {
  std::vector<std::string> out;
  out.reserve(providers_.size());
  for (const auto& p : providers_) {
    out.push_back(p.strategy);
  }
  return out;
}

const Provider* Service::find(std::string_view strategy) const {
  for (const auto& p : providers_) {
    if (p.strategy == strategy) {
      return &p;
    }
  }
  return nullptr;
}

HttpRequest Service::base_request(std::string method, std::string url) const {
  HttpRequest req;
  req.method = std::move(method);
  req.url = std::move(url);
  req.timeout = options_.limits.timeout;
  req.connect_timeout = options_.limits.connect_timeout;
  req.max_response_bytes = options_.limits.max_response_bytes;
  return req;
}

core::Result<ProviderMetadata> Service::metadata(const Provider& p) {
  ProviderMetadata m;
  if (p.kind == ProviderKind::kOidc && p.use_discovery) {
    const std::string& expected = p.issuer_template.empty() ? p.issuer : p.issuer_template;
    auto discovered = cache_.discover(p.issuer, expected);
    if (!discovered) {
      return std::unexpected(std::move(discovered.error()));
    }
    m = **discovered;
  } else {
    m.issuer = p.issuer;
    m.id_token_algs = {crypto::Alg::kRS256};
  }
  // Configured endpoints win over discovered ones (tests, demo, providers with quirks).
  auto pick = [](std::string& target, const std::string& configured) {
    if (!configured.empty()) {
      target = configured;
    }
  };
  pick(m.authorization_endpoint, p.authorization_endpoint);
  pick(m.token_endpoint, p.token_endpoint);
  pick(m.userinfo_endpoint, p.userinfo_endpoint);
  pick(m.jwks_uri, p.jwks_uri);
  if (m.authorization_endpoint.empty() || m.token_endpoint.empty() ||
      (p.kind == ProviderKind::kOidc && m.jwks_uri.empty())) {
    return std::unexpected(err(Code::kOAuthProviderUnavailable,
                               "provider " + p.strategy + " has no usable endpoints"));
  }
  return m;
}

core::Result<AuthorizationRequest> Service::begin(std::string_view strategy,
                                                  std::string_view redirect_uri,
                                                  std::string_view login_hint) {
  const Provider* p = find(strategy);
  if (p == nullptr) {
    return core::param_error(Code::kFormParamInvalid, "strategy", "is invalid",
                             "This OAuth strategy is not enabled.");
  }
  auto meta = metadata(*p);
  if (!meta) {
    return std::unexpected(std::move(meta.error()));
  }
  AuthorizationRequest out;
  out.state = random_.token(32);
  // RFC 7636 §4.1: 32 octets -> 43 base64url characters, the minimum length with full entropy.
  out.code_verifier = random_.token(32);
  if (p->kind == ProviderKind::kOidc) {
    out.nonce = random_.token(32);
  }
  std::vector<std::pair<std::string, std::string>> q = {
      {"response_type", "code"},
      {"client_id", p->client_id},
      {"redirect_uri", std::string(redirect_uri)},
      {"scope", join(p->scopes, ' ')},
      {"state", out.state},
  };
  if (!out.nonce.empty()) {
    q.emplace_back("nonce", out.nonce);
  }
  q.emplace_back("code_challenge", pkce_challenge(out.code_verifier));
  q.emplace_back("code_challenge_method", "S256");
  if (!login_hint.empty() && login_hint.size() <= 256) {
    // OIDC Core 3.1.2.1: a hint only; the provider decides who signs in.
    q.emplace_back("login_hint", std::string(login_hint));
  }
  out.authorization_url = meta->authorization_endpoint;
  out.authorization_url.push_back(out.authorization_url.find('?') == std::string::npos ? '?' : '&');
  out.authorization_url += form_encode(q);
  return out;
}

core::Result<ExternalIdentity> Service::complete(std::string_view strategy,
                                                 const CallbackParams& params,
                                                 const PendingAuth& pending) {
  auto result = complete_unmetered(strategy, params, pending);
  if (!result) {
    count_failure(result.error());
  }
  return result;
}

void Service::count_failure(const core::Error& error) {
  std::string key;
  switch (error.code) {
    case Code::kOAuthIdTokenInvalid:
      key = "id_token";
      break;
    case Code::kOAuthAccessDenied:
      key = "access_denied";
      break;
    case Code::kOAuthTokenExchangeFailed:
      key = "token_exchange";
      break;
    case Code::kOAuthProviderUnavailable:
      key = "provider_unavailable";
      break;
    case Code::kOAuthStateInvalid:
      key = "state";
      break;
    default:
      key = "other";
      break;
  }
  // A typed reason makes the counter fine-grained ("id_token.kid").
  if (error.reason != core::Reason::kUnspecified) {
    key += ".";
    key += core::reason_name(error.reason);
  }
  std::lock_guard lock(failures_mu_);
  ++failures_[key];
}

std::map<std::string, std::uint64_t> Service::failure_counts() const {
  std::lock_guard lock(failures_mu_);
  return failures_;
}

core::Result<ExternalIdentity> Service::complete_unmetered(std::string_view strategy,
                                                           const CallbackParams& params,
                                                           const PendingAuth& pending) {
  const Provider* p = find(strategy);
  if (p == nullptr) {
    return std::unexpected(err(Code::kOAuthTokenExchangeFailed,
                               "callback for unknown strategy " + sanitize(strategy)));
  }
  // RFC 9207 §2.4: a sent `iss` must equal the issuer this request went to, checked before the
  // code is redeemed (mix-up defence, RFC 9700 §4.4). Needs no network: the issuer is configured.
  // GitHub has no issuer identifier; there `state` (bound to the strategy by the caller) and PKCE
  // are the bindings.
  if (params.iss && p->kind == ProviderKind::kOidc) {
    bool ok = false;
    if (!p->issuer_template.empty()) {
      ok = matches_template(*params.iss, p->issuer_template);
    } else {
      ok = *params.iss == p->issuer ||
           std::find(p->alternate_issuers.begin(), p->alternate_issuers.end(), *params.iss) !=
               p->alternate_issuers.end();
    }
    if (!ok) {
      return std::unexpected(err(Code::kOAuthTokenExchangeFailed, core::Reason::kIssuerMismatch,
                                 "reason=issuer_mismatch: authorization response iss '" +
                                     sanitize(*params.iss) + "' is not " + p->issuer));
    }
  }
  // Front-channel error (RFC 6749 §4.1.2.1): never redeem a code that came with an error.
  if (!params.error.empty()) {
    const std::string why =
        "provider error '" + sanitize(params.error) + "': " + sanitize(params.error_description);
    if (params.error == "access_denied") {
      return std::unexpected(err(Code::kOAuthAccessDenied, why));
    }
    return std::unexpected(err(Code::kOAuthTokenExchangeFailed, why));
  }
  if (params.code.empty() || params.code.size() > kMaxCodeBytes) {
    return std::unexpected(err(Code::kOAuthTokenExchangeFailed, core::Reason::kCodeMissing,
                               "reason=code_missing: authorization code absent or too long"));
  }
  if (pending.code_verifier.empty() || pending.redirect_uri.empty()) {
    return std::unexpected(err(Code::kOAuthStateInvalid,
                               "pending attempt lacks PKCE verifier "
                               "or redirect_uri"));
  }
  if (p->kind == ProviderKind::kGithub) {
    return complete_github(*p, params, pending);
  }
  auto meta = metadata(*p);
  if (!meta) {
    return std::unexpected(std::move(meta.error()));
  }
  // RFC 9207 §2.4: when the provider advertises iss support, a response without it is rejected.
  if (!params.iss && meta->iss_parameter_supported) {
    return std::unexpected(err(Code::kOAuthTokenExchangeFailed, core::Reason::kIssuerMissing,
                               "reason=issuer_missing: provider advertises "
                               "authorization_response_iss_parameter_supported"));
  }
  return complete_oidc(*p, *meta, params, pending);
}

core::Result<Service::TokenResponse> Service::exchange_code(const Provider& p,
                                                            const std::string& token_endpoint,
                                                            const CallbackParams& params,
                                                            const PendingAuth& pending,
                                                            bool require_id_token) {
  std::vector<std::pair<std::string, std::string>> form = {
      {"grant_type", "authorization_code"},
      {"code", params.code},
      {"redirect_uri", pending.redirect_uri},
      {"code_verifier", pending.code_verifier},
  };
  HttpRequest req = base_request("POST", token_endpoint);
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
                                                      const PendingAuth& pending) {
  if (pending.nonce.empty()) {
    // We always send a nonce to OIDC providers; an attempt without one is not ours.
    return std::unexpected(err(Code::kOAuthStateInvalid, "pending OIDC attempt lacks nonce"));
  }
  auto tokens = exchange_code(p, meta.token_endpoint, params, pending, true);
  if (!tokens) {
    return std::unexpected(std::move(tokens.error()));
  }
  IdTokenExpectations expect;
  expect.issuer = p.issuer_template.empty() ? p.issuer : p.issuer_template;
  expect.issuer_is_template = !p.issuer_template.empty();
  expect.alternate_issuers = p.alternate_issuers;
  expect.client_id = p.client_id;
  expect.allowed_algs = meta.id_token_algs;
  expect.nonce = pending.nonce;
  expect.leeway = options_.id_token_leeway;
  expect.max_age = options_.id_token_max_age;
  const std::string jwks_uri = meta.jwks_uri;
  KeySource keys = [this, jwks_uri](bool force) { return cache_.jwks(jwks_uri, force); };
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
    HttpRequest req = base_request("GET", meta.userinfo_endpoint);
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
                                                        const PendingAuth& pending) {
  auto tokens = exchange_code(p, p.token_endpoint, params, pending, false);
  if (!tokens) {
    return std::unexpected(std::move(tokens.error()));
  }
  auto api_get = [&](const std::string& path) -> core::Result<boost::json::value> {
    HttpRequest req = base_request("GET", p.api_base + path);
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
