// KeyRing against the real SQLite store: creation, restart, rotation, pruning, JWKS, JWT checks.
#include "tokens/key_ring.hpp"

#include <gtest/gtest.h>

#include <set>

#include <atomic>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "app/store_key_store.hpp"
#include "core/base64.hpp"
#include "crypto/crypto.hpp"
#include "support/temp_dir.hpp"

namespace latchkey::tokens {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using test::TempDir;

core::Secret master() { return core::Secret(std::string(32, 'm')); }

std::unique_ptr<store::Store> open_store(const std::filesystem::path& file) {
  auto s = store::open_sqlite(file.string());
  if (!s) {
    ADD_FAILURE() << "open_sqlite: " << s.error().internal;
    return nullptr;
  }
  auto m = (*s)->migrate();
  EXPECT_TRUE(m.has_value()) << (m ? "" : m.error().internal);
  return std::move(*s);
}

std::vector<store::SigningKey> rows_of(store::Store& s) {
  std::vector<store::SigningKey> rows;
  auto st = s.read([&](store::Tx& tx) -> core::Status {
    auto r = tx.list_signing_keys();
    if (!r) {
      return std::unexpected(r.error());
    }
    rows = *r;
    return {};
  });
  EXPECT_TRUE(st.has_value());
  return rows;
}

json::object decode_part(std::string_view jwt, int part) {
  std::size_t start = 0;
  for (int i = 0; i < part; ++i) {
    start = jwt.find('.', start) + 1;
  }
  const std::size_t end = jwt.find('.', start);
  return json::parse(*core::base64url_decode(jwt.substr(start, end - start))).as_object();
}

// Hand-signs a JWT with arbitrary header text, for hostile-header tests.
std::string forge(const crypto::PrivateKey& key, crypto::Alg alg, std::string_view header,
                  const json::object& claims) {
  std::string input =
      core::base64url_encode(header) + "." + core::base64url_encode(json::serialize(claims));
  auto sig = crypto::sign(key, alg, input);
  return input + "." + core::base64url_encode(*sig);
}

class KeyRingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = open_store(db_file());
    ASSERT_NE(store_, nullptr);
  }

  [[nodiscard]] std::filesystem::path db_file() const { return dir_.path() / "latchkey.db"; }

  // Most tests want a rotated-in key to sign at once; the staged-rotation tests set the delay.
  static KeyRingOptions instant() {
    KeyRingOptions k;
    k.activation_delay = std::chrono::seconds(0);
    return k;
  }
  static KeyRingOptions staged(std::chrono::seconds delay) {
    KeyRingOptions k;
    k.activation_delay = delay;
    return k;
  }

  std::unique_ptr<KeyRing> ring(KeyRingOptions keys = instant(), store::Store* s = nullptr) {
    return std::make_unique<KeyRing>(key_store(s ? *s : *store_), clock_, random_, master(),
                                     std::move(keys));
  }

  // The rings keep their keys in the SQLite store through the application's adapter.
  KeyStore& key_store(store::Store& s) {
    key_stores_.push_back(std::make_unique<app::StoreKeyStore>(s));
    return *key_stores_.back();
  }

  [[nodiscard]] json::object claims(std::int64_t exp_in_s = 60) const {
    const std::int64_t now = clock_.now_s();
    return json::object{{"sub", "user_1"},
                        {"sid", "sess_1"},
                        {"iat", now},
                        {"nbf", now - 5},
                        {"exp", now + exp_in_s}};
  }

  TempDir dir_;
  core::ManualClock clock_;
  core::SystemRandom random_;
  std::unique_ptr<store::Store> store_;
  std::vector<std::unique_ptr<app::StoreKeyStore>> key_stores_;
};

