// sessions/ in process, on a real (in-memory) SQLite store: the client credential and its
// rotation, and the session lifecycle rules every FAPI flow relies on.
#include "sessions/session_service.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>

#include "app/store_key_store.hpp"
#include "core/clock.hpp"
#include "core/random.hpp"
#include "sessions/clients.hpp"
#include "sessions/session_tokens.hpp"
#include "store/store.hpp"
#include "tokens/key_ring.hpp"

namespace latchkey::sessions {
namespace {

using namespace std::chrono_literals;
using core::Code;
using core::Status;

class SessionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::open_sqlite(store::SqliteOptions{.path = ":memory:", .pool_size = 1});
    ASSERT_TRUE(s) << s.error().internal;
    store_ = std::move(*s);
    ASSERT_TRUE(store_->migrate());
    tokens::KeyRingOptions keys;
    keys.algorithm = "ES256";  // no RSA generation: these tests are about sessions, not keys
    keys.activation_delay = 0s;
    key_store_ = std::make_unique<app::StoreKeyStore>(*store_);
    ring_ = std::make_unique<tokens::KeyRing>(*key_store_, clock_, random_,
                                              core::Secret(std::string(32, 'k')), keys);
    ASSERT_TRUE(ring_->load_or_create());
    tokens_ = std::make_unique<SessionTokens>(*ring_, clock_, TokenSettings{.issuer = "https://x"});
    clients_ = std::make_unique<Clients>(ClientSettings{.rotation_grace = 60s}, random_);
    service_ = std::make_unique<SessionService>(SessionSettings{.single_session_mode = true},
                                                *clients_, *tokens_, random_);
    ASSERT_TRUE(write([&](store::Tx& tx) -> Status {
      for (const char* id : {"user_a", "user_b"}) {
        store::User u;
        u.id = id;
        u.created_at_ms = u.updated_at_ms = now();
        if (auto st = tx.insert_user(u); !st) {
          return st;
        }
      }
      return {};
    }));
  }

  std::int64_t now() const { return clock_.now_ms(); }

  template <typename Fn>
  Status write(Fn&& fn) {
    return store_->transaction([&](store::Tx& tx) { return fn(tx); });
  }

  // A new anonymous client; returns its cookie value.
  std::string new_client(store::Client& out) {
    std::optional<std::string> issued;
    EXPECT_TRUE(write([&](store::Tx& tx) -> Status {
      auto c = clients_->find_or_create(tx, Caller{}, now(), issued);
      if (!c) {
        return core::fail(c.error());
      }
      out = *c;
      return {};
    }));
    EXPECT_TRUE(issued);
    return issued.value_or("");
  }

  // Signs `user` in on `client` (the client is written); returns the session id.
  std::string sign_in(store::Client& client, const std::string& user, std::string& cookie) {
    std::string sid;
    std::optional<std::string> issued;
    EXPECT_TRUE(write([&](store::Tx& tx) -> Status {
      auto s = service_->create(tx, client, user, now(), issued);
      if (!s) {
        return core::fail(s.error());
      }
      sid = *s;
      return tx.update_client(client);
    }));
    EXPECT_TRUE(issued) << "a sign-in must rotate the credential";
    if (issued) {
      cookie = *issued;
    }
    return sid;
  }

  // How the store resolves a cookie value now.
  core::Result<std::optional<store::Client>> lookup(const std::string& cookie) {
    core::Result<std::optional<store::Client>> out = std::optional<store::Client>();
    EXPECT_TRUE(store_->read([&](store::Tx& tx) -> Status {
      out = clients_->find(tx, Caller{.client_token = cookie}, now());
      return {};
    }));
    return out;
  }

  core::ManualClock clock_;
  core::SystemRandom random_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<app::StoreKeyStore> key_store_;
  std::unique_ptr<tokens::KeyRing> ring_;
  std::unique_ptr<SessionTokens> tokens_;
  std::unique_ptr<Clients> clients_;
  std::unique_ptr<SessionService> service_;
};

