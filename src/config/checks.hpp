#pragma once
// Internal to the config module: value checks. Each returns the reason a value is refused (without
// the key, which the caller prefixes), or nullopt when the value is acceptable. Reasons never
// repeat a secret; callers pass only non-secret values to the ones that quote their input.
#include <optional>
#include <string>
#include <string_view>

namespace latchkey::config::checks {

using Reason = std::optional<std::string>;

// host:port with host an IPv4 address, a bracketed IPv6 address or a DNS name; port 0-65535.
Reason listen(std::string_view value);
// Absolute http/https URL with a host, no userinfo, query or fragment (the public base URL).
Reason public_url(std::string_view value);
// Absolute http/https URL with a host and no fragment (IdP endpoint overrides, api_base).
Reason endpoint_url(std::string_view value);
// scheme://host[:port] with scheme http or https and nothing after the authority.
Reason origin(std::string_view value);
// The serialised origin (RFC 6454 §6.2): lower case, default port dropped. Requires origin() ok.
std::string normalize_origin(std::string_view value);
// OIDC issuer: https, or http only for 127.0.0.1, [::1] and localhost; no query or fragment.
Reason issuer(std::string_view value);
// "" | sqlite://<path> | postgres://... | postgresql://... (never quotes the value: it may hold a
// password).
Reason database_url(std::string_view value);
// "" or /segment[/segment...] with unreserved characters only, no dot segments, no trailing '/'.
Reason path_prefix(std::string_view value);
// A path on our own origin ("/sign-in", not "//host") or an absolute http/https URL.
Reason app_url(std::string_view value);
// RFC 6749 §3.3 scope-token: 1*( %x21 / %x23-5B / %x5D-7E ).
Reason scope(std::string_view value);
// Standard base64 (RFC 4648 §4) of exactly 32 bytes. Never quotes the value.
Reason encryption_key(std::string_view value);

// Quoted for an error message, control characters escaped, cut at 80 characters.
std::string quote(std::string_view value);

}  // namespace latchkey::config::checks
