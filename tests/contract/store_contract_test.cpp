// The store contract (src/store/store.hpp), written against store::Store& only and run against
// every backend in backends.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "backends.hpp"
#include "store/migrations.hpp"
#include "store/store.hpp"

namespace latchkey::store {
namespace {

using core::Code;
using testing::Backend;
using testing::ScratchDir;

// ---- builders with defaults (design.md §3.16) ---------------------------------------------------

constexpr std::int64_t kT0 = 1'795'855'972'000;  // a plausible "now" in milliseconds

User make_user(const std::string& id) {
  User u;
  u.id = id;
  u.created_at_ms = kT0;
  u.updated_at_ms = kT0;
  return u;
}

EmailAddress make_email(const std::string& id, const std::string& user_id,
                        const std::string& email) {
  EmailAddress e;
  e.id = id;
  e.user_id = user_id;
  e.email = email;
  e.created_at_ms = kT0;
  e.updated_at_ms = kT0;
  return e;
}

ExternalAccount make_account(const std::string& id, const std::string& user_id,
                             const std::string& provider, const std::string& sub) {
  ExternalAccount a;
  a.id = id;
  a.user_id = user_id;
  a.provider = provider;
  a.provider_user_id = sub;
  a.created_at_ms = kT0;
  a.updated_at_ms = kT0;
  return a;
}

Client make_client(const std::string& id, const std::string& hash = "") {
  Client c;
  c.id = id;
  c.cookie_token_hash = hash.empty() ? "hash-of-" + id : hash;
  c.expire_at_ms = kT0 + 1'000'000;
  c.created_at_ms = kT0;
  c.updated_at_ms = kT0;
  return c;
}

SignIn make_sign_in(const std::string& id, const std::string& client_id) {
  SignIn s;
  s.id = id;
  s.client_id = client_id;
  s.status = "needs_first_factor";
  s.abandon_at_ms = kT0 + 1'000'000;
  s.created_at_ms = kT0;
  s.updated_at_ms = kT0;
  return s;
}

SignUp make_sign_up(const std::string& id, const std::string& client_id) {
  SignUp s;
  s.id = id;
  s.client_id = client_id;
  s.status = "missing_requirements";
  s.abandon_at_ms = kT0 + 1'000'000;
  s.created_at_ms = kT0;
  s.updated_at_ms = kT0;
  return s;
}

Session make_session(const std::string& id, const std::string& client_id,
                     const std::string& user_id, std::int64_t created_at = kT0) {
  Session s;
  s.id = id;
  s.client_id = client_id;
  s.user_id = user_id;
  s.status = "active";
  s.expire_at_ms = kT0 + 1'000'000;
  s.abandon_at_ms = kT0 + 2'000'000;
  s.last_active_at_ms = created_at;
  s.created_at_ms = created_at;
  s.updated_at_ms = created_at;
  return s;
}

OAuthState make_state(const std::string& hash, const std::string& client_id,
                      std::int64_t expire_at = kT0 + 600'000) {
  OAuthState o;
  o.state_hash = hash;
  o.client_id = client_id;
  o.attempt_type = "sign_in";
  o.attempt_id = "sia_1";
  o.strategy = "oauth_google";
  o.data = R"({"pkce_verifier_enc":"x","nonce":"n"})";
  o.expire_at_ms = expire_at;
  o.created_at_ms = kT0;
  return o;
}

SigningKey make_key(const std::string& kid, std::int64_t created_at, bool active) {
  SigningKey k;
  k.kid = kid;
  k.algorithm = "RS256";
  k.public_jwk = R"({"kty":"RSA","kid":")" + kid + R"("})";
  k.private_key_enc = std::string("sealed\0\xff", 8) + kid;
  k.created_at_ms = created_at;
  k.active = active;
  return k;
}

// ---- fixture ------------------------------------------------------------------------------------

class StoreContract : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    store_ = GetParam().make(scratch_.path());
    ASSERT_NE(store_, nullptr);
    auto applied = store_->migrate();
    ASSERT_TRUE(applied.has_value()) << applied.error().internal;
  }
  void TearDown() override { store_.reset(); }

  Store& store() { return *store_; }

  // Runs `fn` in a write transaction and asserts it committed.
  void write(const std::function<Status(Tx&)>& fn) {
    auto st = store_->transaction(fn);
    ASSERT_TRUE(st.has_value()) << st.error().internal;
  }

  // Runs one write and returns its status (for expected failures).
  Status try_write(const std::function<Status(Tx&)>& fn) { return store_->transaction(fn); }

  // Reads one value out of a read transaction.
  template <typename T>
  T get(const std::function<Result<T>(Tx&)>& fn) {
    T out{};
    auto st = store_->read([&](Tx& tx) -> Status {
      auto r = fn(tx);
      if (!r) {
        return core::fail(std::move(r.error()));
      }
      out = std::move(*r);
      return {};
    });
    EXPECT_TRUE(st.has_value()) << st.error().internal;
    return out;
  }

  // Seeds one user with one client, used by tests that need owners for their rows.
  void seed_owner(const std::string& user_id = "user_1",
                  const std::string& client_id = "client_1") {
    write([&](Tx& tx) -> Status {
      if (auto st = tx.insert_user(make_user(user_id)); !st) {
        return st;
      }
      return tx.insert_client(make_client(client_id));
    });
  }

  ScratchDir scratch_;
  std::unique_ptr<Store> store_;
};

// ---- migrations ---------------------------------------------------------------------------------

TEST_P(StoreContract, MigrateIsIdempotentAndReportsSchemaVersion) {
  const int latest = sqlite_migrations().back().version;
  auto version = store().schema_version();
  ASSERT_TRUE(version.has_value());
  EXPECT_EQ(*version, latest);
  auto again = store().migrate();
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(*again, 0);
  EXPECT_EQ(*store().schema_version(), latest);
  EXPECT_TRUE(store().ping().has_value());
}

TEST_P(StoreContract, FreshStoreHasSchemaVersionZeroAndMigrateAppliesEverything) {
  ScratchDir other;
  auto fresh = GetParam().make(other.path());
  auto before = fresh->schema_version();
  ASSERT_TRUE(before.has_value());
  EXPECT_EQ(*before, 0);
  auto applied = fresh->migrate();
  ASSERT_TRUE(applied.has_value()) << applied.error().internal;
  EXPECT_EQ(*applied, static_cast<int>(sqlite_migrations().size()));
}

TEST_P(StoreContract, TwoStoresMigratingTheSameDatabaseAtOnceBothSucceed) {
  // Two "processes" (stores) on one database, both fresh: whichever loses the race skips.
  ScratchDir other;
  auto a = GetParam().make(other.path());
  auto b = GetParam().make(other.path());
  Result<int> ra;
  Result<int> rb;
  std::thread ta([&] { ra = a->migrate(); });
  std::thread tb([&] { rb = b->migrate(); });
  ta.join();
  tb.join();
  ASSERT_TRUE(ra.has_value()) << ra.error().internal;
  ASSERT_TRUE(rb.has_value()) << rb.error().internal;
  EXPECT_EQ(*ra + *rb, static_cast<int>(sqlite_migrations().size()));
}

// ---- round trips --------------------------------------------------------------------------------

TEST_P(StoreContract, UserRoundTripsEveryField) {
  User u = make_user("user_rt");
  u.first_name = "Ada";
  u.last_name = "Lovelace";
  u.username = "ada";
  u.image_url = "https://img.example/ada.png";
  u.primary_email_address_id = "idn_1";
  u.public_metadata = R"({"role":"admin"})";
  u.unsafe_metadata = R"({"theme":"dark"})";
  u.legal_accepted_at_ms = kT0 - 5;
  u.last_sign_in_at_ms = kT0 - 7;
  u.password_digest = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g";
  u.password_reset_required = true;
  u.failed_password_attempts = 3;
  u.locked_until_ms = kT0 + 3'600'000;
  u.banned = true;
  u.private_metadata = R"({"plan":"pro"})";
  u.created_at_ms = kT0 - 9;
  u.updated_at_ms = kT0 - 8;
  write([&](Tx& tx) { return tx.insert_user(u); });
  EXPECT_EQ(get<std::optional<User>>([](Tx& tx) { return tx.get_user("user_rt"); }), u);

  User changed = u;
  changed.first_name = "Augusta";
  changed.last_name = std::nullopt;
  changed.username = std::nullopt;
  changed.image_url = std::nullopt;
  changed.primary_email_address_id = "idn_2";
  changed.public_metadata = "{}";
  changed.unsafe_metadata = R"({"a":[1,2]})";
  changed.legal_accepted_at_ms = std::nullopt;
  changed.last_sign_in_at_ms = kT0 + 1;
  changed.password_digest = "$2b$10$abcdefghijklmnopqrstuuNIDKPIzYxI1aSdNMTbuJnpZ6Q6UXgWe";
  changed.password_reset_required = false;
  changed.failed_password_attempts = 0;
  changed.locked_until_ms = std::nullopt;
  changed.banned = false;
  changed.private_metadata = "{}";
  changed.updated_at_ms = kT0 + 2;
  write([&](Tx& tx) { return tx.update_user(changed); });
  EXPECT_EQ(get<std::optional<User>>([](Tx& tx) { return tx.get_user("user_rt"); }), changed);
}

