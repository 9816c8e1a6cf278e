#pragma once
// GET /metrics: the metrics registry rendered as an HTTP response.
#include "core/metrics.hpp"
#include "http/router.hpp"

namespace latchkey::http {

// A handler for GET /metrics (register it with inline_ok: rendering is cheap and non-blocking).
[[nodiscard]] Handler metrics_handler(const core::Metrics& metrics);

}  // namespace latchkey::http
