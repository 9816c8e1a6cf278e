#include "http/metrics_handler.hpp"

#include <string>

namespace latchkey::http {

Handler metrics_handler(const core::Metrics& metrics) {
  return [&metrics](Request&) {
    Response res;
    res.body = metrics.render();
    res.set("content-type", std::string(core::kPrometheusContentType));
    res.set("cache-control", "no-store");
    return res;
  };
}

}  // namespace latchkey::http