// The Backend API's user list (0008): filters, order, page, and the count of the same filters.
TEST_P(StoreContract, ListUsersFiltersOrdersAndPages) {
  write([&](Tx& tx) -> Status {
    for (int i = 0; i < 5; ++i) {
      User u = make_user("user_l" + std::to_string(i));
      u.created_at_ms = kT0 + i;
      u.updated_at_ms = kT0 + 10 - i;
      u.first_name = i == 2 ? std::optional<std::string>("Grace_100%") : std::nullopt;
      if (auto st = tx.insert_user(u); !st) {
        return st;
      }
    }
    return tx.insert_email_address(make_email("idn_l3", "user_l3", "Hopper@Example.com"));
  });
  auto ids = [&](const UserQuery& q) {
    std::vector<std::string> out;
    for (const auto& u : get<std::vector<User>>([&](Tx& tx) { return tx.list_users(q); })) {
      out.push_back(u.id);
    }
    return out;
  };
  auto count = [&](const UserQuery& q) {
    return get<std::int64_t>([&](Tx& tx) { return tx.count_users(q); });
  };
  UserQuery all;
  EXPECT_EQ(ids(all),
            (std::vector<std::string>{"user_l4", "user_l3", "user_l2", "user_l1", "user_l0"}));
  EXPECT_EQ(count(all), 5);
  UserQuery page;
  page.limit = 2;
  page.offset = 1;
  page.ascending = true;
  EXPECT_EQ(ids(page), (std::vector<std::string>{"user_l1", "user_l2"}));
  EXPECT_EQ(count(page), 5);  // limit and offset do not count
  UserQuery updated;
  updated.by_updated_at = true;
  updated.ascending = true;
  updated.limit = 1;
  EXPECT_EQ(ids(updated), (std::vector<std::string>{"user_l4"}));
  UserQuery by_email;
  by_email.email_address = "HOPPER@example.com";
  EXPECT_EQ(ids(by_email), (std::vector<std::string>{"user_l3"}));
  EXPECT_EQ(count(by_email), 1);
  UserQuery by_id;
  by_id.user_id = "user_l1";
  EXPECT_EQ(ids(by_id), (std::vector<std::string>{"user_l1"}));
  UserQuery text;
  text.query = "hopp";  // a part of an address
  EXPECT_EQ(ids(text), (std::vector<std::string>{"user_l3"}));
  text.query = "e_100%";  // LIKE's wildcards are matched literally
  EXPECT_EQ(ids(text), (std::vector<std::string>{"user_l2"}));
  text.query = "e%1";
  EXPECT_EQ(count(text), 0);
  text.query = "USER_L0";  // the id, case-insensitively
  EXPECT_EQ(ids(text), (std::vector<std::string>{"user_l0"}));
}

TEST_P(StoreContract, SecretKeysRoundTripAreFoundByHashAndRevokedOnce) {
  SecretKey a{"ak_1", "hash_a", "abcd", kT0, std::nullopt};
  SecretKey b{"ak_2", "hash_b", "wxyz", kT0 + 1, std::nullopt};
  write([&](Tx& tx) -> Status {
    if (auto st = tx.insert_secret_key(b); !st) {
      return st;
    }
    return tx.insert_secret_key(a);
  });
  EXPECT_EQ(get<std::vector<SecretKey>>([](Tx& tx) { return tx.list_secret_keys(); }),
            (std::vector<SecretKey>{a, b}));
  EXPECT_EQ(
      get<std::optional<SecretKey>>([](Tx& tx) { return tx.find_secret_key_by_hash("hash_b"); }),
      b);
  EXPECT_EQ(
      get<std::optional<SecretKey>>([](Tx& tx) { return tx.find_secret_key_by_hash("nope"); }),
      std::nullopt);
  write([](Tx& tx) { return tx.revoke_secret_key("ak_1", kT0 + 5); });
  write([](Tx& tx) { return tx.revoke_secret_key("ak_1", kT0 + 9); });  // the first time stays
  auto got =
      get<std::optional<SecretKey>>([](Tx& tx) { return tx.find_secret_key_by_hash("hash_a"); });
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->revoked_at_ms, kT0 + 5);
  auto st = try_write([](Tx& tx) { return tx.revoke_secret_key("ak_9", kT0); });
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, Code::kResourceNotFound);
  st = try_write([&](Tx& tx) {
    SecretKey dup = a;
    dup.id = "ak_3";
    return tx.insert_secret_key(dup);
  });
  ASSERT_FALSE(st.has_value());
  EXPECT_TRUE(is_conflict(st.error(), kSecretKeyHashKey)) << st.error().internal;
}

TEST_P(StoreContract, UpdateNeverChangesCreatedAt) {
  write([&](Tx& tx) { return tx.insert_user(make_user("user_c")); });
  User u = make_user("user_c");
  u.created_at_ms = 1;
  write([&](Tx& tx) { return tx.update_user(u); });
  auto got = get<std::optional<User>>([](Tx& tx) { return tx.get_user("user_c"); });
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->created_at_ms, kT0);
}

TEST_P(StoreContract, EmailAddressRoundTripsAndIsStoredLowerCased) {
  seed_owner();
  EmailAddress e = make_email("idn_rt", "user_1", "Ada.Lovelace@Example.COM");
  e.verified = true;
  e.verification_strategy = "from_oauth_google";
  e.created_at_ms = kT0 - 3;
  e.updated_at_ms = kT0 - 2;
  write([&](Tx& tx) { return tx.insert_email_address(e); });

  EmailAddress expected = e;
  expected.email = "ada.lovelace@example.com";
  EXPECT_EQ(get<std::optional<EmailAddress>>([](Tx& tx) { return tx.get_email_address("idn_rt"); }),
            expected);
  EXPECT_EQ(get<std::optional<EmailAddress>>(
                [](Tx& tx) { return tx.find_email_address("ADA.lovelace@example.com"); }),
            expected);
  auto owner = get<std::optional<User>>(
      [](Tx& tx) { return tx.find_user_by_email("ada.LOVELACE@example.com"); });
  ASSERT_TRUE(owner.has_value());
  EXPECT_EQ(owner->id, "user_1");

  EmailAddress changed = expected;
  changed.email = "New@Example.com";
  changed.verified = false;
  changed.verification_strategy = std::nullopt;
  changed.updated_at_ms = kT0 + 5;
  write([&](Tx& tx) { return tx.update_email_address(changed); });
  changed.email = "new@example.com";
  EXPECT_EQ(get<std::optional<EmailAddress>>([](Tx& tx) { return tx.get_email_address("idn_rt"); }),
            changed);

  write([&](Tx& tx) { return tx.insert_email_address(make_email("idn_2", "user_1", "b@x.io")); });
  auto list =
      get<std::vector<EmailAddress>>([](Tx& tx) { return tx.list_email_addresses("user_1"); });
  ASSERT_EQ(list.size(), 2U);
  EXPECT_EQ(list[0].id, "idn_rt");  // created earlier
  EXPECT_EQ(list[1].id, "idn_2");
}

TEST_P(StoreContract, ExternalAccountRoundTripsEveryFieldIncludingBinaryTokens) {
  seed_owner();
  ExternalAccount a = make_account("eac_rt", "user_1", "oauth_google", "1234567890");
  a.email = "ada@example.com";
  a.email_verified = true;
  a.first_name = "Ada";
  a.last_name = "Lovelace";
  a.image_url = "https://img.example/a.png";
  a.username = "ada_l";
  a.approved_scopes = "openid email profile";
  a.access_token_enc = std::string("\x00\x01\xfe\xff sealed", 11);
  a.refresh_token_enc = std::string("r\0t", 3);
  a.access_token_expires_at_ms = kT0 + 3'600'000;
  write([&](Tx& tx) { return tx.insert_external_account(a); });
  EXPECT_EQ(
      get<std::optional<ExternalAccount>>([](Tx& tx) { return tx.get_external_account("eac_rt"); }),
      a);
  EXPECT_EQ(get<std::optional<ExternalAccount>>(
                [](Tx& tx) { return tx.find_external_account("oauth_google", "1234567890"); }),
            a);
  EXPECT_FALSE(get<std::optional<ExternalAccount>>([](Tx& tx) {
                 return tx.find_external_account("oauth_github", "1234567890");
               }).has_value());

  ExternalAccount changed = a;
  changed.email = std::nullopt;
  changed.email_verified = false;
  changed.first_name = "A";
  changed.last_name = std::nullopt;
  changed.image_url = std::nullopt;
  changed.username = std::nullopt;
  changed.approved_scopes = "openid";
  changed.access_token_enc = std::nullopt;
  changed.refresh_token_enc = "new";
  changed.access_token_expires_at_ms = std::nullopt;
  changed.updated_at_ms = kT0 + 9;
  write([&](Tx& tx) { return tx.update_external_account(changed); });
  auto list =
      get<std::vector<ExternalAccount>>([](Tx& tx) { return tx.list_external_accounts("user_1"); });
  ASSERT_EQ(list.size(), 1U);
  EXPECT_EQ(list[0], changed);
}

TEST_P(StoreContract, ClientRoundTripsAndIsFoundByCookieHash) {
  seed_owner();
  write([&](Tx& tx) -> Status {
    if (auto st = tx.insert_sign_in(make_sign_in("sia_1", "client_1")); !st) {
      return st;
    }
    if (auto st = tx.insert_sign_up(make_sign_up("sua_1", "client_1")); !st) {
      return st;
    }
    return tx.insert_session(make_session("sess_1", "client_1", "user_1"));
  });
  Client c = make_client("client_rt", "c0ffee");
  c.sign_in_id = "sia_1";
  c.sign_up_id = "sua_1";
  c.last_active_session_id = "sess_1";
  c.last_authentication_strategy = "oauth_google";
  c.expire_at_ms = kT0 + 77;
  c.created_at_ms = kT0 - 1;
  c.updated_at_ms = kT0 + 1;
  write([&](Tx& tx) { return tx.insert_client(c); });
  EXPECT_EQ(get<std::optional<Client>>([](Tx& tx) { return tx.get_client("client_rt"); }), c);
  EXPECT_EQ(
      get<std::optional<Client>>([](Tx& tx) { return tx.find_client_by_cookie_hash("c0ffee"); }),
      c);
  EXPECT_FALSE(get<std::optional<Client>>([](Tx& tx) {
                 return tx.find_client_by_cookie_hash("C0FFEE");
               }).has_value());

  Client changed = c;
  changed.cookie_token_hash = "rotated";
  changed.sign_in_id = std::nullopt;
  changed.sign_up_id = std::nullopt;
  changed.last_active_session_id = std::nullopt;
  changed.last_authentication_strategy = std::nullopt;
  changed.expire_at_ms = kT0 + 99;
  changed.updated_at_ms = kT0 + 2;
  write([&](Tx& tx) { return tx.update_client(changed); });
  EXPECT_EQ(get<std::optional<Client>>([](Tx& tx) { return tx.get_client("client_rt"); }), changed);
  EXPECT_FALSE(get<std::optional<Client>>([](Tx& tx) {
                 return tx.find_client_by_cookie_hash("c0ffee");
               }).has_value());
  EXPECT_FALSE(get<std::optional<Client>>([](Tx& tx) {
                 return tx.find_client_by_previous_cookie_hash("c0ffee");
               }).has_value());

  // A rotation keeps the credential it replaced as the previous one, found only by that lookup.
  Client rotated = changed;
  rotated.cookie_token_hash = "rotated-again";
  rotated.previous_cookie_token_hash = "rotated";
  rotated.previous_cookie_valid_until_ms = kT0 + 60'000;
  write([&](Tx& tx) { return tx.update_client(rotated); });
  EXPECT_EQ(get<std::optional<Client>>(
                [](Tx& tx) { return tx.find_client_by_previous_cookie_hash("rotated"); }),
            rotated);
  EXPECT_FALSE(get<std::optional<Client>>([](Tx& tx) {
                 return tx.find_client_by_cookie_hash("rotated");
               }).has_value());
  EXPECT_EQ(get<std::optional<Client>>(
                [](Tx& tx) { return tx.find_client_by_cookie_hash("rotated-again"); }),
            rotated);
  Client inserted = make_client("client_prev", "fresh");
  inserted.previous_cookie_token_hash = "older";
  inserted.previous_cookie_valid_until_ms = kT0 + 5;
  write([&](Tx& tx) { return tx.insert_client(inserted); });
  EXPECT_EQ(get<std::optional<Client>>([](Tx& tx) { return tx.get_client("client_prev"); }),
            inserted);
}

