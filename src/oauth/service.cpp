// The relying party's life cycle and its network-free half: the provider catalog, provider
// metadata, building authorization requests (and sealing what they leave pending), the checks a
// callback passes before the code is redeemed, and the failure counters. The code exchange and
// the identity it yields are in redeem.cpp.
#include "oauth/service.hpp"

#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <optional>
#include <set>
#include <utility>

#include "core/base64.hpp"
#include "oauth/detail/pending.hpp"
#include "oauth/detail/support.hpp"

namespace latchkey::oauth {
namespace {

constexpr std::size_t kMaxCodeBytes = 4096;  // catalog B17

using Code = core::Code;
using detail::err;
using detail::join;
using detail::sanitize;

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

}  // namespace

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
                                                       const crypto::Sealer& sealer,
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
  options.max_concurrent_per_provider = settings.max_concurrent_per_provider;
  options.deadline = settings.callback_deadline;
  return create(std::move(providers), options, http, sealer, clock, random);
}

core::Result<std::unique_ptr<Service>> Service::create(std::vector<Provider> providers,
                                                       ServiceOptions options, HttpClient& http,
                                                       const crypto::Sealer& sealer,
                                                       const core::Clock& clock,
                                                       core::Random& random) {
  std::set<std::string> seen;
  for (const auto& p : providers) {
    if (!seen.insert(p.strategy).second) {
      return std::unexpected(
          err(Code::kInternal, "providers: strategy " + p.strategy + " configured twice"));
    }
  }
  return std::unique_ptr<Service>(
      new Service(std::move(providers), options, http, sealer, clock, random));
}

Service::Service(std::vector<Provider> providers, ServiceOptions options, HttpClient& http,
                 const crypto::Sealer& sealer, const core::Clock& clock, core::Random& random)
    : providers_(std::move(providers)),
      options_(options),
      http_(http),
      sealer_(sealer),
      clock_(clock),
      random_(random),
      cache_(http, clock, options.limits, options.discovery_cache, options.jwks_cache),
      in_flight_(std::make_unique<std::atomic<std::size_t>[]>(providers_.size())) {}

class Service::Slot {
 public:
  explicit Slot(std::atomic<std::size_t>& count) : count_(&count) {}
  Slot(Slot&& other) noexcept : count_(std::exchange(other.count_, nullptr)) {}
  Slot& operator=(Slot&&) = delete;
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;
  ~Slot() {
    if (count_ != nullptr) {
      count_->fetch_sub(1, std::memory_order_acq_rel);
    }
  }

 private:
  std::atomic<std::size_t>* count_;
};

core::Result<Service::Slot> Service::take_slot(const Provider& p) {
  auto& count = in_flight_[static_cast<std::size_t>(&p - providers_.data())];
  const std::size_t cap = std::max<std::size_t>(1, options_.max_concurrent_per_provider);
  // Refused at once, never queued: a provider that does not answer holds at most `cap` threads,
  // and the requests beyond them get their answer now instead of joining the wait.
  if (count.fetch_add(1, std::memory_order_acq_rel) >= cap) {
    count.fetch_sub(1, std::memory_order_acq_rel);
    return std::unexpected(err(Code::kOAuthProviderUnavailable, core::Reason::kProviderBusy,
                               "reason=provider_busy: " + std::to_string(cap) + " calls to " +
                                   p.strategy + " in flight (oauth.max_concurrent_per_provider)"));
  }
  return Slot(count);
}

std::size_t Service::in_flight(std::string_view strategy) const {
  const Provider* p = find(strategy);
  return p == nullptr ? 0
                      : in_flight_[static_cast<std::size_t>(p - providers_.data())].load(
                            std::memory_order_acquire);
}

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

core::Result<HttpRequest> Service::base_request(std::string method, std::string url,
                                                const Deadline& deadline,
                                                std::string_view step) const {
  HttpRequest req;
  req.method = std::move(method);
  req.url = std::move(url);
  req.timeout = options_.limits.timeout;
  req.connect_timeout = options_.limits.connect_timeout;
  req.max_response_bytes = options_.limits.max_response_bytes;
  if (auto st = clip_to_deadline(req, deadline, step); !st) {
    return std::unexpected(std::move(st.error()));
  }
  return req;
}

