// The operational endpoints: liveness, readiness, Prometheus metrics and the JWKS document.
#include <string>

#include "api/handlers.hpp"

namespace latchkey::api {
using http::Response;

Response healthz(Call&) { return json_response(200, R"({"status":"ok"})"); }

Response readyz(Call& call) {
  if (auto st = call.ctx.operational.ready(); !st) {
    return call.error(
        core::Error(core::Code::kServiceUnavailable).with_reason(core::Reason::kStoreUnavailable));
  }
  return json_response(200, R"({"status":"ready"})");
}

Response prometheus_metrics(Call& call) { return call.ctx.render_metrics(call.req); }

// New keys are published before they sign (keys.activation_delay), so verifiers may cache this.
Response jwks_document(Call& call) {
  Response r;
  r.set("content-type", "application/json");
  r.set("cache-control", "public, max-age=300");
  r.body = *call.ctx.operational.jwks();
  return r;
}

}  // namespace latchkey::api
