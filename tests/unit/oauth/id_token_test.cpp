// validate_id_token without network: keys come from an in-memory JWKS.
#include "oauth/id_token.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "core/base64.hpp"
#include "crypto/jwk.hpp"
#include "crypto/jws.hpp"

namespace latchkey::oauth {
namespace {

namespace json = boost::json;

struct Fixture {
  core::ManualClock clock;
  std::vector<crypto::PrivateKey> rsa;
  crypto::PrivateKey ec = *crypto::generate_key(crypto::Alg::kES256);
  int key_calls = 0;
  int forced_calls = 0;

  Fixture() {
    for (int i = 0; i < 3; ++i) {
      rsa.push_back(*crypto::generate_key(crypto::Alg::kRS256));
    }
  }

  json::object claims() const {
    return {{"iss", "https://idp.example"}, {"sub", "s1"},          {"aud", "cid"},
            {"exp", clock.now_s() + 300},   {"iat", clock.now_s()}, {"nonce", "n1"}};
  }

  static std::string jwt(const json::object& header, const json::object& claims,
                         const crypto::PrivateKey& key, crypto::Alg alg) {
    const std::string input = core::base64url_encode(json::serialize(header)) + "." +
                              core::base64url_encode(json::serialize(claims));
    return input + "." + core::base64url_encode(*crypto::sign(key, alg, input));
  }

  IdTokenExpectations expect() const {
    IdTokenExpectations e;
    e.issuer = "https://idp.example";
    e.client_id = "cid";
    e.allowed_algs = {crypto::Alg::kRS256, crypto::Alg::kES256};
    e.nonce = "n1";
    return e;
  }

  KeySource source(JwkSet set) {
    auto shared = std::make_shared<const JwkSet>(std::move(set));
    return [this, shared](bool force) -> core::Result<std::shared_ptr<const JwkSet>> {
      ++key_calls;
      forced_calls += force ? 1 : 0;
      return shared;
    };
  }

  crypto::Jwk jwk(const crypto::PrivateKey& k, std::string kid,
                  std::optional<crypto::Alg> alg = crypto::Alg::kRS256) const {
    return crypto::Jwk{std::move(kid), alg, "sig", k.public_key()};
  }
};

Fixture& fx() {
  static Fixture f;  // key generation once
  return f;
}

TEST(IdToken, NoKidTriesEachFittingKey) {
  auto& f = fx();
  const auto token = Fixture::jwt({{"alg", "RS256"}}, f.claims(), f.rsa[2], crypto::Alg::kRS256);
  auto keys = f.source({f.jwk(f.rsa[0], "a"), f.jwk(f.ec, "e", crypto::Alg::kES256),
                        f.jwk(f.rsa[1], "b"), f.jwk(f.rsa[2], "c")});
  auto r = validate_id_token(token, f.expect(), keys, f.clock);
  ASSERT_TRUE(r.has_value()) << r.error().internal;
  EXPECT_EQ(r->subject, "s1");
}

TEST(IdToken, NoKidAndNoKeyVerifiesIsSignatureFailure) {
  auto& f = fx();
  const auto token = Fixture::jwt({{"alg", "RS256"}}, f.claims(), f.rsa[2], crypto::Alg::kRS256);
  auto r = validate_id_token(token, f.expect(), f.source({f.jwk(f.rsa[0], "a")}), f.clock);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(id_token_failure_reason(r.error()), "signature");
}

TEST(IdToken, KidPointingAtKeyOfOtherTypeIsRejected) {
  auto& f = fx();
  // Header claims RS256 with the kid of the EC key: the key type decides, not the header.
  const auto token =
      Fixture::jwt({{"alg", "RS256"}, {"kid", "e"}}, f.claims(), f.rsa[0], crypto::Alg::kRS256);
  auto r = validate_id_token(token, f.expect(), f.source({f.jwk(f.ec, "e", crypto::Alg::kES256)}),
                             f.clock);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(id_token_failure_reason(r.error()), "alg");
}

TEST(IdToken, JwkAlgMustMatchHeaderAlg) {
  auto& f = fx();
  const auto token =
      Fixture::jwt({{"alg", "RS256"}, {"kid", "a"}}, f.claims(), f.rsa[0], crypto::Alg::kRS256);
  auto r = validate_id_token(token, f.expect(),
                             f.source({f.jwk(f.rsa[0], "a", crypto::Alg::kRS512)}), f.clock);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(id_token_failure_reason(r.error()), "alg");
}

TEST(IdToken, UnknownKidAsksForOneForcedRefresh) {
  auto& f = fx();
  f.key_calls = 0;
  f.forced_calls = 0;
  const auto token =
      Fixture::jwt({{"alg", "RS256"}, {"kid", "zzz"}}, f.claims(), f.rsa[0], crypto::Alg::kRS256);
  auto r = validate_id_token(token, f.expect(), f.source({f.jwk(f.rsa[0], "a")}), f.clock);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(id_token_failure_reason(r.error()), "kid");
  EXPECT_EQ(f.key_calls, 2);
  EXPECT_EQ(f.forced_calls, 1);
}

TEST(IdToken, CorruptedEs256SignatureRejected) {
  auto& f = fx();
  auto token =
      Fixture::jwt({{"alg", "ES256"}, {"kid", "e"}}, f.claims(), f.ec, crypto::Alg::kES256);
  token[token.size() - 3] = token[token.size() - 3] == 'A' ? 'B' : 'A';
  auto r = validate_id_token(token, f.expect(), f.source({f.jwk(f.ec, "e", crypto::Alg::kES256)}),
                             f.clock);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(id_token_failure_reason(r.error()), "signature");
}

TEST(IdToken, StructurallyMalformedTokensRejected) {
  auto& f = fx();
  const auto keys = f.source({f.jwk(f.rsa[0], "a")});
  for (const std::string bad :
       {"", "a.b", "a.b.c.d", "..", "e30.e30.", "e30.e30.+/=", "eyJhbGciOiJSUzI1NiJ9.WzFd.AAAA"}) {
    auto r = validate_id_token(bad, f.expect(), keys, f.clock);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code, core::Code::kOAuthIdTokenInvalid) << bad;
  }
}

TEST(IdToken, DuplicateClaimNamesRejected) {
  auto& f = fx();
  const std::string header = core::base64url_encode(R"({"alg":"RS256","kid":"a"})");
  const std::string payload = core::base64url_encode(
      R"({"iss":"https://idp.example","sub":"s1","sub":"admin","aud":"cid","exp":1800000300,)"
      R"("iat":1800000000,"nonce":"n1"})");
  const std::string input = header + "." + payload;
  const std::string token =
      input + "." + core::base64url_encode(*crypto::sign(f.rsa[0], crypto::Alg::kRS256, input));
  auto r = validate_id_token(token, f.expect(), f.source({f.jwk(f.rsa[0], "a")}), f.clock);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(id_token_failure_reason(r.error()), "malformed");
}

}  // namespace
}  // namespace latchkey::oauth