TEST_P(StoreContract, SignInAndSignUpRoundTripEveryField) {
  seed_owner();
  SignIn si = make_sign_in("sia_rt", "client_1");
  si.data = R"({"strategy":"oauth_google","redirect_url":"http://localhost:4100/sso-callback"})";
  SignUp su = make_sign_up("sua_rt", "client_1");
  su.data = R"({"transfer":true})";
  write([&](Tx& tx) -> Status {
    if (auto st = tx.insert_sign_in(si); !st) {
      return st;
    }
    return tx.insert_sign_up(su);
  });
  EXPECT_EQ(get<std::optional<SignIn>>([](Tx& tx) { return tx.get_sign_in("sia_rt"); }), si);
  EXPECT_EQ(get<std::optional<SignUp>>([](Tx& tx) { return tx.get_sign_up("sua_rt"); }), su);

  si.status = "complete";
  si.data = R"({"created_session_id":"sess_1"})";
  si.abandon_at_ms = kT0 + 5;
  si.updated_at_ms = kT0 + 6;
  su.status = "complete";
  su.data = "{}";
  su.abandon_at_ms = kT0 + 7;
  su.updated_at_ms = kT0 + 8;
  write([&](Tx& tx) -> Status {
    if (auto st = tx.update_sign_in(si); !st) {
      return st;
    }
    return tx.update_sign_up(su);
  });
  EXPECT_EQ(get<std::optional<SignIn>>([](Tx& tx) { return tx.get_sign_in("sia_rt"); }), si);
  EXPECT_EQ(get<std::optional<SignUp>>([](Tx& tx) { return tx.get_sign_up("sua_rt"); }), su);

  write([](Tx& tx) -> Status {
    if (auto st = tx.delete_sign_in("sia_rt"); !st) {
      return st;
    }
    return tx.delete_sign_up("sua_rt");
  });
  EXPECT_FALSE(get<std::optional<SignIn>>([](Tx& tx) { return tx.get_sign_in("sia_rt"); }));
  EXPECT_FALSE(get<std::optional<SignUp>>([](Tx& tx) { return tx.get_sign_up("sua_rt"); }));
}

TEST_P(StoreContract, SessionRoundTripsEveryField) {
  seed_owner();
  Session s = make_session("sess_rt", "client_1", "user_1");
  s.status = "pending";
  s.tasks = R"([{"key":"choose-organization"}])";
  s.expire_at_ms = kT0 + 11;
  s.abandon_at_ms = kT0 + 12;
  s.last_active_at_ms = kT0 + 13;
  write([&](Tx& tx) { return tx.insert_session(s); });
  EXPECT_EQ(get<std::optional<Session>>([](Tx& tx) { return tx.get_session("sess_rt"); }), s);

  s.status = "active";
  s.tasks = std::nullopt;
  s.expire_at_ms = kT0 + 21;
  s.abandon_at_ms = kT0 + 22;
  s.last_active_at_ms = kT0 + 23;
  s.updated_at_ms = kT0 + 24;
  write([&](Tx& tx) { return tx.update_session(s); });
  EXPECT_EQ(get<std::optional<Session>>([](Tx& tx) { return tx.get_session("sess_rt"); }), s);
}

TEST_P(StoreContract, MissingRowsAreNulloptOnGetAndNotFoundOnWrite) {
  EXPECT_FALSE(get<std::optional<User>>([](Tx& tx) { return tx.get_user("user_x"); }));
  EXPECT_FALSE(get<std::optional<User>>([](Tx& tx) { return tx.find_user_by_email("x@y.z"); }));
  EXPECT_FALSE(get<std::optional<User>>([](Tx& tx) { return tx.find_user_by_username("x"); }));
  EXPECT_FALSE(get<std::optional<Client>>([](Tx& tx) { return tx.get_client("client_x"); }));
  EXPECT_FALSE(get<std::optional<Session>>([](Tx& tx) { return tx.get_session("sess_x"); }));
  EXPECT_TRUE(
      get<std::vector<Session>>([](Tx& tx) { return tx.list_sessions_by_client("c"); }).empty());

  const std::vector<std::function<Status(Tx&)>> writes = {
      [](Tx& tx) { return tx.update_user(make_user("user_x")); },
      [](Tx& tx) { return tx.delete_user("user_x"); },
      [](Tx& tx) { return tx.update_email_address(make_email("idn_x", "u", "a@b.c")); },
      [](Tx& tx) { return tx.delete_email_address("idn_x"); },
      [](Tx& tx) { return tx.update_external_account(make_account("eac_x", "u", "p", "s")); },
      [](Tx& tx) { return tx.delete_external_account("eac_x"); },
      [](Tx& tx) { return tx.update_client(make_client("client_x")); },
      [](Tx& tx) { return tx.delete_client("client_x"); },
      [](Tx& tx) { return tx.update_sign_in(make_sign_in("sia_x", "c")); },
      [](Tx& tx) { return tx.delete_sign_in("sia_x"); },
      [](Tx& tx) { return tx.update_sign_up(make_sign_up("sua_x", "c")); },
      [](Tx& tx) { return tx.delete_sign_up("sua_x"); },
      [](Tx& tx) { return tx.update_session(make_session("sess_x", "c", "u")); },
      [](Tx& tx) { return tx.delete_session("sess_x"); },
      [](Tx& tx) { return tx.retire_signing_key("kid_x", kT0); },
      [](Tx& tx) { return tx.delete_signing_key("kid_x"); },
  };
  for (std::size_t i = 0; i < writes.size(); ++i) {
    auto st = try_write(writes[i]);
    ASSERT_FALSE(st.has_value()) << "write #" << i;
    EXPECT_EQ(st.error().code, Code::kResourceNotFound) << "write #" << i;
  }
}

// ---- unique constraints -----------------------------------------------------------------------

TEST_P(StoreContract, EmailIsUniqueCaseInsensitively) {
  seed_owner("user_1", "client_1");
  seed_owner("user_2", "client_2");
  write([](Tx& tx) {
    return tx.insert_email_address(make_email("idn_1", "user_1", "Ada@Example.com"));
  });
  auto st = try_write([](Tx& tx) {
    return tx.insert_email_address(make_email("idn_2", "user_2", "ada@EXAMPLE.COM"));
  });
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, Code::kConflict);
  EXPECT_TRUE(is_conflict(st.error(), kEmailAddressEmailKey)) << st.error().internal;
  EXPECT_TRUE(st.error().message.empty());  // engine text stays in `internal`

  // Renaming another address onto it conflicts too.
  write([](Tx& tx) {
    return tx.insert_email_address(make_email("idn_3", "user_2", "b@example.com"));
  });
  st = try_write([](Tx& tx) {
    return tx.update_email_address(make_email("idn_3", "user_2", "ADA@example.com"));
  });
  ASSERT_FALSE(st.has_value());
  EXPECT_TRUE(is_conflict(st.error(), kEmailAddressEmailKey)) << st.error().internal;
}

TEST_P(StoreContract, UsernameIsUniqueCaseInsensitivelyAndNullsDoNotCollide) {
  User a = make_user("user_a");
  a.username = "Grace";
  User b = make_user("user_b");
  b.username = "gRACE";
  write([&](Tx& tx) { return tx.insert_user(a); });
  auto st = try_write([&](Tx& tx) { return tx.insert_user(b); });
  ASSERT_FALSE(st.has_value());
  EXPECT_TRUE(is_conflict(st.error(), kUserUsernameKey)) << st.error().internal;

  auto found = get<std::optional<User>>([](Tx& tx) { return tx.find_user_by_username("GRACE"); });
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->id, "user_a");
  EXPECT_EQ(found->username, "Grace");  // stored as given

  write([](Tx& tx) -> Status {
    if (auto s = tx.insert_user(make_user("user_n1")); !s) {
      return s;
    }
    return tx.insert_user(make_user("user_n2"));
  });
}

TEST_P(StoreContract, UsernameCaseFoldingIsAsciiOnly) {
  // store.hpp: usernames compare case-insensitively in ASCII; other letters compare as given, on
  // every engine and whatever the database's locale.
  User a = make_user("user_e1");
  a.username = "\xc3\x89mile";  // "Émile"
  User b = make_user("user_e2");
  b.username = "\xc3\xa9mile";  // "émile"
  write([&](Tx& tx) { return tx.insert_user(a); });
  write([&](Tx& tx) { return tx.insert_user(b); });
  auto found =
      get<std::optional<User>>([](Tx& tx) { return tx.find_user_by_username("\xc3\x89MILE"); });
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->id, "user_e1");
}