TEST_F(KeyRingTest, FirstStartCreatesOneSealedActiveKey) {
  auto kr = ring();
  ASSERT_TRUE(kr->load_or_create().has_value());
  const auto keys = kr->list();
  ASSERT_EQ(keys.size(), 1U);
  EXPECT_TRUE(keys[0].active);
  EXPECT_EQ(keys[0].alg, "RS256");
  EXPECT_EQ(keys[0].created_at_ms, clock_.now_ms());
  EXPECT_FALSE(keys[0].retired_at_ms.has_value());
  EXPECT_EQ(kr->active_kid(), keys[0].kid);

  const auto rows = rows_of(*store_);
  ASSERT_EQ(rows.size(), 1U);
  EXPECT_EQ(rows[0].kid, keys[0].kid);
  EXPECT_TRUE(rows[0].active);
  // Private key sealed at rest, bound to its kid.
  EXPECT_TRUE(rows[0].private_key_enc.starts_with("v1."));
  EXPECT_EQ(rows[0].private_key_enc.find("PRIVATE KEY"), std::string::npos);
  const crypto::Sealer sealer(master());
  auto pem = sealer.open(rows[0].private_key_enc, "signing-key:" + rows[0].kid);
  ASSERT_TRUE(pem.has_value());
  auto priv = crypto::private_key_from_pem(*pem);
  ASSERT_TRUE(priv.has_value());
  EXPECT_EQ(priv->public_key().bits(), 2048U);
  // kid is the RFC 7638 thumbprint of the key.
  EXPECT_EQ(crypto::jwk_thumbprint(priv->public_key()), rows[0].kid);
  EXPECT_EQ(json::parse(rows[0].public_jwk).as_object().count("d"), 0U);
}

TEST_F(KeyRingTest, RestartKeepsTheSameKid) {
  auto first = ring();
  ASSERT_TRUE(first->load_or_create().has_value());
  const std::string kid = first->active_kid();
  auto token = first->sign_jwt(claims());
  ASSERT_TRUE(token.has_value());

  auto second = ring();
  ASSERT_TRUE(second->load_or_create().has_value());
  EXPECT_EQ(second->active_kid(), kid);
  EXPECT_EQ(rows_of(*store_).size(), 1U);
  EXPECT_TRUE(second->verify_jwt(*token).has_value());
  // Reopening the database file (a process restart) keeps it too.
  store_.reset();
  store_ = open_store(db_file());
  auto third = ring();
  ASSERT_TRUE(third->load_or_create().has_value());
  EXPECT_EQ(third->active_kid(), kid);
}

