// Sign-up requirements: the profile fields a create/update request may set, validated with
// errors that name the parameter (what is still missing is policy.hpp's missing_fields).
#include <boost/json.hpp>

#include "flows/detail/attempt.hpp"
#include "flows/policy.hpp"

namespace latchkey::flows::detail {

using core::Code;
using core::fail;
using core::Status;

std::vector<std::string> required_for(const FlowDeps& d, const SignUpData& data) {
  std::vector<std::string> out = d.settings.required_fields;
  if (d.settings.identifiers.password && !data.identity && !data.external_account) {
    out.emplace_back("password");
  }
  return out;
}

Status apply_sign_up_fields(SignUpData& data, const SignUpParams& p, const IdentifierSettings& ids,
                            std::int64_t now) {
  auto set_name = [](std::optional<std::string>& field, const std::optional<std::string>& value,
                     std::string_view param) -> Status {
    if (!value) {
      return {};
    }
    auto ok = validate_name(*value, param);
    if (!ok) {
      return ok;
    }
    field = value->empty() ? std::nullopt : std::optional<std::string>(*value);
    return {};
  };
  if (auto s = set_name(data.first_name, p.first_name, "first_name"); !s) {
    return s;
  }
  if (auto s = set_name(data.last_name, p.last_name, "last_name"); !s) {
    return s;
  }
  if (p.username) {
    if (p.username->empty()) {
      data.username.reset();
    } else {
      if (auto s = validate_username(*p.username); !s) {
        return s;
      }
      data.username = *p.username;
    }
  }
  if (p.legal_accepted) {
    if (*p.legal_accepted) {
      data.legal_accepted_at_ms = now;
    } else {
      data.legal_accepted_at_ms.reset();
    }
  }
  if (p.unsafe_metadata) {
    boost::system::error_code ec;
    auto v = boost::json::parse(*p.unsafe_metadata, ec);
    if (ec || !v.is_object() || p.unsafe_metadata->size() > 8192) {
      return core::param_error(Code::kFormParamInvalid, "unsafe_metadata", "is invalid",
                               "unsafe_metadata must be a JSON object of at most 8 KB.");
    }
    data.unsafe_metadata = boost::json::serialize(v);
  }
  if (p.email_address) {
    // The email of an OAuth sign-up comes from the provider and cannot be replaced here; a
    // provider that gave none leaves it to the user (missing_fields), verified by a code.
    if (data.identity && !data.identity->email.empty()) {
      return core::param_error(Code::kFormParamInvalid, "email_address", "cannot be changed",
                               "The email address comes from the identity provider.");
    }
    if (ids.email_address) {
      auto email = canonical_email(*p.email_address, "email_address");
      if (!email) {
        return fail(std::move(email.error()));
      }
      if (data.email_address != *email) {
        // A new address must be verified afresh.
        data.email_address = *email;
        data.email_verified = false;
        data.email_verification.reset();
      }
      return {};
    }
    return core::param_error(Code::kStrategyNotAllowed, "email_address", "is not supported",
                             "Signing up with an email address is not enabled for this "
                             "application. Use one of the enabled social connections.");
  }
  return {};
}

}  // namespace latchkey::flows::detail