TEST_F(SessionsTest, SignInRotatesTheCredentialAndTheOldValueIsStaleThenUnknown) {
  store::Client client;
  const std::string anonymous = new_client(client);
  ASSERT_TRUE(lookup(anonymous)->has_value());
  std::string cookie;
  sign_in(client, "user_a", cookie);
  EXPECT_NE(cookie, anonymous);
  // Only a hash is stored, never the value.
  EXPECT_NE(client.cookie_token_hash, cookie);
  EXPECT_EQ(client.cookie_token_hash, Clients::hash_token(cookie));

  auto current = lookup(cookie);
  ASSERT_TRUE(current && current->has_value());
  EXPECT_EQ((*current)->id, client.id);
  auto stale = lookup(anonymous);
  ASSERT_FALSE(stale);
  EXPECT_TRUE(is_stale_credential(stale.error()));
  EXPECT_EQ(stale.error().code, Code::kAuthenticationInvalid);

  clock_.advance(61s);
  auto unknown = lookup(anonymous);
  ASSERT_TRUE(unknown);
  EXPECT_FALSE(unknown->has_value()) << "past the grace a stale copy is just unknown";
}

TEST_F(SessionsTest, AnAmbiguousOrOversizedCookieHasNoClient) {
  store::Client client;
  const std::string cookie = new_client(client);
  core::Result<std::optional<store::Client>> r = std::optional<store::Client>();
  ASSERT_TRUE(store_->read([&](store::Tx& tx) -> Status {
    r = clients_->find(tx, Caller{.client_token = cookie, .ambiguous_client_cookie = true}, now());
    return {};
  }));
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->has_value());
  EXPECT_FALSE(lookup(std::string(257, 'a'))->has_value());
  EXPECT_FALSE(lookup("")->has_value());
}

TEST_F(SessionsTest, SingleSessionModeReplacesTheOtherSessionAndForgetsItsToken) {
  store::Client client;
  new_client(client);
  std::string cookie;
  const std::string first = sign_in(client, "user_a", cookie);
  std::vector<store::Session> live;
  ASSERT_TRUE(store_->read([&](store::Tx& tx) -> Status {
    auto l = service_->live(tx, client.id, now());
    live = *l;
    return {};
  }));
  ASSERT_EQ(live.size(), 1U);
  auto token = service_->token(live[0], "https://app");
  ASSERT_TRUE(token);
  const std::string second = sign_in(client, "user_b", cookie);
  ASSERT_TRUE(store_->read([&](store::Tx& tx) -> Status {
    auto l = service_->live(tx, client.id, now());
    live = *l;
    auto replaced = tx.get_session(first);
    EXPECT_EQ((*replaced)->status, "replaced");
    return {};
  }));
  ASSERT_EQ(live.size(), 1U);
  EXPECT_EQ(live[0].id, second);
}

TEST_F(SessionsTest, TouchRotatesOnlyWhenAnotherSessionBecomesActive) {
  service_ = std::make_unique<SessionService>(SessionSettings{.single_session_mode = false},
                                              *clients_, *tokens_, random_);
  store::Client client;
  new_client(client);
  std::string cookie;
  const std::string a = sign_in(client, "user_a", cookie);
  const std::string b = sign_in(client, "user_b", cookie);
  auto touch = [&](const std::string& sid) {
    std::optional<std::string> issued;
    EXPECT_TRUE(
        write([&](store::Tx& tx) { return service_->touch(tx, client, sid, now(), issued); }));
    return issued;
  };
  EXPECT_FALSE(touch(b)) << "the first activation after a sign-in already had its rotation";
  EXPECT_FALSE(touch(b)) << "touching the active session changes nothing";
  EXPECT_TRUE(touch(a)) << "switching to another signed-in user rotates";
  std::optional<std::string> issued;
  auto st =
      write([&](store::Tx& tx) { return service_->touch(tx, client, "sess_nope", now(), issued); });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Code::kSessionNotFound);
}