TEST_F(KeyRingTest, ConcurrentFirstStartsEndWithOneActiveKey) {
  // Separate store handles on one file, as two processes would have.
  constexpr int kStarters = 4;
  std::vector<std::unique_ptr<store::Store>> stores;
  std::vector<std::unique_ptr<KeyRing>> rings;
  for (int i = 0; i < kStarters; ++i) {
    stores.push_back(open_store(db_file()));
    rings.push_back(ring(instant(), stores.back().get()));
  }
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (auto& r : rings) {
    threads.emplace_back([&r, &failures] {
      if (!r->load_or_create()) {
        ++failures;
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(failures.load(), 0);
  const auto rows = rows_of(*store_);
  ASSERT_EQ(rows.size(), 1U);
  for (auto& r : rings) {
    EXPECT_EQ(r->active_kid(), rows[0].kid);
  }
}

TEST_F(KeyRingTest, SignedJwtHasTheExpectedHeaderAndVerifies) {
  auto kr = ring();
  ASSERT_TRUE(kr->load_or_create().has_value());
  auto token = kr->sign_jwt(claims());
  ASSERT_TRUE(token.has_value());
  const json::object header = decode_part(*token, 0);
  EXPECT_EQ(header.size(), 3U);
  EXPECT_EQ(header.at("alg"), "RS256");
  EXPECT_EQ(header.at("kid").as_string(), kr->active_kid());
  EXPECT_EQ(header.at("typ"), "JWT");
  EXPECT_EQ(decode_part(*token, 1), claims());
  auto verified = kr->verify_jwt(*token);
  ASSERT_TRUE(verified.has_value()) << verified.error().internal;
  EXPECT_EQ(verified->at("sub"), "user_1");
  // The published JWKS alone is enough to verify it (what a backend SDK does).
  auto jwks = crypto::parse_jwks(kr->jwks_json());
  ASSERT_TRUE(jwks.has_value());
  ASSERT_EQ(jwks->size(), 1U);
  auto jws = crypto::decode_jws(*token);
  ASSERT_TRUE(jws.has_value());
  EXPECT_TRUE(crypto::verify_signature((*jwks)[0].key, crypto::Alg::kRS256, jws->signing_input,
                                       jws->signature));
}

TEST_F(KeyRingTest, JwksHasOnlyPublicMembers) {
  auto kr = ring();
  ASSERT_TRUE(kr->load_or_create().has_value());
  ASSERT_TRUE(kr->rotate().has_value());
  const json::object doc = json::parse(kr->jwks_json()).as_object();
  EXPECT_EQ(doc.size(), 1U);
  const auto& keys = doc.at("keys").as_array();
  ASSERT_EQ(keys.size(), 2U);
  for (const auto& k : keys) {
    const auto& o = k.as_object();
    EXPECT_EQ(o.size(), 6U) << json::serialize(o);
    for (std::string_view member : {"kty", "kid", "alg", "use", "n", "e"}) {
      EXPECT_TRUE(o.contains(member)) << member;
    }
    for (std::string_view member : {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}) {
      EXPECT_FALSE(o.contains(member)) << member;
    }
    EXPECT_EQ(o.at("kty"), "RSA");
    EXPECT_EQ(o.at("alg"), "RS256");
    EXPECT_EQ(o.at("use"), "sig");
  }
  // Served from cache: the same document object until the key set changes.
  EXPECT_EQ(kr->jwks().get(), kr->jwks().get());
}

TEST_F(KeyRingTest, RotatePublishesBothSignsWithNewAndOldTokensStillVerify) {
  auto kr = ring();
  ASSERT_TRUE(kr->load_or_create().has_value());
  const std::string old_kid = kr->active_kid();
  auto old_token = kr->sign_jwt(claims());
  ASSERT_TRUE(old_token.has_value());
  const auto before = kr->jwks();

  clock_.advance(10s);
  auto new_kid = kr->rotate();
  ASSERT_TRUE(new_kid.has_value()) << new_kid.error().internal;
  EXPECT_NE(*new_kid, old_kid);
  EXPECT_EQ(kr->active_kid(), *new_kid);
  EXPECT_NE(kr->jwks().get(), before.get());

  const auto jwks = crypto::parse_jwks(kr->jwks_json());
  ASSERT_TRUE(jwks.has_value());
  ASSERT_EQ(jwks->size(), 2U);
  EXPECT_EQ((*jwks)[0].kid, *new_kid);
  EXPECT_EQ((*jwks)[1].kid, old_kid);

  auto new_token = kr->sign_jwt(claims());
  ASSERT_TRUE(new_token.has_value());
  EXPECT_EQ(decode_part(*new_token, 0).at("kid").as_string(), *new_kid);
  EXPECT_TRUE(kr->verify_jwt(*new_token).has_value());
  auto old_ok = kr->verify_jwt(*old_token);
  EXPECT_TRUE(old_ok.has_value()) << old_ok.error().internal;

  const auto list = kr->list();
  ASSERT_EQ(list.size(), 2U);
  EXPECT_EQ(list[0].kid, *new_kid);
  EXPECT_TRUE(list[0].active);
  EXPECT_EQ(list[1].kid, old_kid);
  EXPECT_FALSE(list[1].active);
  EXPECT_EQ(list[1].retired_at_ms, clock_.now_ms());

  const auto rows = rows_of(*store_);
  ASSERT_EQ(rows.size(), 2U);
  int active = 0;
  for (const auto& r : rows) {
    active += r.active ? 1 : 0;
  }
  EXPECT_EQ(active, 1);
}

TEST_F(KeyRingTest, RetiredKeyIsPrunedAfterRetireAfter) {
  KeyRingOptions keys;
  keys.retire_after = 3600s;
  auto kr = ring(keys);
  ASSERT_TRUE(kr->load_or_create().has_value());
  const std::string old_kid = kr->active_kid();
  auto old_token = kr->sign_jwt(claims(/*exp_in_s=*/100'000));
  ASSERT_TRUE(old_token.has_value());
  ASSERT_TRUE(kr->rotate().has_value());

  clock_.advance(3599s);
  EXPECT_EQ(crypto::parse_jwks(kr->jwks_json())->size(), 2U);
  EXPECT_TRUE(kr->verify_jwt(*old_token).has_value());

  clock_.advance(2s);
  // Pruned from the published set without any reload...
  const auto jwks = crypto::parse_jwks(kr->jwks_json());
  ASSERT_EQ(jwks->size(), 1U);
  EXPECT_EQ((*jwks)[0].kid, kr->active_kid());
  EXPECT_EQ(rows_of(*store_).size(), 2U);
  // ...and deleted from the store on reload (here: the one an unknown kid triggers).
  auto refused = kr->verify_jwt(*old_token);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().internal, "unknown_kid");
  ASSERT_TRUE(kr->reload().has_value());
  const auto rows = rows_of(*store_);
  ASSERT_EQ(rows.size(), 1U);
  EXPECT_NE(rows[0].kid, old_kid);
  EXPECT_EQ(kr->list().size(), 1U);
}

TEST_F(KeyRingTest, RotateDeletesKeysPastTheirWindow) {
  auto kr = ring();
  ASSERT_TRUE(kr->load_or_create().has_value());
  ASSERT_TRUE(kr->rotate().has_value());
  clock_.advance(2h);
  ASSERT_TRUE(kr->rotate().has_value());
  // The first key is gone; the second is retired but still published; the third signs.
  EXPECT_EQ(rows_of(*store_).size(), 2U);
  EXPECT_EQ(crypto::parse_jwks(kr->jwks_json())->size(), 2U);
}

TEST_F(KeyRingTest, UnknownKidReloadsRotationFromAnotherProcessRateLimited) {
  auto a = ring();
  ASSERT_TRUE(a->load_or_create().has_value());
  auto other_store = open_store(db_file());
  auto b = ring(instant(), other_store.get());
  ASSERT_TRUE(b->load_or_create().has_value());
  ASSERT_EQ(a->active_kid(), b->active_kid());

  ASSERT_TRUE(b->rotate().has_value());
  auto t1 = b->sign_jwt(claims());
  ASSERT_TRUE(t1.has_value());
  // `a` has never seen the new kid: it reloads once and accepts.
  auto ok = a->verify_jwt(*t1);
  ASSERT_TRUE(ok.has_value()) << ok.error().internal;
  EXPECT_EQ(a->active_kid(), b->active_kid());

  // A second rotation right away: within the cooldown, no reload, refused.
  ASSERT_TRUE(b->rotate().has_value());
  auto t2 = b->sign_jwt(claims());
  ASSERT_TRUE(t2.has_value());
  auto refused = a->verify_jwt(*t2);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().internal, "unknown_kid");
  // After the cooldown an unknown kid may reload again, and the token verifies.
  clock_.advance(std::chrono::milliseconds(KeyRing::kReloadCooldownMs + 1));
  auto later = a->verify_jwt(*t2);
  EXPECT_TRUE(later.has_value()) << later.error().internal;
}

std::string kid_of(const std::string& jwt) {
  auto jws = crypto::decode_jws(jwt);
  return jws && jws->kid ? *jws->kid : std::string();
}

std::set<std::string> published_kids(const KeyRing& kr) {
  std::set<std::string> out;
  const auto jwks = crypto::parse_jwks(kr.jwks_json());
  EXPECT_TRUE(jwks.has_value());
  if (jwks) {
    for (const auto& k : *jwks) {
      out.insert(k.kid);
    }
  }
  return out;
}

// Staged rotation (keys.activation_delay): the new key is published at once and signs only once
// the delay has passed; until then the key it replaced signs. The switch needs no reload.
TEST_F(KeyRingTest, RotatedInKeyIsPublishedAtOnceAndSignsAfterTheActivationDelay) {
  auto kr = ring(staged(std::chrono::seconds(15)));
  ASSERT_TRUE(kr->load_or_create().has_value());
  const std::string old_kid = kr->active_kid();
  // A key with no predecessor (first start) signs at once.
  EXPECT_EQ(kid_of(*kr->sign_jwt(claims())), old_kid);

  auto new_kid = kr->rotate();
  ASSERT_TRUE(new_kid.has_value());
  EXPECT_EQ(published_kids(*kr), (std::set<std::string>{old_kid, *new_kid}));
  EXPECT_EQ(kr->active_kid(), old_kid);
  EXPECT_EQ(kid_of(*kr->sign_jwt(claims())), old_kid);
  for (const auto& k : kr->list()) {
    EXPECT_EQ(k.active, k.kid == *new_kid) << k.kid;
    EXPECT_EQ(k.signing, k.kid == old_kid) << k.kid;
  }

  clock_.advance(std::chrono::milliseconds(14'999));
  EXPECT_EQ(kid_of(*kr->sign_jwt(claims())), old_kid);
  clock_.advance(std::chrono::milliseconds(1));
  auto token = kr->sign_jwt(claims());
  ASSERT_TRUE(token.has_value());
  EXPECT_EQ(kid_of(*token), *new_kid);
  EXPECT_EQ(kr->active_kid(), *new_kid);
  EXPECT_TRUE(kr->verify_jwt(*token).has_value());
  EXPECT_EQ(published_kids(*kr), (std::set<std::string>{old_kid, *new_kid}));
}

TEST_F(KeyRingTest, AClockSteppedBackKeepsSigningWithAPublishedKeyAndPositiveLifetimes) {
  auto kr = ring(staged(std::chrono::seconds(15)));
  ASSERT_TRUE(kr->load_or_create().has_value());
  const std::string old_kid = kr->active_kid();
  auto new_kid = kr->rotate();
  ASSERT_TRUE(new_kid.has_value());
  clock_.advance(std::chrono::seconds(20));
  EXPECT_EQ(kid_of(*kr->sign_jwt(claims())), *new_kid);
  // The wall clock steps back 5 minutes: before the new key's activation again, so the key it
  // replaced signs - and that one is still published, so every token verifies.
  clock_.set(clock_.now() - std::chrono::minutes(5));
  for (int i = 0; i < 2; ++i) {
    auto token = kr->sign_jwt(claims());
    ASSERT_TRUE(token.has_value());
    EXPECT_TRUE(published_kids(*kr).contains(kid_of(*token)));
    auto verified = kr->verify_jwt(*token, 0);
    ASSERT_TRUE(verified.has_value()) << verified.error().internal;
    EXPECT_GT(verified->at("exp").as_int64(), verified->at("iat").as_int64());
    // A rotation on the stepped clock keeps the signing key published too.
    ASSERT_TRUE(kr->rotate().has_value());
    EXPECT_TRUE(published_kids(*kr).contains(old_kid) || published_kids(*kr).contains(*new_kid));
  }
}

// The multi-node case it exists for: node b rotates; node a re-reads the keys on its periodic
// reload (every 5 s in the server) and so knows the new key before any token it signs exists.
TEST_F(KeyRingTest, AnotherNodeKnowsTheNewKeyBeforeItSignsAnything) {
  auto a = ring(staged(std::chrono::seconds(15)));
  ASSERT_TRUE(a->load_or_create().has_value());
  auto other_store = open_store(db_file());
  auto b = ring(staged(std::chrono::seconds(15)), other_store.get());
  ASSERT_TRUE(b->load_or_create().has_value());
  const std::string old_kid = a->active_kid();

  auto new_kid = b->rotate();
  ASSERT_TRUE(new_kid.has_value());
  // Before a's reload: b still signs with the old key, which a knows.
  auto early = b->sign_jwt(claims());
  ASSERT_TRUE(early.has_value());
  EXPECT_EQ(kid_of(*early), old_kid);
  EXPECT_TRUE(a->verify_jwt(*early).has_value());
  EXPECT_FALSE(published_kids(*a).contains(*new_kid));

  clock_.advance(std::chrono::seconds(5));
  ASSERT_TRUE(a->reload().has_value());
  EXPECT_TRUE(published_kids(*a).contains(*new_kid));  // a's JWKS has it 10 s before it signs
  EXPECT_EQ(a->active_kid(), old_kid);                 // and a, too, keeps the old one until then

  clock_.advance(std::chrono::seconds(10));
  auto later = b->sign_jwt(claims());
  ASSERT_TRUE(later.has_value());
  EXPECT_EQ(kid_of(*later), *new_kid);
  EXPECT_EQ(a->active_kid(), *new_kid);
  EXPECT_TRUE(a->verify_jwt(*later).has_value());
}

// A restart within the delay keeps the same staging: it is computed from the stored rows.
TEST_F(KeyRingTest, StagingSurvivesARestart) {
  std::string old_kid;
  std::string new_kid;
  {
    auto kr = ring(staged(std::chrono::seconds(15)));
    ASSERT_TRUE(kr->load_or_create().has_value());
    old_kid = kr->active_kid();
    new_kid = *kr->rotate();
  }
  clock_.advance(std::chrono::seconds(3));
  auto kr = ring(staged(std::chrono::seconds(15)));
  ASSERT_TRUE(kr->load_or_create().has_value());
  EXPECT_EQ(kr->active_kid(), old_kid);
  clock_.advance(std::chrono::seconds(12));
  EXPECT_EQ(kr->active_kid(), new_kid);
  EXPECT_EQ(kid_of(*kr->sign_jwt(claims())), new_kid);
}

TEST_F(KeyRingTest, TimeClaimsAreCheckedWithLeeway) {
  auto kr = ring();
  ASSERT_TRUE(kr->load_or_create().has_value());
  const std::int64_t now = clock_.now_s();
  auto sign = [&](json::object c) { return *kr->sign_jwt(c); };
  auto reason = [&](const std::string& t) {
    auto r = kr->verify_jwt(t);
    return r ? std::string("ok") : r.error().internal;
  };
  EXPECT_EQ(reason(sign({{"exp", now + 60}})), "ok");
  EXPECT_EQ(reason(sign({{"exp", now - 3}})), "ok");  // within 5 s leeway
  EXPECT_EQ(reason(sign({{"exp", now - 5}})), "expired");
  EXPECT_EQ(reason(sign({{"exp", now - 3600}})), "expired");
  EXPECT_EQ(reason(sign({{"sub", "x"}})), "exp_missing");
  EXPECT_EQ(reason(sign({{"exp", "tomorrow"}})), "exp_missing");
  EXPECT_EQ(reason(sign({{"exp", now + 60}, {"nbf", now + 3}})), "ok");
  EXPECT_EQ(reason(sign({{"exp", now + 60}, {"nbf", now + 30}})), "not_yet_valid");
  EXPECT_EQ(reason(sign({{"exp", now + 60}, {"nbf", "now"}})), "not_yet_valid");
  EXPECT_EQ(reason(sign({{"exp", now + 60}, {"iat", now + 30}})), "issued_in_future");
  EXPECT_EQ(reason(sign({{"exp", static_cast<double>(now) + 60.5}})), "ok");

  // The clock moves on: a 60 s token dies at exp + leeway.
  const std::string t = sign({{"exp", now + 60}});
  clock_.advance(64s);
  EXPECT_EQ(reason(t), "ok");
  clock_.advance(1s);
  EXPECT_EQ(reason(t), "expired");
  EXPECT_EQ(kr->verify_jwt(t, /*leeway_s=*/30).has_value(), true);
}

TEST_F(KeyRingTest, HostileTokensAreRefused) {
  auto kr = ring();
  ASSERT_TRUE(kr->load_or_create().has_value());
  const std::string kid = kr->active_kid();
  auto good = kr->sign_jwt(claims());
  ASSERT_TRUE(good.has_value());
  auto reason = [&](std::string_view t) {
    auto r = kr->verify_jwt(t);
    return r ? std::string("ok") : r.error().internal;
  };
  EXPECT_EQ(reason(*good), "ok");
  // Tampered payload / signature.
  std::string tampered = *good;
  tampered[tampered.find('.') + 5] ^= 0x01;
  EXPECT_NE(reason(tampered), "ok");
  std::string bad_sig = *good;
  bad_sig[bad_sig.size() - 3] = bad_sig[bad_sig.size() - 3] == 'A' ? 'B' : 'A';
  EXPECT_NE(reason(bad_sig), "ok");

  // Same RSA private key, but PS256 in the header: the key's alg is RS256, so refused.
  const crypto::Sealer sealer(master());
  const auto rows = rows_of(*store_);
  auto priv =
      crypto::private_key_from_pem(*sealer.open(rows[0].private_key_enc, "signing-key:" + kid));
  ASSERT_TRUE(priv.has_value());
  const std::string hdr_ps = R"({"alg":"PS256","kid":")" + kid + R"(","typ":"JWT"})";
  EXPECT_EQ(reason(forge(*priv, crypto::Alg::kPS256, hdr_ps, claims())), "alg_mismatch");
  // Correctly signed, but typ missing or different (a different token type).
  const std::string no_typ = R"({"alg":"RS256","kid":")" + kid + R"("})";
  EXPECT_EQ(reason(forge(*priv, crypto::Alg::kRS256, no_typ, claims())), "typ");
  const std::string at_typ = R"({"alg":"RS256","kid":")" + kid + R"(","typ":"at+jwt"})";
  EXPECT_EQ(reason(forge(*priv, crypto::Alg::kRS256, at_typ, claims())), "typ");
  // No kid.
  EXPECT_EQ(reason(forge(*priv, crypto::Alg::kRS256, R"({"alg":"RS256","typ":"JWT"})", claims())),
            "kid_missing");
  // Signed by a key we never published (another instance), with its own kid, or with ours.
  auto stranger = crypto::generate_key(crypto::Alg::kRS256);
  ASSERT_TRUE(stranger.has_value());
  const std::string their_kid = crypto::jwk_thumbprint(stranger->public_key());
  EXPECT_EQ(reason(forge(*stranger, crypto::Alg::kRS256,
                         R"({"alg":"RS256","kid":")" + their_kid + R"(","typ":"JWT"})", claims())),
            "unknown_kid");
  EXPECT_EQ(reason(forge(*stranger, crypto::Alg::kRS256,
                         R"({"alg":"RS256","kid":")" + kid + R"(","typ":"JWT"})", claims())),
            "signature");
  // alg none / HS256 with our kid: rejected before any key is used.
  const std::string none =
      core::base64url_encode(R"({"alg":"none","kid":")" + kid + R"(","typ":"JWT"})") + "." +
      core::base64url_encode(json::serialize(claims())) + ".";
  EXPECT_FALSE(kr->verify_jwt(none).has_value());
  // kid that looks like a path or SQL is just an unknown map key.
  EXPECT_EQ(
      reason(forge(*stranger, crypto::Alg::kRS256,
                   R"({"alg":"RS256","kid":"../../etc/passwd' OR 1=1","typ":"JWT"})", claims())),
      "unknown_kid");
  // Claims that are not a JSON object, or contain duplicates.
  std::string input =
      core::base64url_encode(R"({"alg":"RS256","kid":")" + kid + R"(","typ":"JWT"})") + "." +
      core::base64url_encode(R"({"exp":1,"exp":9999999999})");
  EXPECT_EQ(reason(input + "." +
                   core::base64url_encode(*crypto::sign(*priv, crypto::Alg::kRS256, input))),
            "malformed_claims");
}

TEST_F(KeyRingTest, WrongMasterKeyCannotLoadTheSigningKey) {
  auto kr = ring();
  ASSERT_TRUE(kr->load_or_create().has_value());
  KeyRing other(key_store(*store_), clock_, random_, core::Secret(std::string(32, 'x')),
                KeyRingOptions{});
  auto st = other.load_or_create();
  ASSERT_FALSE(st.has_value());
  EXPECT_NE(st.error().internal.find("decrypt"), std::string::npos);
  EXPECT_FALSE(other.sign_jwt(claims()).has_value());
  EXPECT_EQ(rows_of(*store_).size(), 1U);  // nothing was overwritten
}

TEST_F(KeyRingTest, ConfiguredAlgorithmIsUsed) {
  for (std::string_view alg : {"ES256", "EdDSA"}) {
    TempDir dir;
    auto s = open_store(dir.path() / "db.sqlite");
    KeyRingOptions keys;
    keys.algorithm = std::string(alg);
    auto kr = ring(keys, s.get());
    ASSERT_TRUE(kr->load_or_create().has_value()) << alg;
    auto t = kr->sign_jwt(claims());
    ASSERT_TRUE(t.has_value());
    EXPECT_EQ(decode_part(*t, 0).at("alg").as_string(), alg);
    EXPECT_TRUE(kr->verify_jwt(*t).has_value());
    EXPECT_EQ(kr->list()[0].alg, alg);
  }
  KeyRingOptions bad;
  bad.algorithm = "HS256";
  auto kr = ring(bad);
  auto st = kr->load_or_create();
  ASSERT_FALSE(st.has_value());
  EXPECT_NE(st.error().internal.find("keys.algorithm"), std::string::npos);
}

TEST_F(KeyRingTest, SignBeforeLoadIsAnErrorNotACrash) {
  auto kr = ring();
  EXPECT_FALSE(kr->sign_jwt(claims()).has_value());
  EXPECT_EQ(kr->jwks_json(), R"({"keys":[]})");
  EXPECT_TRUE(kr->list().empty());
}

TEST_F(KeyRingTest, ConcurrentSignVerifyDuringRotation) {
  auto kr = ring();
  ASSERT_TRUE(kr->load_or_create().has_value());
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::atomic<int> done{0};
  std::vector<std::thread> workers;
  for (int i = 0; i < 2; ++i) {
    workers.emplace_back([&] {
      while (!stop.load()) {
        auto t = kr->sign_jwt(claims());
        if (!t || !kr->verify_jwt(*t)) {
          ++failures;
        }
        (void)kr->jwks_json();
        ++done;
      }
    });
  }
  for (int r = 0; r < 3; ++r) {
    ASSERT_TRUE(kr->rotate().has_value());
  }
  while (done.load() < 50) {
    std::this_thread::yield();
  }
  stop = true;
  for (auto& w : workers) {
    w.join();
  }
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(crypto::parse_jwks(kr->jwks_json())->size(), 4U);
}

}  // namespace
}  // namespace latchkey::tokens
