#include "flows/sign_up_machine.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "flows/attempts.hpp"
#include "machine_test_support.hpp"

using latchkey::core::Code;
using namespace latchkey::flows;
using namespace latchkey::flows::testing;
namespace ev = sign_up_events;

namespace {

using VS = VerificationStatus;
using Fx = Effect;
using SignUpRow = Row<SignUpState, SignUpEvent>;

constexpr SignUpStatus kMR = SignUpStatus::kMissingRequirements;
constexpr SignUpStatus kDone = SignUpStatus::kComplete;

// One name of each strategy family: none, OAuth, the first factors, one no row knows yet.
const std::vector<std::string_view> kStrategies = {"",
                                                   "oauth_google",
                                                   "password",
                                                   "email_code",
                                                   "reset_password_email_code",
                                                   "web3_metamask",
                                                   "email_link"};
// Errors an input verification may already hold; rows must not depend on them.
const std::vector<std::optional<Code>> kInputErrors = {std::nullopt, Code::kOAuthAccessDenied};
const std::vector<Code> kProviderErrors = {Code::kOAuthAccessDenied,
                                           Code::kOAuthTokenExchangeFailed};

const std::array<std::string_view, 10> kEventNames = {
    "Started",
    "TransferredFromSignIn",
    "TransferredToSignIn",
    "OAuthStarted",
    "FieldsUpdated",
    "ProviderFailed",
    "StateRejected",
    "IdentityResolved",
    "VerificationPrepared",
    "VerificationAttempted",
};

VerificationState code(VS status, std::optional<Code> error = std::nullopt) {
  return VerificationState{status, StrategyFamily::kEmailCode, error};
}
VerificationState link(VS status, std::optional<Code> error = std::nullopt) {
  return VerificationState{status, StrategyFamily::kEmailLink, error};
}
// verifications.email_address as a password sign-up leaves it.
const std::vector<std::optional<VerificationState>> kEmailVerifications = {
    std::nullopt, code(VS::kUnverified), code(VS::kVerified),
    code(VS::kFailed, Code::kVerificationFailed), link(VS::kUnverified)};

std::vector<SignUpState> all_states() {
  std::vector<std::optional<SignUpStatus>> statuses{std::nullopt};
  statuses.insert(statuses.end(), kAllSignUpStatuses.begin(), kAllSignUpStatuses.end());
  std::vector<SignUpState> out;
  for (const auto& status : statuses) {
    for (const auto& ea : all_verifications(kInputErrors)) {
      for (bool identity : {false, true}) {
        for (const auto& email : kEmailVerifications) {
          out.push_back(SignUpState{status, ea, identity, email});
        }
      }
    }
  }
  return out;
}

std::vector<SignUpEvent> all_events() {
  std::vector<SignUpEvent> out;
  for (auto strategy : kStrategies) {
    out.emplace_back(ev::Started{strategy});
    out.emplace_back(ev::OAuthStarted{strategy});
    for (IdentityMatch m : kAllIdentityMatches) {
      for (bool nothing_missing : {false, true}) {
        out.emplace_back(ev::TransferredFromSignIn{strategy, m, nothing_missing});
        out.emplace_back(ev::IdentityResolved{strategy, m, nothing_missing});
      }
    }
    for (Code c : kProviderErrors) {
      out.emplace_back(ev::ProviderFailed{strategy, c});
    }
    for (bool has_email : {false, true}) {
      out.emplace_back(ev::VerificationPrepared{strategy, has_email});
    }
    for (FactorOutcome o : kAllFactorOutcomes) {
      for (bool nothing_missing : {false, true}) {
        out.emplace_back(ev::VerificationAttempted{strategy, o, nothing_missing});
      }
    }
  }
  out.emplace_back(ev::TransferredToSignIn{});
  out.emplace_back(ev::FieldsUpdated{false});
  out.emplace_back(ev::FieldsUpdated{true});
  out.emplace_back(ev::StateRejected{Code::kOAuthStateInvalid});
  return out;
}

std::string status_name(const SignUpState& s) {
  return s.status ? std::string(to_wire(*s.status)) : "(no attempt)";
}

VerificationState oauth(VS status, std::optional<Code> error = std::nullopt) {
  return VerificationState{status, StrategyFamily::kOAuth, error};
}

Expected<SignUpState> step(SignUpState s, Effects fx) { return Step<SignUpState, Effects>{s, fx}; }

Refusal strategy_refusal(std::string_view name) {
  return Refusal{Code::kStrategyNotAllowed, "is invalid",
                 "The strategy '" + std::string(name) + "' is not enabled for this application.",
                 "strategy"};
}

// The expected behaviour, written from frontend_service.cpp as of 6509f59 (not from the machine).
std::vector<SignUpRow> table() {
  std::vector<SignUpRow> t;
  const SignUpState fresh{};
  const std::string_view g = "oauth_google";

  // create_sign_up without transfer.
  t.push_back({fresh, ev::Started{""}, step({kMR, std::nullopt, false, std::nullopt}, {})});
  t.push_back({fresh, ev::Started{g},
               step({kMR, oauth(VS::kUnverified), false, std::nullopt}, {Fx::kBeginRedirect})});
  t.push_back({fresh, ev::Started{"password"}, step({kMR, std::nullopt, false, std::nullopt}, {})});
  for (std::string_view other :
       {"email_code", "reset_password_email_code", "web3_metamask", "email_link"}) {
    t.push_back({fresh, ev::Started{other}, strategy_refusal(other)});
  }

  // apply_sign_up_identity + try_complete_sign_up: what an identity leads to.
  auto identity_row = [](IdentityMatch m, bool nothing_missing) -> Expected<SignUpState> {
    switch (m) {
      case IdentityMatch::kLinkRefused:
        return step(
            {kMR, oauth(VS::kFailed, Code::kExternalAccountEmailUnverified), false, std::nullopt},
            {Fx::kClearExpiry});
      case IdentityMatch::kExternalAccount:
      case IdentityMatch::kVerifiedEmail:
        return step(
            {kMR, oauth(VS::kTransferable, Code::kExternalAccountExists), true, std::nullopt},
            {Fx::kClearExpiry, Fx::kTakeEmail, Fx::kKeepIdentity});
      case IdentityMatch::kNoMatch:
        break;
    }
    if (!nothing_missing) {
      return step({kMR, oauth(VS::kVerified), true, std::nullopt},
                  {Fx::kClearExpiry, Fx::kTakeEmail, Fx::kTakeProfile, Fx::kKeepIdentity});
    }
    return step({kDone, oauth(VS::kVerified), false, std::nullopt},
                {Fx::kClearExpiry, Fx::kTakeEmail, Fx::kTakeProfile, Fx::kKeepIdentity,
                 Fx::kCreateUser, Fx::kCreateSession, Fx::kDropIdentity});
  };

  // create_sign_up(transfer): never refused, the identity is applied to the new attempt.
  for (IdentityMatch m : kAllIdentityMatches) {
    for (bool nothing_missing : {false, true}) {
      t.push_back({fresh, ev::TransferredFromSignIn{g, m, nothing_missing},
                   identity_row(m, nothing_missing)});
    }
  }

  for (const SignUpState& s : all_states()) {
    // create_sign_in(transfer) takes a transferable sign-up; every other state answers "Nothing
    // to transfer".
    bool source = false;
    for (const auto& e : kInputErrors) {
      source = source || s == SignUpState{kMR, oauth(VS::kTransferable, e), true, std::nullopt};
    }
    if (source) {
      t.push_back({s, ev::TransferredToSignIn{}, step(s, {Fx::kConsumeAttempt})});
    } else {
      t.push_back({s, ev::TransferredToSignIn{},
                   Refusal{Code::kInvalidState, "Nothing to transfer",
                           s.status ? "The current sign-up is not transferable."
                                    : "There is no sign-up on this client that can be "
                                      "transferred.",
                           "transfer"}});
    }

    // update_sign_up. With a strategy: start_oauth's refusal first, then the status, then an
    // identity already held; otherwise a fresh OAuth verification replaces whatever was there.
    // No attempt at all is the caller's sign-up-not-found (illegal here).
    const bool done = s.status == kDone || s.status == SignUpStatus::kAbandoned;
    const Refusal not_in_progress{Code::kInvalidState, "Sign up is not in progress",
                                  s.status == kDone ? "This sign-up is already complete."
                                                    : "This sign-up is already abandoned.",
                                  std::nullopt};
    for (std::string_view name : kStrategies) {
      if (name != g) {
        t.push_back({s, ev::OAuthStarted{name}, strategy_refusal(name)});
      }
    }
    if (done) {
      t.push_back({s, ev::OAuthStarted{g}, not_in_progress});
    } else if (s.status == kMR && s.holds_identity) {
      t.push_back({s, ev::OAuthStarted{g},
                   Refusal{Code::kInvalidState, "Already verified",
                           "This sign-up already has a verified external account.", std::nullopt}});
    } else if (s.status == kMR) {
      t.push_back({s, ev::OAuthStarted{g},
                   step({kMR, oauth(VS::kUnverified), false, std::nullopt}, {Fx::kBeginRedirect})});
    }

    // Without a strategy: fields are saved; the sign-up completes only when its external account
    // is verified (or absent), the identity is there and nothing is missing.
    for (bool nothing_missing : {false, true}) {
      if (done) {
        t.push_back({s, ev::FieldsUpdated{nothing_missing}, not_in_progress});
      } else if (s.status == kMR) {
        const bool unverified_account =
            s.external_account && s.external_account->status != VS::kVerified;
        if (!unverified_account && s.holds_identity && nothing_missing) {
          t.push_back({s, ev::FieldsUpdated{nothing_missing},
                       step({kDone, s.external_account, false, s.email_address},
                            {Fx::kCreateUser, Fx::kCreateSession, Fx::kDropIdentity})});
        } else if (!s.holds_identity && !s.external_account &&
                   s.email_address == code(VS::kVerified) && nothing_missing) {
          // A password sign-up whose address a code verified.
          t.push_back({s, ev::FieldsUpdated{nothing_missing},
                       step({kDone, std::nullopt, false, s.email_address},
                            {Fx::kCreateUser, Fx::kCreateSession})});
        } else {
          t.push_back({s, ev::FieldsUpdated{nothing_missing}, step(s, {})});
        }
      }
    }
  }

  // Email-code verification of a sign-up without a provider, or of a social sign-up whose
  // provider verified the account but not the address (it keeps its identity until complete).
  for (const SignUpState& s : all_states()) {
    if (!s.status) {
      continue;  // no attempt: the caller's sign-up-not-found
    }
    const bool done = s.status != kMR;
    const Refusal not_in_progress{Code::kInvalidState, "Sign up is not in progress",
                                  s.status == kDone ? "This sign-up is already complete."
                                                    : "This sign-up is already abandoned.",
                                  std::nullopt};
    const bool social = s.holds_identity && s.external_account &&
                        s.external_account->status == VS::kVerified &&
                        s.external_account->strategy == StrategyFamily::kOAuth;
    const bool without_provider = (!s.holds_identity && !s.external_account) || social;
    for (bool has_email : {false, true}) {
      for (std::string_view name : kStrategies) {
        const ev::VerificationPrepared p{name, has_email};
        if (done) {
          t.push_back({s, p, not_in_progress});
        } else if (name != "email_code" && name != "email_link") {
          t.push_back({s, p, strategy_refusal(name)});
        } else if (!without_provider) {
          continue;  // illegal
        } else if (!has_email) {
          t.push_back({s, p, Refusal{Code::kFormParamMissing, "", "", "email_address"}});
        } else if (s.email_address == code(VS::kVerified)) {
          t.push_back({s, p, Refusal{Code::kVerificationAlreadyVerified, "", "", std::nullopt}});
        } else {
          const auto sent = name == "email_link" ? link(VS::kUnverified) : code(VS::kUnverified);
          t.push_back(
              {s, p, step({kMR, s.external_account, s.holds_identity, sent}, {Fx::kSendCode})});
        }
      }
    }
    if (done || !without_provider) {
      continue;
    }
    const auto& ea = s.external_account;
    const bool held = s.holds_identity;
    const Effects complete = social
                                 ? Effects{Fx::kCreateUser, Fx::kCreateSession, Fx::kDropIdentity}
                                 : Effects{Fx::kCreateUser, Fx::kCreateSession};
    for (auto [name, v] : {std::pair{std::string_view("email_code"), &code},
                           std::pair{std::string_view("email_link"), &link}}) {
      if (s.email_address != (*v)(VS::kUnverified, std::nullopt)) {
        continue;
      }
      for (bool nothing_missing : {false, true}) {
        auto attempted = [&](FactorOutcome o) {
          return ev::VerificationAttempted{name, o, nothing_missing};
        };
        t.push_back({s, attempted(FactorOutcome::kVerified),
                     nothing_missing
                         ? step({kDone, ea, false, (*v)(VS::kVerified, std::nullopt)}, complete)
                         : step({kMR, ea, held, (*v)(VS::kVerified, std::nullopt)}, {})});
        t.push_back({s, attempted(FactorOutcome::kIncorrect), step(s, {Fx::kRejectAttempt})});
        t.push_back({s, attempted(FactorOutcome::kTooManyAttempts),
                     step({kMR, ea, held, (*v)(VS::kFailed, Code::kVerificationFailed)},
                          {Fx::kRejectAttempt})});
        t.push_back({s, attempted(FactorOutcome::kExpired),
                     step({kMR, ea, held, (*v)(VS::kExpired, Code::kVerificationExpired)},
                          {Fx::kRejectAttempt})});
      }
    }
  }

  // The OAuth callback (fail_attempt, step 3) of an attempt that awaits it.
  for (const auto& e : kInputErrors) {
    const SignUpState waiting{kMR, oauth(VS::kUnverified, e), false, std::nullopt};
    for (Code code : kProviderErrors) {
      t.push_back({waiting, ev::ProviderFailed{g, code},
                   step({kMR, oauth(VS::kFailed, code), false, std::nullopt}, {})});
    }
    t.push_back(
        {waiting, ev::StateRejected{Code::kOAuthStateInvalid},
         step({kMR, oauth(VS::kFailed, Code::kOAuthStateInvalid), false, std::nullopt}, {})});
    for (IdentityMatch m : kAllIdentityMatches) {
      for (bool nothing_missing : {false, true}) {
        t.push_back({waiting, ev::IdentityResolved{g, m, nothing_missing},
                     identity_row(m, nothing_missing)});
      }
    }
  }
  return t;
}

}  // namespace

