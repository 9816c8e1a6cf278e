#include "oauth/detail/pending.hpp"

#include <boost/json.hpp>

namespace latchkey::oauth::detail {
namespace {

constexpr std::int64_t kVersion = 1;

std::string aad(std::string_view strategy) { return "oauth-pending:" + std::string(strategy); }

core::Error corrupt(std::string why) {
  return core::Error(core::Code::kInternal).with_internal("pending authorization " + why);
}

}  // namespace

PendingAuthorization seal_pending(const crypto::Sealer& sealer, const PendingFields& fields) {
  const boost::json::object o{{"v", kVersion},
                              {"state", fields.state.reveal()},
                              {"code_verifier", fields.code_verifier.reveal()},
                              {"nonce", fields.nonce.reveal()},
                              {"redirect_uri", fields.redirect_uri}};
  const core::Secret plain(boost::json::serialize(o));
  return PendingAuthorization(sealer.seal(plain.reveal(), aad(fields.strategy)));
}

core::Result<PendingFields> open_pending(const crypto::Sealer& sealer,
                                         const PendingAuthorization& pending,
                                         std::string_view strategy) {
  auto opened = sealer.open(pending.sealed(), aad(strategy));
  if (!opened) {
    return std::unexpected(std::move(opened.error()));
  }
  const core::Secret plain(std::move(*opened));
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(plain.reveal(), ec);
  const auto* o = v.if_object();
  if (ec || o == nullptr) {
    return std::unexpected(corrupt("is not a JSON object"));
  }
  const auto* version = o->if_contains("v");
  if (version == nullptr || !version->is_int64() || version->get_int64() != kVersion) {
    return std::unexpected(corrupt("has an unknown version"));
  }
  auto text = [&](std::string_view key) -> core::Result<std::string> {
    const auto* m = o->if_contains(key);
    if (m == nullptr || !m->is_string()) {
      return std::unexpected(corrupt("lacks " + std::string(key)));
    }
    return std::string(m->get_string());
  };
  auto state = text("state");
  auto verifier = text("code_verifier");
  auto nonce = text("nonce");
  auto redirect_uri = text("redirect_uri");
  for (auto* r : {&state, &verifier, &nonce, &redirect_uri}) {
    if (!*r) {
      return std::unexpected(std::move(r->error()));
    }
  }
  return PendingFields{std::string(strategy), core::Secret(std::move(*state)),
                       core::Secret(std::move(*verifier)), core::Secret(std::move(*nonce)),
                       std::move(*redirect_uri)};
}

}  // namespace latchkey::oauth::detail