core::Result<ProviderMetadata> Service::metadata(const Provider& p, const Deadline& deadline) {
  ProviderMetadata m;
  if (p.kind == ProviderKind::kOidc && p.use_discovery) {
    const std::string& expected = p.issuer_template.empty() ? p.issuer : p.issuer_template;
    auto discovered = cache_.discover(p.issuer, expected, deadline);
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
  auto slot = take_slot(*p);
  if (!slot) {
    count_failure(slot.error());
    return std::unexpected(std::move(slot.error()));
  }
  auto meta = metadata(*p, Deadline::after(options_.deadline));
  if (!meta) {
    return std::unexpected(std::move(meta.error()));
  }
  detail::PendingFields pending;
  pending.strategy = p->strategy;
  pending.state = core::Secret(random_.token(32));
  // RFC 7636 §4.1: 32 octets -> 43 base64url characters, the minimum length with full entropy.
  pending.code_verifier = core::Secret(random_.token(32));
  if (p->kind == ProviderKind::kOidc) {
    pending.nonce = core::Secret(random_.token(32));
  }
  pending.redirect_uri = std::string(redirect_uri);
  std::vector<std::pair<std::string, std::string>> q = {
      {"response_type", "code"},
      {"client_id", p->client_id},
      {"redirect_uri", pending.redirect_uri},
      {"scope", join(p->scopes, ' ')},
      {"state", std::string(pending.state.reveal())},
  };
  if (!pending.nonce.empty()) {
    q.emplace_back("nonce", std::string(pending.nonce.reveal()));
  }
  q.emplace_back("code_challenge", pkce_challenge(pending.code_verifier.reveal()));
  q.emplace_back("code_challenge_method", "S256");
  if (!login_hint.empty() && login_hint.size() <= 256) {
    // OIDC Core 3.1.2.1: a hint only; the provider decides who signs in.
    q.emplace_back("login_hint", std::string(login_hint));
  }
  AuthorizationRequest out;
  out.authorization_url = meta->authorization_endpoint;
  out.authorization_url.push_back(out.authorization_url.find('?') == std::string::npos ? '?' : '&');
  out.authorization_url += form_encode(q);
  out.state = pending.state;
  out.pending = detail::seal_pending(sealer_, pending);
  return out;
}

core::Result<ExternalIdentity> Service::complete(std::string_view strategy,
                                                 const CallbackParams& params,
                                                 std::string_view state,
                                                 const PendingAuthorization& pending) {
  // A value that does not open is ours to fix (key, storage), not a provider failure: returned
  // as it is and not counted.
  auto fields = detail::open_pending(sealer_, pending, strategy);
  if (!fields) {
    return std::unexpected(std::move(fields.error()));
  }
  // One deadline for every outbound call this completion makes, from here.
  const Deadline deadline = Deadline::after(options_.deadline);
  std::optional<Slot> slot;
  if (const Provider* p = find(strategy); p != nullptr) {
    auto taken = take_slot(*p);
    if (!taken) {
      count_failure(taken.error());
      return std::unexpected(std::move(taken.error()));
    }
    slot.emplace(std::move(*taken));
  }
  auto result = complete_unmetered(strategy, params, state, *fields, deadline);
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
                                                           std::string_view state,
                                                           const detail::PendingFields& pending,
                                                           const Deadline& deadline) {
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
  // The caller found the pending authorization by this state; it must also be the one sealed in
  // it (a value copied to another state's row does not complete).
  if (state.empty() || !pending.state.equals(state)) {
    return std::unexpected(
        err(Code::kOAuthStateInvalid, "pending authorization was made for another state"));
  }
  if (p->kind == ProviderKind::kGithub) {
    return complete_github(*p, params, pending, deadline);
  }
  auto meta = metadata(*p, deadline);
  if (!meta) {
    return std::unexpected(std::move(meta.error()));
  }
  // RFC 9207 §2.4: when the provider advertises iss support, a response without it is rejected.
  if (!params.iss && meta->iss_parameter_supported) {
    return std::unexpected(err(Code::kOAuthTokenExchangeFailed, core::Reason::kIssuerMissing,
                               "reason=issuer_missing: provider advertises "
                               "authorization_response_iss_parameter_supported"));
  }
  return complete_oidc(*p, *meta, params, pending, deadline);
}

}  // namespace latchkey::oauth