TEST_P(StoreContract, ProviderUserIdIsUniquePerProvider) {
  seed_owner("user_1", "client_1");
  seed_owner("user_2", "client_2");
  write([](Tx& tx) {
    return tx.insert_external_account(make_account("eac_1", "user_1", "oauth_google", "42"));
  });
  auto st = try_write([](Tx& tx) {
    return tx.insert_external_account(make_account("eac_2", "user_2", "oauth_google", "42"));
  });
  ASSERT_FALSE(st.has_value());
  EXPECT_TRUE(is_conflict(st.error(), kExternalAccountProviderKey)) << st.error().internal;
  // Same subject at another provider is another identity.
  write([](Tx& tx) {
    return tx.insert_external_account(make_account("eac_3", "user_2", "oauth_github", "42"));
  });
}

TEST_P(StoreContract, CookieHashAndPrimaryKeysAreUnique) {
  write([](Tx& tx) { return tx.insert_client(make_client("client_1", "h1")); });
  auto st = try_write([](Tx& tx) { return tx.insert_client(make_client("client_2", "h1")); });
  ASSERT_FALSE(st.has_value());
  EXPECT_TRUE(is_conflict(st.error(), kClientCookieTokenHashKey)) << st.error().internal;

  st = try_write([](Tx& tx) { return tx.insert_client(make_client("client_1", "h2")); });
  ASSERT_FALSE(st.has_value());
  EXPECT_TRUE(is_conflict(st.error(), kClientPkey)) << st.error().internal;

  write([](Tx& tx) { return tx.insert_user(make_user("user_1")); });
  st = try_write([](Tx& tx) { return tx.insert_user(make_user("user_1")); });
  ASSERT_FALSE(st.has_value());
  EXPECT_TRUE(is_conflict(st.error(), kUserPkey)) << st.error().internal;
  EXPECT_FALSE(is_conflict(st.error(), kUserUsernameKey));
}

TEST_P(StoreContract, RowsNeedTheirOwners) {
  auto st = try_write(
      [](Tx& tx) { return tx.insert_email_address(make_email("idn_1", "user_missing", "a@b.c")); });
  ASSERT_FALSE(st.has_value());
  EXPECT_TRUE(is_conflict(st.error(), kForeignKey)) << st.error().internal;
  st = try_write([](Tx& tx) { return tx.insert_sign_in(make_sign_in("sia_1", "client_missing")); });
  ASSERT_FALSE(st.has_value());
  EXPECT_TRUE(is_conflict(st.error(), kForeignKey)) << st.error().internal;
}

// ---- atomicity
// ------------------------------------------------------------------------------------

// The "no half-made user" guarantee (design.md §4).
Status make_whole_user(Tx& tx) {
  if (auto st = tx.insert_client(make_client("client_h")); !st) {
    return st;
  }
  if (auto st = tx.insert_user(make_user("user_h")); !st) {
    return st;
  }
  if (auto st = tx.insert_email_address(make_email("idn_h", "user_h", "half@example.com")); !st) {
    return st;
  }
  if (auto st = tx.insert_external_account(make_account("eac_h", "user_h", "oauth_google", "h"));
      !st) {
    return st;
  }
  return tx.insert_session(make_session("sess_h", "client_h", "user_h"));
}

void expect_no_half_user(Store& store) {
  auto st = store.read([](Tx& tx) -> Status {
    EXPECT_FALSE(tx.get_client("client_h").value());
    EXPECT_FALSE(tx.get_user("user_h").value());
    EXPECT_FALSE(tx.find_user_by_email("half@example.com").value());
    EXPECT_FALSE(tx.get_email_address("idn_h").value());
    EXPECT_FALSE(tx.find_external_account("oauth_google", "h").value());
    EXPECT_FALSE(tx.get_session("sess_h").value());
    return {};
  });
  EXPECT_TRUE(st.has_value());
}

TEST_P(StoreContract, FailedCallbackLeavesNoRows) {
  auto st = try_write([](Tx& tx) -> Status {
    if (auto inner = make_whole_user(tx); !inner) {
      return inner;
    }
    return core::fail(Code::kInvalidState, "a later step failed");
  });
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, Code::kInvalidState);  // the callback's error is returned as is
  expect_no_half_user(store());
}

TEST_P(StoreContract, FailedStatementInsideCallbackRollsBackEarlierWrites) {
  write([](Tx& tx) { return tx.insert_user(make_user("user_dup")); });
  auto st = try_write([](Tx& tx) -> Status {
    if (auto inner = make_whole_user(tx); !inner) {
      return inner;
    }
    return tx.insert_user(make_user("user_dup"));  // conflicts
  });
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, Code::kConflict);
  expect_no_half_user(store());
}

TEST_P(StoreContract, ConflictingStatementLeavesTheTransactionUsable) {
  // A caller may catch a conflict and carry on in the same transaction: the failed statement
  // changes nothing, the others commit.
  write([](Tx& tx) { return tx.insert_user(make_user("user_taken")); });
  write([](Tx& tx) -> Status {
    if (auto st = tx.insert_user(make_user("user_before")); !st) {
      return st;
    }
    auto dup = tx.insert_user(make_user("user_taken"));
    EXPECT_FALSE(dup.has_value());
    if (dup.has_value() || !is_conflict(dup.error(), kUserPkey)) {
      return core::fail(Code::kInternal, "expected a conflict");
    }
    auto missing = tx.update_user(make_user("user_missing"));
    EXPECT_FALSE(missing.has_value());
    return tx.insert_user(make_user("user_after"));
  });
  EXPECT_TRUE(get<std::optional<User>>([](Tx& tx) { return tx.get_user("user_before"); }));
  EXPECT_TRUE(get<std::optional<User>>([](Tx& tx) { return tx.get_user("user_after"); }));
}

TEST_P(StoreContract, ThrowingCallbackRollsBackAndRethrows) {
  EXPECT_THROW((void)store().transaction([](Tx& tx) -> Status {
    if (auto inner = make_whole_user(tx); !inner) {
      return inner;
    }
    throw std::runtime_error("bug");
  }),
               std::runtime_error);
  expect_no_half_user(store());
  // The store stays usable: the connection went back to the pool with no open transaction.
  for (int i = 0; i < 8; ++i) {
    write([](Tx& tx) { return make_whole_user(tx); });
    write([](Tx& tx) { return tx.delete_client("client_h"); });
    write([](Tx& tx) { return tx.delete_user("user_h"); });
  }
}

TEST_P(StoreContract, SuccessfulCallbackCommitsEverything) {
  write([](Tx& tx) { return make_whole_user(tx); });
  auto user =
      get<std::optional<User>>([](Tx& tx) { return tx.find_user_by_email("half@example.com"); });
  ASSERT_TRUE(user.has_value());
  EXPECT_EQ(user->id, "user_h");
}

TEST_P(StoreContract, ReadRefusesWrites) {
  seed_owner();
  auto st = store().read([](Tx& tx) { return tx.insert_user(make_user("user_ro")); });
  EXPECT_FALSE(st.has_value());
  st = store().read([](Tx& tx) { return tx.insert_oauth_state(make_state("s_ro", "client_1")); });
  EXPECT_FALSE(st.has_value());
  write([](Tx& tx) { return tx.insert_oauth_state(make_state("s_ro", "client_1")); });
  st = store().read([](Tx& tx) -> Status {
    auto consumed = tx.consume_oauth_state("s_ro", kT0);
    if (!consumed) {
      return core::fail(std::move(consumed.error()));
    }
    return {};
  });
  EXPECT_FALSE(st.has_value());
  st = store().read([](Tx& tx) -> Status {
    auto purged = tx.purge_expired(kT0 + 999'999'999);
    if (!purged) {
      return core::fail(std::move(purged.error()));
    }
    return {};
  });
  EXPECT_FALSE(st.has_value());

  EXPECT_FALSE(get<std::optional<User>>([](Tx& tx) { return tx.get_user("user_ro"); }));
  // The state survived the refused consume.
  write([](Tx& tx) -> Status {
    auto consumed = tx.consume_oauth_state("s_ro", kT0);
    EXPECT_TRUE(consumed.has_value() && consumed->has_value());
    return {};
  });
}

// ---- OAuth state
// ----------------------------------------------------------------------------------

Result<std::optional<OAuthState>> consume(Store& store, const std::string& hash, std::int64_t now) {
  Result<std::optional<OAuthState>> out;
  auto st = store.transaction([&](Tx& tx) -> Status {
    out = tx.consume_oauth_state(hash, now);
    return {};
  });
  EXPECT_TRUE(st.has_value());
  return out;
}

TEST_P(StoreContract, ConsumeOAuthStateIsSingleUse) {
  seed_owner();
  const OAuthState state = make_state("state_hash_1", "client_1");
  write([&](Tx& tx) { return tx.insert_oauth_state(state); });
  auto first = consume(store(), "state_hash_1", kT0);
  ASSERT_TRUE(first.has_value());
  ASSERT_TRUE(first->has_value());
  EXPECT_EQ(**first, state);
  auto second = consume(store(), "state_hash_1", kT0);
  ASSERT_TRUE(second.has_value());
  EXPECT_FALSE(second->has_value());
  auto unknown = consume(store(), "never_issued", kT0);
  ASSERT_TRUE(unknown.has_value());
  EXPECT_FALSE(unknown->has_value());
}

TEST_P(StoreContract, ExpiredOAuthStateIsRefusedAndDeleted) {
  seed_owner();
  write(
      [](Tx& tx) { return tx.insert_oauth_state(make_state("state_old", "client_1", kT0 + 10)); });
  auto at_expiry = consume(store(), "state_old", kT0 + 10);  // expire_at is exclusive
  ASSERT_TRUE(at_expiry.has_value());
  EXPECT_FALSE(at_expiry->has_value());
  // It was deleted, not just refused: even a "now" before the expiry finds nothing.
  auto before = consume(store(), "state_old", kT0);
  ASSERT_TRUE(before.has_value());
  EXPECT_FALSE(before->has_value());
}

