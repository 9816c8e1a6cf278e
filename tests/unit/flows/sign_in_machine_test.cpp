#include "flows/sign_in_machine.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "flows/attempts.hpp"
#include "machine_test_support.hpp"

using latchkey::core::Code;
using namespace latchkey::flows;
using namespace latchkey::flows::testing;
namespace ev = sign_in_events;

namespace {

using VS = VerificationStatus;
using Fx = Effect;
using SignInRow = Row<SignInState, SignInEvent>;

constexpr SignInStatus kNI = SignInStatus::kNeedsIdentifier;
constexpr SignInStatus kNFF = SignInStatus::kNeedsFirstFactor;
constexpr SignInStatus kDone = SignInStatus::kComplete;
constexpr SignInStatus kNNP = SignInStatus::kNeedsNewPassword;

// One name of each strategy family: none, OAuth, the first factors, one no row knows yet.
const std::vector<std::string_view> kStrategies = {"",
                                                   "oauth_google",
                                                   "password",
                                                   "email_code",
                                                   "reset_password_email_code",
                                                   "web3_metamask",
                                                   "email_link",
                                                   "totp",
                                                   "backup_code"};
const std::vector<std::string_view> kFirstFactorStrategies = {
    "password", "email_code", "reset_password_email_code", "email_link"};
// Errors an input verification may already hold; rows must not depend on them.
const std::vector<std::optional<Code>> kInputErrors = {std::nullopt, Code::kOAuthAccessDenied};
// What a provider round trip can fail with (oauth::Service::complete).
const std::vector<Code> kProviderErrors = {Code::kOAuthAccessDenied,
                                           Code::kOAuthTokenExchangeFailed};

const std::array<std::string_view, 10> kEventNames = {
    "Started",       "TransferredFromSignUp", "TransferredToSignUp", "ProviderFailed",
    "StateRejected", "IdentityResolved",      "FirstFactorPrepared", "FirstFactorAttempted",
    "PasswordReset", "SecondFactorAttempted",
};
constexpr SignInStatus kNSF = SignInStatus::kNeedsSecondFactor;
// A second factor whose attempts are used up (the rows refuse every further attempt).
const VerificationState kSecondFactorFailed{VerificationStatus::kFailed, StrategyFamily::kTotp,
                                            Code::kVerificationFailed};

std::vector<SignInState> all_states() {
  std::vector<std::optional<SignInStatus>> statuses{std::nullopt};
  statuses.insert(statuses.end(), kAllSignInStatuses.begin(), kAllSignInStatuses.end());
  std::vector<SignInState> out;
  for (const auto& status : statuses) {
    for (const auto& ff : all_verifications(kInputErrors)) {
      for (bool identity : {false, true}) {
        out.push_back(SignInState{status, ff, identity, std::nullopt});
        if (status == SignInStatus::kNeedsSecondFactor) {
          out.push_back(SignInState{status, ff, identity, kSecondFactorFailed});
        }
      }
    }
  }
  return out;
}

std::vector<SignInEvent> all_events() {
  std::vector<SignInEvent> out;
  for (auto strategy : kStrategies) {
    for (bool identifier : {false, true}) {
      for (IdentifierLookup lookup : kAllIdentifierLookups) {
        out.emplace_back(ev::Started{strategy, identifier, lookup});
      }
    }
    out.emplace_back(ev::FirstFactorPrepared{strategy});
    for (FactorOutcome o : kAllFactorOutcomes) {
      out.emplace_back(ev::FirstFactorAttempted{strategy, o});
      out.emplace_back(ev::SecondFactorAttempted{strategy, o});
    }
    for (SignInOutcome o : kAllSignInOutcomes) {
      out.emplace_back(ev::TransferredFromSignUp{strategy, o});
      out.emplace_back(ev::IdentityResolved{strategy, o});
    }
    for (Code code : kProviderErrors) {
      out.emplace_back(ev::ProviderFailed{strategy, code});
    }
  }
  out.emplace_back(ev::TransferredToSignUp{});
  out.emplace_back(ev::StateRejected{Code::kOAuthStateInvalid});
  out.emplace_back(ev::PasswordReset{});
  return out;
}

std::string status_name(const SignInState& s) {
  return s.status ? std::string(to_wire(*s.status)) : "(no attempt)";
}

VerificationState oauth(VS status, std::optional<Code> error = std::nullopt) {
  return VerificationState{status, StrategyFamily::kOAuth, error};
}

Expected<SignInState> step(SignInState s, Effects fx) { return Step<SignInState, Effects>{s, fx}; }

// The expected behaviour, written from frontend_service.cpp as of 6509f59 (not from the machine).
std::vector<SignInRow> table() {
  std::vector<SignInRow> t;
  const SignInState fresh{};

  // create_sign_in without transfer, on an OAuth-only instance (no identifier lookup).
  const IdentifierLookup off = IdentifierLookup::kNotEnabled;
  t.push_back(
      {fresh, ev::Started{"", false, off}, step({kNI, std::nullopt, false, std::nullopt}, {})});
  t.push_back({fresh, ev::Started{"", true, off},
               Refusal{Code::kStrategyNotAllowed, "is invalid",
                       "Signing in with an identifier is not enabled for this application. Use "
                       "one of the enabled social connections.",
                       "identifier"}});
  for (bool identifier : {false, true}) {
    for (IdentifierLookup lookup : kAllIdentifierLookups) {
      t.push_back(
          {fresh, ev::Started{"oauth_google", identifier, lookup},
           step({kNFF, oauth(VS::kUnverified), false, std::nullopt}, {Fx::kBeginRedirect})});
      // A second factor is never a way to start: refused like a strategy nobody knows.
      for (std::string_view name : {"web3_metamask", "totp", "backup_code"}) {
        t.push_back({fresh, ev::Started{name, identifier, lookup},
                     Refusal{Code::kStrategyNotAllowed, "is invalid",
                             "The strategy '" + std::string(name) +
                                 "' is not enabled for this application.",
                             "strategy"}});
      }
    }
    for (std::string_view ff : kFirstFactorStrategies) {
      t.push_back(
          {fresh, ev::Started{ff, identifier, off},
           Refusal{Code::kStrategyNotAllowed, "is invalid",
                   "The strategy '" + std::string(ff) + "' is not enabled for this application.",
                   "strategy"}});
    }
  }
  // With identifiers enabled: the identifier is looked up.
  for (IdentifierLookup lookup : {IdentifierLookup::kNotFound, IdentifierLookup::kFound}) {
    t.push_back({fresh, ev::Started{"", false, lookup},
                 step({kNI, std::nullopt, false, std::nullopt}, {})});
    for (std::string_view ff : kFirstFactorStrategies) {
      t.push_back({fresh, ev::Started{ff, false, lookup},
                   Refusal{Code::kFormParamMissing, "", "", "identifier"}});
    }
    std::vector<std::string_view> with_identifier = kFirstFactorStrategies;
    with_identifier.push_back("");
    for (std::string_view s : with_identifier) {
      if (lookup == IdentifierLookup::kFound) {
        t.push_back({fresh, ev::Started{s, true, lookup},
                     step({kNFF, std::nullopt, false, std::nullopt}, {})});
      } else {
        t.push_back({fresh, ev::Started{s, true, lookup},
                     Refusal{Code::kFormIdentifierNotFound, "", "", "identifier"}});
      }
    }
  }

  // First factors: prepare a code, attempt a password or a code, reset the password.
  auto ff = [](StrategyFamily f, VS st, std::optional<Code> e = std::nullopt) {
    return VerificationState{st, f, e};
  };
  // Second factors: any first factor (it passed), no identity, attempts left.
  for (const SignInState& s : all_states()) {
    if (s.status != kNSF || s.holds_identity || s.second_factor) {
      continue;
    }
    for (auto [name, fam] :
         {std::pair{std::string_view("totp"), StrategyFamily::kTotp},
          std::pair{std::string_view("backup_code"), StrategyFamily::kBackupCode}}) {
      t.push_back(
          {s, ev::SecondFactorAttempted{name, FactorOutcome::kVerified},
           step({kDone, s.first_factor, false, ff(fam, VS::kVerified)}, {Fx::kCreateSession})});
      t.push_back(
          {s, ev::SecondFactorAttempted{name, FactorOutcome::kIncorrect},
           step({kNSF, s.first_factor, false, ff(fam, VS::kUnverified)}, {Fx::kRejectAttempt})});
      t.push_back(
          {s, ev::SecondFactorAttempted{name, FactorOutcome::kTooManyAttempts},
           step({kNSF, s.first_factor, false, ff(fam, VS::kFailed, Code::kVerificationFailed)},
                {Fx::kRejectAttempt})});
    }
  }
  for (const SignInState& s : all_states()) {
    if (s.status == kNNP && !s.holds_identity) {
      SignInState done = s;
      done.status = kDone;
      t.push_back({s, ev::PasswordReset{}, step(done, {Fx::kSetPassword, Fx::kCreateSession})});
    }
    if (s.status != kNFF || s.holds_identity) {
      continue;
    }
    const StrategyFamily pw = StrategyFamily::kPassword;
    t.push_back({s, ev::FirstFactorPrepared{"email_code"},
                 step({kNFF, ff(StrategyFamily::kEmailCode, VS::kUnverified), false, std::nullopt},
                      {Fx::kSendCode})});
    t.push_back({s, ev::FirstFactorPrepared{"reset_password_email_code"},
                 step({kNFF, ff(StrategyFamily::kResetCode, VS::kUnverified), false, std::nullopt},
                      {Fx::kSendCode})});
    t.push_back({s, ev::FirstFactorPrepared{"email_link"},
                 step({kNFF, ff(StrategyFamily::kEmailLink, VS::kUnverified), false, std::nullopt},
                      {Fx::kSendCode})});
    t.push_back({s, ev::FirstFactorAttempted{"password", FactorOutcome::kVerified},
                 step({kDone, ff(pw, VS::kVerified), false, std::nullopt}, {Fx::kCreateSession})});
    t.push_back({s, ev::FirstFactorAttempted{"password", FactorOutcome::kMustReset},
                 step({kNNP, ff(pw, VS::kVerified), false, std::nullopt}, {})});
    t.push_back({s, ev::FirstFactorAttempted{"password", FactorOutcome::kIncorrect},
                 step(s, {Fx::kRejectAttempt})});
    for (auto [name, fam] :
         {std::pair{std::string_view("email_code"), StrategyFamily::kEmailCode},
          std::pair{std::string_view("reset_password_email_code"), StrategyFamily::kResetCode},
          std::pair{std::string_view("email_link"), StrategyFamily::kEmailLink}}) {
      bool prepared = false;
      for (const auto& e : kInputErrors) {
        prepared = prepared || s.first_factor == ff(fam, VS::kUnverified, e);
      }
      if (!prepared) {
        continue;
      }
      t.push_back(
          {s, ev::FirstFactorAttempted{name, FactorOutcome::kVerified},
           fam != StrategyFamily::kResetCode
               ? step({kDone, ff(fam, VS::kVerified), false, std::nullopt}, {Fx::kCreateSession})
               : step({kNNP, ff(fam, VS::kVerified), false, std::nullopt}, {})});
      t.push_back({s, ev::FirstFactorAttempted{name, FactorOutcome::kIncorrect},
                   step(s, {Fx::kRejectAttempt})});
      t.push_back(
          {s, ev::FirstFactorAttempted{name, FactorOutcome::kTooManyAttempts},
           step({kNFF, ff(fam, VS::kFailed, Code::kVerificationFailed), false, std::nullopt},
                {Fx::kRejectAttempt})});
      t.push_back(
          {s, ev::FirstFactorAttempted{name, FactorOutcome::kExpired},
           step({kNFF, ff(fam, VS::kExpired, Code::kVerificationExpired), false, std::nullopt},
                {Fx::kRejectAttempt})});
    }
  }

  // finish_sign_in: what an identity leads to.
  const Effects resolved{Fx::kTakeEmail, Fx::kClearExpiry};
  auto signed_in = [&](Effect account) {
    return step({kDone, oauth(VS::kVerified), false, std::nullopt},
                resolved | Effects{account, Fx::kCreateSession, Fx::kDropIdentity});
  };
  auto failed_resolved = [&](Code code) {
    return step({kNFF, oauth(VS::kFailed, code), false, std::nullopt}, resolved);
  };
  const Expected<SignInState> transferable =
      step({kNI, oauth(VS::kTransferable, Code::kExternalAccountNotFound), true, std::nullopt},
           resolved | Effects{Fx::kKeepIdentity});

  // create_sign_in(transfer): an unknown or refused identity
  // fails the request; the rest is finish_sign_in.
  const std::string_view g = "oauth_google";
  t.push_back({fresh, ev::TransferredFromSignUp{g, SignInOutcome::kExistingAccount},
               signed_in(Fx::kRefreshExternalAccount)});
  t.push_back({fresh, ev::TransferredFromSignUp{g, SignInOutcome::kLinkedByEmail},
               signed_in(Fx::kLinkExternalAccount)});
  t.push_back({fresh, ev::TransferredFromSignUp{g, SignInOutcome::kAlreadySignedIn},
               failed_resolved(Code::kIdentifierAlreadySignedIn)});
  t.push_back({fresh, ev::TransferredFromSignUp{g, SignInOutcome::kOtherUserSignedIn},
               failed_resolved(Code::kSessionExists)});
  t.push_back({fresh, ev::TransferredFromSignUp{g, SignInOutcome::kUnknownAccount},
               Refusal{Code::kExternalAccountNotFound, "", "", std::nullopt}});
  t.push_back({fresh, ev::TransferredFromSignUp{g, SignInOutcome::kLinkRefused},
               Refusal{Code::kExternalAccountEmailUnverified, "", "", std::nullopt}});

  // create_sign_up(transfer) takes a transferable sign-in; every other state answers "Nothing to
  // transfer".
  for (const SignInState& s : all_states()) {
    bool source = false;
    for (const auto& e : kInputErrors) {
      source = source || s == SignInState{kNI, oauth(VS::kTransferable, e), true, std::nullopt};
    }
    if (source) {
      t.push_back({s, ev::TransferredToSignUp{}, step(s, {Fx::kConsumeAttempt})});
    } else {
      t.push_back({s, ev::TransferredToSignUp{},
                   Refusal{Code::kInvalidState, "Nothing to transfer",
                           s.status ? "The current sign-in is not transferable."
                                    : "There is no sign-in on this client that can be "
                                      "transferred.",
                           "transfer"}});
    }
  }

  // The OAuth callback (fail_attempt, step 3) of an attempt that awaits it.
  for (const auto& e : kInputErrors) {
    const SignInState waiting{kNFF, oauth(VS::kUnverified, e), false, std::nullopt};
    for (Code code : kProviderErrors) {
      t.push_back({waiting, ev::ProviderFailed{g, code},
                   step({kNFF, oauth(VS::kFailed, code), false, std::nullopt}, {})});
    }
    t.push_back(
        {waiting, ev::StateRejected{Code::kOAuthStateInvalid},
         step({kNFF, oauth(VS::kFailed, Code::kOAuthStateInvalid), false, std::nullopt}, {})});
    t.push_back({waiting, ev::IdentityResolved{g, SignInOutcome::kExistingAccount},
                 signed_in(Fx::kRefreshExternalAccount)});
    t.push_back({waiting, ev::IdentityResolved{g, SignInOutcome::kLinkedByEmail},
                 signed_in(Fx::kLinkExternalAccount)});
    t.push_back({waiting, ev::IdentityResolved{g, SignInOutcome::kUnknownAccount}, transferable});
    t.push_back({waiting, ev::IdentityResolved{g, SignInOutcome::kLinkRefused},
                 failed_resolved(Code::kExternalAccountEmailUnverified)});
    t.push_back({waiting, ev::IdentityResolved{g, SignInOutcome::kAlreadySignedIn},
                 failed_resolved(Code::kIdentifierAlreadySignedIn)});
    t.push_back({waiting, ev::IdentityResolved{g, SignInOutcome::kOtherUserSignedIn},
                 failed_resolved(Code::kSessionExists)});
  }
  return t;
}

}  // namespace

