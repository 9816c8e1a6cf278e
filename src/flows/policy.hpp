#pragma once
// Pure decisions of the sign-in / sign-up flows: no I/O, exhaustively unit-tested.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "flows/attempts.hpp"

namespace latchkey::flows {

// design.md §4: redirect targets are checked against allowed origins; a relative path resolves
// against `base_origin` (the request's allowed Origin, else the public URL's origin). Refuses
// scheme-relative ("//evil"), backslash tricks, userinfo, non-http(s) schemes, control
// characters, and any absolute URL whose origin is not allowed. Returns the absolute URL.
core::Result<std::string> resolve_redirect_url(std::string_view url, std::string_view base_origin,
                                               const std::vector<std::string>& allowed_origins,
                                               std::string_view param_name);

// Sign-up attribute names the SDK uses in missing_fields (snake_case).
// Required fields come from config (first_name, last_name, username, legal_accepted); the email
// address is always required (from the identity provider).
std::vector<std::string> missing_fields(const SignUpData& data,
                                        const std::vector<std::string>& required);
std::vector<std::string> required_fields(const std::vector<std::string>& configured);
// What `configured` (which may name "password" when passwords are on) asks of this sign-up: a
// sign-up with a provider identity needs no password.
std::vector<std::string> sign_up_requirements(const std::vector<std::string>& configured,
                                              const SignUpData& data);

// Account linking by email (design.md §4): link only when the provider says the email is
// verified AND the existing address is verified. Anything else is refused with a clear code.
enum class LinkDecision { kLink, kRefuseUnverified };
LinkDecision decide_link(bool provider_email_verified, bool provider_trusted,
                         bool existing_address_verified);

// Username rules (Clerk's defaults): 4-64 chars of [A-Za-z0-9_-].
core::Status validate_username(std::string_view username);
// Names: 1-256 bytes of valid UTF-8, no control characters.
core::Status validate_name(std::string_view value, std::string_view param_name);

}  // namespace latchkey::flows