TEST_F(SessionsTest, EndAndSignOutRotateOnlyWhenASessionStops) {
  service_ = std::make_unique<SessionService>(SessionSettings{.single_session_mode = false},
                                              *clients_, *tokens_, random_);
  store::Client client;
  new_client(client);
  std::string cookie;
  const std::string a = sign_in(client, "user_a", cookie);
  sign_in(client, "user_b", cookie);
  std::optional<std::string> issued;
  ASSERT_TRUE(write([&](store::Tx& tx) -> Status {
    auto s = service_->end(tx, client, a, SessionEnd::kEnded, now(), issued);
    EXPECT_TRUE(s);
    EXPECT_EQ(s->status, "ended");
    return {};
  }));
  EXPECT_TRUE(issued);
  issued.reset();
  ASSERT_TRUE(write([&](store::Tx& tx) -> Status {
    auto s = service_->end(tx, client, a, SessionEnd::kRemoved, now(), issued);
    EXPECT_EQ(s->status, "ended") << "an already stopped session is left as it is";
    return {};
  }));
  EXPECT_FALSE(issued);
  ASSERT_TRUE(write([&](store::Tx& tx) { return service_->sign_out(tx, client, now(), issued); }));
  EXPECT_TRUE(issued);
  issued.reset();
  ASSERT_TRUE(write([&](store::Tx& tx) { return service_->sign_out(tx, client, now(), issued); }));
  EXPECT_FALSE(issued) << "signing out with nobody signed in changes nothing";
}

TEST_F(SessionsTest, AuthorizeRefusesNoClientOtherClientsAndStoppedSessions) {
  store::Client mine;
  new_client(mine);
  std::string cookie;
  const std::string sid = sign_in(mine, "user_a", cookie);
  store::Client other;
  const std::string other_cookie = new_client(other);
  auto authorize = [&](const Caller& c) {
    core::Result<store::Session> r = core::fail(Code::kInternal);
    EXPECT_TRUE(store_->read([&](store::Tx& tx) -> Status {
      r = service_->authorize(tx, c, sid, now());
      return {};
    }));
    return r;
  };
  EXPECT_TRUE(authorize(Caller{.client_token = cookie}));
  EXPECT_EQ(authorize(Caller{}).error().code, Code::kAuthenticationInvalid);
  EXPECT_EQ(authorize(Caller{.client_token = other_cookie}).error().code, Code::kSessionNotFound);
  std::optional<std::string> issued;
  ASSERT_TRUE(write([&](store::Tx& tx) { return service_->sign_out(tx, mine, now(), issued); }));
  EXPECT_EQ(authorize(Caller{.client_token = *issued}).error().code, Code::kSessionEnded);
  // The value from before the sign-out is a stale copy: refused before any session is looked at.
  EXPECT_TRUE(is_stale_credential(authorize(Caller{.client_token = cookie}).error()));
}

TEST_F(SessionsTest, TokensAreAttachedToLiveSessionsOnly) {
  store::Client client;
  new_client(client);
  std::string cookie;
  sign_in(client, "user_a", cookie);
  std::vector<SessionView> views;
  ASSERT_TRUE(store_->read([&](store::Tx& tx) -> Status {
    views = *service_->live_views(tx, client.id, now());
    return {};
  }));
  ASSERT_EQ(views.size(), 1U);
  SessionView ended = views[0];
  ended.session.status = "ended";
  views.push_back(ended);
  service_->attach_tokens(views, "https://app");
  EXPECT_TRUE(views[0].token);
  EXPECT_FALSE(views[1].token);
}

// ---- the wall clock stepping back (issue 15 item 3) ---------------------------------------------

TEST_F(SessionsTest, AClockSteppedBackMidSessionKeepsItLiveAndMintsNoNegativeLifetime) {
  store::Client client;
  new_client(client);
  std::string cookie;
  const std::string sid = sign_in(client, "user_a", cookie);
  auto mint = [&] {
    std::vector<SessionView> views;
    EXPECT_TRUE(store_->read([&](store::Tx& tx) -> Status {
      views = *service_->live_views(tx, client.id, now());
      return {};
    }));
    EXPECT_EQ(views.size(), 1U) << "the session is no longer live";
    service_->attach_tokens(views, "https://app");
    EXPECT_TRUE(!views.empty() && views[0].token);
    auto claims = ring_->verify_jwt(views.empty() ? "" : views[0].token.value_or(""), 0);
    EXPECT_TRUE(claims) << (claims ? "" : claims.error().internal);
    return claims.value_or(boost::json::object{});
  };
  const auto before = mint();
  clock_.set(clock_.now() - 5min);  // NTP steps the wall clock back mid-session
  const auto after = mint();
  // A fresh token for the new "now", not the cached one from 5 minutes "ahead" (whose iat the
  // verifier would see in the future): iat is now, and it lives exactly its lifetime.
  EXPECT_EQ(after.at("iat").as_int64(), clock_.now_s());
  EXPECT_EQ(after.at("exp").as_int64() - after.at("iat").as_int64(), 60);
  EXPECT_LT(after.at("iat").as_int64(), before.at("iat").as_int64());
  EXPECT_GE(after.at("fva").as_array().at(0).as_int64(), 0);
  // The session and the client credential still work on the stepped clock.
  EXPECT_TRUE(store_->read([&](store::Tx& tx) -> Status {
    EXPECT_TRUE(service_->authorize(tx, Caller{.client_token = cookie}, sid, now()));
    return {};
  }));
  EXPECT_TRUE(lookup(cookie)->has_value());
}