TEST(SignInMachine, EveryStatusTimesEveryEventIsTheTablesRowOrIllegal) {
  const auto states = all_states();
  const auto events = all_events();
  // (no attempt + 7 statuses) x first factors x identity, and needs_second_factor's failed one
  EXPECT_EQ(states.size(), 8u * 91u * 2u + 91u * 2u);
  EXPECT_EQ(events.size(), 282u);
  const std::size_t n = check_exhaustively(
      states, events, table(),
      [](const SignInState& s, const SignInEvent& e) { return sign_in_transition(s, e); },
      "sign_in", kEventNames, status_name);
  EXPECT_EQ(n, 461'916u);
}

// For a user with a second factor, every row that would create a session - whatever the first
// factor, the provider or the reset - stops at needs_second_factor with the same other effects,
// and nothing else changes.
TEST(SignInMachine, ASecondFactorHoldsBackEverySessionAFirstFactorWouldCreate) {
  int gated = 0;
  for (const SignInState& s : all_states()) {
    for (const SignInEvent& e : all_events()) {
      const auto plain = sign_in_transition(s, e);
      const auto with = sign_in_transition(s, e, true);
      ASSERT_EQ(plain.has_value(), with.has_value()) << describe(s) << " " << describe(e);
      if (!plain) {
        continue;
      }
      const bool second = std::holds_alternative<ev::SecondFactorAttempted>(e);
      if (!plain->effects.has(Fx::kCreateSession) || second) {
        EXPECT_EQ(*plain, *with) << describe(s) << " " << describe(e);
        continue;
      }
      ++gated;
      EXPECT_EQ(with->state.status, SignInStatus::kNeedsSecondFactor);
      EXPECT_EQ(with->state.first_factor, plain->state.first_factor);
      EXPECT_FALSE(with->state.second_factor);
      EXPECT_FALSE(with->effects.has(Fx::kCreateSession));
      EXPECT_TRUE(with->effects.has(Fx::kRequireSecondFactor));
      Effects rest = with->effects;
      rest.remove(Fx::kRequireSecondFactor).add(Fx::kCreateSession);
      EXPECT_EQ(rest, plain->effects) << describe(s) << " " << describe(e);
    }
  }
  EXPECT_GT(gated, 0);
}

TEST(SignInMachine, OnlyAnUnverifiedOAuthFirstFactorAwaitsTheCallback) {
  int waiting = 0;
  for (const SignInState& s : all_states()) {
    bool want = false;
    for (const auto& e : kInputErrors) {
      want = want || s == SignInState{kNFF, oauth(VS::kUnverified, e), false, std::nullopt};
    }
    EXPECT_EQ(awaits_callback(s), want) << describe(s);
    waiting += want ? 1 : 0;
  }
  EXPECT_EQ(waiting, 2);
}

TEST(SignInMachine, OutcomeFollowsFinishSignInsOrderOfChecks) {
  // (match, same user live, any session live, single-session) -> outcome, for all 32 inputs.
  using O = SignInOutcome;
  using M = IdentityMatch;
  int checked = 0;
  for (M m : kAllIdentityMatches) {
    for (bool same : {false, true}) {
      for (bool any : {false, true}) {
        for (bool single : {false, true}) {
          O want;
          if (m == M::kLinkRefused) {
            want = O::kLinkRefused;  // the refusal wins over everything
          } else if (m == M::kNoMatch) {
            want = O::kUnknownAccount;
          } else if (same) {
            want = O::kAlreadySignedIn;  // even in multi-session mode
          } else if (single && any) {
            want = O::kOtherUserSignedIn;
          } else {
            want = m == M::kExternalAccount ? O::kExistingAccount : O::kLinkedByEmail;
          }
          EXPECT_EQ(sign_in_outcome(m, same, any, single), want)
              << to_string(m) << " same=" << same << " any=" << any << " single=" << single;
          ++checked;
        }
      }
    }
  }
  EXPECT_EQ(checked, 32);
}

TEST(SignInMachine, AWholeOAuthSignInThenATransfer) {
  auto started =
      sign_in_transition({}, ev::Started{"oauth_github", true, IdentifierLookup::kNotEnabled});
  ASSERT_TRUE(started);
  auto unknown = sign_in_transition(
      started->state, ev::IdentityResolved{"oauth_github", SignInOutcome::kUnknownAccount});
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->state.status, SignInStatus::kNeedsIdentifier);
  auto consumed = sign_in_transition(unknown->state, ev::TransferredToSignUp{});
  ASSERT_TRUE(consumed);
  EXPECT_TRUE(consumed->effects.has(Effect::kConsumeAttempt));
  // The callback cannot be replayed onto the moved-on attempt.
  EXPECT_FALSE(sign_in_transition(
      unknown->state, ev::IdentityResolved{"oauth_github", SignInOutcome::kExistingAccount}));
}

