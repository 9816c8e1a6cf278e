// Email links (email_link) of the running binary, driven as the pinned SDK drives them:
// signIn.emailLink.sendLink -> prepare_first_factor {strategy: email_link, email_address_id,
// redirect_url}, then polling GET /v1/client/sign_ins/{id}; signUp.verifications.sendEmailLink ->
// prepare_verification {strategy: email_link, redirect_url}, then polling the sign-up. The link
// is read from the mail drop and opened like a browser opens it: in the same browser (the
// cookie jar of the tab that asked) or in another one.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/harness.hpp"

namespace latchkey::it {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr const char* kSignIns = "/__clerk/v1/client/sign_ins";
constexpr const char* kSignUps = "/__clerk/v1/client/sign_ups";
constexpr const char* kPassword = "correct horse battery staple";

class EmailLinks : public ::testing::Test {
 protected:
  void SetUp() override { start({{"LATCHKEY_IDENTIFIERS_EMAIL_LINK", "true"}}); }
  void start(EnvVars env) {
    env.emplace_back("LATCHKEY_PASSWORDS_HASH_OPSLIMIT", "1");
    env.emplace_back("LATCHKEY_PASSWORDS_HASH_MEMLIMIT_KIB", "8192");
    server.reset();
    server = std::make_unique<Server>(
        ServerOptions{.env = std::move(env), .fixed_port = true, .fast_keys = true});
  }
  Browser browser() { return Browser(*server); }
  std::string verify_page() const { return server->origin() + "/sign-in/verify"; }

  // The path of a mailed link (the browser helpers take paths on the server).
  std::string link_for(const std::string& to, std::size_t nth = 1) {
    std::string link = mailed_link(server->data_dir().path(), to, nth);
    EXPECT_THAT(link, StartsWith(server->origin() + "/__clerk/v1/verify?token="));
    return link.substr(std::min(link.size(), server->origin().size()));
  }

  // A user signed up with email + password and its code (the default verification).
  void sign_up_user(const std::string& email) {
    Browser b = browser();
    auto su = b.post(kSignUps,
                     {{"strategy", "password"}, {"email_address", email}, {"password", kPassword}});
    ASSERT_EQ(su.status, 200) << su.body;
    const std::string id = str(su.json(), "response.id");
    ASSERT_EQ(b.post(std::string(kSignUps) + "/" + id + "/prepare_verification",
                     {{"strategy", "email_code"}})
                  .status,
              200);
    auto done = b.post(
        std::string(kSignUps) + "/" + id + "/attempt_verification",
        {{"strategy", "email_code"}, {"code", mailed_code(server->data_dir().path(), email)}});
    ASSERT_EQ(done.status, 200) << done.body;
  }

  // signIn.emailLink.sendLink({emailAddress, verificationUrl}): create, then prepare the
  // email_link factor. Returns the sign-in id.
  std::string send_link(Browser& b, const std::string& email, const std::string& redirect) {
    auto si = b.post(kSignIns, {{"identifier", email}});
    EXPECT_EQ(si.status, 200) << si.body;
    const json::value j = si.json();
    const std::string id = str(j, "response.id");
    std::string address_id;
    for (const auto& f : at(j, "response.supported_first_factors").as_array()) {
      if (f.at("strategy") == "email_link") {
        address_id = json::value_to<std::string>(f.at("email_address_id"));
      }
    }
    EXPECT_FALSE(address_id.empty()) << si.body;
    auto prep = b.post(
        std::string(kSignIns) + "/" + id + "/prepare_first_factor",
        {{"strategy", "email_link"}, {"email_address_id", address_id}, {"redirect_url", redirect}});
    EXPECT_EQ(prep.status, 200) << prep.body;
    EXPECT_EQ(str(prep.json(), "response.first_factor_verification.strategy"), "email_link");
    EXPECT_EQ(str(prep.json(), "response.first_factor_verification.status"), "unverified");
    return id;
  }