TEST_P(StoreContract, ConcurrentConsumersOfOneStateGetItOnce) {
  seed_owner();
  write([](Tx& tx) { return tx.insert_oauth_state(make_state("state_race", "client_1")); });
  std::atomic<int> winners{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      auto got = consume(store(), "state_race", kT0);
      if (got.has_value() && got->has_value()) {
        ++winners;
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(winners.load(), 1);
}

// ---- concurrency
// ----------------------------------------------------------------------------------

TEST_P(StoreContract, ConcurrentReadModifyWriteFromFourThreadsLosesNothing) {
  User counter = make_user("user_counter");
  counter.last_sign_in_at_ms = 0;  // used as the counter
  write([&](Tx& tx) { return tx.insert_user(counter); });
  constexpr int kThreads = 4;
  constexpr int kPerThread = 200;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        auto st = store().transaction([](Tx& tx) -> Status {
          auto u = tx.get_user("user_counter");
          if (!u) {
            return core::fail(std::move(u.error()));
          }
          User next = **u;
          next.last_sign_in_at_ms = next.last_sign_in_at_ms.value_or(0) + 1;
          return tx.update_user(next);
        });
        if (!st) {
          ++failures;
        }
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(failures.load(), 0);
  auto final_user = get<std::optional<User>>([](Tx& tx) { return tx.get_user("user_counter"); });
  ASSERT_TRUE(final_user.has_value());
  EXPECT_EQ(final_user->last_sign_in_at_ms, kThreads * kPerThread);
}

TEST_P(StoreContract, ConcurrentInsertsWithReadersFromFourThreadsAllLand) {
  seed_owner();
  constexpr int kThreads = 4;
  constexpr int kPerThread = 200;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string id = "sess_" + std::to_string(t) + "_" + std::to_string(i);
        auto st = store().transaction([&](Tx& tx) {
          return tx.insert_session(make_session(id, "client_1", "user_1", kT0 + i));
        });
        if (!st) {
          ++failures;
        }
        // Readers run beside the writers and always see a consistent, growing list.
        auto rd = store().read([&](Tx& tx) -> Status {
          auto list = tx.list_sessions_by_client("client_1");
          if (!list) {
            return core::fail(std::move(list.error()));
          }
          if (list->empty()) {
            return core::fail(Code::kInternal, "own write not visible");
          }
          return {};
        });
        if (!rd) {
          ++failures;
        }
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(get<std::vector<Session>>([](Tx& tx) {
              return tx.list_sessions_by_client("client_1");
            }).size(),
            static_cast<std::size_t>(kThreads * kPerThread));
}

// ---- sessions listing ---------------------------------------------------------------------------

TEST_P(StoreContract, SessionsByClientAndByUserAreOldestFirst) {
  seed_owner("user_1", "client_1");
  seed_owner("user_2", "client_2");
  write([](Tx& tx) -> Status {
    // Inserted out of order; two share a created_at and are ordered by id.
    for (const auto& s : {make_session("sess_c", "client_1", "user_1", kT0 + 30),
                          make_session("sess_a", "client_1", "user_2", kT0 + 10),
                          make_session("sess_b2", "client_1", "user_1", kT0 + 20),
                          make_session("sess_b1", "client_1", "user_1", kT0 + 20),
                          make_session("sess_other", "client_2", "user_1", kT0 + 5)}) {
      if (auto st = tx.insert_session(s); !st) {
        return st;
      }
    }
    return {};
  });
  auto ids = [](const std::vector<Session>& list) {
    std::vector<std::string> out;
    for (const auto& s : list) {
      out.push_back(s.id);
    }
    return out;
  };
  EXPECT_EQ(
      ids(get<std::vector<Session>>([](Tx& tx) { return tx.list_sessions_by_client("client_1"); })),
      (std::vector<std::string>{"sess_a", "sess_b1", "sess_b2", "sess_c"}));
  EXPECT_EQ(
      ids(get<std::vector<Session>>([](Tx& tx) { return tx.list_sessions_by_user("user_1"); })),
      (std::vector<std::string>{"sess_other", "sess_b1", "sess_b2", "sess_c"}));
}

// ---- cascades
// -------------------------------------------------------------------------------------

TEST_P(StoreContract, DeletingAUserDeletesItsEmailsAccountsAndSessions) {
  seed_owner();
  write([](Tx& tx) -> Status {
    if (auto st = tx.insert_email_address(make_email("idn_1", "user_1", "a@example.com")); !st) {
      return st;
    }
    if (auto st = tx.insert_external_account(make_account("eac_1", "user_1", "oauth_google", "1"));
        !st) {
      return st;
    }
    if (auto st = tx.insert_session(make_session("sess_1", "client_1", "user_1")); !st) {
      return st;
    }
    Client c = make_client("client_1");
    c.last_active_session_id = "sess_1";
    return tx.update_client(c);
  });
  write([](Tx& tx) { return tx.delete_user("user_1"); });
  EXPECT_FALSE(
      get<std::optional<EmailAddress>>([](Tx& tx) { return tx.get_email_address("idn_1"); }));
  EXPECT_FALSE(
      get<std::optional<ExternalAccount>>([](Tx& tx) { return tx.get_external_account("eac_1"); }));
  EXPECT_FALSE(get<std::optional<Session>>([](Tx& tx) { return tx.get_session("sess_1"); }));
  // The client survives; its pointer to the deleted session is cleared.
  auto client = get<std::optional<Client>>([](Tx& tx) { return tx.get_client("client_1"); });
  ASSERT_TRUE(client.has_value());
  EXPECT_FALSE(client->last_active_session_id.has_value());
}

TEST_P(StoreContract, DeletingAClientDeletesWhatItOwns) {
  seed_owner();
  write([](Tx& tx) -> Status {
    if (auto st = tx.insert_sign_in(make_sign_in("sia_1", "client_1")); !st) {
      return st;
    }
    if (auto st = tx.insert_sign_up(make_sign_up("sua_1", "client_1")); !st) {
      return st;
    }
    if (auto st = tx.insert_session(make_session("sess_1", "client_1", "user_1")); !st) {
      return st;
    }
    return tx.insert_oauth_state(make_state("st_1", "client_1"));
  });
  write([](Tx& tx) { return tx.delete_client("client_1"); });
  EXPECT_FALSE(get<std::optional<SignIn>>([](Tx& tx) { return tx.get_sign_in("sia_1"); }));
  EXPECT_FALSE(get<std::optional<SignUp>>([](Tx& tx) { return tx.get_sign_up("sua_1"); }));
  EXPECT_FALSE(get<std::optional<Session>>([](Tx& tx) { return tx.get_session("sess_1"); }));
  EXPECT_FALSE(consume(store(), "st_1", kT0).value());
  EXPECT_TRUE(get<std::optional<User>>([](Tx& tx) { return tx.get_user("user_1"); }));
}

TEST_P(StoreContract, ClientsAreListedNewestFirstAndCounted) {
  EXPECT_EQ(get<std::int64_t>([](Tx& tx) { return tx.count_clients(); }), 0);
  write([](Tx& tx) -> Status {
    for (int i = 0; i < 5; ++i) {
      Client c = make_client("client_" + std::to_string(i));
      c.created_at_ms = kT0 + (i % 4) * 1000;  // client_0 and client_4 tie on created_at
      if (auto st = tx.insert_client(c); !st) {
        return st;
      }
    }
    return {};
  });
  EXPECT_EQ(get<std::int64_t>([](Tx& tx) { return tx.count_clients(); }), 5);
  auto ids = [&](std::int64_t limit, std::int64_t offset) {
    std::vector<std::string> out;
    for (const auto& c :
         get<std::vector<Client>>([&](Tx& tx) { return tx.list_clients(limit, offset); })) {
      out.push_back(c.id);
    }
    return out;
  };
  EXPECT_EQ(ids(10, 0),
            (std::vector<std::string>{"client_3", "client_2", "client_1", "client_4", "client_0"}));
  EXPECT_EQ(ids(2, 1), (std::vector<std::string>{"client_2", "client_1"}));
  EXPECT_TRUE(ids(10, 5).empty());
  const auto one = get<std::vector<Client>>([](Tx& tx) { return tx.list_clients(1, 0); });
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0], get<std::optional<Client>>([](Tx& tx) { return tx.get_client("client_3"); }));
}

// 0010: one authenticator app per user, each time step accepted once, backup codes used once,
// and the summary the user object shows; all gone with the user.
TEST_P(StoreContract, SecondFactorsAreUsedOnceAndGoWithTheUser) {
  seed_owner();
  using store::MfaSummary;
  auto summary = [&] {
    return get<MfaSummary>([](Tx& tx) { return tx.get_mfa_summary("user_1"); });
  };
  EXPECT_EQ(summary(), MfaSummary{});
  Totp t{"totp_1", "user_1", "v1.sealed", false, 0, 0, kT0, kT0};
  write([&](Tx& tx) { return tx.insert_totp(t); });
  EXPECT_EQ(get<std::optional<Totp>>([](Tx& tx) { return tx.get_totp("user_1"); }), t);
  Totp twice = t;
  twice.id = "totp_2";
  auto dup = try_write([&](Tx& tx) { return tx.insert_totp(twice); });
  ASSERT_FALSE(dup.has_value());
  EXPECT_TRUE(store::is_conflict(dup.error(), store::kTotpUserKey)) << dup.error().internal;
  // Unverified: no step is accepted, and it does not count.
  EXPECT_EQ(try_write([](Tx& tx) { return tx.use_totp_step("user_1", 5, kT0); }).error().code,
            Code::kResourceNotFound);
  EXPECT_FALSE(summary().totp);
  t.verified = true;
  t.failed_attempts = 3;
  t.updated_at_ms = kT0 + 1;
  write([&](Tx& tx) { return tx.update_totp(t); });
  EXPECT_EQ(get<std::optional<Totp>>([](Tx& tx) { return tx.get_totp("user_1"); }), t);
  EXPECT_TRUE(summary().totp);
  write([](Tx& tx) { return tx.use_totp_step("user_1", 5, kT0 + 2); });
  for (const std::int64_t replayed : {5, 4}) {
    EXPECT_EQ(
        try_write([&](Tx& tx) { return tx.use_totp_step("user_1", replayed, kT0); }).error().code,
        Code::kResourceNotFound);
  }
  write([](Tx& tx) { return tx.use_totp_step("user_1", 6, kT0 + 3); });
  const auto stored = get<std::optional<Totp>>([](Tx& tx) { return tx.get_totp("user_1"); });
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->last_used_step, 6);
  EXPECT_EQ(stored->failed_attempts, 0);  // a right code ends the run of wrong ones
  EXPECT_EQ(stored->updated_at_ms, kT0 + 3);

  write([](Tx& tx) { return tx.replace_backup_codes("user_1", {"mac_a", "mac_b"}, kT0); });
  EXPECT_EQ(summary().backup_codes, 2);
  write([](Tx& tx) { return tx.replace_backup_codes("user_1", {"mac_c", "mac_d", "mac_e"}, kT0); });
  EXPECT_EQ(summary(), (MfaSummary{true, 3}));
  EXPECT_EQ(try_write([](Tx& tx) { return tx.use_backup_code("user_1", "mac_a"); }).error().code,
            Code::kResourceNotFound);  // replaced
  write([](Tx& tx) { return tx.use_backup_code("user_1", "mac_c"); });
  EXPECT_EQ(try_write([](Tx& tx) { return tx.use_backup_code("user_1", "mac_c"); }).error().code,
            Code::kResourceNotFound);  // used
  EXPECT_EQ(summary().backup_codes, 2);

  write([](Tx& tx) { return tx.delete_totp("user_1"); });
  EXPECT_EQ(try_write([](Tx& tx) { return tx.delete_totp("user_1"); }).error().code,
            Code::kResourceNotFound);
  write([](Tx& tx) {
    return tx.insert_totp(Totp{"totp_3", "user_1", "v1.x", true, 0, 0, kT0, kT0});
  });
  write([](Tx& tx) { return tx.delete_user("user_1"); });
  seed_owner("user_1", "client_2");
  EXPECT_EQ(summary(), MfaSummary{});
  EXPECT_FALSE(get<std::optional<Totp>>([](Tx& tx) { return tx.get_totp("user_1"); }));
  write([](Tx& tx) { return tx.delete_backup_codes("user_1"); });  // none: not an error
}