// ---- persistence: the store keeps wire strings -------------------------------------------------

TEST(SignInMachine, RowsAsTheCurrentCodeWritesThemLoad) {
  struct Case {
    std::string status;
    std::string json;
    SignInState want;
  };
  // JSON as to_json(SignInData) writes it today (frontend_service.cpp create_sign_in,
  // finish_sign_in); error codes by their stable name (core::code_id).
  const std::string ff_unverified =
      R"({"status":"unverified","strategy":"oauth_google",)"
      R"("external_verification_redirect_url":"https://accounts.example/auth","expire_at":5})";
  const std::string err_not_found = R"("external_account_not_found")";
  const std::vector<Case> cases = {
      {"needs_identifier",
       R"({"strategy":"","identifier":null,"redirect_url":""})",
       {kNI, std::nullopt, false, std::nullopt}},
      {"needs_first_factor",
       R"({"strategy":"oauth_google","first_factor":)" + ff_unverified + "}",
       {kNFF, oauth(VS::kUnverified), false, std::nullopt}},
      {"needs_identifier",
       R"({"strategy":"oauth_google","first_factor":{"status":"transferable",)"
       R"("strategy":"oauth_google","error":{"code":)" +
           err_not_found +
           R"(,"message":"","long_message":"","meta":[]}},)"
           R"("identity":{"strategy":"oauth_google","provider_user_id":"1"}})",
       {kNI, oauth(VS::kTransferable, Code::kExternalAccountNotFound), true, std::nullopt}},
      {"complete",
       R"({"strategy":"oauth_google","first_factor":{"status":"verified",)"
       R"("strategy":"oauth_google"},"user_id":"user_1","created_session_id":"sess_1"})",
       {kDone, oauth(VS::kVerified), false, std::nullopt}},
  };
  for (const auto& c : cases) {
    auto data = parse_sign_in_data(c.json);
    ASSERT_TRUE(data) << c.json;
    auto state = load_sign_in_state(c.status, *data);
    ASSERT_TRUE(state) << c.json;
    EXPECT_EQ(*state, c.want) << describe(*state);
  }
}

