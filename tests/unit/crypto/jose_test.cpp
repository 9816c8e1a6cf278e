// JWS/JWK layer: RFC known answers, alg confusion, malformed input, JWKS handling.
#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include <atomic>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <string>
#include <thread>
#include <vector>

#include "core/base64.hpp"
#include "crypto/crypto.hpp"

namespace latchkey::crypto {
namespace {

namespace json = boost::json;

// RFC 7515 Appendix A.2 (RS256): public part of the example key, and the example JWS.
constexpr std::string_view kRfc7515N =
    "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-"
    "4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-"
    "yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-"
    "bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-"
    "KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-"
    "DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ";
constexpr std::string_view kRfc7515Payload =
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlf"
    "Q";
constexpr std::string_view kRfc7515Rs256 =
    "eyJhbGciOiJSUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    "."
    "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_"
    "O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_"
    "nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_"
    "eSN9383LcOLn6_dO--xi12jzDwusC-"
    "eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igc"
    "N_"
    "IoypGlUPQGe77Rw";
// RFC 7515 Appendix A.3 (ES256).
constexpr std::string_view kRfc7515EcX = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
constexpr std::string_view kRfc7515EcY = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
constexpr std::string_view kRfc7515Es256 =
    "eyJhbGciOiJFUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    "."
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
// RFC 7638 §3.1.
constexpr std::string_view kRfc7638N =
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
    "BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_"
    "FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-"
    "bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
// RFC 8037 Appendix A.1-A.4 (Ed25519).
constexpr std::string_view kRfc8037D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
constexpr std::string_view kRfc8037X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
constexpr std::string_view kRfc8037Jws =
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

constexpr Alg kAllAlgs[] = {Alg::kRS256, Alg::kRS384, Alg::kRS512, Alg::kPS256,
                            Alg::kES256, Alg::kES384, Alg::kEdDSA};

PublicKey rfc7515_rsa_key() {
  json::object o{{"kty", "RSA"}, {"n", kRfc7515N}, {"e", "AQAB"}};
  auto jwk = parse_jwk(o);
  EXPECT_TRUE(jwk.has_value()) << (jwk ? "" : jwk.error().internal);
  return jwk->key;
}

std::string b64(std::string_view s) { return core::base64url_encode(s); }

// Builds header.payload.signature from raw JSON header text, for hostile-header tests.
std::string compact(std::string_view header_json, std::string_view payload = "{}",
                    std::string_view sig = "sig") {
  return b64(header_json) + "." + b64(payload) + "." + b64(sig);
}

const PrivateKey& cached_key(Alg alg) {
  // Key generation (RSA especially) is slow; generate each kind once for the whole suite.
  static const std::vector<PrivateKey> keys = [] {
    std::vector<PrivateKey> v;
    for (Alg a : kAllAlgs) {
      v.push_back(*generate_key(a));
    }
    return v;
  }();
  for (std::size_t i = 0; i < std::size(kAllAlgs); ++i) {
    if (kAllAlgs[i] == alg) {
      return keys[i];
    }
  }
  return keys[0];
}

TEST(Alg, NamesRoundTripAndNoneIsNotAnAlg) {
  for (Alg a : kAllAlgs) {
    EXPECT_EQ(alg_from_string(to_string(a)), a);
  }
  for (std::string_view bad : {"none", "None", "HS256", "HS512", "rs256", "", "RS256 ", "ES512"}) {
    EXPECT_FALSE(alg_from_string(bad).has_value()) << bad;
  }
}

TEST(Jws, Rfc7515A2Rs256Verifies) {
  const PublicKey key = rfc7515_rsa_key();
  auto jws = decode_jws(kRfc7515Rs256);
  ASSERT_TRUE(jws.has_value()) << jws.error().internal;
  EXPECT_EQ(jws->alg, Alg::kRS256);
  EXPECT_FALSE(jws->kid.has_value());
  EXPECT_EQ(jws->signing_input,
            std::string("eyJhbGciOiJSUzI1NiJ9.") + std::string(kRfc7515Payload));
  EXPECT_NE(jws->payload.find("\"iss\":\"joe\""), std::string::npos);
  EXPECT_TRUE(verify_signature(key, jws->alg, jws->signing_input, jws->signature));
}

TEST(Jws, Rfc7515A2FailsWhenAnyCharacterChanges) {
  const PublicKey key = rfc7515_rsa_key();
  const std::string token(kRfc7515Rs256);
  int checked = 0;
  for (std::size_t i = 0; i < token.size(); ++i) {
    if (token[i] == '.') {
      continue;
    }
    std::string bad = token;
    bad[i] = token[i] == 'A' ? 'B' : 'A';
    auto jws = decode_jws(bad);
    if (jws) {
      EXPECT_FALSE(verify_signature(key, jws->alg, jws->signing_input, jws->signature))
          << "position " << i;
    }
    ++checked;
  }
  EXPECT_GT(checked, 400);
}

TEST(Jws, Rfc7515A3Es256Verifies) {
  json::object o{{"kty", "EC"}, {"crv", "P-256"}, {"x", kRfc7515EcX}, {"y", kRfc7515EcY}};
  auto jwk = parse_jwk(o);
  ASSERT_TRUE(jwk.has_value()) << jwk.error().internal;
  EXPECT_EQ(jwk->key.kind(), KeyKind::kEcP256);
  auto jws = decode_jws(kRfc7515Es256);
  ASSERT_TRUE(jws.has_value());
  EXPECT_EQ(jws->alg, Alg::kES256);
  EXPECT_EQ(jws->signature.size(), 64U);  // raw R||S, not DER
  EXPECT_TRUE(verify_signature(jwk->key, Alg::kES256, jws->signing_input, jws->signature));
  std::string flipped = jws->signature;
  flipped[10] = static_cast<char>(flipped[10] ^ 0x01);
  EXPECT_FALSE(verify_signature(jwk->key, Alg::kES256, jws->signing_input, flipped));
}

TEST(Jwk, Rfc7638ThumbprintExample) {
  json::object o{
      {"kty", "RSA"}, {"n", kRfc7638N}, {"e", "AQAB"}, {"alg", "RS256"}, {"kid", "2011-04-29"}};
  auto jwk = parse_jwk(o);
  ASSERT_TRUE(jwk.has_value()) << jwk.error().internal;
  EXPECT_EQ(jwk->kid, "2011-04-29");
  EXPECT_EQ(jwk->alg, Alg::kRS256);
  EXPECT_EQ(jwk_thumbprint(jwk->key), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
}

TEST(Jws, Rfc8037A4Ed25519VerifiesAndSignsDeterministically) {
  json::object o{{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", kRfc8037X}};
  auto jwk = parse_jwk(o);
  ASSERT_TRUE(jwk.has_value()) << jwk.error().internal;
  // RFC 8037 §A.3 thumbprint.
  EXPECT_EQ(jwk_thumbprint(jwk->key), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
  auto jws = decode_jws(kRfc8037Jws);
  ASSERT_TRUE(jws.has_value()) << jws.error().internal;
  EXPECT_EQ(jws->alg, Alg::kEdDSA);
  EXPECT_EQ(jws->payload, "Example of Ed25519 signing");
  EXPECT_TRUE(verify_signature(jwk->key, Alg::kEdDSA, jws->signing_input, jws->signature));

  // Ed25519 is deterministic: the RFC's private key must reproduce the RFC's signature.
  const std::string d = *core::base64url_decode(kRfc8037D);
  EVP_PKEY* raw = EVP_PKEY_new_raw_private_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(d.data()), d.size());
  ASSERT_NE(raw, nullptr);
  auto priv = PrivateKey::from_evp(raw);
  EVP_PKEY_free(raw);
  ASSERT_TRUE(priv.has_value());
  EXPECT_EQ(jwk_thumbprint(priv->public_key()), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
  auto sig = sign(*priv, Alg::kEdDSA, jws->signing_input);
  ASSERT_TRUE(sig.has_value());
  EXPECT_EQ(*sig, jws->signature);
}

class AllAlgs : public ::testing::TestWithParam<Alg> {};

TEST_P(AllAlgs, SignVerifyRoundTrip) {
  const Alg alg = GetParam();
  const PrivateKey& key = cached_key(alg);
  const std::string input = b64(R"({"alg":"x"})") + "." + b64(R"({"sub":"user_1"})");
  auto sig = sign(key, alg, input);
  ASSERT_TRUE(sig.has_value()) << sig.error().internal;
  if (alg == Alg::kES256) {
    EXPECT_EQ(sig->size(), 64U);
  } else if (alg == Alg::kES384) {
    EXPECT_EQ(sig->size(), 96U);
  } else if (alg == Alg::kEdDSA) {
    EXPECT_EQ(sig->size(), 64U);
  } else {
    EXPECT_EQ(sig->size(), 256U);
  }
  EXPECT_TRUE(verify_signature(key.public_key(), alg, input, *sig));
  EXPECT_FALSE(verify_signature(key.public_key(), alg, input + "x", *sig));
  std::string bad = *sig;
  bad.back() = static_cast<char>(bad.back() ^ 0x40);
  EXPECT_FALSE(verify_signature(key.public_key(), alg, input, bad));
  EXPECT_FALSE(verify_signature(key.public_key(), alg, input, sig->substr(1)));
  EXPECT_FALSE(verify_signature(key.public_key(), alg, input, *sig + std::string(1, '\0')));
  EXPECT_FALSE(verify_signature(key.public_key(), alg, input, ""));
  // Every other algorithm refuses this key/signature.
  for (Alg other : kAllAlgs) {
    if (other != alg && !key_fits(key.kind(), other)) {
      EXPECT_FALSE(verify_signature(key.public_key(), other, input, *sig)) << to_string(other);
      EXPECT_FALSE(sign(key, other, input).has_value()) << to_string(other);
    }
  }
}

TEST_P(AllAlgs, PublicJwkHasOnlyPublicMembersAndRoundTrips) {
  const Alg alg = GetParam();
  const PrivateKey& key = cached_key(alg);
  const json::object jwk = public_jwk(key.public_key(), "kid-1", alg);
  EXPECT_EQ(jwk.at("kid"), "kid-1");
  EXPECT_EQ(jwk.at("alg").as_string(), to_string(alg));
  EXPECT_EQ(jwk.at("use"), "sig");
  for (std::string_view priv : {"d", "p", "q", "dp", "dq", "qi", "k", "oth"}) {
    EXPECT_FALSE(jwk.contains(priv)) << priv;
  }
  if (key.kind() == KeyKind::kRsa) {
    EXPECT_EQ(jwk.at("kty"), "RSA");
    EXPECT_TRUE(jwk.contains("n") && jwk.contains("e"));
    EXPECT_EQ(jwk.size(), 6U);
  } else if (key.kind() == KeyKind::kEd25519) {
    EXPECT_EQ(jwk.at("kty"), "OKP");
    EXPECT_EQ(jwk.at("crv"), "Ed25519");
    EXPECT_EQ(jwk.size(), 6U);
  } else {
    EXPECT_EQ(jwk.at("kty"), "EC");
    EXPECT_EQ(jwk.at("crv"), alg == Alg::kES256 ? "P-256" : "P-384");
    EXPECT_EQ(jwk.size(), 7U);
  }
  auto parsed = parse_jwk(jwk);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().internal;
  EXPECT_EQ(parsed->alg, alg);
  EXPECT_EQ(jwk_thumbprint(parsed->key), jwk_thumbprint(key.public_key()));
  // The parsed public key verifies what the private key signs.
  auto sig = sign(key, alg, "a.b");
  ASSERT_TRUE(sig.has_value());
  EXPECT_TRUE(verify_signature(parsed->key, alg, "a.b", *sig));
}

TEST_P(AllAlgs, PemRoundTripKeepsTheKey) {
  const Alg alg = GetParam();
  const PrivateKey& key = cached_key(alg);
  const std::string pem = to_pem(key);
  EXPECT_TRUE(pem.starts_with("-----BEGIN PRIVATE KEY-----"));  // PKCS#8
  auto back = private_key_from_pem(pem);
  ASSERT_TRUE(back.has_value()) << back.error().internal;
  EXPECT_EQ(jwk_thumbprint(back->public_key()), jwk_thumbprint(key.public_key()));
  auto sig = sign(*back, alg, "x.y");
  ASSERT_TRUE(sig.has_value());
  EXPECT_TRUE(verify_signature(key.public_key(), alg, "x.y", *sig));
  // The public PEM carries no private key.
  const std::string pub_pem = key.public_key().to_pem();
  EXPECT_TRUE(pub_pem.starts_with("-----BEGIN PUBLIC KEY-----"));
  EXPECT_FALSE(private_key_from_pem(pub_pem).has_value());
  auto pub = PublicKey::from_pem(pub_pem);
  ASSERT_TRUE(pub.has_value());
  EXPECT_TRUE(verify_signature(*pub, alg, "x.y", *sig));
}

INSTANTIATE_TEST_SUITE_P(Jose, AllAlgs, ::testing::ValuesIn(kAllAlgs),
                         [](const auto& p) { return std::string(to_string(p.param)); });

TEST(Jws, Es256DerSignatureIsRejected) {
  const PrivateKey& key = cached_key(Alg::kES256);
  auto sig = sign(key, Alg::kES256, "a.b");
  ASSERT_TRUE(sig.has_value());
  // Build the DER form OpenSSL itself would produce; JOSE requires R||S, so it must not verify.
  ECDSA_SIG* es = ECDSA_SIG_new();
  const auto* p = reinterpret_cast<const unsigned char*>(sig->data());
  ECDSA_SIG_set0(es, BN_bin2bn(p, 32, nullptr), BN_bin2bn(p + 32, 32, nullptr));
  unsigned char* der = nullptr;
  const int len = i2d_ECDSA_SIG(es, &der);
  ASSERT_GT(len, 0);
  const std::string der_sig(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  ECDSA_SIG_free(es);
  EXPECT_FALSE(verify_signature(key.public_key(), Alg::kES256, "a.b", der_sig));
  // r = 0 or s = 0 never verifies.
  std::string zero_s = *sig;
  std::fill(zero_s.begin() + 32, zero_s.end(), '\0');
  EXPECT_FALSE(verify_signature(key.public_key(), Alg::kES256, "a.b", zero_s));
  EXPECT_FALSE(verify_signature(key.public_key(), Alg::kES256, "a.b", std::string(64, '\0')));
}

TEST(Jws, AlgConfusionIsRejected) {
  const PublicKey rsa = rfc7515_rsa_key();
  // HS256 header on the RFC token, "MACed" with the public modulus as secret (security catalog E2).
  const std::string hs = b64(R"({"alg":"HS256"})") + "." + std::string(kRfc7515Payload) + "." +
                         b64(std::string(32, 'x'));
  EXPECT_FALSE(decode_jws(hs).has_value());
  for (std::string_view header :
       {R"({"alg":"none"})", R"({"alg":"None"})", R"({"alg":"NONE"})", R"({"alg":"HS256"})",
        R"({"alg":"HS512"})", R"({"alg":""})", R"({"alg":"RS1"})", R"({"alg":null})",
        R"({"alg":["RS256"]})", R"({"typ":"JWT"})"}) {
    auto r = decode_jws(compact(header));
    ASSERT_FALSE(r.has_value()) << header;
    EXPECT_EQ(r.error().code, core::Code::kAuthenticationInvalid);
  }
  // "none" with an empty signature segment.
  EXPECT_FALSE(decode_jws(b64(R"({"alg":"none"})") + "." + b64("{}") + ".").has_value());
  // Key type fixes the algorithm: an RSA key never verifies ES256/EdDSA, an EC key never RS256.
  auto rfc = decode_jws(kRfc7515Rs256);
  ASSERT_TRUE(rfc.has_value());
  for (Alg other : {Alg::kES256, Alg::kES384, Alg::kEdDSA}) {
    EXPECT_FALSE(verify_signature(rsa, other, rfc->signing_input, rfc->signature));
  }
  // Same RSA key, RS256 signature checked as PS256 or RS512: refused.
  EXPECT_FALSE(verify_signature(rsa, Alg::kPS256, rfc->signing_input, rfc->signature));
  EXPECT_FALSE(verify_signature(rsa, Alg::kRS512, rfc->signing_input, rfc->signature));
  const PrivateKey& p256 = cached_key(Alg::kES256);
  auto es = sign(p256, Alg::kES256, "a.b");
  ASSERT_TRUE(es.has_value());
  EXPECT_FALSE(verify_signature(p256.public_key(), Alg::kES384, "a.b", *es));
  EXPECT_FALSE(verify_signature(p256.public_key(), Alg::kRS256, "a.b", *es));
  EXPECT_FALSE(verify_signature(PublicKey{}, Alg::kRS256, "a.b", *es));
}

TEST(Jws, MalformedCompactStringsAreErrors) {
  const std::string good = compact(R"({"alg":"RS256"})");
  ASSERT_TRUE(decode_jws(good).has_value());
  const std::vector<std::string> bad = {
      "",
      ".",
      "..",
      "a.b",
      good + ".x",                                                    // 4 segments
      good + ".",                                                     // 4 segments, last empty
      "." + good.substr(good.find('.') + 1),                          // empty header
      b64(R"({"alg":"RS256"})") + ".." + b64("sig"),                  // empty payload
      b64(R"({"alg":"RS256"})") + "." + b64("{}") + ".",              // empty signature
      b64(R"({"alg":"RS256"})") + "=." + b64("{}") + "." + b64("s"),  // padding
      "eyJhbGciOiJSUzI1NiJ9.e30.a+b/",                                // standard alphabet
      "eyJhbGciOiJSUzI1NiJ9.e30 .c2ln",                               // whitespace
      "eyJhbGciOiJSUzI1NiJ9.e30.c2l\n",                               // newline
      "eyJhbGciOiJSUzI1NiJ9.e30.c2lu\xff",                            // non-ASCII
      "eyJhbGciOiJSUzI1NiJ9.e30.A",                                   // impossible length
      "eyJhbGciOiJSUzI1NiJ9.e30.c2m",                                 // non-canonical trailing bits
      compact("[]"),
      compact(R"("RS256")"),
      compact("not json"),
      compact(R"({"alg":"RS256"} trailing)"),
      compact(R"({"alg":"RS256",})"),
      compact(R"({"alg":"RS256","crit":["exp"]})"),
      compact(R"({"alg":"RS256","crit":[]})"),
      compact(R"({"alg":"RS256","b64":false,"crit":["b64"]})"),
      compact(R"({"alg":"RS256","alg":"RS256"})"),  // duplicate member
      compact(R"({"alg":"HS256","alg":"RS256"})"),  // duplicate member, parser-dependent
      compact(R"({"alg":"RS256","kid":7})"),
      compact(R"({"alg":"RS256","typ":{}})"),
      compact(R"({"alg":"RS256","jku":"https://evil.example/jwks"})"),
      compact(R"({"alg":"RS256","jwk":{"kty":"RSA"}})"),
      compact(R"({"alg":"RS256","x5u":"https://evil.example/cert"})"),
      compact(std::string(200, '[') + std::string(200, ']')),
  };
  for (const auto& s : bad) {
    auto r = decode_jws(s);
    EXPECT_FALSE(r.has_value()) << s;
    if (!r) {
      EXPECT_EQ(r.error().code, core::Code::kAuthenticationInvalid);
      EXPECT_FALSE(r.error().internal.empty());
    }
  }
}

TEST(Jws, OversizeIsRejectedBeforeDecoding) {
  const std::string big = compact(R"({"alg":"RS256"})", std::string(20 * 1024, 'a'));
  auto r = decode_jws(big);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().internal.find("larger"), std::string::npos);
  EXPECT_TRUE(decode_jws(big, 64 * 1024).has_value());
  EXPECT_FALSE(decode_jws(std::string(1024 * 1024, 'A')).has_value());
}

TEST(Jws, KidAndHeaderAreExposed) {
  auto r = decode_jws(compact(R"({"alg":"ES256","kid":"k1","typ":"JWT","x5t":"abc"})"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->alg, Alg::kES256);
  EXPECT_EQ(r->kid, "k1");
  EXPECT_EQ(r->header.at("typ"), "JWT");
  EXPECT_EQ(r->payload, "{}");
  EXPECT_EQ(r->signature, "sig");
}

TEST(Jwk, WeakOrInvalidKeysAreRejected) {
  // 1024-bit modulus (RFC 7518 §3.3 requires >= 2048).
  const std::string n1024 = b64(std::string(1, '\xC3') + std::string(127, '\x5A'));
  auto weak = parse_jwk(json::object{{"kty", "RSA"}, {"n", n1024}, {"e", "AQAB"}});
  ASSERT_FALSE(weak.has_value());
  EXPECT_NE(weak.error().internal.find("2048"), std::string::npos);
  // Even exponent / e = 1.
  EXPECT_FALSE(parse_jwk(json::object{{"kty", "RSA"}, {"n", kRfc7515N}, {"e", "Ag"}}));
  EXPECT_FALSE(parse_jwk(json::object{{"kty", "RSA"}, {"n", kRfc7515N}, {"e", "AQ"}}));
  // Missing or mistyped members.
  EXPECT_FALSE(parse_jwk(json::object{{"kty", "RSA"}, {"e", "AQAB"}}));
  EXPECT_FALSE(parse_jwk(json::object{{"kty", "RSA"}, {"n", 5}, {"e", "AQAB"}}));
  EXPECT_FALSE(parse_jwk(json::object{{"n", kRfc7515N}, {"e", "AQAB"}}));
  EXPECT_FALSE(parse_jwk(json::object{{"kty", "RSA"}, {"n", "a+b/"}, {"e", "AQAB"}}));
  EXPECT_FALSE(
      parse_jwk(json::object{{"kty", "RSA"}, {"n", kRfc7515N}, {"e", "AQAB"}, {"kid", 3}}));
  // alg that does not fit the key, or is not one of ours.
  EXPECT_FALSE(
      parse_jwk(json::object{{"kty", "RSA"}, {"n", kRfc7515N}, {"e", "AQAB"}, {"alg", "ES256"}}));
  EXPECT_FALSE(
      parse_jwk(json::object{{"kty", "RSA"}, {"n", kRfc7515N}, {"e", "AQAB"}, {"alg", "HS256"}}));
  // EC: point not on the curve, short coordinate, unknown curve.
  std::string y = *core::base64url_decode(kRfc7515EcY);
  y[31] = static_cast<char>(y[31] ^ 1);
  auto off_curve =
      parse_jwk(json::object{{"kty", "EC"}, {"crv", "P-256"}, {"x", kRfc7515EcX}, {"y", b64(y)}});
  EXPECT_FALSE(off_curve.has_value());
  EXPECT_FALSE(parse_jwk(
      json::object{{"kty", "EC"}, {"crv", "P-256"}, {"x", kRfc7515EcX}, {"y", b64(y.substr(1))}}));
  EXPECT_FALSE(parse_jwk(
      json::object{{"kty", "EC"}, {"crv", "P-521"}, {"x", kRfc7515EcX}, {"y", kRfc7515EcY}}));
  EXPECT_FALSE(parse_jwk(json::object{
      {"kty", "EC"}, {"crv", "P-256"}, {"x", kRfc7515EcX}, {"y", kRfc7515EcY}, {"alg", "ES384"}}));
  // OKP: wrong curve / size.
  EXPECT_FALSE(parse_jwk(json::object{{"kty", "OKP"}, {"crv", "Ed448"}, {"x", kRfc8037X}}));
  EXPECT_FALSE(parse_jwk(json::object{{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", "AAAA"}}));
  // Symmetric keys are never accepted as verification keys.
  EXPECT_FALSE(parse_jwk(json::object{{"kty", "oct"}, {"k", "c2VjcmV0"}}));
}

TEST(Jwk, GeneratedOrLoadedWeakRsaKeyIsRefused) {
  EXPECT_FALSE(generate_key(Alg::kRS256, 1024).has_value());
  EVP_PKEY* weak = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(1024));
  ASSERT_NE(weak, nullptr);
  EXPECT_FALSE(PrivateKey::from_evp(weak).has_value());
  EXPECT_FALSE(PublicKey::from_evp(weak).has_value());
  EVP_PKEY_free(weak);
  EXPECT_FALSE(
      private_key_from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"));
  EXPECT_FALSE(private_key_from_pem("garbage"));
}

TEST(Jwks, SkipsUnusableKeysAndKeepsGoodOnes) {
  const std::string n1024 = b64(std::string(1, '\xC3') + std::string(127, '\x5A'));
  const std::string doc =
      std::string(R"({"keys":[)") + R"({"kty":"RSA","kid":"weak","n":")" + n1024 +
      R"(","e":"AQAB"},)" + R"({"kty":"oct","kid":"sym","k":"c2VjcmV0"},)" +
      R"({"kty":"RSA","kid":"enc","use":"enc","n":")" + std::string(kRfc7515N) +
      R"(","e":"AQAB"},)" + R"({"kty":"RSA","kid":"hs","alg":"HS256","n":")" +
      std::string(kRfc7515N) + R"(","e":"AQAB"},)" +
      R"({"kty":"RSA","kid":"good","use":"sig","alg":"RS256","n":")" + std::string(kRfc7515N) +
      R"(","e":"AQAB","x5c":["MIIB"]},)" + R"({"kty":"EC","kid":"ec","crv":"P-256","x":")" +
      std::string(kRfc7515EcX) + R"(","y":")" + std::string(kRfc7515EcY) + R"("})" + "]}";
  auto keys = parse_jwks(doc);
  ASSERT_TRUE(keys.has_value()) << keys.error().internal;
  ASSERT_EQ(keys->size(), 2U);
  EXPECT_EQ((*keys)[0].kid, "good");
  EXPECT_EQ((*keys)[0].alg, Alg::kRS256);
  EXPECT_EQ((*keys)[0].use, "sig");
  EXPECT_EQ((*keys)[1].kid, "ec");
  EXPECT_FALSE((*keys)[1].alg.has_value());
  // The surviving RSA key verifies the RFC token.
  auto jws = decode_jws(kRfc7515Rs256);
  ASSERT_TRUE(jws.has_value());
  EXPECT_TRUE(verify_signature((*keys)[0].key, Alg::kRS256, jws->signing_input, jws->signature));

  auto only_weak = parse_jwks(R"({"keys":[{"kty":"RSA","n":")" + n1024 + R"(","e":"AQAB"}]})");
  ASSERT_TRUE(only_weak.has_value());
  EXPECT_TRUE(only_weak->empty());
}

TEST(Jwks, MalformedDocumentsAreErrors) {
  for (std::string_view doc :
       {"", "null", "[]", R"({"keys":{}})", R"({"nokeys":[]})", R"({"keys":[1]})",
        R"({"keys":["x"]})", R"({"keys":[]} x)", R"({"keys":[],"keys":[]})",
        R"({"keys":[{"kty":"RSA","kty":"EC"}]})", "{\"keys\":[]"}) {
    EXPECT_FALSE(parse_jwks(doc).has_value()) << doc;
  }
  EXPECT_TRUE(parse_jwks(R"({"keys":[]})").has_value());
  EXPECT_TRUE(parse_jwks(" {\"keys\":[]}\n").has_value());
  // Limits.
  std::string many = R"({"keys":[)";
  for (int i = 0; i < 100; ++i) {
    many += std::string(i ? "," : "") + R"({"kty":"oct"})";
  }
  many += "]}";
  EXPECT_FALSE(parse_jwks(many).has_value());
  EXPECT_TRUE(parse_jwks(many, JwksLimits{.max_bytes = 1 << 20, .max_keys = 200}).has_value());
  const std::string huge = R"({"keys":[],"pad":")" + std::string(300 * 1024, 'a') + "\"}";
  EXPECT_FALSE(parse_jwks(huge).has_value());
}

TEST(StrictJson, RejectsDuplicatesAtAnyDepthAndOverLimits) {
  EXPECT_TRUE(parse_strict_object(R"({"a":{"b":1,"c":[{"d":1},{"d":2}]}})").has_value());
  EXPECT_FALSE(parse_strict_object(R"({"a":{"b":1,"b":2}})").has_value());
  EXPECT_FALSE(parse_strict_object(R"({"a":[{"d":1,"d":1}]})").has_value());
  // Escaped spelling of the same name is still a duplicate.
  EXPECT_FALSE(parse_strict_object(R"({"alg":"RS256","\u0061lg":"none"})").has_value());
  EXPECT_FALSE(parse_strict_object(R"([1])").has_value());
  EXPECT_FALSE(parse_strict_object(R"({"a":1}{"b":2})").has_value());
  EXPECT_FALSE(parse_strict_object(R"({"a":1})", JsonLimits{.max_bytes = 4}).has_value());
  EXPECT_FALSE(
      parse_strict_object(R"({"a":[[[[1]]]]})", JsonLimits{.max_bytes = 100, .max_depth = 3})
          .has_value());
  auto ok =
      parse_strict_object(R"({"n":1,"s":"x","f":1.5,"b":true,"z":null,"u":18446744073709551615})");
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->at("n").as_int64(), 1);
  EXPECT_EQ(ok->at("u").as_uint64(), 18446744073709551615ULL);
  EXPECT_EQ(ok->at("s"), "x");
}

TEST(Jws, SignAndVerifyAreSafeFromManyThreads) {
  const PrivateKey& rsa = cached_key(Alg::kRS256);
  const PrivateKey& ec = cached_key(Alg::kES256);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 30; ++i) {
        const std::string input = "thread" + std::to_string(t) + "." + std::to_string(i);
        for (const PrivateKey* k : {&rsa, &ec}) {
          const Alg alg = k == &rsa ? Alg::kRS256 : Alg::kES256;
          auto sig = sign(*k, alg, input);
          if (!sig || !verify_signature(k->public_key(), alg, input, *sig) ||
              verify_signature(k->public_key(), alg, input + "!", *sig)) {
            ++failures;
          }
        }
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  EXPECT_EQ(failures.load(), 0);
}

TEST(Sha256, KnownAnswer) {
  // FIPS 180-2 "abc".
  EXPECT_EQ(b64(sha256("abc")), "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
}

}  // namespace
}  // namespace latchkey::crypto
