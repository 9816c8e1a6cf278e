// Micro benchmarks of the hot operations behind the Frontend API (issue 6, bench/micro):
// JWS sign and verify per algorithm (and the raw OpenSSL EVP RS256 call they wrap), session token
// minting (fresh signature and reuse), JSON encoding of the client and sign-in resources, and the
// SQLite store operations a sign-in and a session check perform, and one argon2id hash and verify
// at the default password cost.
//
// Run: build/<dir>/bench/micro/latchkey_micro [--benchmark_format=json]. bench/run.sh runs it
// pinned to one core and folds the figures into docs/benchmarks.md.
#include <benchmark/benchmark.h>
#include <openssl/evp.h>

#include <unistd.h>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

#include "api/dto/encode.hpp"
#include "app/store_key_store.hpp"
#include "core/base64.hpp"
#include "core/clock.hpp"
#include "core/random.hpp"
#include "core/secret.hpp"
#include "crypto/jws.hpp"
#include "crypto/key.hpp"
#include "flows/attempts.hpp"
#include "flows/flow_types.hpp"
#include "flows/status.hpp"
#include "passwords/hasher.hpp"
#include "sessions/session_tokens.hpp"
#include "store/store.hpp"
#include "tokens/key_ring.hpp"

namespace {

using namespace latchkey;  // NOLINT(google-build-using-namespace): benchmark file

template <typename T>
T must(core::Result<T> r, const char* what) {
  if (!r) {
    throw std::runtime_error(std::string(what) + ": " + r.error().internal);
  }
  return std::move(*r);
}

void must(const core::Status& s, const char* what) {
  if (!s) {
    throw std::runtime_error(std::string(what) + ": " + s.error().internal);
  }
}

// A realistic signing input: the header and claims of a session token, base64url encoded.
std::string signing_input() {
  const std::string header =
      R"({"alg":"RS256","kid":"ins_2abcdefghijklmnopqrstuvwxyz","typ":"JWT"})";
  const std::string claims =
      R"({"azp":"http://127.0.0.1:8080","exp":1800000060,"fva":[0,-1],"iat":1800000000,)"
      R"("iss":"http://127.0.0.1:8080/__clerk","nbf":1799999990,)"
      R"("sid":"sess_2abcdefghijklmnopqrstuvwxyz","sub":"user_2abcdefghijklmnopqrstuvwxyz","v":2})";
  return core::base64url_encode(header) + "." + core::base64url_encode(claims);
}

// ---- JWS sign / verify per algorithm ------------------------------------------------------------

void BM_JwsSign(benchmark::State& state, crypto::Alg alg) {
  const auto key = must(crypto::generate_key(alg, 2048), "generate_key");
  const std::string input = signing_input();
  for (auto _ : state) {
    auto sig = crypto::sign(key, alg, input);
    benchmark::DoNotOptimize(sig);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_JwsVerify(benchmark::State& state, crypto::Alg alg) {
  const auto key = must(crypto::generate_key(alg, 2048), "generate_key");
  const std::string input = signing_input();
  const std::string sig = must(crypto::sign(key, alg, input), "sign");
  for (auto _ : state) {
    bool ok = crypto::verify_signature(key.public_key(), alg, input, sig);
    if (!ok) {
      state.SkipWithError("signature did not verify");
      break;
    }
    benchmark::DoNotOptimize(ok);
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK_CAPTURE(BM_JwsSign, RS256, crypto::Alg::kRS256);
BENCHMARK_CAPTURE(BM_JwsSign, PS256, crypto::Alg::kPS256);
BENCHMARK_CAPTURE(BM_JwsSign, ES256, crypto::Alg::kES256);
BENCHMARK_CAPTURE(BM_JwsSign, ES384, crypto::Alg::kES384);
BENCHMARK_CAPTURE(BM_JwsSign, EdDSA, crypto::Alg::kEdDSA);
BENCHMARK_CAPTURE(BM_JwsVerify, RS256, crypto::Alg::kRS256);
BENCHMARK_CAPTURE(BM_JwsVerify, PS256, crypto::Alg::kPS256);
BENCHMARK_CAPTURE(BM_JwsVerify, ES256, crypto::Alg::kES256);
BENCHMARK_CAPTURE(BM_JwsVerify, ES384, crypto::Alg::kES384);
BENCHMARK_CAPTURE(BM_JwsVerify, EdDSA, crypto::Alg::kEdDSA);

// The floor under RS256 signing: one EVP_DigestSign with a fresh context, no JOSE layer.
void BM_OpenSslRawRS256Sign(benchmark::State& state) {
  const auto key = must(crypto::generate_key(crypto::Alg::kRS256, 2048), "generate_key");
  const std::string input = signing_input();
  unsigned char sig[512];
  for (auto _ : state) {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    std::size_t len = sizeof(sig);
    if (EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.native()) != 1 ||
        EVP_DigestSign(ctx.get(), sig, &len, reinterpret_cast<const unsigned char*>(input.data()),
                       input.size()) != 1) {
      state.SkipWithError("EVP_DigestSign failed");
      break;
    }
    benchmark::DoNotOptimize(sig);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_OpenSslRawRS256Sign);

// ---- password hashing ---------------------------------------------------------------------------

// One argon2id hash and one verify at the default cost (passwords::HashSettings: OWASP's floor,
// m=19 MiB, t=2, p=1): the ceiling of password sign-ins per core.
void BM_Argon2idHashDefault(benchmark::State& state) {
  const passwords::Hasher hasher(passwords::HashSettings{});
  const core::Secret password("correct horse battery staple");
  for (auto _ : state) {
    auto digest = hasher.hash(password);
    benchmark::DoNotOptimize(digest);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Argon2idHashDefault)->Unit(benchmark::kMillisecond);

void BM_Argon2idVerifyDefault(benchmark::State& state) {
  const passwords::Hasher hasher(passwords::HashSettings{});
  const core::Secret password("correct horse battery staple");
  const std::string digest = must(hasher.hash(password), "hash");
  for (auto _ : state) {
    auto v = hasher.verify(password, digest);
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Argon2idVerifyDefault)->Unit(benchmark::kMillisecond);

// ---- store and key ring fixtures ----------------------------------------------------------------

// A SQLite database in a temporary directory (WAL, as in production), migrated.
struct TempStore {
  std::filesystem::path dir;
  std::unique_ptr<store::Store> store;

  TempStore() {
    dir = std::filesystem::temp_directory_path() /
          ("latchkey-micro-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    std::filesystem::create_directories(dir);
    store::SqliteOptions o;
    o.path = (dir / "bench.db").string();
    store = must(store::open_sqlite(o), "open_sqlite");
    must(store->migrate(), "migrate");
  }
  ~TempStore() {
    store.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  TempStore(const TempStore&) = delete;
  TempStore& operator=(const TempStore&) = delete;

  static int& counter() {
    static int n = 0;
    return n;
  }
};

struct Ring {
  TempStore db;
  core::ManualClock clock;
  core::SystemRandom random;
  std::unique_ptr<app::StoreKeyStore> keys;
  std::unique_ptr<tokens::KeyRing> ring;

  explicit Ring(const std::string& alg) {
    tokens::KeyRingOptions options;
    options.algorithm = alg;
    std::string master(32, '\0');
    random.fill(std::span(reinterpret_cast<std::uint8_t*>(master.data()), master.size()));
    keys = std::make_unique<app::StoreKeyStore>(*db.store);
    ring = std::make_unique<tokens::KeyRing>(*keys, clock, random, core::Secret(master), options);
    must(ring->load_or_create(), "load_or_create");
  }
};

store::Session sample_session(std::int64_t now_ms) {
  store::Session s;
  s.id = "sess_2abcdefghijklmnopqrstuvwxyz";
  s.client_id = "client_2abcdefghijklmnopqrstuvwxyz";
  s.user_id = "user_2abcdefghijklmnopqrstuvwxyz";
  s.status = "active";
  s.expire_at_ms = now_ms + 7LL * 24 * 3600 * 1000;
  s.abandon_at_ms = now_ms + 7LL * 24 * 3600 * 1000;
  s.last_active_at_ms = now_ms;
  s.created_at_ms = now_ms - 120'000;
  s.updated_at_ms = now_ms;
  return s;
}

// ---- session token minting ----------------------------------------------------------------------

// Every call signs (reuse disabled): the cost of a token refresh that cannot reuse.
void BM_SessionTokenMint(benchmark::State& state, const char* alg) {
  Ring r(alg);
  sessions::TokenSettings ts;
  ts.issuer = "http://127.0.0.1:8080/__clerk";
  ts.reuse_window = std::chrono::seconds(0);
  sessions::SessionTokens tokens(*r.ring, r.clock, ts);
  const auto s = sample_session(r.clock.now_ms());
  for (auto _ : state) {
    auto jwt = tokens.token_for(s, "http://127.0.0.1:8080");
    if (!jwt) {
      state.SkipWithError("token_for failed");
      break;
    }
    benchmark::DoNotOptimize(jwt);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(BM_SessionTokenMint, RS256, "RS256");
BENCHMARK_CAPTURE(BM_SessionTokenMint, ES256, "ES256");
BENCHMARK_CAPTURE(BM_SessionTokenMint, EdDSA, "EdDSA");

// A token minted within the reuse window for the same session, origin, status and key.
void BM_SessionTokenReuse(benchmark::State& state) {
  Ring r("RS256");
  sessions::TokenSettings ts;
  ts.issuer = "http://127.0.0.1:8080/__clerk";
  sessions::SessionTokens tokens(*r.ring, r.clock, ts);
  const auto s = sample_session(r.clock.now_ms());
  must(tokens.token_for(s, "http://127.0.0.1:8080"), "first token");
  for (auto _ : state) {
    auto jwt = tokens.token_for(s, "http://127.0.0.1:8080");
    benchmark::DoNotOptimize(jwt);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SessionTokenReuse);

void BM_KeyRingVerifyJwt(benchmark::State& state) {
  Ring r("RS256");
  sessions::TokenSettings ts;
  ts.issuer = "http://127.0.0.1:8080/__clerk";
  sessions::SessionTokens tokens(*r.ring, r.clock, ts);
  const auto jwt = must(tokens.token_for(sample_session(r.clock.now_ms()), "http://x"), "mint");
  for (auto _ : state) {
    auto claims = r.ring->verify_jwt(jwt);
    if (!claims) {
      state.SkipWithError("verify_jwt failed");
      break;
    }
    benchmark::DoNotOptimize(claims);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_KeyRingVerifyJwt);

// ---- JSON encoding ------------------------------------------------------------------------------

flows::SignInData sample_sign_in_data() {
  flows::SignInData d;
  d.strategy = "oauth_google";
  d.identifier = "alice@example.com";
  d.redirect_url = "http://127.0.0.1:8080/sso-callback";
  flows::Verification v;
  v.status = std::string(flows::to_wire(flows::VerificationStatus::kUnverified));
  v.strategy = "oauth_google";
  v.external_verification_redirect_url =
      "https://accounts.google.com/o/oauth2/v2/auth?response_type=code&client_id=1234567890-"
      "abcdefghijklmnopqrstuvwxyz.apps.googleusercontent.com&redirect_uri=http%3A%2F%2F127.0.0.1"
      "%3A8080%2F__clerk%2Fv1%2Foauth_callback&scope=openid+email+profile&state=AbCdEfGhIjKlMnOpQr"
      "StUvWxYz0123456789-_AbCdEfG&nonce=AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCdEfG&code_"
      "challenge=AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCdEfG&code_challenge_method=S256&login_"
      "hint=alice%40example.com";
  v.expire_at_ms = 1'800'000'600'000;
  d.first_factor = v;
  return d;
}

store::SignIn sample_sign_in() {
  store::SignIn s;
  s.id = "sia_2abcdefghijklmnopqrstuvwxyz";
  s.client_id = "client_2abcdefghijklmnopqrstuvwxyz";
  s.status = std::string(flows::to_wire(flows::SignInStatus::kNeedsFirstFactor));
  s.data = flows::to_json(sample_sign_in_data());
  s.abandon_at_ms = 1'800'086'400'000;
  s.created_at_ms = 1'800'000'000'000;
  s.updated_at_ms = 1'800'000'000'000;
  return s;
}

flows::ClientView sample_client() {
  flows::ClientView c;
  c.client.id = "client_2abcdefghijklmnopqrstuvwxyz";
  c.client.cookie_token_hash = std::string(64, 'a');
  c.client.last_active_session_id = "sess_2abcdefghijklmnopqrstuvwxyz";
  c.client.last_authentication_strategy = "oauth_google";
  c.client.expire_at_ms = 1'807'776'000'000;
  c.client.created_at_ms = 1'800'000'000'000;
  c.client.updated_at_ms = 1'800'000'000'000;
  flows::SessionView s;
  s.session = sample_session(1'800'000'000'000);
  s.user.user.id = "user_2abcdefghijklmnopqrstuvwxyz";
  s.user.user.first_name = "Alice";
  s.user.user.last_name = "Liddell";
  s.user.user.image_url = "https://lh3.googleusercontent.com/a/ACg8ocJabcdefghijklmnop=s96-c";
  s.user.user.primary_email_address_id = "idn_2abcdefghijklmnopqrstuvwxyz";
  s.user.user.created_at_ms = 1'800'000'000'000;
  s.user.user.updated_at_ms = 1'800'000'000'000;
  s.user.user.last_sign_in_at_ms = 1'800'000'000'000;
  store::EmailAddress e;
  e.id = "idn_2abcdefghijklmnopqrstuvwxyz";
  e.user_id = s.user.user.id;
  e.email = "alice@example.com";
  e.verified = true;
  e.verification_strategy = "from_oauth_google";
  s.user.emails.push_back(e);
  store::ExternalAccount a;
  a.id = "eac_2abcdefghijklmnopqrstuvwxyz";
  a.user_id = s.user.user.id;
  a.provider = "oauth_google";
  a.provider_user_id = "112233445566778899001";
  a.email = "alice@example.com";
  a.email_verified = true;
  a.first_name = "Alice";
  a.last_name = "Liddell";
  a.approved_scopes = "openid email profile";
  s.user.accounts.push_back(a);
  c.sessions.push_back(s);
  return c;
}

// The client resource as GET /v1/client returns it (one session, its user, a cached token): the
// whole response body, written the way the handler writes it.
void BM_EncodeClient(benchmark::State& state) {
  auto c = sample_client();
  for (auto& s : c.sessions) {
    s.token = std::string(600, 'x');  // minted (or reused) by the service before encoding
  }
  const std::vector<std::string> required;
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string out;
    out.reserve(4096);
    api::dto::JsonWriter w(out);
    w.begin_object();
    w.key("response");
    api::dto::write_client(w, c, required);
    w.members(R"("client":null)");
    w.end_object();
    bytes += out.size();
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}
BENCHMARK(BM_EncodeClient);

// The sign-in resource as POST /v1/client/sign_ins returns it (parsing its stored data first).
void BM_EncodeSignIn(benchmark::State& state) {
  const auto row = sample_sign_in();
  std::size_t bytes = 0;
  for (auto _ : state) {
    auto data = flows::parse_sign_in_data(row.data);
    if (!data) {
      state.SkipWithError("parse_sign_in_data failed");
      break;
    }
    std::string out = api::dto::sign_in_json(row, *data);
    bytes += out.size();
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}
BENCHMARK(BM_EncodeSignIn);

// ---- SQLite store -------------------------------------------------------------------------------

struct Seeded {
  TempStore db;
  core::SystemRandom random;
  std::int64_t now = 1'800'000'000'000;
  store::Client client;
  store::Session session;

  Seeded() {
    store::User u;
    u.id = random.id("user");
    u.created_at_ms = u.updated_at_ms = now;
    client.id = random.id("client");
    client.cookie_token_hash = random.token(32);
    client.expire_at_ms = now + 1'000'000'000;
    client.created_at_ms = client.updated_at_ms = now;
    session = sample_session(now);
    session.id = random.id("sess");
    session.client_id = client.id;
    session.user_id = u.id;
    must(db.store->transaction([&](store::Tx& tx) -> core::Status {
      if (auto s = tx.insert_user(u); !s) {
        return s;
      }
      if (auto s = tx.insert_client(client); !s) {
        return s;
      }
      if (auto s = tx.insert_session(session); !s) {
        return s;
      }
      client.last_active_session_id = session.id;
      return tx.update_client(client);
    }),
         "seed");
  }
};

// The reads of a session check: client by cookie hash, then its sessions.
void BM_StoreSessionCheckReads(benchmark::State& state) {
  Seeded s;
  for (auto _ : state) {
    auto st = s.db.store->read([&](store::Tx& tx) -> core::Status {
      auto c = tx.find_client_by_cookie_hash(s.client.cookie_token_hash);
      if (!c || !*c) {
        return core::fail(core::Error(core::Code::kInternal).with_internal("no client"));
      }
      auto list = tx.list_sessions_by_client((*c)->id);
      if (!list || list->empty()) {
        return core::fail(core::Error(core::Code::kInternal).with_internal("no session"));
      }
      benchmark::DoNotOptimize(list);
      return {};
    });
    if (!st) {
      state.SkipWithError(st.error().internal.c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_StoreSessionCheckReads);

void BM_StoreGetSession(benchmark::State& state) {
  Seeded s;
  for (auto _ : state) {
    auto st = s.db.store->read([&](store::Tx& tx) -> core::Status {
      auto r = tx.get_session(s.session.id);
      if (!r || !*r) {
        return core::fail(core::Error(core::Code::kInternal).with_internal("no session"));
      }
      benchmark::DoNotOptimize(r);
      return {};
    });
    if (!st) {
      state.SkipWithError(st.error().internal.c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_StoreGetSession);

// One write transaction: a new session and the client pointing at it (what activating a
// session commits).
void BM_StoreInsertSession(benchmark::State& state) {
  Seeded s;
  store::Session n = s.session;
  store::Client c = s.client;
  for (auto _ : state) {
    n.id = s.random.id("sess");
    auto st = s.db.store->transaction([&](store::Tx& tx) -> core::Status {
      if (auto r = tx.insert_session(n); !r) {
        return r;
      }
      c.last_active_session_id = n.id;
      return tx.update_client(c);
    });
    if (!st) {
      state.SkipWithError(st.error().internal.c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_StoreInsertSession);

// The writes of starting an OAuth sign-in from a fresh browser: client, sign-in, client update,
// OAuth state, in one transaction.
void BM_StoreSignInStart(benchmark::State& state) {
  Seeded s;
  const auto row = sample_sign_in();
  for (auto _ : state) {
    store::Client c;
    c.id = s.random.id("client");
    c.cookie_token_hash = s.random.token(32);
    c.expire_at_ms = s.now + 1'000'000'000;
    c.created_at_ms = c.updated_at_ms = s.now;
    store::SignIn si = row;
    si.id = s.random.id("sia");
    si.client_id = c.id;
    store::OAuthState os;
    os.state_hash = s.random.token(32);
    os.client_id = c.id;
    os.attempt_type = "sign_in";
    os.attempt_id = si.id;
    os.strategy = "oauth_google";
    os.data = R"({"verifier":"sealed-blob-of-some-length-0123456789abcdef0123456789abcdef"})";
    os.expire_at_ms = s.now + 600'000;
    os.created_at_ms = s.now;
    auto st = s.db.store->transaction([&](store::Tx& tx) -> core::Status {
      if (auto r = tx.insert_client(c); !r) {
        return r;
      }
      if (auto r = tx.insert_sign_in(si); !r) {
        return r;
      }
      c.sign_in_id = si.id;
      if (auto r = tx.update_client(c); !r) {
        return r;
      }
      return tx.insert_oauth_state(os);
    });
    if (!st) {
      state.SkipWithError(st.error().internal.c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_StoreSignInStart);

}  // namespace

BENCHMARK_MAIN();