TEST_P(StoreContract, DeletingAnAttemptOrSessionClearsTheClientPointer) {
  seed_owner();
  write([](Tx& tx) -> Status {
    if (auto st = tx.insert_sign_in(make_sign_in("sia_1", "client_1")); !st) {
      return st;
    }
    if (auto st = tx.insert_sign_up(make_sign_up("sua_1", "client_1")); !st) {
      return st;
    }
    if (auto st = tx.insert_session(make_session("sess_1", "client_1", "user_1")); !st) {
      return st;
    }
    Client c = make_client("client_1");
    c.sign_in_id = "sia_1";
    c.sign_up_id = "sua_1";
    c.last_active_session_id = "sess_1";
    return tx.update_client(c);
  });
  write([](Tx& tx) -> Status {
    if (auto st = tx.delete_sign_in("sia_1"); !st) {
      return st;
    }
    if (auto st = tx.delete_sign_up("sua_1"); !st) {
      return st;
    }
    return tx.delete_session("sess_1");
  });
  auto c = get<std::optional<Client>>([](Tx& tx) { return tx.get_client("client_1"); });
  ASSERT_TRUE(c.has_value());
  EXPECT_FALSE(c->sign_in_id.has_value());
  EXPECT_FALSE(c->sign_up_id.has_value());
  EXPECT_FALSE(c->last_active_session_id.has_value());
}

TEST_P(StoreContract, ClientPointersMustNameExistingRows) {
  seed_owner();
  Client c = make_client("client_1");
  c.sign_in_id = "sia_missing";
  auto st = try_write([&](Tx& tx) { return tx.update_client(c); });
  ASSERT_FALSE(st.has_value());
  EXPECT_TRUE(is_conflict(st.error(), kForeignKey)) << st.error().internal;
}

// ---- signing keys -------------------------------------------------------------------------------

TEST_P(StoreContract, SigningKeysListNewestFirstRetireAndDelete) {
  write([](Tx& tx) -> Status {
    for (const auto& k : {make_key("kid_1", kT0, false), make_key("kid_3", kT0 + 20, true),
                          make_key("kid_2", kT0 + 10, false)}) {
      if (auto st = tx.insert_signing_key(k); !st) {
        return st;
      }
    }
    return {};
  });
  auto keys = get<std::vector<SigningKey>>([](Tx& tx) { return tx.list_signing_keys(); });
  ASSERT_EQ(keys.size(), 3U);
  EXPECT_EQ(keys[0], make_key("kid_3", kT0 + 20, true));  // every field, binary key included
  EXPECT_EQ(keys[1].kid, "kid_2");
  EXPECT_EQ(keys[2].kid, "kid_1");

  write([](Tx& tx) { return tx.retire_signing_key("kid_3", kT0 + 30); });
  keys = get<std::vector<SigningKey>>([](Tx& tx) { return tx.list_signing_keys(); });
  ASSERT_EQ(keys.size(), 3U);
  EXPECT_FALSE(keys[0].active);
  EXPECT_EQ(keys[0].retired_at_ms, kT0 + 30);

  auto st = try_write([](Tx& tx) { return tx.insert_signing_key(make_key("kid_1", kT0, true)); });
  ASSERT_FALSE(st.has_value());
  EXPECT_TRUE(is_conflict(st.error(), kSigningKeyPkey)) << st.error().internal;

  write([](Tx& tx) { return tx.delete_signing_key("kid_1"); });
  keys = get<std::vector<SigningKey>>([](Tx& tx) { return tx.list_signing_keys(); });
  ASSERT_EQ(keys.size(), 2U);
  EXPECT_EQ(keys[1].kid, "kid_2");
}

// ---- housekeeping -------------------------------------------------------------------------------

TEST_P(StoreContract, PurgeExpiredDeletesOnlyWhatIsPastItsTime) {
  constexpr std::int64_t kNow = kT0 + 500;
  seed_owner("user_1", "client_live");
  write([&](Tx& tx) -> Status {
    Client dead = make_client("client_dead");
    dead.expire_at_ms = kNow;  // expires exactly now: gone
    if (auto st = tx.insert_client(dead); !st) {
      return st;
    }
    SignIn si_old = make_sign_in("sia_old", "client_live");
    si_old.abandon_at_ms = kNow - 1;
    SignUp su_old = make_sign_up("sua_old", "client_live");
    su_old.abandon_at_ms = kNow - 1;
    Session s_expired = make_session("sess_expired", "client_live", "user_1");
    s_expired.expire_at_ms = kNow - 1;
    Session s_abandoned = make_session("sess_abandoned", "client_live", "user_1");
    s_abandoned.abandon_at_ms = kNow;
    for (auto st :
         {tx.insert_sign_in(si_old), tx.insert_sign_in(make_sign_in("sia_new", "client_live")),
          tx.insert_sign_up(su_old), tx.insert_sign_up(make_sign_up("sua_new", "client_live")),
          tx.insert_session(s_expired), tx.insert_session(s_abandoned),
          tx.insert_session(make_session("sess_live", "client_live", "user_1")),
          tx.insert_session(make_session("sess_in_dead", "client_dead", "user_1")),
          tx.insert_oauth_state(make_state("st_old", "client_live", kNow)),
          tx.insert_oauth_state(make_state("st_new", "client_live", kNow + 1))}) {
      if (!st) {
        return st;
      }
    }
    return {};
  });
  PurgeCounts counts;
  write([&](Tx& tx) -> Status {
    auto r = tx.purge_expired(kNow);
    if (!r) {
      return core::fail(std::move(r.error()));
    }
    counts = *r;
    return {};
  });
  EXPECT_EQ(counts.oauth_states, 1);
  EXPECT_EQ(counts.sign_ins, 1);
  EXPECT_EQ(counts.sign_ups, 1);
  EXPECT_EQ(counts.sessions, 2);
  EXPECT_EQ(counts.clients, 1);

  EXPECT_TRUE(get<std::optional<Client>>([](Tx& tx) { return tx.get_client("client_live"); }));
  EXPECT_FALSE(get<std::optional<Client>>([](Tx& tx) { return tx.get_client("client_dead"); }));
  EXPECT_FALSE(get<std::optional<Session>>([](Tx& tx) { return tx.get_session("sess_in_dead"); }));
  EXPECT_TRUE(get<std::optional<SignIn>>([](Tx& tx) { return tx.get_sign_in("sia_new"); }));
  EXPECT_FALSE(get<std::optional<SignIn>>([](Tx& tx) { return tx.get_sign_in("sia_old"); }));
  EXPECT_TRUE(get<std::optional<SignUp>>([](Tx& tx) { return tx.get_sign_up("sua_new"); }));
  EXPECT_FALSE(get<std::optional<SignUp>>([](Tx& tx) { return tx.get_sign_up("sua_old"); }));
  auto sessions =
      get<std::vector<Session>>([](Tx& tx) { return tx.list_sessions_by_client("client_live"); });
  ASSERT_EQ(sessions.size(), 1U);
  EXPECT_EQ(sessions[0].id, "sess_live");
  EXPECT_TRUE(consume(store(), "st_new", kNow).value().has_value());

  // A second purge at the same time finds nothing more.
  write([&](Tx& tx) -> Status {
    auto r = tx.purge_expired(kNow);
    EXPECT_TRUE(r.has_value());
    EXPECT_EQ(*r, PurgeCounts{});
    return {};
  });
}

// ---- rate-limit counters ------------------------------------------------------------------------

CounterHit counter_hit(const std::string& key, std::int64_t window, std::int64_t cost = 1,
                       std::int64_t expire_at = kT0 + 1'000'000) {
  CounterHit h;
  h.key = key;
  h.window_number = window;
  h.cost = cost;
  h.expire_at_ms = expire_at;
  return h;
}

// Runs one batch and fails the test when the store refuses it.
std::vector<CounterCounts> hit(Store& store, const std::vector<CounterHit>& hits) {
  auto r = store.hit_counters(hits);
  EXPECT_TRUE(r.has_value()) << r.error().internal;
  return r.has_value() ? *r : std::vector<CounterCounts>{};
}

using Counts = std::vector<CounterCounts>;

