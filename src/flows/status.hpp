#pragma once
// Typed attempt and verification statuses. The wire strings are exactly the sets the pinned Clerk
// SDK declares (@clerk/shared 4.41.0, dist/types):
//   signInCommon.d.ts  SignInStatus       = needs_identifier | needs_first_factor |
//                                           needs_second_factor | needs_client_trust |
//                                           needs_new_password | needs_protect_check | complete
//   signUpCommon.d.ts  SignUpStatus       = missing_requirements | complete | abandoned
//   verification.d.ts  VerificationStatus = unverified | verified | transferable | failed | expired
// The store keeps the wire strings (store::SignIn::status, store::SignUp::status, the
// verifications inside the attempt JSON), so rows written before these enums existed still load:
// persist with to_wire, load with parse_*.
#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace latchkey::flows {

// Several of these are never assigned today (only OAuth first factors exist); they are here so
// that every status the SDK can be told is representable and has (illegal) rows in the machines.
enum class SignInStatus : std::uint8_t {
  kNeedsIdentifier,
  kNeedsFirstFactor,
  kNeedsSecondFactor,
  kNeedsClientTrust,
  kNeedsNewPassword,
  kNeedsProtectCheck,
  kComplete,
};

// `abandoned` is never written today: an attempt past abandon_at is hidden by load_view instead.
enum class SignUpStatus : std::uint8_t {
  kMissingRequirements,
  kComplete,
  kAbandoned,
};

// `expired` is never written today: an OAuth verification past its expire_at stays `unverified`
// (its state row is gone, so the callback is refused before it reaches the attempt).
enum class VerificationStatus : std::uint8_t {
  kUnverified,
  kVerified,
  kTransferable,
  kFailed,
  kExpired,
};

// Every value, in declaration order: what the exhaustive tests iterate.
inline constexpr std::array kAllSignInStatuses = {
    SignInStatus::kNeedsIdentifier,   SignInStatus::kNeedsFirstFactor,
    SignInStatus::kNeedsSecondFactor, SignInStatus::kNeedsClientTrust,
    SignInStatus::kNeedsNewPassword,  SignInStatus::kNeedsProtectCheck,
    SignInStatus::kComplete,
};
inline constexpr std::array kAllSignUpStatuses = {
    SignUpStatus::kMissingRequirements,
    SignUpStatus::kComplete,
    SignUpStatus::kAbandoned,
};
inline constexpr std::array kAllVerificationStatuses = {
    VerificationStatus::kUnverified,   VerificationStatus::kVerified,
    VerificationStatus::kTransferable, VerificationStatus::kFailed,
    VerificationStatus::kExpired,
};

std::string_view to_wire(SignInStatus status);
std::string_view to_wire(SignUpStatus status);
std::string_view to_wire(VerificationStatus status);

// Exact, case-sensitive matches of the wire strings; nullopt for anything else.
std::optional<SignInStatus> parse_sign_in_status(std::string_view wire);
std::optional<SignUpStatus> parse_sign_up_status(std::string_view wire);
std::optional<VerificationStatus> parse_verification_status(std::string_view wire);

}  // namespace latchkey::flows