TEST(SignInMachine, UnknownStatusStringsAreCorruptionNotAState) {
  SignInData data;
  auto bad_row = load_sign_in_state("Complete", data);
  ASSERT_FALSE(bad_row);
  EXPECT_EQ(bad_row.error().code, Code::kInternal);
  data.first_factor = Verification{"done", "oauth_google", {}, {}, {}, {}, 0, {}, {}, {}};
  auto bad_ff = load_sign_in_state("needs_first_factor", data);
  ASSERT_FALSE(bad_ff);
  EXPECT_EQ(bad_ff.error().code, Code::kInternal);
}

TEST(SignInMachine, SaveThenLoadIsTheSameStateForEveryStoredState) {
  int checked = 0;
  for (const SignInState& s : all_states()) {
    if (!s.status) {
      continue;  // "no attempt" is never stored
    }
    std::string row_status = "stale";
    SignInData data;
    save_sign_in_state(s, row_status, data);
    EXPECT_EQ(row_status, to_wire(*s.status));
    if (s.first_factor) {
      // The strategy name is data the caller writes; one name per family.
      const std::string_view names[] = {"",
                                        "oauth_google",
                                        "password",
                                        "email_code",
                                        "reset_password_email_code",
                                        "web3_metamask",
                                        "email_link",
                                        "totp",
                                        "backup_code"};
      data.first_factor->strategy = names[static_cast<int>(s.first_factor->strategy)];
    }
    if (s.second_factor) {
      data.second_factor->strategy = "totp";  // kSecondFactorFailed's
    }
    if (s.holds_identity) {
      data.identity.emplace();
    }
    auto back = load_sign_in_state(row_status, parse_sign_in_data(to_json(data)).value());
    ASSERT_TRUE(back) << describe(s);
    EXPECT_EQ(*back, s);
    ++checked;
  }
  EXPECT_EQ(checked, 7 * 91 * 2 + 91 * 2);
}