TEST_P(StoreContract, RateCountersAccumulatePerKeyAndWindowAndReturnThePreviousWindow) {
  EXPECT_EQ(hit(store(), {}), Counts{});
  EXPECT_EQ(hit(store(), {counter_hit("rule|a", 100)}), (Counts{{0, 1}}));
  EXPECT_EQ(hit(store(), {counter_hit("rule|a", 100, 2)}), (Counts{{0, 3}}));
  // Another key, another rule with the same key: independent.
  EXPECT_EQ(hit(store(), {counter_hit("rule|b", 100)}), (Counts{{0, 1}}));
  EXPECT_EQ(hit(store(), {counter_hit("other|a", 100)}), (Counts{{0, 1}}));
  // The next window starts at the cost and reports the window before it.
  EXPECT_EQ(hit(store(), {counter_hit("rule|a", 101)}), (Counts{{3, 1}}));
  EXPECT_EQ(hit(store(), {counter_hit("rule|a", 101)}), (Counts{{3, 2}}));
  // Only the window just before counts as previous: a gap gives 0.
  EXPECT_EQ(hit(store(), {counter_hit("rule|a", 103)}), (Counts{{0, 1}}));
  // Keys are compared exactly (case, bytes).
  EXPECT_EQ(hit(store(), {counter_hit("rule|A", 100)}), (Counts{{0, 1}}));
}

TEST_P(StoreContract, RateCounterBatchesAnswerInOrderAndCountRepeatsInTurn) {
  EXPECT_EQ(hit(store(), {counter_hit("r|z", 6, 5)}), (Counts{{0, 5}}));
  const Counts got = hit(store(), {counter_hit("r|z", 7), counter_hit("r|a", 7, 2),
                                   counter_hit("r|z", 7, 3), counter_hit("r|m", 7)});
  EXPECT_EQ(got, (Counts{{5, 1}, {0, 2}, {5, 4}, {0, 1}}));
  EXPECT_EQ(hit(store(), {counter_hit("r|a", 7), counter_hit("r|z", 7)}), (Counts{{0, 3}, {5, 5}}));
}

TEST_P(StoreContract, ConcurrentRateCounterHitsFromTwoStoresAndFourThreadsSumExactly) {
  // Two stores on one database stand for two nodes. Each hit returns the counter's value after
  // it, so with no lost update the values handed out for the shared key are exactly 1..N.
  auto other = GetParam().make(scratch_.path());
  constexpr int kThreads = 4;
  constexpr int kPerThread = 150;
  std::vector<std::vector<std::int64_t>> seen(kThreads);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Store& s = t % 2 == 0 ? store() : *other;
      const std::string own = "r|own" + std::to_string(t);
      for (int i = 0; i < kPerThread; ++i) {
        // Half the batches name the shared counters in the other order: no deadlock either way.
        std::vector<CounterHit> batch{counter_hit("r|shared", 9), counter_hit(own, 9),
                                      counter_hit("r|shared2", 9)};
        if (i % 2 == 1) {
          std::swap(batch[0], batch[2]);
        }
        auto r = s.hit_counters(batch);
        if (!r || r->size() != 3) {
          ++failures;
          continue;
        }
        seen[static_cast<std::size_t>(t)].push_back((*r)[i % 2 == 1 ? 2 : 0].current);
        if ((*r)[1].current != i + 1) {
          ++failures;
        }
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(failures.load(), 0);
  std::vector<std::int64_t> all;
  for (const auto& v : seen) {
    all.insert(all.end(), v.begin(), v.end());
  }
  std::sort(all.begin(), all.end());
  std::vector<std::int64_t> expected(kThreads * kPerThread);
  for (std::size_t i = 0; i < expected.size(); ++i) {
    expected[i] = static_cast<std::int64_t>(i) + 1;
  }
  EXPECT_EQ(all, expected);
  EXPECT_EQ(hit(store(), {counter_hit("r|shared2", 9, 0)}), (Counts{{0, kThreads * kPerThread}}));
}

TEST_P(StoreContract, PurgeExpiredDeletesRateCountersPastTheirTime) {
  constexpr std::int64_t kNow = kT0 + 500;
  hit(store(), {counter_hit("r|old", 1, 4, kNow), counter_hit("r|live", 1, 4, kNow + 1),
                counter_hit("r|live", 2, 1, kNow + 1)});
  PurgeCounts counts;
  write([&](Tx& tx) -> Status {
    auto r = tx.purge_expired(kNow);
    if (!r) {
      return core::fail(std::move(r.error()));
    }
    counts = *r;
    return {};
  });
  EXPECT_EQ(counts.rate_counters, 1);
  EXPECT_EQ(counts, PurgeCounts{.rate_counters = 1});
  // The purged counter starts again from nothing; the live ones kept their counts.
  EXPECT_EQ(hit(store(), {counter_hit("r|old", 1)}), (Counts{{0, 1}}));
  EXPECT_EQ(hit(store(), {counter_hit("r|live", 2)}), (Counts{{4, 2}}));
}

// ---- outbox (migration 0005) -----------------------------------------------------------------

OutboxMessage make_outbox(const std::string& id, std::int64_t due_ms = kT0) {
  OutboxMessage m;
  m.id = id;
  m.channel = "email";
  m.purpose = "verification_code";
  m.recipient = "ada@example.com";
  m.remote_ip = "203.0.113.7";
  m.payload_enc = "v1.sealed";
  m.next_attempt_at_ms = due_ms;
  m.created_at_ms = kT0;
  return m;
}

TEST_P(StoreContract, OutboxMessageRoundTripsEveryField) {
  OutboxMessage m = make_outbox("msg_1");
  m.channel = "sms";
  m.recipient = "+447700900123";
  m.country = "44";
  m.last_error = "smtp: connection refused";
  m.sent_at_ms = kT0 + 5;
  m.attempts = 2;
  m.lease_until_ms = kT0 + 7;
  write([&](Tx& tx) { return tx.insert_outbox_message(m); });
  EXPECT_EQ(
      get<std::optional<OutboxMessage>>([](Tx& tx) { return tx.get_outbox_message("msg_1"); }), m);
  m.status = "sent";
  m.payload_enc = "";
  m.attempts = 3;
  m.next_attempt_at_ms = kT0 + 100;
  m.lease_until_ms = 0;
  m.last_error = std::nullopt;
  m.sent_at_ms = kT0 + 99;
  write([&](Tx& tx) { return tx.update_outbox_message(m); });
  EXPECT_EQ(
      get<std::optional<OutboxMessage>>([](Tx& tx) { return tx.get_outbox_message("msg_1"); }), m);
  auto missing = try_write([](Tx& tx) { return tx.update_outbox_message(make_outbox("msg_no")); });
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, Code::kResourceNotFound);
  auto dup = try_write([](Tx& tx) { return tx.insert_outbox_message(make_outbox("msg_1")); });
  ASSERT_FALSE(dup.has_value());
  EXPECT_TRUE(is_conflict(dup.error(), kOutboxPkey)) << dup.error().internal;
}

