#pragma once
// Clerk's error envelope {"errors":[{"code","message","long_message","meta"}], "clerk_trace_id"}
// (design.md §3.2) around the one Code -> HTTP table (core::error_info).
#include <string_view>

#include "core/error.hpp"
#include "http/message.hpp"

namespace latchkey::api {

// The table row for a code (status, wire code and default texts), kept in core so that the HTTP
// server's own refusals use the same one.
using core::error_info;
using core::ErrorInfo;

// {"code","message","long_message","meta"} — also used for verification errors embedded in
// sign_in/sign_up objects.
std::string error_json(const core::Error& error);

// A full error response: status from the table, JSON envelope, x-request-id echoed as trace id.
// A 429 gets Retry-After from meta.retry_after_seconds when present.
http::Response error_response(const core::Error& error, std::string_view request_id);

}  // namespace latchkey::api
