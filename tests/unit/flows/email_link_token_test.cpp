// The email link's token (flows/email_links.hpp): authentic only under the instance's key,
// tamper-evident in every byte, and carrying the attempt, the nonce and the expiry it was made
// with. Reuse, a replaced link and a link for another attempt are refused by GET /v1/verify, which
// compares the nonce with the MAC on the attempt's verification (tests/integration/
// email_links_test.cpp); here: what the token itself guarantees.
#include <gtest/gtest.h>

#include <string>

#include "core/base64.hpp"
#include "flows/email_links.hpp"

using namespace latchkey;
using namespace latchkey::flows;

namespace {

crypto::Sealer sealer(char fill) { return crypto::Sealer(core::Secret(std::string(32, fill))); }

LinkClaims claims() {
  LinkClaims c;
  c.attempt = LinkAttempt::kSignIn;
  c.attempt_id = "sia_2abc";
  c.nonce = "n0nce-_xyz";
  c.expire_at_ms = 1'700'000'600'000;
  return c;
}

TEST(EmailLinkToken, RoundTripsItsClaimsAndIsUrlSafe) {
  const auto s = sealer('k');
  const std::string token = seal_link_token(s, claims());
  EXPECT_EQ(
      token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."),
      std::string::npos);
  auto back = open_link_token(s, token);
  ASSERT_TRUE(back) << back.error().internal;
  EXPECT_EQ(back->attempt, LinkAttempt::kSignIn);
  EXPECT_EQ(back->attempt_id, "sia_2abc");
  EXPECT_EQ(back->nonce, "n0nce-_xyz");
  EXPECT_EQ(back->expire_at_ms, 1'700'000'600'000);

  LinkClaims up = claims();
  up.attempt = LinkAttempt::kSignUp;
  up.attempt_id = "sua_1";
  auto u = open_link_token(s, seal_link_token(s, up));
  ASSERT_TRUE(u);
  EXPECT_EQ(u->attempt, LinkAttempt::kSignUp);
  EXPECT_EQ(u->attempt_id, "sua_1");
}

TEST(EmailLinkToken, EveryTamperedCharacterIsRefused) {
  const auto s = sealer('k');
  const std::string token = seal_link_token(s, claims());
  for (std::size_t i = 0; i < token.size(); ++i) {
    std::string bad = token;
    bad[i] = bad[i] == 'A' ? 'B' : 'A';
    auto r = open_link_token(s, bad);
    ASSERT_FALSE(r) << "position " << i;
    EXPECT_EQ(r.error().code, core::Code::kVerificationFailed);
  }
  EXPECT_FALSE(open_link_token(s, token.substr(0, token.size() - 1)));
  EXPECT_FALSE(open_link_token(s, token + "A"));
  EXPECT_FALSE(open_link_token(s, ""));
  EXPECT_FALSE(open_link_token(s, "."));
  EXPECT_FALSE(open_link_token(s, token.substr(0, token.find('.'))));
}

TEST(EmailLinkToken, ARewrittenAttemptOrExpiryDoesNotVerify) {
  const auto s = sealer('k');
  const std::string token = seal_link_token(s, claims());
  const std::string mac = token.substr(token.find('.'));
  // Another attempt, or a later expiry, with the original MAC.
  for (const std::string& payload : {std::string("1|si|sia_other|n0nce-_xyz|1700000600000"),
                                     std::string("1|si|sia_2abc|n0nce-_xyz|9999999999999"),
                                     std::string("1|su|sia_2abc|n0nce-_xyz|1700000600000")}) {
    EXPECT_FALSE(open_link_token(s, core::base64url_encode(payload) + mac)) << payload;
  }
}

TEST(EmailLinkToken, AnotherInstancesKeyDoesNotVerify) {
  const std::string token = seal_link_token(sealer('k'), claims());
  EXPECT_FALSE(open_link_token(sealer('j'), token));
}

TEST(EmailLinkToken, ExpiryIsCarriedForTheCallerToCompare) {
  // open_link_token does not look at the clock: an expired link must still say "expired" (and
  // where to go), so the expiry comes back as it was sealed.
  LinkClaims old = claims();
  old.expire_at_ms = 1;
  const auto s = sealer('k');
  auto back = open_link_token(s, seal_link_token(s, old));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->expire_at_ms, 1);
}

TEST(EmailLinkToken, TheNonceContextNamesTheAttempt) {
  EXPECT_NE(link_nonce_context("sia_1"), link_nonce_context("sia_2"));
  const auto s = sealer('k');
  EXPECT_FALSE(
      s.mac_equals(s.mac(link_nonce_context("sia_1"), "n"), link_nonce_context("sia_2"), "n"));
}

}  // namespace