TEST_P(StoreContract, OutboxClaimTakesDueUnleasedPendingRowsOnceAndCountsTheAttempt) {
  write([](Tx& tx) -> Status {
    for (auto m : {make_outbox("msg_a", kT0 - 2), make_outbox("msg_b", kT0 - 1),
                   make_outbox("msg_late", kT0 + 1000)}) {
      if (auto st = tx.insert_outbox_message(m); !st) {
        return st;
      }
    }
    OutboxMessage sent = make_outbox("msg_sent", kT0 - 5);
    sent.status = "sent";
    return tx.insert_outbox_message(sent);
  });
  auto claim = [&](std::int64_t now, std::int64_t limit) {
    std::vector<OutboxMessage> out;
    write([&](Tx& tx) -> Status {
      auto r = tx.claim_outbox_messages(now, now + 30'000, limit);
      if (!r) {
        return core::fail(std::move(r.error()));
      }
      out = std::move(*r);
      return {};
    });
    std::ranges::sort(out, {}, &OutboxMessage::id);
    return out;
  };
  auto first = claim(kT0, 1);
  ASSERT_EQ(first.size(), 1U);
  EXPECT_EQ(first[0].id, "msg_a");  // oldest due first
  EXPECT_EQ(first[0].attempts, 1);
  EXPECT_EQ(first[0].lease_until_ms, kT0 + 30'000);
  auto second = claim(kT0, 10);  // msg_a is leased, msg_late not due, msg_sent not pending
  ASSERT_EQ(second.size(), 1U);
  EXPECT_EQ(second[0].id, "msg_b");
  EXPECT_TRUE(claim(kT0, 10).empty());
  // Once the leases run out, both come back (a worker that died mid-send loses nothing), with
  // msg_late, due by then.
  auto again = claim(kT0 + 30'000, 10);
  ASSERT_EQ(again.size(), 3U);
  EXPECT_EQ(again[0].id, "msg_a");
  EXPECT_EQ(again[0].attempts, 2);
  EXPECT_EQ(again[1].id, "msg_b");
  EXPECT_EQ(again[1].attempts, 2);
  EXPECT_EQ(again[2].id, "msg_late");
  EXPECT_EQ(again[2].attempts, 1);
}

TEST_P(StoreContract, OutboxConcurrentClaimsNeverReturnTheSameRow) {
  constexpr int kRows = 40;
  write([](Tx& tx) -> Status {
    for (int i = 0; i < kRows; ++i) {
      if (auto st = tx.insert_outbox_message(make_outbox("msg_" + std::to_string(100 + i))); !st) {
        return st;
      }
    }
    return {};
  });
  constexpr int kThreads = 4;
  std::vector<std::vector<std::string>> claimed(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 20; ++round) {
        std::vector<std::string> ids;
        auto st = store().transaction([&](Tx& tx) -> Status {
          ids.clear();  // the transaction may be re-run
          auto r = tx.claim_outbox_messages(kT0, kT0 + 60'000, 3);
          if (!r) {
            return core::fail(std::move(r.error()));
          }
          for (const auto& m : *r) {
            ids.push_back(m.id);
          }
          return {};
        });
        if (st) {
          claimed[t].insert(claimed[t].end(), ids.begin(), ids.end());
        }
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  std::vector<std::string> all;
  for (const auto& c : claimed) {
    all.insert(all.end(), c.begin(), c.end());
  }
  std::ranges::sort(all);
  EXPECT_EQ(std::ranges::adjacent_find(all), all.end()) << "a row was claimed twice";
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kRows));
}

// ---- webhook deliveries (migration 0011) -----------------------------------------------------

WebhookDelivery make_delivery(const std::string& id, const std::string& object_id,
                              std::int64_t due_ms = kT0,
                              const std::string& endpoint = "https://hooks.example.com/a") {
  WebhookDelivery d;
  d.id = id;
  d.event_id = "msg_" + id;
  d.event_type = "user.updated";
  d.object_id = object_id;
  d.endpoint = endpoint;
  d.payload = R"({"object":"event","type":"user.updated","data":{"id":")" + object_id + "\"}}";
  d.next_attempt_at_ms = due_ms;
  d.created_at_ms = kT0;
  return d;
}

TEST_P(StoreContract, WebhookDeliveryRoundTripsEveryFieldAndListsNewestFirst) {
  WebhookDelivery d = make_delivery("whd_1", "user_1");
  d.attempts = 2;
  d.lease_until_ms = kT0 + 7;
  d.last_error = "HTTP 500";
  write([&](Tx& tx) { return tx.insert_webhook_delivery(d); });
  auto got =
      get<std::optional<WebhookDelivery>>([](Tx& tx) { return tx.get_webhook_delivery("whd_1"); });
  ASSERT_TRUE(got.has_value());
  EXPECT_GT(got->seq, 0);
  d.seq = got->seq;
  EXPECT_EQ(*got, d);
  d.status = "delivered";
  d.attempts = 3;
  d.lease_until_ms = 0;
  d.last_error = std::nullopt;
  d.delivered_at_ms = kT0 + 99;
  d.next_attempt_at_ms = kT0 + 50;
  write([&](Tx& tx) { return tx.update_webhook_delivery(d); });
  EXPECT_EQ(
      get<std::optional<WebhookDelivery>>([](Tx& tx) { return tx.get_webhook_delivery("whd_1"); }),
      d);
  auto missing =
      try_write([](Tx& tx) { return tx.update_webhook_delivery(make_delivery("whd_no", "u")); });
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, Code::kResourceNotFound);
  auto dup =
      try_write([](Tx& tx) { return tx.insert_webhook_delivery(make_delivery("whd_1", "u")); });
  ASSERT_FALSE(dup.has_value());
  EXPECT_TRUE(is_conflict(dup.error(), kWebhookDeliveryIdKey)) << dup.error().internal;

  write([](Tx& tx) -> Status {
    WebhookDelivery f = make_delivery("whd_2", "user_2");
    f.status = "failed";
    if (auto st = tx.insert_webhook_delivery(f); !st) {
      return st;
    }
    return tx.insert_webhook_delivery(make_delivery("whd_3", "user_3"));
  });
  auto all = get<std::vector<WebhookDelivery>>(
      [](Tx& tx) { return tx.list_webhook_deliveries(false, 10); });
  ASSERT_EQ(all.size(), 3U);
  EXPECT_EQ(all[0].id, "whd_3");
  EXPECT_EQ(all[1].id, "whd_2");
  EXPECT_EQ(all[2].id, "whd_1");
  auto two = get<std::vector<WebhookDelivery>>(
      [](Tx& tx) { return tx.list_webhook_deliveries(false, 2); });
  EXPECT_EQ(two.size(), 2U);
  auto failed = get<std::vector<WebhookDelivery>>(
      [](Tx& tx) { return tx.list_webhook_deliveries(true, 10); });
  ASSERT_EQ(failed.size(), 1U);
  EXPECT_EQ(failed[0].id, "whd_2");
  // Purge: finished rows created before the time go; pending ones stay.
  std::int64_t purged = 0;
  write([&](Tx& tx) -> Status {
    auto n = tx.purge_webhook_deliveries(kT0 + 1);
    if (!n) {
      return core::fail(std::move(n.error()));
    }
    purged = *n;
    return {};
  });
  EXPECT_EQ(purged, 2);
  auto left = get<std::vector<WebhookDelivery>>(
      [](Tx& tx) { return tx.list_webhook_deliveries(false, 10); });
  ASSERT_EQ(left.size(), 1U);
  EXPECT_EQ(left[0].id, "whd_3");
}

TEST_P(StoreContract, WebhookClaimKeepsTheOrderOfOneObjectPerEndpoint) {
  write([](Tx& tx) -> Status {
    // user_1: two events to endpoint a (the second may not go before the first), one to b.
    for (const auto& d : {make_delivery("whd_u1_first", "user_1", kT0 - 1),
                          make_delivery("whd_u1_second", "user_1", kT0 - 5),
                          make_delivery("whd_u1_b", "user_1", kT0, "https://hooks.example.com/b"),
                          make_delivery("whd_u2", "user_2", kT0 - 3),
                          make_delivery("whd_late", "user_3", kT0 + 1000)}) {
      if (auto st = tx.insert_webhook_delivery(d); !st) {
        return st;
      }
    }
    return {};
  });
  auto claim = [&](std::int64_t now) {
    std::vector<WebhookDelivery> out;
    write([&](Tx& tx) -> Status {
      auto r = tx.claim_webhook_deliveries(now, now + 30'000, 10);
      if (!r) {
        return core::fail(std::move(r.error()));
      }
      out = std::move(*r);
      return {};
    });
    std::ranges::sort(out, {}, &WebhookDelivery::id);
    return out;
  };
  auto first = claim(kT0);
  ASSERT_EQ(first.size(), 3U);
  EXPECT_EQ(first[0].id, "whd_u1_b");
  EXPECT_EQ(first[1].id, "whd_u1_first");
  EXPECT_EQ(first[1].attempts, 1);
  EXPECT_EQ(first[1].lease_until_ms, kT0 + 30'000);
  EXPECT_EQ(first[2].id, "whd_u2");
  EXPECT_TRUE(claim(kT0).empty());  // leased, or behind a pending row of the same object
  // The first one delivered: the second of user_1 goes next.
  write([&](Tx& tx) {
    WebhookDelivery d = first[1];
    d.status = "delivered";
    d.lease_until_ms = 0;
    d.delivered_at_ms = kT0 + 1;
    return tx.update_webhook_delivery(d);
  });
  auto next = claim(kT0 + 1);
  ASSERT_EQ(next.size(), 1U);
  EXPECT_EQ(next[0].id, "whd_u1_second");
  // Leases that ran out come back, with what has become due.
  auto again = claim(kT0 + 40'000);
  ASSERT_EQ(again.size(), 4U);
  EXPECT_EQ(again[0].id, "whd_late");
  EXPECT_EQ(again[1].id, "whd_u1_b");
  EXPECT_EQ(again[1].attempts, 2);
}

TEST_P(StoreContract, WebhookConcurrentClaimsNeverReturnTheSameRow) {
  constexpr int kRows = 40;
  write([](Tx& tx) -> Status {
    for (int i = 0; i < kRows; ++i) {
      const std::string n = std::to_string(100 + i);
      if (auto st = tx.insert_webhook_delivery(make_delivery("whd_" + n, "user_" + n)); !st) {
        return st;
      }
    }
    return {};
  });
  constexpr int kThreads = 4;
  std::vector<std::vector<std::string>> claimed(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 20; ++round) {
        std::vector<std::string> ids;
        auto st = store().transaction([&](Tx& tx) -> Status {
          ids.clear();
          auto r = tx.claim_webhook_deliveries(kT0, kT0 + 60'000, 3);
          if (!r) {
            return core::fail(std::move(r.error()));
          }
          for (const auto& d : *r) {
            ids.push_back(d.id);
          }
          return {};
        });
        if (st) {
          claimed[t].insert(claimed[t].end(), ids.begin(), ids.end());
        }
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  std::vector<std::string> all;
  for (const auto& c : claimed) {
    all.insert(all.end(), c.begin(), c.end());
  }
  std::ranges::sort(all);
  EXPECT_EQ(std::ranges::adjacent_find(all), all.end()) << "a row was claimed twice";
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kRows));
}

TEST_P(StoreContract, OutboxCountsByRecipientIpAndCountrySinceATimeAndPurgesFinishedRows) {
  write([](Tx& tx) -> Status {
    OutboxMessage old = make_outbox("msg_old");
    old.created_at_ms = kT0 - 10'000;
    old.status = "sent";
    OutboxMessage sms = make_outbox("msg_sms");
    sms.channel = "sms";
    sms.recipient = "+447700900123";
    sms.country = "44";
    OutboxMessage other_ip = make_outbox("msg_ip");
    other_ip.remote_ip = "198.51.100.1";
    other_ip.status = "failed";
    for (const auto& m : {old, sms, other_ip, make_outbox("msg_now")}) {
      if (auto st = tx.insert_outbox_message(m); !st) {
        return st;
      }
    }
    return {};
  });
  auto count = [&](OutboxKey key, const std::string& value, std::int64_t since) {
    return get<std::int64_t>([&](Tx& tx) { return tx.count_outbox_messages(key, value, since); });
  };
  EXPECT_EQ(count(OutboxKey::kRecipient, "ada@example.com", kT0 - 10'000), 3);
  EXPECT_EQ(count(OutboxKey::kRecipient, "ada@example.com", kT0), 2);
  EXPECT_EQ(count(OutboxKey::kRemoteIp, "203.0.113.7", kT0), 2);
  EXPECT_EQ(count(OutboxKey::kRemoteIp, "198.51.100.1", kT0), 1);
  EXPECT_EQ(count(OutboxKey::kCountry, "44", kT0), 1);
  EXPECT_EQ(count(OutboxKey::kCountry, "1", 0), 0);
  std::int64_t purged = 0;
  write([&](Tx& tx) -> Status {
    auto r = tx.purge_outbox(kT0 + 1);
    if (!r) {
      return core::fail(std::move(r.error()));
    }
    purged = *r;
    return {};
  });
  EXPECT_EQ(purged, 2);  // msg_old (sent) and msg_ip (failed); the pending rows stay
  EXPECT_TRUE(get<std::optional<OutboxMessage>>([](Tx& tx) {
                return tx.get_outbox_message("msg_now");
              }).has_value());
  EXPECT_FALSE(get<std::optional<OutboxMessage>>([](Tx& tx) {
                 return tx.get_outbox_message("msg_old");
               }).has_value());
}

std::string backend_name(const ::testing::TestParamInfo<Backend>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(Backends, StoreContract, ::testing::ValuesIn(testing::all_backends()),
                         backend_name);

}  // namespace
}  // namespace latchkey::store