  std::unique_ptr<Server> server;
};

TEST_F(EmailLinks, EnvironmentOffersEmailLinksWhenEnabled) {
  Browser b = browser();
  auto j = b.get("/__clerk/v1/environment").json();
  const auto& ff = at(j, "user_settings.attributes.email_address.first_factors").as_array();
  EXPECT_NE(std::find(ff.begin(), ff.end(), json::value("email_link")), ff.end());
  const auto& vs = at(j, "user_settings.attributes.email_address.verifications").as_array();
  EXPECT_NE(std::find(vs.begin(), vs.end(), json::value("email_link")), vs.end());
}

TEST_F(EmailLinks, OffByDefaultLikeANewClerkApplication) {
  start({});
  sign_up_user("ada@example.com");
  Browser b = browser();
  auto j = b.get("/__clerk/v1/environment").json();
  EXPECT_THAT(json::serialize(at(j, "user_settings.attributes.email_address")),
              Not(HasSubstr("email_link")));
  auto si = b.post(kSignIns, {{"identifier", "ada@example.com"}});
  ASSERT_EQ(si.status, 200) << si.body;
  EXPECT_THAT(si.body, Not(HasSubstr("email_link")));
  auto prep =
      b.post(std::string(kSignIns) + "/" + str(si.json(), "response.id") + "/prepare_first_factor",
             {{"strategy", "email_link"}, {"redirect_url", verify_page()}});
  EXPECT_EQ(prep.status, 422) << prep.body;
  EXPECT_EQ(str(error_of(prep), "code"), "strategy_for_user_invalid");
  // And a forged-looking link is refused outright.
  EXPECT_EQ(b.get("/__clerk/v1/verify?token=abc.def").status, 400);
}

TEST_F(EmailLinks, SignInCompletesInTheSameBrowserAndTheLinkWorksOnce) {
  sign_up_user("ada@example.com");
  Browser b = browser();
  const std::string id = send_link(b, "ada@example.com", verify_page());
  const std::string link = link_for("ada@example.com", 2);
  EXPECT_THAT(server->logs(), Not(HasSubstr(link.substr(link.find("token=") + 6))));

  // The tab that asked polls: nothing yet.
  EXPECT_EQ(str(b.get(std::string(kSignIns) + "/" + id).json(), "response.status"),
            "needs_first_factor");

  // The link opened in a new tab of the same browser (the same cookie jar).
  const std::string before = b.cookie("__client").value_or("");
  auto opened = b.get(link);
  ASSERT_EQ(opened.status, 303) << opened.body;
  const std::string location = opened.header("location").value_or("");
  EXPECT_THAT(location,
              StartsWith(verify_page() + "?__clerk_status=verified&__clerk_created_session=sess_"));
  EXPECT_NE(b.cookie("__client").value_or(""), before);  // signed in here: the credential rotated

  // The polling tab sees the sign-in complete, with the session the redirect named.
  auto polled = b.get(std::string(kSignIns) + "/" + id);
  ASSERT_EQ(polled.status, 200) << polled.body;
  auto pj = polled.json();
  EXPECT_EQ(str(pj, "response.status"), "complete");
  EXPECT_EQ(str(pj, "response.first_factor_verification.status"), "verified");
  const std::string sid = str(pj, "response.created_session_id");
  EXPECT_THAT(location, HasSubstr("__clerk_created_session=" + sid));
  EXPECT_EQ(str(pj, "client.sessions.0.id"), sid);
  EXPECT_EQ(str(pj, "client.last_authentication_strategy"), "email_link");

  // Used once: the same link again is refused and changes nothing.
  auto again = b.get(link);
  ASSERT_EQ(again.status, 303) << again.body;
  EXPECT_EQ(again.header("location").value_or(""), verify_page() + "?__clerk_status=failed");
  EXPECT_FALSE(again.header("set-cookie"));
  EXPECT_EQ(b.client().at("sessions").as_array().size(), 1u);
}

TEST_F(EmailLinks, SignInCompletesForTheBrowserThatAskedWhenOpenedElsewhere) {
  sign_up_user("ada@example.com");
  Browser asking = browser();
  const std::string id = send_link(asking, "ada@example.com", verify_page());
  const std::string link = link_for("ada@example.com", 2);

  Browser phone = browser();  // another device: no cookie of the asking browser
  auto opened = phone.get(link);
  ASSERT_EQ(opened.status, 303) << opened.body;
  EXPECT_THAT(opened.header("location").value_or(""),
              StartsWith(verify_page() + "?__clerk_status=verified&__clerk_created_session=sess_"));
  EXPECT_FALSE(phone.cookie("__client"));  // the other browser is not signed in
  EXPECT_TRUE(phone.client().is_null());

  // The tab that asked, still on its credential, polls and finds its session.
  auto polled = asking.get(std::string(kSignIns) + "/" + id);
  ASSERT_EQ(polled.status, 200) << polled.body;
  EXPECT_EQ(str(polled.json(), "response.status"), "complete");
  const std::string sid = str(polled.json(), "response.created_session_id");
  auto token = asking.post("/__clerk/v1/client/sessions/" + sid + "/tokens");
  EXPECT_EQ(token.status, 200) << token.body;
}

TEST_F(EmailLinks, AWrongOrTamperedTokenIsRefusedAndNothingChanges) {
  sign_up_user("ada@example.com");
  sign_up_user("bob@example.com");
  Browser ada = browser();
  const std::string ada_id = send_link(ada, "ada@example.com", verify_page());
  Browser bob = browser();
  const std::string bob_id = send_link(bob, "bob@example.com", verify_page());
  const std::string link = link_for("ada@example.com", 2);
  const std::string token = link.substr(link.find("token=") + 6);

  // A token rewritten to name Bob's attempt: its signature no longer matches.
  const std::string payload = token.substr(0, token.find('.'));
  std::string forged_payload = payload;
  forged_payload[forged_payload.size() / 2] =
      forged_payload[forged_payload.size() / 2] == 'A' ? 'B' : 'A';
  for (const std::string& bad : {forged_payload + token.substr(token.find('.')), payload + ".AAAA",
                                 std::string("x"), token.substr(0, token.size() - 2)}) {
    auto r = bob.get("/__clerk/v1/verify?token=" + bad);
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_EQ(str(error_of(r), "code"), "verification_failed");
  }
  EXPECT_EQ(bob.get("/__clerk/v1/verify").status, 422);  // no token at all

  // Ada's genuine link, opened in Bob's browser, completes Ada's attempt only.
  auto opened = bob.get(link);
  ASSERT_EQ(opened.status, 303);
  EXPECT_EQ(str(bob.get(std::string(kSignIns) + "/" + bob_id).json(), "response.status"),
            "needs_first_factor");
  EXPECT_EQ(at(bob.client(), "sessions").as_array().size(), 0u);
  EXPECT_EQ(str(ada.get(std::string(kSignIns) + "/" + ada_id).json(), "response.status"),
            "complete");
  EXPECT_EQ(str(ada.client(), "sessions.0.user.email_addresses.0.email_address"),
            "ada@example.com");
}

TEST_F(EmailLinks, ANewLinkReplacesTheOldOne) {
  start({{"LATCHKEY_IDENTIFIERS_EMAIL_LINK", "true"},
         {"LATCHKEY_IDENTIFIERS_CODE_RESEND_COOLDOWN", "0s"}});
  sign_up_user("ada@example.com");
  Browser b = browser();
  const std::string id = send_link(b, "ada@example.com", verify_page());
  const std::string first = link_for("ada@example.com", 2);
  auto prep = b.post(std::string(kSignIns) + "/" + id + "/prepare_first_factor",
                     {{"strategy", "email_link"}, {"redirect_url", verify_page()}});
  ASSERT_EQ(prep.status, 200) << prep.body;
  const std::string second = link_for("ada@example.com", 3);
  ASSERT_NE(first, second);
  auto old = b.get(first);
  ASSERT_EQ(old.status, 303);
  EXPECT_EQ(old.header("location").value_or(""), verify_page() + "?__clerk_status=failed");
  EXPECT_EQ(str(b.get(std::string(kSignIns) + "/" + id).json(), "response.status"),
            "needs_first_factor");
  auto fresh = b.get(second);
  ASSERT_EQ(fresh.status, 303);
  EXPECT_THAT(fresh.header("location").value_or(""), HasSubstr("__clerk_status=verified"));
}

TEST_F(EmailLinks, ARedirectUrlNotAllowedIsRefusedAtPrepareAndNothingIsSent) {
  sign_up_user("ada@example.com");
  Browser b = browser();
  auto si = b.post(kSignIns, {{"identifier", "ada@example.com"}});
  ASSERT_EQ(si.status, 200);
  const std::string id = str(si.json(), "response.id");
  for (const std::string& url :
       {std::string("https://evil.example/steal"), std::string("//evil.example/x"),
        std::string("javascript:alert(1)"), std::string("")}) {
    auto prep = b.post(std::string(kSignIns) + "/" + id + "/prepare_first_factor",
                       {{"strategy", "email_link"}, {"redirect_url", url}});
    EXPECT_EQ(prep.status, 422) << url << " " << prep.body;
  }
  auto none = b.post(std::string(kSignIns) + "/" + id + "/prepare_first_factor",
                     {{"strategy", "email_link"}});
  EXPECT_EQ(none.status, 422) << none.body;
  EXPECT_EQ(str(error_of(none), "meta.param_name"), "redirect_url");
  // Only the sign-up's code was ever mailed to Ada.
  EXPECT_EQ(mails_to(server->data_dir().path(), "ada@example.com").size(), 1u);
  EXPECT_EQ(
      str(b.get(std::string(kSignIns) + "/" + id).json(), "response.first_factor_verification"),
      "");
}

TEST_F(EmailLinks, SignUpIsVerifiedByTheLinkAndCompletes) {
  Browser b = browser();
  auto su = b.post(
      kSignUps,
      {{"strategy", "password"}, {"email_address", "newbie@example.com"}, {"password", kPassword}});
  ASSERT_EQ(su.status, 200) << su.body;
  const std::string id = str(su.json(), "response.id");
  auto bad = b.post(std::string(kSignUps) + "/" + id + "/prepare_verification",
                    {{"strategy", "email_link"}, {"redirect_url", "https://evil.example/"}});
  EXPECT_EQ(bad.status, 422) << bad.body;
  auto prep =
      b.post(std::string(kSignUps) + "/" + id + "/prepare_verification",
             {{"strategy", "email_link"}, {"redirect_url", server->origin() + "/sign-up/verify"}});
  ASSERT_EQ(prep.status, 200) << prep.body;
  EXPECT_EQ(str(prep.json(), "response.verifications.email_address.strategy"), "email_link");
  EXPECT_EQ(str(prep.json(), "response.verifications.email_address.status"), "unverified");
  const std::string link = link_for("newbie@example.com");

  // A code cannot be entered for a link.
  auto code = b.post(std::string(kSignUps) + "/" + id + "/attempt_verification",
                     {{"strategy", "email_code"}, {"code", "123456"}});
  EXPECT_EQ(code.status, 400) << code.body;

  Browser phone = browser();
  auto opened = phone.get(link);
  ASSERT_EQ(opened.status, 303) << opened.body;
  EXPECT_THAT(opened.header("location").value_or(""),
              StartsWith(server->origin() +
                         "/sign-up/verify?__clerk_status=verified&__clerk_created_session=sess_"));

  auto polled = b.get(std::string(kSignUps) + "/" + id);
  ASSERT_EQ(polled.status, 200) << polled.body;
  auto pj = polled.json();
  EXPECT_EQ(str(pj, "response.status"), "complete");
  EXPECT_EQ(str(pj, "response.verifications.email_address.status"), "verified");
  EXPECT_EQ(str(pj, "client.sessions.0.user.email_addresses.0.verification.status"), "verified");
  EXPECT_EQ(phone.get(link).header("location").value_or(""),
            server->origin() + "/sign-up/verify?__clerk_status=failed");
}

}  // namespace
}  // namespace latchkey::it