TEST(SignUpMachine, EveryStatusTimesEveryEventIsTheTablesRowOrIllegal) {
  const auto states = all_states();
  const auto events = all_events();
  EXPECT_EQ(states.size(),
            4u * 91u * 2u * 5u);  // (no attempt + 3 statuses) x accounts x identity x email
  EXPECT_EQ(events.size(), 228u);
  const std::size_t n = check_exhaustively(states, events, table(), sign_up_transition, "sign_up",
                                           kEventNames, status_name);
  EXPECT_EQ(n, 829'920u);
}

TEST(SignUpMachine, OnlyAnUnverifiedOAuthExternalAccountAwaitsTheCallback) {
  int waiting = 0;
  for (const SignUpState& s : all_states()) {
    bool want = false;
    for (const auto& e : kInputErrors) {
      want = want || s == SignUpState{kMR, oauth(VS::kUnverified, e), false, std::nullopt};
    }
    EXPECT_EQ(awaits_callback(s), want) << describe(s);
    waiting += want ? 1 : 0;
  }
  EXPECT_EQ(waiting, 2);
}

TEST(SignUpMachine, AnOAuthSignUpThatNeedsAFieldThenCompletes) {
  auto started = sign_up_transition({}, ev::Started{"oauth_google"});
  ASSERT_TRUE(started);
  auto verified = sign_up_transition(
      started->state, ev::IdentityResolved{"oauth_google", IdentityMatch::kNoMatch, false});
  ASSERT_TRUE(verified);
  EXPECT_EQ(verified->state.status, SignUpStatus::kMissingRequirements);
  EXPECT_TRUE(verified->state.holds_identity);
  // signUp.update({username}) fills the last field.
  auto done = sign_up_transition(verified->state, ev::FieldsUpdated{true});
  ASSERT_TRUE(done);
  EXPECT_EQ(done->state.status, SignUpStatus::kComplete);
  EXPECT_TRUE(done->effects.has(Effect::kCreateUser));
  // A completed sign-up takes no more updates, with the current code's message.
  auto again = sign_up_transition(done->state, ev::FieldsUpdated{true});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().long_message, "This sign-up is already complete.");
}

