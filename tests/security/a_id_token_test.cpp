// Catalog §2.A: hostile ID tokens and UserInfo. Every negative case: the attempt fails with
// oauth_id_token_invalid (the precise reason only in the audit log: design.md §3.3, no oracle),
// no user/email/external account/session row changes, the callback sets no cookie, userinfo is
// never called with an unvalidated token. Positive controls (A19, A20, A21, A25) must sign in.
#include "sec_fixture.hpp"

namespace latchkey::sec {
namespace {

TEST_F(Sec, A1_iss_mismatch) {
  // Trailing slash and a suffix-extended host: byte-exact comparison, no normalisation.
  for (const std::string& suffix : std::vector<std::string>{"/", ".evil"}) {
    idp->script([&](ScriptIdp& i) {
      i.id_token_hook = [iss = i.issuer() + suffix](json::object&, json::object& c) {
        c["iss"] = iss;
      };
    });
    server.reset();
    dir = std::make_unique<it::TempDir>();
    hostile_id_token("iss");
  }
}

TEST_F(Sec, A2_aud_other_client) {
  idp->id_token_hook = [](json::object&, json::object& c) {
    c["aud"] = "another-client";
    c.erase("azp");
  };
  hostile_id_token("aud");
}

TEST_F(Sec, A3_aud_absent) {
  idp->id_token_hook = [](json::object&, json::object& c) { c.erase("aud"); };
  hostile_id_token("aud");
}

TEST_F(Sec, A3b_secondary_untrusted_aud_without_azp) {
  // FAPI2 invalid-secondary-aud: [us, unknown] without azp is refused (OIDC Core 3.1.3.7 s.4-5).
  idp->id_token_hook = [](json::object&, json::object& c) {
    c["aud"] = json::array{ScriptIdp::kClientId, "unknown-client"};
  };
  hostile_id_token("azp");
}

TEST_F(Sec, A6_sub_absent_empty_or_too_long) {
  for (int variant = 0; variant < 3; ++variant) {
    idp->script([&](ScriptIdp& i) {
      i.id_token_hook = [variant](json::object&, json::object& c) {
        if (variant == 0) {
          c.erase("sub");
        } else if (variant == 1) {
          c["sub"] = "";
        } else {
          c["sub"] = std::string(256, 's');
        }
      };
    });
    server.reset();
    dir = std::make_unique<it::TempDir>();
    hostile_id_token("sub");
  }
}

TEST_F(Sec, A7_iat_absent) {
  idp->id_token_hook = [](json::object&, json::object& c) { c.erase("iat"); };
  hostile_id_token("iat");
}

TEST_F(Sec, A10_exp_expired_or_absent) {
  for (const bool absent : {false, true}) {
    idp->script([&](ScriptIdp& i) {
      i.id_token_hook = [absent](json::object&, json::object& c) {
        if (absent) {
          c.erase("exp");
        } else {
          c["exp"] = static_cast<std::int64_t>(std::time(nullptr)) - 600;
        }
      };
    });
    server.reset();
    dir = std::make_unique<it::TempDir>();
    hostile_id_token("exp");
  }
}

TEST_F(Sec, A11_nonce_mismatch) {
  idp->id_token_hook = [](json::object&, json::object& c) { c["nonce"] = "not-the-nonce-we-sent"; };
  hostile_id_token("nonce");
}

TEST_F(Sec, A11b_nonce_absent) {
  idp->id_token_hook = [](json::object&, json::object& c) { c.erase("nonce"); };
  hostile_id_token("nonce");
}

TEST_F(Sec, A13_alg_none_any_case) {
  for (const std::string& alg : std::vector<std::string>{"none", "None", "NONE"}) {
    idp->script([&](ScriptIdp& i) {
      i.sign_mode_ = Sign::kAlgNone;
      i.id_token_hook = [alg](json::object& h, json::object&) { h["alg"] = alg; };
    });
    server.reset();
    dir = std::make_unique<it::TempDir>();
    hostile_id_token("alg");
  }
}

TEST_F(Sec, A14_rs256_flipped_signature_byte) {
  idp->sign_mode_ = Sign::kCorruptSignature;
  hostile_id_token("signature");
}

TEST_F(Sec, A14b_signed_by_a_key_not_in_the_jwks) {
  idp->sign_mode_ = Sign::kOtherRsaKey;
  hostile_id_token("signature");
}

TEST_F(Sec, A17_hs256_corrupted_mac_never_accepted) {
  // HS* is never registered (crypto::Alg has no HS value): the token is refused on its alg before
  // any key is touched, which also rules out RSA-public-key-as-HMAC-secret confusion.
  idp->sign_mode_ = Sign::kHs256ClientSecret;
  hostile_id_token("alg");
}

TEST_F(Sec, A17b_alternate_alg_es256_not_advertised) {
  // FAPI2 invalid-alternate-alg: signed with an alg the provider did not announce.
  idp->sign_mode_ = Sign::kEs256;
  idp->keys_.push_back({&ec_key(), "ec1", crypto::Alg::kES256});
  idp->sign_kid_ = "ec1";
  hostile_id_token("alg");
}

TEST_F(Sec, A19_no_kid_single_key_accepted) {
  idp->sign_kid_ = "";
  idp->keys_ = {{&rsa_key(1), "", crypto::Alg::kRS256}};
  start();
  Browser b = browser();
  expect_accepted(b, round_trip(b, User{}));
}

TEST_F(Sec, A20_no_kid_three_keys_one_verifies) {
  idp->sign_kid_ = "";
  idp->sign_key_ = &rsa_key(2);
  idp->keys_ = {{&rsa_key(3), "x3", crypto::Alg::kRS256},
                {&rsa_key(1), "x1", crypto::Alg::kRS256},
                {&rsa_key(2), "x2", crypto::Alg::kRS256}};
  start();
  Browser b = browser();
  expect_accepted(b, round_trip(b, User{}));
}

TEST_F(Sec, A20b_no_kid_no_candidate_verifies) {
  idp->sign_kid_ = "";
  idp->sign_mode_ = Sign::kOtherRsaKey;
  idp->keys_ = {{&rsa_key(1), "x1", crypto::Alg::kRS256}, {&rsa_key(2), "x2", crypto::Alg::kRS256}};
  hostile_id_token("signature");
}

TEST_F(Sec, A21_key_rotation_refetches_jwks_once) {
  start();
  Browser first = browser();
  expect_accepted(first, round_trip(first, User{}));
  const int jwks_before = idp->calls("/jwks");
  // The provider rotates: new key k2 signs, the JWKS now lists it. Our cached JWKS lacks k2.
  idp->script([](ScriptIdp& i) {
    i.keys_ = {{&rsa_key(2), "k2", crypto::Alg::kRS256}};
    i.sign_kid_ = "k2";
    i.sign_key_ = &rsa_key(2);
  });
  Browser second = browser();
  expect_accepted(second, round_trip(second, User{"idp-user-2", "bob@example.com"}));
  EXPECT_EQ(idp->calls("/jwks"), jwks_before + 1);
  // A kid that still is unknown after the (rate-limited) refetch fails closed.
  idp->script([](ScriptIdp& i) { i.sign_kid_ = "k-unknown"; });
  Browser third = browser();
  const Rows before = rows();
  auto cb = round_trip(third, User{"idp-user-3", "eve@example.com"});
  expect_failed_attempt(third, cb, before, "oauth_id_token_invalid", "reason=kid");
  EXPECT_LE(idp->calls("/jwks"), jwks_before + 2) << "JWKS refetch is not rate-limited";
}

TEST_F(Sec, A24_wrong_at_hash) {
  // Code flow: at_hash is optional, but when present it must match (OIDC Core 3.1.3.8).
  idp->id_token_hook = [](json::object&, json::object& c) {
    c["at_hash"] = "AAAAAAAAAAAAAAAAAAAAAA";
  };
  hostile_id_token("at_hash");
}

TEST_F(Sec, A25_aud_as_one_element_array_accepted) {
  idp->id_token_hook = [](json::object&, json::object& c) {
    c["aud"] = json::array{ScriptIdp::kClientId};
  };
  start();
  Browser b = browser();
  expect_accepted(b, round_trip(b, User{}));
}

TEST_F(Sec, A26_userinfo_sub_differs) {
  // The ID token carries no email, so userinfo is consulted; its sub belongs to someone else.
  idp->id_token_hook = [](json::object&, json::object& c) {
    c.erase("email");
    c.erase("email_verified");
  };
  idp->userinfo_hook = [](json::object& info) {
    info["sub"] = "someone-else";
    info["email"] = "victim@example.com";
  };
  start();
  Browser b = browser();
  const Rows before = rows();
  auto cb = round_trip(b, User{});
  expect_failed_attempt(b, cb, before, "oauth_id_token_invalid", "reason=userinfo_sub");
  EXPECT_EQ(idp->userinfo_calls(), 1);
}

TEST_F(Sec, A27_discovery_issuer_mismatch) {
  idp->discovery_hook = [](json::object& d) { d["issuer"] = "https://accounts.evil.example"; };
  start();
  Browser b = browser();
  const Rows before = rows();
  auto r = start_sign_in(b);
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_EQ(it::str(it::error_of(r), "code"), "oauth_provider_unavailable");
  EXPECT_FALSE(set_cookie_named(r, "__client"));
  EXPECT_TRUE(b.client().is_null());
  EXPECT_EQ(rows(), before);
  EXPECT_EQ(idp->calls("/jwks"), 0);
}

TEST_F(Sec, A29_access_denied_with_script_description) {
  start();
  Browser b = browser();
  const Rows before = rows();
  auto started = start_sign_in(b);
  auto g = idp->authorize(auth_url_of(started), User{});
  const std::string description =
      "<script>alert(1)</script>\r\nX-Injected: 1" + std::string(2000, 'x');
  auto cb = callback(
      b, {{"error", "access_denied"}, {"error_description", description}, {"state", g.state}});
  expect_failed_attempt(b, cb, before, "oauth_access_denied", "code=oauth_access_denied");
  EXPECT_EQ(idp->token_calls(), 0);
  const std::string logs = server->logs();
  EXPECT_EQ(logs.find("<script>alert(1)</script>\r\n"), std::string::npos);
  EXPECT_EQ(logs.find(std::string(300, 'x')), std::string::npos) << "description not truncated";
  for (const auto& body : b.bodies()) {
    EXPECT_EQ(body.find("<script>"), std::string::npos) << body;
  }
}

TEST_F(Sec, A32_malformed_jwt_shapes) {
  const std::vector<std::function<std::string(const std::string&)>> shapes = {
      [](const std::string& t) { return t.substr(0, t.rfind('.')); },          // 2 segments
      [](const std::string& t) { return t + ".extra"; },                       // 4 segments
      [](const std::string& t) { return ".." + t.substr(t.rfind('.') + 1); },  // empty segments
      [](const std::string& t) { return t.substr(0, 10) + "+/=" + t.substr(13); },  // non-base64url
      [](const std::string& t) {  // payload not a JSON object
        return t.substr(0, t.find('.')) + "." + b64("[1,2,3]") + t.substr(t.rfind('.'));
      },
      [](const std::string&) { return std::string(64 * 1024, 'a'); },  // over the 16 KiB cap
  };
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    SCOPED_TRACE("shape " + std::to_string(i));
    idp->script([&](ScriptIdp& x) { x.id_token_transform = shapes[i]; });
    server.reset();
    dir = std::make_unique<it::TempDir>();
    start();
    Browser b = browser();
    const Rows before = rows();
    auto cb = round_trip(b, User{});
    expect_failed_attempt(b, cb, before, "oauth_id_token_invalid",
                          i + 1 == shapes.size() ? "reason=malformed" : "reason=");
  }
}

TEST_F(Sec, A33_email_verified_variants) {
  // Only boolean true (or Apple's string "true") counts as verified; the rest never links.
  start();
  Browser owner = browser();
  sign_up_user(owner, User{"owner-sub", "victim@example.com", true});
  int n = 0;
  for (const json::value& v :
       {json::value("false"), json::value(1), json::value("yes"), json::value(nullptr)}) {
    SCOPED_TRACE(json::serialize(v));
    idp->script([&](ScriptIdp& i) {
      i.id_token_hook = [v](json::object&, json::object& c) {
        if (v.is_null()) {
          c.erase("email_verified");
        } else {
          c["email_verified"] = v;
        }
      };
    });
    Browser b = browser();
    const Rows before = rows();
    auto cb = round_trip(b, User{"attacker-" + std::to_string(++n), "victim@example.com", true});
    expect_failed_attempt(b, cb, before, "external_account_email_unverified", "");
  }
}

TEST_F(Sec, A34_microsoft_tenant_iss_mismatch) {
  idp = std::make_unique<ScriptIdp>("/common/v2.0");
  const std::string tmpl = idp->base() + "/{tenantid}/v2.0";
  idp->discovery_hook = [tmpl](json::object& d) { d["issuer"] = tmpl; };
  // The token claims tenant A but its iss names tenant B.
  idp->id_token_hook = [base = idp->base()](json::object&, json::object& c) {
    c["tid"] = "aaaaaaaa-1111";
    c["iss"] = base + "/bbbbbbbb-2222/v2.0";
  };
  start({}, idp->microsoft_env());
  Browser b = browser();
  const Rows before = rows();
  auto cb = round_trip(b, User{}, "oauth_microsoft");
  expect_failed_attempt(b, cb, before, "oauth_id_token_invalid", "reason=iss");
}

TEST_F(Sec, A34b_microsoft_tid_absent) {
  idp = std::make_unique<ScriptIdp>("/common/v2.0");
  const std::string tmpl = idp->base() + "/{tenantid}/v2.0";
  idp->discovery_hook = [tmpl](json::object& d) { d["issuer"] = tmpl; };
  idp->id_token_hook = [base = idp->base()](json::object&, json::object& c) {
    c["iss"] = base + "/aaaaaaaa-1111/v2.0";
  };
  start({}, idp->microsoft_env());
  Browser b = browser();
  const Rows before = rows();
  auto cb = round_trip(b, User{}, "oauth_microsoft");
  expect_failed_attempt(b, cb, before, "oauth_id_token_invalid", "reason=tid");
}

}  // namespace
}  // namespace latchkey::sec
