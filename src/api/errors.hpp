#pragma once
// THE one place that maps core::Error to an HTTP status and Clerk's error envelope
// {"errors":[{"code","message","long_message","meta"}], "clerk_trace_id"} (design.md §3.2).
#include <string_view>

#include "core/error.hpp"
#include "http/message.hpp"

namespace latchkey::api {

struct ErrorInfo {
  int status;
  std::string_view wire_code;      // Clerk's `code`
  std::string_view message;        // default short message
  std::string_view long_message;   // default long message
};

// The table row for a code (status, wire code and default texts).
const ErrorInfo& error_info(core::Code code);

// {"code","message","long_message","meta"} — also used for verification errors embedded in
// sign_in/sign_up objects.
std::string error_json(const core::Error& error);

// A full error response: status from the table, JSON envelope, x-request-id echoed as trace id.
// A 429 gets Retry-After from meta.retry_after_seconds when present.
http::Response error_response(const core::Error& error, std::string_view request_id);

}  // namespace latchkey::api
