#include "oauth/discovery.hpp"

#include <algorithm>

#include <boost/json.hpp>

#include "oauth/provider.hpp"

namespace latchkey::oauth {
namespace {

core::Error config_invalid(std::string why) {
  return core::Error(core::Code::kOAuthProviderUnavailable)
      .with_internal("provider_config_invalid: " + std::move(why));
}

const boost::json::string* string_member(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v == nullptr ? nullptr : v->if_string();
}

}  // namespace

std::string discovery_url(std::string_view issuer) {
  std::string base(issuer);
  if (base.ends_with('/')) {
    base.pop_back();
  }
  return base + "/.well-known/openid-configuration";
}

core::Result<ProviderMetadata> parse_discovery(std::string_view json,
                                               std::string_view expected_issuer) {
  boost::system::error_code ec;
  boost::json::value doc = boost::json::parse(json, ec);
  if (ec || !doc.is_object()) {
    return std::unexpected(config_invalid("discovery document is not a JSON object"));
  }
  const auto& o = doc.get_object();
  ProviderMetadata m;
  const auto* issuer = string_member(o, "issuer");
  if (issuer == nullptr || *issuer != expected_issuer) {
    // OIDC Discovery §4.3: the returned issuer MUST be identical to the one used to fetch it.
    return std::unexpected(config_invalid(
        "discovery issuer mismatch: expected '" + std::string(expected_issuer) + "', got '" +
        (issuer == nullptr ? std::string("<absent>") : std::string(*issuer)) + "'"));
  }
  m.issuer = *issuer;
  struct Field {
    std::string_view key;
    std::string* out;
    bool required;
  };
  for (const Field& f :
       {Field{"authorization_endpoint", &m.authorization_endpoint, true},
        Field{"token_endpoint", &m.token_endpoint, true}, Field{"jwks_uri", &m.jwks_uri, true},
        Field{"userinfo_endpoint", &m.userinfo_endpoint, false}}) {
    const auto* v = string_member(o, f.key);
    if (v == nullptr || v->empty()) {
      if (f.required) {
        return std::unexpected(config_invalid("discovery lacks " + std::string(f.key)));
      }
      continue;
    }
    if (!is_acceptable_endpoint(*v)) {
      return std::unexpected(
          config_invalid("discovery " + std::string(f.key) + " is not an absolute https URL"));
    }
    *f.out = std::string(*v);
  }
  if (const auto* algs = o.if_contains("id_token_signing_alg_values_supported")) {
    if (const auto* arr = algs->if_array()) {
      for (const auto& a : *arr) {
        if (const auto* s = a.if_string()) {
          // Unknown names, "none" and HS* have no crypto::Alg value and are dropped here.
          if (auto alg = crypto::alg_from_string(*s)) {
            m.id_token_algs.push_back(*alg);
          }
        }
      }
    }
  }
  if (m.id_token_algs.empty()) {
    m.id_token_algs.push_back(crypto::Alg::kRS256);
  }
  if (const auto* v = o.if_contains("authorization_response_iss_parameter_supported")) {
    m.iss_parameter_supported = v->is_bool() && v->get_bool();
  }
  return m;
}

MetadataCache::MetadataCache(HttpClient& http, const core::Clock& clock, OutboundLimits limits,
                             FetchCacheOptions discovery_options, FetchCacheOptions jwks_options)
    : http_(http),
      limits_(limits),
      discovery_(clock, discovery_options),
      jwks_(clock, jwks_options) {}

std::chrono::milliseconds Deadline::remaining(std::chrono::milliseconds cap) const {
  if (at == Clock::time_point::max()) {
    return cap;
  }
  const auto now = Clock::now();
  if (now >= at) {
    return std::chrono::milliseconds(0);
  }
  // Rounded down: a call never gets more than what is left.
  return std::min(cap, std::chrono::duration_cast<std::chrono::milliseconds>(at - now));
}

core::Status clip_to_deadline(HttpRequest& req, const Deadline& deadline, std::string_view step) {
  const auto left = deadline.remaining(req.timeout);
  if (left <= std::chrono::milliseconds(0)) {
    return core::fail(core::Error(core::Code::kOAuthProviderUnavailable)
                          .with_reason(core::Reason::kDeadline)
                          .with_internal("reason=deadline: oauth.callback_deadline passed before " +
                                         std::string(step)));
  }
  req.timeout = left;
  req.connect_timeout = std::min(req.connect_timeout, left);
  return {};
}

core::Result<HttpResponse> MetadataCache::get_json(const std::string& url, const Deadline& deadline,
                                                   std::string_view step) {
  HttpRequest req;
  req.method = "GET";
  req.url = url;
  req.timeout = limits_.timeout;
  req.connect_timeout = limits_.connect_timeout;
  req.max_response_bytes = limits_.max_response_bytes;
  if (auto st = clip_to_deadline(req, deadline, step); !st) {
    return std::unexpected(std::move(st.error()));
  }
  auto resp = http_.send(req);
  if (!resp) {
    return resp;
  }
  if (resp->status != 200) {
    return std::unexpected(
        core::Error(core::Code::kOAuthProviderUnavailable)
            .with_internal(url + " answered HTTP " + std::to_string(resp->status)));
  }
  return resp;
}

core::Result<std::shared_ptr<const ProviderMetadata>> MetadataCache::discover(
    const std::string& issuer, const std::string& expected_issuer, const Deadline& deadline) {
  const std::string url = discovery_url(issuer);
  // The key includes the expected issuer so two configurations can never share a document.
  return discovery_.get(
      url + "\n" + expected_issuer, false,
      [&]() -> core::Result<ProviderMetadata> {
        auto resp = get_json(url, deadline, "discovery");
        if (!resp) {
          return std::unexpected(std::move(resp.error()));
        }
        return parse_discovery(resp->body, expected_issuer);
      },
      deadline.at);
}

core::Result<std::shared_ptr<const JwkSet>> MetadataCache::jwks(const std::string& uri,
                                                                bool force_refresh,
                                                                const Deadline& deadline) {
  return jwks_.get(
      uri, force_refresh,
      [&]() -> core::Result<JwkSet> {
        auto resp = get_json(uri, deadline, "jwks");
        if (!resp) {
          return std::unexpected(std::move(resp.error()));
        }
        auto keys = crypto::parse_jwks(resp->body);
        if (!keys) {
          return std::unexpected(
              core::Error(core::Code::kOAuthProviderUnavailable)
                  .with_internal("jwks at " + uri + " unusable: " + keys.error().internal));
        }
        return std::move(*keys);
      },
      deadline.at);
}

}  // namespace latchkey::oauth
