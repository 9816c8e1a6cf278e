// OAuth sign-ups whose provider does not vouch for the address (email_verified false) or gives
// none, through the running binary and the fake OpenID provider: the sign-up stays
// missing_requirements (unverified_fields / missing_fields ["email_address"]), the address is
// verified with an emailed code (read from the mail drop, <data_dir>/mail/*.eml), then it
// completes. Requests as the pinned SDK sends them (the seed's sso-callback: signIn.sso(), then
// signUp.create({transfer: true}); the continue page: signUp.update, prepare/attempt).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/harness.hpp"

namespace latchkey::it {
namespace {

namespace json = boost::json;

constexpr const char* kSignIns = "/__clerk/v1/client/sign_ins";
constexpr const char* kSignUps = "/__clerk/v1/client/sign_ups";

std::vector<std::string> strings(const json::value& v) {
  std::vector<std::string> out;
  if (v.is_array()) {
    for (const auto& s : v.as_array()) {
      out.emplace_back(s.as_string());
    }
  }
  return out;
}

class OAuthEmail : public ::testing::Test {
 protected:
  void SetUp() override {
    server = std::make_unique<Server>(
        ServerOptions{.env = idp.google_env(), .fixed_port = true, .fast_keys = true});
  }
  Browser browser() { return Browser(*server); }
  [[nodiscard]] std::string callback_uri() const {
    return server->origin() + "/__clerk/v1/oauth_callback";
  }

  // The seed's sso-callback for a new account: signIn.sso(), the provider round trip,
  // signUp.create({transfer: true}). Returns the sign-up response.
  HttpResponse transfer_sign_up(Browser& b, const IdpUser& user) {
    auto started = b.post(kSignIns, {{"strategy", "oauth_google"},
                                     {"redirect_url", "/sso-callback"},
                                     {"action_complete_redirect_url", "/"}});
    EXPECT_EQ(started.status, 200) << started.body;
    auto grant =
        idp.authorize(str(started.json(),
                          "response.first_factor_verification.external_verification_redirect_url"),
                      user, callback_uri());
    auto cb = b.get("/__clerk/v1/oauth_callback?" +
                    form_encode({{"code", grant.code}, {"state", grant.state}}));
    EXPECT_EQ(cb.status, 303) << cb.raw;
    EXPECT_EQ(str(b.client(), "sign_in.first_factor_verification.status"), "transferable");
    return b.post(kSignUps, {{"transfer", "true"}});
  }

  // prepare_verification, a wrong code, then the mailed one: the sign-up completes.
  json::value verify_by_code(Browser& b, const std::string& sua, const std::string& email) {
    auto prep = b.post(std::string(kSignUps) + "/" + sua + "/prepare_verification",
                       {{"strategy", "email_code"}});
    EXPECT_EQ(prep.status, 200) << prep.body;
    EXPECT_EQ(str(prep.json(), "response.verifications.email_address.next_action"),
              "needs_attempt");
    const std::string code = mailed_code(server->data_dir().path(), email, 1);
    auto wrong =
        b.post(std::string(kSignUps) + "/" + sua + "/attempt_verification",
               {{"strategy", "email_code"}, {"code", code == "000000" ? "111111" : "000000"}});
    EXPECT_EQ(wrong.status, 422) << wrong.body;
    EXPECT_THAT(wrong.body, ::testing::HasSubstr("form_code_incorrect"));
    EXPECT_TRUE(at(b.client(), "sessions").as_array().empty());
    auto done = b.post(std::string(kSignUps) + "/" + sua + "/attempt_verification",
                       {{"strategy", "email_code"}, {"code", code}});
    EXPECT_EQ(done.status, 200) << done.body;
    return done.json();
  }

