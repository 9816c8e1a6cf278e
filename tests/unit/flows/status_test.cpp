#include "flows/status.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "flows/attempts.hpp"

using namespace latchkey::flows;

namespace {

// Copied by hand from the pinned SDK (@clerk/shared 4.41.0, dist/types/signInCommon.d.ts,
// signUpCommon.d.ts, verification.d.ts), in the SDK's order, not from status.hpp.
const std::vector<std::pair<std::string, SignInStatus>> kSdkSignIn = {
    {"needs_identifier", SignInStatus::kNeedsIdentifier},
    {"needs_first_factor", SignInStatus::kNeedsFirstFactor},
    {"needs_second_factor", SignInStatus::kNeedsSecondFactor},
    {"needs_client_trust", SignInStatus::kNeedsClientTrust},
    {"needs_new_password", SignInStatus::kNeedsNewPassword},
    {"needs_protect_check", SignInStatus::kNeedsProtectCheck},
    {"complete", SignInStatus::kComplete},
};
const std::vector<std::pair<std::string, SignUpStatus>> kSdkSignUp = {
    {"missing_requirements", SignUpStatus::kMissingRequirements},
    {"complete", SignUpStatus::kComplete},
    {"abandoned", SignUpStatus::kAbandoned},
};
const std::vector<std::pair<std::string, VerificationStatus>> kSdkVerification = {
    {"unverified", VerificationStatus::kUnverified},
    {"verified", VerificationStatus::kVerified},
    {"transferable", VerificationStatus::kTransferable},
    {"failed", VerificationStatus::kFailed},
    {"expired", VerificationStatus::kExpired},
};

// Near misses a hand-written or legacy row could hold; none is a status.
const std::vector<std::string> kNotStatuses = {
    "",
    " complete",
    "complete ",
    "Complete",
    "COMPLETE",
    "needs-identifier",
    "needsIdentifier",
    "needs_factor",
    "verified\n",
    "unknown",
    "pending",
    "active",
    "expired_",
    "abandon",
    "missing_requirement",
    std::string("complete\0", 9),
};

template <typename T, std::size_t N, typename Parse>
void expect_exact_bijection(const std::vector<std::pair<std::string, T>>& sdk,
                            const std::array<T, N>& all, Parse parse) {
  ASSERT_EQ(all.size(), sdk.size()) << "the enum and the SDK's union differ in size";
  std::set<int> seen;
  for (const auto& [wire, value] : sdk) {
    EXPECT_EQ(to_wire(value), wire);
    auto parsed = parse(wire);
    ASSERT_TRUE(parsed.has_value()) << wire;
    EXPECT_EQ(*parsed, value) << wire;
    seen.insert(static_cast<int>(value));
  }
  EXPECT_EQ(seen.size(), sdk.size()) << "two SDK strings map to one enumerator";
  // kAll* lists every enumerator exactly once, in declaration order (0..N-1).
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(static_cast<std::size_t>(all[i]), i);
    EXPECT_EQ(parse(to_wire(all[i])), all[i]);
  }
  for (const auto& bad : kNotStatuses) {
    EXPECT_FALSE(parse(bad).has_value()) << '"' << bad << '"';
  }
}

}  // namespace

TEST(Status, SignInMatchesTheSdkExactly) {
  expect_exact_bijection(kSdkSignIn, kAllSignInStatuses, parse_sign_in_status);
}

TEST(Status, SignUpMatchesTheSdkExactly) {
  expect_exact_bijection(kSdkSignUp, kAllSignUpStatuses, parse_sign_up_status);
}

TEST(Status, VerificationMatchesTheSdkExactly) {
  expect_exact_bijection(kSdkVerification, kAllVerificationStatuses, parse_verification_status);
}

TEST(Status, KindsDoNotParseEachOthersStrings) {
  // "complete" is both a sign-in and a sign-up status; nothing else is shared.
  for (const auto& [wire, _] : kSdkVerification) {
    EXPECT_FALSE(parse_sign_in_status(wire)) << wire;
    EXPECT_FALSE(parse_sign_up_status(wire)) << wire;
  }
  EXPECT_FALSE(parse_sign_up_status("needs_identifier"));
  EXPECT_FALSE(parse_sign_in_status("missing_requirements"));
  EXPECT_FALSE(parse_verification_status("complete"));
}

TEST(Status, RowsWrittenWithTheOldStringConstantsStillLoad) {
  // The strings every existing row holds (written before the enums existed).
  EXPECT_EQ(parse_sign_in_status("needs_identifier"), SignInStatus::kNeedsIdentifier);
  EXPECT_EQ(parse_sign_in_status("needs_first_factor"), SignInStatus::kNeedsFirstFactor);
  EXPECT_EQ(parse_sign_in_status("complete"), SignInStatus::kComplete);
  EXPECT_EQ(parse_sign_up_status("missing_requirements"), SignUpStatus::kMissingRequirements);
  EXPECT_EQ(parse_sign_up_status("complete"), SignUpStatus::kComplete);
  EXPECT_EQ(parse_sign_up_status("abandoned"), SignUpStatus::kAbandoned);
  EXPECT_EQ(parse_verification_status("unverified"), VerificationStatus::kUnverified);
  EXPECT_EQ(parse_verification_status("verified"), VerificationStatus::kVerified);
  EXPECT_EQ(parse_verification_status("transferable"), VerificationStatus::kTransferable);
  EXPECT_EQ(parse_verification_status("failed"), VerificationStatus::kFailed);
  EXPECT_EQ(parse_verification_status("expired"), VerificationStatus::kExpired);
  // The default of a Verification (attempts.hpp) is a valid status.
  EXPECT_EQ(parse_verification_status(Verification{}.status), VerificationStatus::kUnverified);
}