TEST(SignUpMachine, RowsAsTheCurrentCodeWritesThemLoad) {
  struct Case {
    std::string status;
    std::string json;
    SignUpState want;
  };
  const std::string err_exists = R"("external_account_exists")";  // core::code_id
  const std::vector<Case> cases = {
      {"missing_requirements",
       R"({"email_address":null,"unsafe_metadata":"{}"})",
       {kMR, std::nullopt, false, std::nullopt}},
      {"missing_requirements",
       R"({"external_account":{"status":"unverified","strategy":"oauth_google",)"
       R"("external_verification_redirect_url":"https://idp/auth","expire_at":7}})",
       {kMR, oauth(VS::kUnverified), false, std::nullopt}},
      {"missing_requirements",
       R"({"email_address":"a@b.test","identity":{"strategy":"oauth_google"},)"
       R"("external_account":{"status":"transferable","strategy":"oauth_google",)"
       R"("error":{"code":)" +
           err_exists + R"(,"message":"","long_message":"","meta":[]}}})",
       {kMR, oauth(VS::kTransferable, Code::kExternalAccountExists), true, std::nullopt}},
      {"complete",
       R"({"external_account":{"status":"verified","strategy":"oauth_google"},)"
       R"("created_user_id":"user_1","created_session_id":"sess_1"})",
       {kDone, oauth(VS::kVerified), false, std::nullopt}},
  };
  for (const auto& c : cases) {
    auto data = parse_sign_up_data(c.json);
    ASSERT_TRUE(data) << c.json;
    auto state = load_sign_up_state(c.status, *data);
    ASSERT_TRUE(state) << c.json;
    EXPECT_EQ(*state, c.want) << describe(*state);
  }
  auto bad = load_sign_up_state("missing-requirements", SignUpData{});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Code::kInternal);
}

TEST(SignUpMachine, SaveThenLoadIsTheSameStateForEveryStoredState) {
  int checked = 0;
  for (const SignUpState& s : all_states()) {
    if (!s.status) {
      continue;  // "no attempt" is never stored
    }
    std::string row_status = "stale";
    SignUpData data;
    save_sign_up_state(s, row_status, data);
    EXPECT_EQ(row_status, to_wire(*s.status));
    if (s.external_account) {
      const std::string_view names[] = {"",
                                        "oauth_google",
                                        "password",
                                        "email_code",
                                        "reset_password_email_code",
                                        "web3_metamask",
                                        "email_link",
                                        "totp",
                                        "backup_code"};
      data.external_account->strategy = names[static_cast<int>(s.external_account->strategy)];
    }
    if (s.holds_identity) {
      data.identity.emplace();
    }
    auto back = load_sign_up_state(row_status, parse_sign_up_data(to_json(data)).value());
    ASSERT_TRUE(back) << describe(s);
    EXPECT_EQ(*back, s);
    ++checked;
  }
  EXPECT_EQ(checked, 3 * 91 * 2 * 5);
}