TEST(SignInMachine, SaveKeepsTheCallersFullErrorOfTheSameCode) {
  SignInData data;
  data.first_factor =
      Verification{"unverified", "oauth_google", "https://idp/auth", {}, 5, {}, 0, {}, {}, {}};
  VerificationError full{Code::kIdentifierAlreadySignedIn, "", "", {{"session_id", "sess_1"}}};
  data.first_factor->error = full;
  std::string row_status;
  save_sign_in_state(
      {kNFF, oauth(VS::kFailed, Code::kIdentifierAlreadySignedIn), false, std::nullopt}, row_status,
      data);
  EXPECT_EQ(data.first_factor->status, "failed");
  ASSERT_TRUE(data.first_factor->error);
  EXPECT_EQ(data.first_factor->error->meta, full.meta);
  // Data the machine does not decide is left alone.
  EXPECT_EQ(data.first_factor->external_verification_redirect_url, "https://idp/auth");
  EXPECT_EQ(data.first_factor->expire_at_ms, 5);
  // Another code replaces it; none clears it.
  save_sign_in_state({kNFF, oauth(VS::kFailed, Code::kSessionExists), false, std::nullopt},
                     row_status, data);
  EXPECT_EQ(data.first_factor->error->code, Code::kSessionExists);
  EXPECT_TRUE(data.first_factor->error->meta.empty());
  save_sign_in_state({kDone, oauth(VS::kVerified), false, std::nullopt}, row_status, data);
  EXPECT_FALSE(data.first_factor->error);
  EXPECT_EQ(row_status, "complete");
}

