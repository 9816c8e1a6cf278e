#include "flows/status.hpp"

namespace latchkey::flows {
namespace {

// Linear search over a handful of values: parse is called once per loaded attempt.
template <typename T, std::size_t N>
std::optional<T> parse_of(const std::array<T, N>& all, std::string_view wire) {
  for (T value : all) {
    if (to_wire(value) == wire) {
      return value;
    }
  }
  return std::nullopt;
}

}  // namespace

std::string_view to_wire(SignInStatus status) {
  switch (status) {
    case SignInStatus::kNeedsIdentifier:
      return "needs_identifier";
    case SignInStatus::kNeedsFirstFactor:
      return "needs_first_factor";
    case SignInStatus::kNeedsSecondFactor:
      return "needs_second_factor";
    case SignInStatus::kNeedsClientTrust:
      return "needs_client_trust";
    case SignInStatus::kNeedsNewPassword:
      return "needs_new_password";
    case SignInStatus::kNeedsProtectCheck:
      return "needs_protect_check";
    case SignInStatus::kComplete:
      return "complete";
  }
  return {};
}

std::string_view to_wire(SignUpStatus status) {
  switch (status) {
    case SignUpStatus::kMissingRequirements:
      return "missing_requirements";
    case SignUpStatus::kComplete:
      return "complete";
    case SignUpStatus::kAbandoned:
      return "abandoned";
  }
  return {};
}

std::string_view to_wire(VerificationStatus status) {
  switch (status) {
    case VerificationStatus::kUnverified:
      return "unverified";
    case VerificationStatus::kVerified:
      return "verified";
    case VerificationStatus::kTransferable:
      return "transferable";
    case VerificationStatus::kFailed:
      return "failed";
    case VerificationStatus::kExpired:
      return "expired";
  }
  return {};
}

std::optional<SignInStatus> parse_sign_in_status(std::string_view wire) {
  return parse_of(kAllSignInStatuses, wire);
}

std::optional<SignUpStatus> parse_sign_up_status(std::string_view wire) {
  return parse_of(kAllSignUpStatuses, wire);
}

std::optional<VerificationStatus> parse_verification_status(std::string_view wire) {
  return parse_of(kAllVerificationStatuses, wire);
}

}  // namespace latchkey::flows