// ---- batched last_active_at writes (frontend.last_active_write_interval) ---------------------

class LastActiveTest : public SessionsTest {
 protected:
  void SetUp() override {
    SessionsTest::SetUp();
    use_interval(60s);
  }

  void use_interval(std::chrono::milliseconds interval) {
    service_ = std::make_unique<SessionService>(
        SessionSettings{.single_session_mode = false, .last_active_write_interval = interval},
        *clients_, *tokens_, random_);
  }

  Status touch(store::Client& client, const std::string& sid) {
    std::optional<std::string> issued;
    return write([&](store::Tx& tx) { return service_->touch(tx, client, sid, now(), issued); });
  }

  // The row as the database has it.
  store::Session stored(const std::string& sid) {
    store::Session out;
    EXPECT_TRUE(store_->read([&](store::Tx& tx) -> Status {
      auto s = tx.get_session(sid);
      EXPECT_TRUE(s && s->has_value());
      if (s && *s) {
        out = **s;
      }
      return {};
    }));
    return out;
  }

  // The session as the service answers it (what the session JSON is written from).
  store::Session answered(const store::Client& client, const std::string& sid) {
    store::Session out;
    EXPECT_TRUE(store_->read([&](store::Tx& tx) -> Status {
      auto views = service_->live_views(tx, client.id, now());
      EXPECT_TRUE(views);
      for (auto& v : *views) {
        if (v.session.id == sid) {
          out = v.session;
        }
      }
      return {};
    }));
    EXPECT_EQ(out.id, sid) << "not among the client's live sessions";
    return out;
  }

  std::size_t flush(bool all = false) {
    auto n = service_->flush_last_active(*store_, now(), all);
    EXPECT_TRUE(n) << n.error().internal;
    return n.value_or(0);
  }
};

TEST_F(LastActiveTest, ATouchWithinTheIntervalIsAnsweredButNotWrittenAfterItIsWritten) {
  store::Client client;
  new_client(client);
  std::string cookie;
  const std::string sid = sign_in(client, "user_a", cookie);
  const std::int64_t signed_in = now();
  ASSERT_EQ(stored(sid).last_active_at_ms, signed_in);

  clock_.advance(10s);
  ASSERT_TRUE(touch(client, sid));
  EXPECT_EQ(stored(sid).last_active_at_ms, signed_in) << "within the interval: no write";
  EXPECT_EQ(stored(sid).updated_at_ms, signed_in);
  EXPECT_EQ(answered(client, sid).last_active_at_ms, now()) << "but the exact value is answered";
  EXPECT_EQ(answered(client, sid).updated_at_ms, now());

  clock_.advance(20s);
  const std::int64_t second_touch = now();
  ASSERT_TRUE(touch(client, sid));
  EXPECT_EQ(stored(sid).last_active_at_ms, signed_in);
  clock_.advance(5s);
  EXPECT_EQ(answered(client, sid).last_active_at_ms, second_touch);

  clock_.advance(25s);  // 60 s after the row was written
  ASSERT_TRUE(touch(client, sid));
  EXPECT_EQ(stored(sid).last_active_at_ms, now()) << "the interval has passed: written";
  EXPECT_EQ(stored(sid).updated_at_ms, now());
  EXPECT_EQ(answered(client, sid).last_active_at_ms, now());
}