TEST(Effects, SetOperationsAndOrder) {
  Effects fx{Effect::kCreateSession, Effect::kTakeEmail};
  EXPECT_TRUE(fx.has(Effect::kTakeEmail));
  EXPECT_FALSE(fx.has(Effect::kCreateUser));
  EXPECT_EQ(fx | Effects{Effect::kTakeEmail}, fx);
  EXPECT_TRUE(Effects{}.empty());
  EXPECT_EQ(describe(fx), "{kTakeEmail, kCreateSession}");  // execution order, not insertion
  for (std::size_t i = 0; i < kAllEffects.size(); ++i) {
    EXPECT_EQ(static_cast<std::size_t>(kAllEffects[i]), i);
  }
}

TEST(StrategyFamily, NamesMapLikeIsOAuthStrategy) {
  EXPECT_EQ(strategy_family(""), StrategyFamily::kNone);
  EXPECT_EQ(strategy_family("oauth_google"), StrategyFamily::kOAuth);
  EXPECT_EQ(strategy_family("oauth_"), StrategyFamily::kOAuth);
  EXPECT_EQ(strategy_family("password"), StrategyFamily::kPassword);
  EXPECT_EQ(strategy_family("email_code"), StrategyFamily::kEmailCode);
  EXPECT_EQ(strategy_family("reset_password_email_code"), StrategyFamily::kResetCode);
  EXPECT_EQ(strategy_family("email_link"), StrategyFamily::kEmailLink);
  EXPECT_EQ(strategy_family("Password"), StrategyFamily::kUnsupported);
  EXPECT_EQ(strategy_family("phone_code"), StrategyFamily::kUnsupported);
  EXPECT_EQ(strategy_family("OAUTH_google"), StrategyFamily::kUnsupported);
  EXPECT_EQ(strategy_family("enterprise_sso"), StrategyFamily::kUnsupported);
}