  FakeIdp idp;
  std::unique_ptr<Server> server;
};

TEST_F(OAuthEmail, AnAddressTheProviderDoesNotVouchForIsVerifiedByACodeBeforeTheSignUpCompletes) {
  IdpUser user;
  user.sub = "unverified-1";
  user.email = "grace@example.com";
  user.email_verified = false;
  Browser b = browser();
  auto su = transfer_sign_up(b, user);
  ASSERT_EQ(su.status, 200) << su.body;
  auto j = su.json();
  EXPECT_EQ(str(j, "response.status"), "missing_requirements") << su.body;
  EXPECT_EQ(strings(at(j, "response.unverified_fields")),
            std::vector<std::string>{"email_address"});
  EXPECT_TRUE(strings(at(j, "response.missing_fields")).empty());
  EXPECT_EQ(str(j, "response.email_address"), "grace@example.com");
  EXPECT_EQ(str(j, "response.verifications.external_account.status"), "verified");
  EXPECT_EQ(str(j, "response.verifications.email_address.status"), "unverified");
  EXPECT_EQ(str(j, "response.verifications.email_address.next_action"), "needs_prepare");
  EXPECT_EQ(strings(at(j, "response.verifications.email_address.supported_strategies")),
            std::vector<std::string>{"email_code"});
  EXPECT_TRUE(at(j, "response.created_session_id").is_null());
  EXPECT_TRUE(at(j, "client.sessions").as_array().empty());
  const std::string sua = str(j, "response.id");

  // Nothing completes without the code: a PATCH saves fields only.
  auto patch = b.post(std::string(kSignUps) + "/" + sua + "?_method=PATCH", {{"first_name", "G"}});
  ASSERT_EQ(patch.status, 200) << patch.body;
  EXPECT_EQ(str(patch.json(), "response.status"), "missing_requirements");
  // The provider's address cannot be swapped for another.
  auto swap = b.post(std::string(kSignUps) + "/" + sua + "?_method=PATCH",
                     {{"email_address", "other@example.com"}});
  EXPECT_EQ(swap.status, 422) << swap.body;

  auto done = verify_by_code(b, sua, "grace@example.com");
  EXPECT_EQ(str(done, "response.status"), "complete");
  EXPECT_TRUE(strings(at(done, "response.unverified_fields")).empty());
  const std::string sid = str(done, "response.created_session_id");
  ASSERT_FALSE(sid.empty());
  EXPECT_EQ(str(done, "client.sessions.0.id"), sid);
  const auto& user_json = at(done, "client.sessions.0.user");
  EXPECT_EQ(str(user_json, "email_addresses.0.email_address"), "grace@example.com");
  EXPECT_EQ(str(user_json, "email_addresses.0.verification.status"), "verified");
  EXPECT_EQ(str(user_json, "email_addresses.0.verification.strategy"), "email_code");
  EXPECT_EQ(str(user_json, "external_accounts.0.provider"), "google");

  // The next sign-in with the same provider account is a plain sign-in.
  Browser again = browser();
  auto si = again.post(kSignIns, {{"strategy", "oauth_google"}, {"redirect_url", "/sso-callback"}});
  auto grant = idp.authorize(
      str(si.json(), "response.first_factor_verification.external_verification_redirect_url"), user,
      callback_uri());
  ASSERT_EQ(again
                .get("/__clerk/v1/oauth_callback?" +
                     form_encode({{"code", grant.code}, {"state", grant.state}}))
                .status,
            303);
  EXPECT_EQ(str(again.client(), "sign_in.status"), "complete");
}

TEST_F(OAuthEmail, ADirectSocialSignUpWithAnUnverifiedAddressAsksForTheCodeToo) {
  IdpUser user;
  user.sub = "unverified-2";
  user.email = "hedy@example.com";
  user.email_verified = false;
  Browser b = browser();
  // signUp.sso(): the sign-up starts the redirect itself.
  auto started =
      b.post(kSignUps, {{"strategy", "oauth_google"}, {"redirect_url", "/sso-callback"}});
  ASSERT_EQ(started.status, 200) << started.body;
  auto grant = idp.authorize(
      str(started.json(),
          "response.verifications.external_account.external_verification_redirect_url"),
      user, callback_uri());
  ASSERT_EQ(b.get("/__clerk/v1/oauth_callback?" +
                  form_encode({{"code", grant.code}, {"state", grant.state}}))
                .status,
            303);
  auto client = b.client();
  EXPECT_EQ(str(client, "sign_up.status"), "missing_requirements");
  EXPECT_EQ(strings(at(client, "sign_up.unverified_fields")),
            std::vector<std::string>{"email_address"});
  EXPECT_TRUE(at(client, "sessions").as_array().empty());
  auto done = verify_by_code(b, str(client, "sign_up.id"), "hedy@example.com");
  EXPECT_EQ(str(done, "response.status"), "complete");
  EXPECT_FALSE(str(done, "response.created_session_id").empty());
}

TEST_F(OAuthEmail, AProviderAccountWithoutAnAddressAddsOneOnTheContinuePageAndVerifiesIt) {
  // An existing user owns taken@example.com.
  {
    IdpUser owner;
    owner.sub = "owner";
    owner.email = "taken@example.com";
    Browser o = browser();
    auto su = transfer_sign_up(o, owner);
    ASSERT_EQ(str(su.json(), "response.status"), "complete") << su.body;
  }
  // An IdP account without email: neither the ID token nor userinfo names one.
  idp.set_claims_hook([](json::object& c) {
    c.erase("email");
    c.erase("email_verified");
  });
  idp.userinfo_hook = [](json::object& info) {
    info.erase("email");
    info.erase("email_verified");
  };
  IdpUser user;
  user.sub = "no-email-1";
  Browser b = browser();
  auto su = transfer_sign_up(b, user);
  ASSERT_EQ(su.status, 200) << su.body;
  auto j = su.json();
  EXPECT_EQ(str(j, "response.status"), "missing_requirements") << su.body;
  EXPECT_EQ(strings(at(j, "response.missing_fields")), std::vector<std::string>{"email_address"});
  EXPECT_TRUE(strings(at(j, "response.unverified_fields")).empty());
  EXPECT_TRUE(at(j, "response.email_address").is_null());
  const std::string sua = str(j, "response.id");
  const std::string patch_path = std::string(kSignUps) + "/" + sua + "?_method=PATCH";

  auto invalid = b.post(patch_path, {{"email_address", "not an address"}});
  EXPECT_EQ(invalid.status, 422) << invalid.body;
  auto taken = b.post(patch_path, {{"email_address", "Taken@Example.com"}});
  EXPECT_EQ(taken.status, 422) << taken.body;
  EXPECT_THAT(taken.body, ::testing::HasSubstr("form_identifier_exists"));
  EXPECT_TRUE(at(b.client(), "sign_up.email_address").is_null())
      << "a refused PATCH writes nothing";

  auto added = b.post(patch_path, {{"email_address", "  Ada.New@Example.COM "}});
  ASSERT_EQ(added.status, 200) << added.body;
  auto aj = added.json();
  EXPECT_EQ(str(aj, "response.status"), "missing_requirements");
  EXPECT_EQ(str(aj, "response.email_address"), "ada.new@example.com");
  EXPECT_TRUE(strings(at(aj, "response.missing_fields")).empty());
  EXPECT_EQ(strings(at(aj, "response.unverified_fields")),
            std::vector<std::string>{"email_address"});
  EXPECT_EQ(str(aj, "response.verifications.email_address.next_action"), "needs_prepare");

  auto done = verify_by_code(b, sua, "ada.new@example.com");
  EXPECT_EQ(str(done, "response.status"), "complete");
  ASSERT_FALSE(str(done, "response.created_session_id").empty());
  const auto& user_json = at(done, "client.sessions.0.user");
  EXPECT_EQ(str(user_json, "email_addresses.0.email_address"), "ada.new@example.com");
  EXPECT_EQ(str(user_json, "email_addresses.0.verification.status"), "verified");
}

}  // namespace
}  // namespace latchkey::it