TEST_F(LastActiveTest, IntervalZeroWritesEveryTouch) {
  use_interval(0s);
  store::Client client;
  new_client(client);
  std::string cookie;
  const std::string sid = sign_in(client, "user_a", cookie);
  for (int i = 0; i < 3; ++i) {
    clock_.advance(1s);
    ASSERT_TRUE(touch(client, sid));
    EXPECT_EQ(stored(sid).last_active_at_ms, now());
  }
  EXPECT_EQ(flush(true), 0U) << "nothing was left to write";
}

TEST_F(LastActiveTest, FlushWritesTheRememberedTouchOnceTheIntervalHasPassed) {
  store::Client client;
  new_client(client);
  std::string cookie;
  const std::string sid = sign_in(client, "user_a", cookie);
  const std::int64_t signed_in = now();
  clock_.advance(10s);
  const std::int64_t touched = now();
  ASSERT_TRUE(touch(client, sid));

  clock_.advance(20s);
  EXPECT_EQ(flush(), 0U) << "30 s after the row's write: not yet";
  EXPECT_EQ(stored(sid).last_active_at_ms, signed_in);
  clock_.advance(30s);
  EXPECT_EQ(flush(), 1U);
  EXPECT_EQ(stored(sid).last_active_at_ms, touched) << "the real last activity, not the flush time";
  EXPECT_EQ(stored(sid).updated_at_ms, now());
  EXPECT_EQ(flush(true), 0U) << "written once, then forgotten";

  // The flush was a write: the next touch within the interval is remembered again, and a
  // shutdown flush writes it at once.
  clock_.advance(5s);
  ASSERT_TRUE(touch(client, sid));
  EXPECT_EQ(flush(), 0U);
  EXPECT_EQ(flush(true), 1U);
  EXPECT_EQ(stored(sid).last_active_at_ms, now());
}

TEST_F(LastActiveTest, AStoppedSessionIsWrittenWithItsLastActivityAndForgotten) {
  store::Client client;
  new_client(client);
  std::string cookie;
  const std::string sid = sign_in(client, "user_a", cookie);
  clock_.advance(10s);
  const std::int64_t touched = now();
  ASSERT_TRUE(touch(client, sid));
  clock_.advance(5s);
  std::optional<std::string> issued;
  ASSERT_TRUE(write([&](store::Tx& tx) -> Status {
    auto s = service_->end(tx, client, sid, SessionEnd::kEnded, now(), issued);
    EXPECT_TRUE(s);
    EXPECT_EQ(s->last_active_at_ms, touched) << "the answered session carries the last touch";
    return {};
  }));
  EXPECT_EQ(stored(sid).status, "ended");
  EXPECT_EQ(stored(sid).last_active_at_ms, touched) << "stopping wrote the remembered value";
  clock_.advance(2min);
  EXPECT_EQ(flush(true), 0U) << "nothing left for a stopped session";
}

TEST_F(LastActiveTest, ARowWrittenElsewhereWithinTheIntervalIsNotWrittenAgain) {
  store::Client client;
  new_client(client);
  std::string cookie;
  const std::string sid = sign_in(client, "user_a", cookie);
  clock_.advance(10s);
  ASSERT_TRUE(touch(client, sid));  // remembered
  clock_.advance(45s);
  // Another node writes the row (its own touch) after this node remembered.
  store::Session row = stored(sid);
  row.last_active_at_ms = row.updated_at_ms = now() - 1000;
  ASSERT_TRUE(write([&](store::Tx& tx) { return tx.update_session(row); }));
  clock_.advance(10s);
  EXPECT_EQ(flush(), 0U) << "the row already has a later last_active_at";
  EXPECT_EQ(stored(sid).last_active_at_ms, row.last_active_at_ms);
}

TEST_F(LastActiveTest, AClockSteppedBackDoesNotStretchTheWriteInterval) {
  store::Client client;
  new_client(client);
  std::string cookie;
  const std::string sid = sign_in(client, "user_a", cookie);
  clock_.set(clock_.now() - 5min);  // the row now looks written 5 minutes "in the future"
  ASSERT_TRUE(touch(client, sid));
  EXPECT_EQ(stored(sid).last_active_at_ms, now()) << "a row from the future is written at once";
  clock_.advance(61s);
  ASSERT_TRUE(touch(client, sid));
  EXPECT_EQ(stored(sid).last_active_at_ms, now()) << "and then every interval, as before";
}

}  // namespace
}  // namespace latchkey::sessions
