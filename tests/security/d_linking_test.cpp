// Catalog §2.D: account linking and takeover. The account key is (provider, sub); an email links
// only when the provider verified it, the provider is trusted for it, and the local address is
// verified too. Otherwise: external_account_email_unverified, nothing linked, victim unchanged.
#include "sec_fixture.hpp"

namespace latchkey::sec {
namespace {

const User kVictim{"victim-sub", "victim@example.com", true, "Vic", "Tim"};

TEST_F(Sec, D1_unverified_provider_email_matching_verified_local) {
  start();
  Browser victim = browser();
  sign_up_user(victim, kVictim);
  Browser attacker = browser();
  const Rows before = rows();
  auto cb = round_trip(attacker, User{"attacker-sub", "victim@example.com", false});
  expect_failed_attempt(attacker, cb, before, "external_account_email_unverified", "");
}

TEST_F(Sec, D4_sub_of_u1_with_email_of_u2) {
  start();
  Browser u1 = browser();
  sign_up_user(u1, User{"sub-1", "one@example.com", true});
  Browser u2 = browser();
  sign_up_user(u2, User{"sub-2", "two@example.com", true});
  const std::string u1_id =
      sql_scalar(db(), "SELECT user_id FROM external_accounts WHERE provider_user_id='sub-1'");
  const Rows before = rows();
  Browser b = browser();
  auto cb = round_trip(b, User{"sub-1", "two@example.com", true});
  ASSERT_EQ(cb.status, 303);
  auto client = b.client();
  ASSERT_EQ(it::at(client, "sessions").as_array().size(), 1U) << boost::json::serialize(client);
  EXPECT_EQ(it::str(client, "sessions.0.user.id"), u1_id) << "signed in as the (iss,sub) owner";
  EXPECT_EQ(rows().emails, before.emails) << "no address moved between users";
  EXPECT_EQ(rows().users.find("two@example.com"), std::string::npos);
}

TEST_F(Sec, D5_provider_changes_email_same_sub) {
  start();
  Browser first = browser();
  sign_up_user(first, User{"stable-sub", "old@example.com", true});
  const Rows before = rows();
  Browser b = browser();
  auto cb = round_trip(b, User{"stable-sub", "new@example.com", true});
  ASSERT_EQ(cb.status, 303);
  const Rows after = rows();
  EXPECT_EQ(after.user_count, before.user_count) << "no second account";
  EXPECT_EQ(after.account_count, before.account_count) << "no re-link";
  EXPECT_EQ(after.emails, before.emails) << "the user's own addresses only change by policy";
  EXPECT_EQ(it::at(b.client(), "sessions").as_array().size(), 1U);
}

TEST_F(Sec, D6_noauth_microsoft_mutable_email) {
  // Entra multi-tenant: any tenant admin sets `email`; it never links to a local account.
  ScriptIdp ms("/common/v2.0");
  const std::string tmpl = ms.base() + "/{tenantid}/v2.0";
  ms.discovery_hook = [tmpl](json::object& d) { d["issuer"] = tmpl; };
  ms.id_token_hook = [base = ms.base()](json::object&, json::object& c) {
    c["tid"] = "attacker-tenant";
    c["iss"] = base + "/attacker-tenant/v2.0";
  };
  it::EnvVars env = idp->google_env();
  for (auto& kv : ms.microsoft_env()) {
    env.push_back(kv);
  }
  start({}, env);
  Browser victim = browser();
  sign_up_user(victim, kVictim);
  Browser attacker = browser();
  const Rows before = rows();
  auto started = start_sign_in(attacker, "oauth_microsoft");
  ASSERT_EQ(started.status, 200) << started.body;
  auto g = ms.authorize(auth_url_of(started), User{"attacker-oid", "victim@example.com", true});
  auto cb = callback(attacker, {{"code", g.code}, {"state", g.state}});
  expect_failed_attempt(attacker, cb, before, "external_account_email_unverified", "");
  ms.stop();
}

TEST_F(Sec, D7_github_unverified_or_failing_emails) {
  idp->github_emails = [](const User& u) {
    return json::value(
        json::array{json::object{{"email", u.email}, {"primary", true}, {"verified", false}}});
  };
  it::EnvVars env = idp->google_env();
  for (auto& kv : idp->github_env()) {
    env.push_back(kv);
  }
  start({}, env);
  Browser victim = browser();
  sign_up_user(victim, kVictim);
  {
    Browser attacker = browser();
    const Rows before = rows();
    auto cb = round_trip(attacker, User{"4242", "victim@example.com", true}, "oauth_github");
    expect_failed_attempt(attacker, cb, before, "external_account_email_unverified", "");
  }
  // /user/emails failing: fail closed, never "assume verified".
  idp->script([](ScriptIdp& i) {
    i.faults_["/user/emails"] = Fault{Fault::kRaw, {}, 0, 500, "application/json", "{}"};
  });
  Browser attacker = browser();
  const Rows before = rows();
  auto cb = round_trip(attacker, User{"4243", "victim@example.com", true}, "oauth_github");
  expect_failed_attempt(attacker, cb, before, "oauth_provider_unavailable", "");
}

TEST_F(Sec, D8_later_logins_without_email_resolve_by_sub) {
  start();
  Browser first = browser();
  sign_up_user(first, User{"apple-like-sub", "relay@privaterelay.example", true});
  const Rows before = rows();
  idp->script([](ScriptIdp& i) {
    i.id_token_hook = [](json::object&, json::object& c) {
      c.erase("email");
      c.erase("email_verified");
      c.erase("given_name");
      c.erase("family_name");
    };
    i.userinfo_hook = [](json::object& info) {
      info.erase("email");
      info.erase("email_verified");
    };
  });
  Browser b = browser();
  auto cb = round_trip(b, User{"apple-like-sub", "", false, "", ""});
  ASSERT_EQ(cb.status, 303);
  EXPECT_EQ(it::at(b.client(), "sessions").as_array().size(), 1U);
  EXPECT_EQ(rows().user_count, before.user_count);
  EXPECT_EQ(rows().emails, before.emails);
}

TEST_F(Sec, D10_enterprise_connection_foreign_domain) {
  GTEST_SKIP() << "waits for: enterprise SSO connections with the email domains they own "
                  "(issue 14); there is no per-connection domain list to check asserted emails "
                  "against";
}

}  // namespace
}  // namespace latchkey::sec
