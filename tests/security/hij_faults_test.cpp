// Catalog §2.H (IdP transport faults), §2.I (clocks), §2.J (persistence and crash faults). Every
// outbound call is bounded by frontend.outbound_timeout (1 s here) and outbound_max_bytes; a
// broken provider fails its own attempt, never the server.
#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <filesystem>
#include <future>
#include <map>

#include <regex>

#include "sec_fixture.hpp"
#include "support/smtp_sink.hpp"

namespace latchkey::sec {
namespace {

using Clock = std::chrono::steady_clock;

const it::EnvVars kFastTimeout{{"LATCHKEY_FRONTEND_OUTBOUND_TIMEOUT", "1s"}};

// One sign-in whose token call meets `fault`; checks the safe outcome and the time bound.
void faulty_token_endpoint(Sec& t, const Fault& fault, const std::string& code,
                           std::chrono::milliseconds bound = std::chrono::milliseconds(4000)) {
  t.idp->script([&](ScriptIdp& i) { i.faults_["/token"] = fault; });
  Browser b = t.browser();
  auto started = t.start_sign_in(b);
  ASSERT_EQ(started.status, 200);
  auto g = t.idp->authorize(Sec::auth_url_of(started), User{});
  const Rows before = t.rows();
  const auto t0 = Clock::now();
  auto cb = t.callback(b, {{"code", g.code}, {"state", g.state}});
  EXPECT_LT(Clock::now() - t0, bound) << "the outbound deadline did not fire";
  t.expect_failed_attempt(b, cb, before, code, "");
}

TEST_F(Sec, H1_token_endpoint_refuses_connections) {
  const int dead = it::free_port();  // nothing listens there
  it::EnvVars env = idp->google_env();
  env.emplace_back("LATCHKEY_PROVIDERS_OAUTH_GOOGLE_TOKEN_ENDPOINT",
                   "http://127.0.0.1:" + std::to_string(dead) + "/token");
  start(kFastTimeout, env);
  faulty_token_endpoint(*this, Fault{}, "oauth_provider_unavailable");
  // Everything else keeps working.
  EXPECT_EQ(it::http_get(server->port(), "/readyz").status, 200);
}

TEST_F(Sec, H2_token_endpoint_hangs_or_trickles) {
  start(kFastTimeout);
  // While one callback waits on a hanging provider, other browsers are served at once.
  idp->script([](ScriptIdp& i) { i.faults_["/token"] = Fault{Fault::kHang}; });
  Browser b = browser();
  auto started = start_sign_in(b);
  auto g = idp->authorize(auth_url_of(started), User{});
  auto pending = std::async(std::launch::async,
                            [&] { return callback(b, {{"code", g.code}, {"state", g.state}}); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const auto t0 = Clock::now();
  Browser other = browser();
  EXPECT_TRUE(other.client().is_null());
  EXPECT_LT(Clock::now() - t0, std::chrono::milliseconds(500)) << "an unrelated request waited";
  auto cb = pending.get();
  EXPECT_EQ(cb.status, 303);
  EXPECT_EQ(it::str(b.client(), "sign_in.first_factor_verification.error.code"),
            "oauth_provider_unavailable");
  faulty_token_endpoint(*this, Fault{Fault::kTrickle, std::chrono::milliseconds(200)},
                        "oauth_provider_unavailable");
}

TEST_F(Sec, H3_tls_faults) {
  GTEST_SKIP() << "waits for: a TLS fake identity provider with its own test CA (no open issue "
                  "yet); the curl client sets "
                  "CURLOPT_SSL_VERIFYPEER=1, VERIFYHOST=2, no redirects, http/https only, and "
                  "plain http is accepted for loopback endpoints only";
}

TEST_F(Sec, H4_token_response_not_json) {
  start(kFastTimeout);
  for (const auto& [ct, body] : std::vector<std::pair<std::string, std::string>>{
           {"text/html", "<html>oops</html>"},
           {"application/json", "{not json"},
           {"application/json", R"({"access_token":"x","token_type":"Bearer","id_tok)"},
           {"application/json", R"(["access_token","x"])"}}) {
    SCOPED_TRACE(body);
    faulty_token_endpoint(*this, Fault{Fault::kRaw, {}, 0, 200, ct, body},
                          "oauth_token_exchange_error");
  }
}

TEST_F(Sec, H5_oversized_or_endless_bodies) {
  start(kFastTimeout);
  faulty_token_endpoint(*this, Fault{Fault::kOversized, {}, 2 * 1024 * 1024},
                        "oauth_provider_unavailable");
  faulty_token_endpoint(*this, Fault{Fault::kEndlessChunked}, "oauth_provider_unavailable");
  faulty_token_endpoint(*this, Fault{Fault::kHugeLength}, "oauth_provider_unavailable");
  EXPECT_EQ(it::http_get(server->port(), "/healthz").status, 200);
}

TEST_F(Sec, H8_token_response_missing_parts) {
  start(kFastTimeout);
  const std::vector<std::function<void(json::object&)>> hooks = {
      [](json::object& b) { b.erase("access_token"); },
      [](json::object& b) { b["token_type"] = "mac"; },
      [](json::object& b) { b.erase("token_type"); },
      [](json::object& b) { b.erase("id_token"); },
  };
  for (std::size_t i = 0; i < hooks.size(); ++i) {
    SCOPED_TRACE(i);
    idp->script([&](ScriptIdp& x) { x.token_response_hook = hooks[i]; });
    faulty_token_endpoint(*this, Fault{}, "oauth_token_exchange_error");
  }
}

TEST_F(Sec, H10_jwks_down_known_and_unknown_kid) {
  start(kFastTimeout);
  Browser first = browser();
  expect_accepted(first, round_trip(first, User{}));
  idp->script([](ScriptIdp& i) { i.faults_["/jwks"] = Fault{Fault::kClose}; });
  Browser known = browser();
  expect_accepted(known, round_trip(known, User{"sub-2", "two@example.com"}));
  idp->script([](ScriptIdp& i) { i.sign_kid_ = "rotated-away"; });
  Browser unknown = browser();
  const Rows before = rows();
  auto cb = round_trip(unknown, User{"sub-3", "three@example.com"});
  expect_failed_attempt(unknown, cb, before, "oauth_id_token_invalid", "reason=kid");
}

TEST_F(Sec, H12_discovery_refresh_changes_endpoints) {
  GTEST_SKIP() << "waits for: a configurable discovery cache lifetime and endpoint pinning "
                  "across refreshes (no open issue yet); discovery is cached for 1 h, so a "
                  "refresh cannot be driven from a test; a changed issuer is refused by the "
                  "same check as A27";
}

TEST_F(Sec, H14_hostile_profile_text) {
  const std::string hostile =
      "\x1b[31mRed\x1b[0m\r\nX-Injected: 1</script><script>alert(1)</script>" +
      std::string(8000, 'n');
  idp->id_token_hook = [hostile](json::object&, json::object& c) {
    c["given_name"] = hostile;
    c["family_name"] = std::string("Null\0Byte", 9);
    c["picture"] = "javascript:alert(1)";
  };
  start();
  Browser b = browser();
  sign_up_user(b, User{});
  const std::string first = sql_scalar(db(), "SELECT first_name FROM users");
  EXPECT_LE(first.size(), 256U);
  EXPECT_EQ(first.find('\x1b'), std::string::npos);
  EXPECT_EQ(first.find('\r'), std::string::npos);
  EXPECT_EQ(first.find('\n'), std::string::npos);
  EXPECT_EQ(sql_scalar(db(), "SELECT last_name FROM users"), "NullByte");
  EXPECT_EQ(sql_scalar(db(), "SELECT COALESCE(image_url, '') FROM users"), "");
  // And the long error text of a failing provider is cut and cleaned in the log.
  Browser c = browser();
  auto started = start_sign_in(c);
  auto g = idp->authorize(auth_url_of(started), User{});
  callback(c, {{"state", g.state},
               {"error", "access_denied"},
               {"error_description", "\x1b[2J" + std::string(4000, 'd')}});
  expect_log("code=oauth_access_denied");
  EXPECT_EQ(server->logs().find("\x1b[2J"), std::string::npos);
  EXPECT_EQ(server->logs().find(std::string(300, 'd')), std::string::npos);
}

TEST_F(Sec, I1_idp_clock_fast) {
  // Leeway 60 s: 90 s ahead is refused, 20 s ahead accepted.
  idp->id_token_hook = [](json::object&, json::object& c) {
    c["iat"] = static_cast<std::int64_t>(std::time(nullptr)) + 90;
  };
  hostile_id_token("iat");
  idp->script([](ScriptIdp& i) {
    i.id_token_hook = [](json::object&, json::object& c) {
      c["iat"] = static_cast<std::int64_t>(std::time(nullptr)) + 20;
    };
  });
  Browser b = browser();
  expect_accepted(b, round_trip(b, User{"sub-ok", "ok@example.com"}));
}

// J1 and J2 (a store failure and a SIGKILL at every statement of a flow): j_store_faults_test.cpp.

TEST_F(Sec, J3_sigkill_between_token_exchange_and_commit) {
  start();
  idp->script([](ScriptIdp& i) {
    i.faults_["/token"] = Fault{Fault::kNone, std::chrono::milliseconds(1500)};
  });
  Browser b = browser();
  auto started = start_sign_in(b);
  auto g = idp->authorize(auth_url_of(started), User{});
  auto inflight = std::async(std::launch::async,
                             [&] { return callback(b, {{"code", g.code}, {"state", g.state}}); });
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  while (idp->token_calls() == 0 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(idp->token_calls(), 1);
  server->child().signal(SIGKILL);
  inflight.get();
  restart();
  const Rows after = rows();
  EXPECT_EQ(after.user_count, 0) << after;
  EXPECT_EQ(after.account_count, 0);
  EXPECT_EQ(after.session_count, 0);
  // The spent attempt cannot complete; starting again works.
  idp->script([](ScriptIdp& i) { i.faults_.clear(); });
  EXPECT_EQ(callback(b, {{"code", g.code}, {"state", g.state}}).status, 400);
  sign_up_user(b, User{});
  EXPECT_EQ(rows().user_count, 1);
}

// A full disk without privileges: RLIMIT_FSIZE on the running server makes every write that
// extends a file past 4 KiB fail (EFBIG, as ENOSPC would: SQLite reports an I/O error), and
// SIGXFSZ is ignored in the child (inherited through exec) as a full disk raises no signal.
TEST_F(Sec, J5_disk_full) {
  struct sigaction ignore{};
  struct sigaction previous{};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGXFSZ, &ignore, &previous), 0);
  start();
  ::sigaction(SIGXFSZ, &previous, nullptr);
  Browser b = browser();
  const std::string session = sign_up_user(b, User{"sub-full", "full@example.com"});
  ASSERT_FALSE(session.empty());
  auto limit = [&](rlim_t bytes) {
    // The soft limit only: lifting it again needs no privilege.
    const struct rlimit lim{bytes, RLIM_INFINITY};
    ASSERT_EQ(::prlimit(server->child().pid(), RLIMIT_FSIZE, &lim, nullptr), 0);
  };
  const Rows before = rows();
  limit(4096);

  // Writes: a clean 503 in the envelope, nothing changed.
  Browser other = browser();
  auto started = start_sign_in(other);
  EXPECT_EQ(started.status, 503) << started.raw;
  EXPECT_EQ(it::str(started.json(), "errors.0.code"), "service_unavailable") << started.body;
  auto out = b.post("/__clerk/v1/client/sessions/" + session + "/end");
  EXPECT_EQ(out.status, 503) << out.raw;
  // Reads keep working: the signed-in client, the keys backends verify tokens with, health.
  auto client = b.client();
  EXPECT_EQ(it::str(client, "sessions.0.id"), session);
  EXPECT_EQ(it::str(client, "sessions.0.status"), "active");
  EXPECT_EQ(b.get("/.well-known/jwks.json").status, 200);
  EXPECT_EQ(b.get("/healthz").status, 200);
  EXPECT_EQ(rows(), before);
  expect_log("request failed: status=503");

  // Space returns: service resumes by itself, and the database is intact.
  limit(RLIM_INFINITY);
  Browser later = browser();
  EXPECT_FALSE(sign_up_user(later, User{"sub-later", "later@example.com"}).empty());
  EXPECT_EQ(rows().user_count, 2);
  EXPECT_EQ(sql_scalar(db(), "PRAGMA integrity_check"), "ok");
}

TEST_F(Sec, J6_restart_with_flows_in_flight) {
  start();
  std::vector<std::unique_ptr<Browser>> browsers;
  std::vector<ScriptIdp::Grant> grants;
  for (int i = 0; i < 5; ++i) {
    browsers.push_back(std::make_unique<Browser>(*server));
    auto started = start_sign_in(*browsers.back());
    grants.push_back(
        idp->authorize(auth_url_of(started),
                       User{"sub-" + std::to_string(i), "u" + std::to_string(i) + "@example.com"}));
  }
  restart();
  for (int i = 0; i < 5; ++i) {
    auto cb = callback(*browsers[i], {{"code", grants[i].code}, {"state", grants[i].state}});
    EXPECT_EQ(cb.status, 303) << cb.raw;
    EXPECT_EQ(it::str(browsers[i]->client(), "sign_in.first_factor_verification.status"),
              "transferable");
  }
}

TEST_F(Sec, J8_email_provider_down) {
  // The catalog's row asks for verification_send_failed; Latchkey's outbox (issue 11 item 4) does
  // better: the request succeeds, the code waits in the outbox, and it is delivered once the mail
  // server is back. Nothing is lost and nothing counts towards a lockout.
  const int smtp_port = it::SmtpSink::reserve_port();
  start({{"LATCHKEY_SMTP_HOST", "127.0.0.1"},
         {"LATCHKEY_SMTP_PORT", std::to_string(smtp_port)},
         {"LATCHKEY_SMTP_TLS", "none"},
         {"LATCHKEY_SMTP_TIMEOUT", "2s"},
         {"LATCHKEY_DELIVERY_BACKOFF_BASE", "200ms"},
         {"LATCHKEY_DELIVERY_BACKOFF_MAX", "1s"},
         {"LATCHKEY_DELIVERY_POLL_INTERVAL", "200ms"},
         {"LATCHKEY_PASSWORDS_HASH_OPSLIMIT", "1"},
         {"LATCHKEY_PASSWORDS_HASH_MEMLIMIT_KIB", "8192"}});
  Browser b = browser();
  auto su = b.post(kSignUps, {{"email_address", "down@example.com"},
                              {"password", "correct horse battery staple"}});
  ASSERT_EQ(su.status, 200) << su.body;
  const std::string id = it::str(su.json(), "response.id");
  auto prep = b.post(std::string(kSignUps) + "/" + id + "/prepare_verification",
                     {{"strategy", "email_code"}});
  ASSERT_EQ(prep.status, 200) << prep.body;
  // The worker tries, fails and keeps the message.
  for (int i = 0; i < 100 && sql_scalar(db(), "SELECT attempts FROM outbox") == "0"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NE(sql_scalar(db(), "SELECT attempts FROM outbox"), "0");
  EXPECT_EQ(sql_scalar(db(), "SELECT status FROM outbox"), "pending");
  EXPECT_EQ(sql_scalar(db(), "SELECT COUNT(*) FROM users"), "0");
  // The mail server comes up on the configured port: the same message goes out.
  it::SmtpSink sink(it::SmtpSink::Options{.port = smtp_port, .auth = "", .tls = "none"});
  ASSERT_TRUE(sink.wait_for(1, std::chrono::seconds(15)));
  std::smatch m;
  const std::string message = sink.messages().front();
  ASSERT_TRUE(std::regex_search(message, m, std::regex(R"(\b(\d{6})\b is your verification code)")))
      << message;
  auto done = b.post(std::string(kSignUps) + "/" + id + "/attempt_verification",
                     {{"strategy", "email_code"}, {"code", m[1].str()}});
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_EQ(it::str(done.json(), "response.status"), "complete");
}

TEST_F(Sec, J9_load_spike) {
  start({{"LATCHKEY_SERVER_MAX_CONNECTIONS", "64"}});
  std::vector<std::future<it::HttpResponse>> all;
  for (int i = 0; i < 200; ++i) {
    all.push_back(std::async(std::launch::async, [&] {
      return it::http_request(server->port(), it::HttpRequest{"GET", kClientPath, {}, ""},
                              std::chrono::seconds(20));
    }));
  }
  // Answered, or turned away: a 503, or a connection refused or closed without a byte (the
  // limit). A request that got no answer before the client's 20 s is neither: the server hung.
  int ok = 0;
  int refused = 0;
  std::map<std::string, int> other;
  for (auto& f : all) {
    const auto r = f.get();
    if (r.status == 200) {
      ++ok;
    } else if (r.status == 503 || r.turned_away()) {
      ++refused;
    } else {
      ++other[std::to_string(r.status) + " " + it::to_string(r.end)];
    }
  }
  std::string others;
  for (const auto& [what, n] : other) {
    others += " " + std::to_string(n) + " x " + what + ";";
  }
  EXPECT_EQ(ok + refused, 200) << "neither answered nor turned away:" << others;
  EXPECT_GT(ok, 0);
  EXPECT_EQ(it::http_get(server->port(), "/healthz").status, 200) << "the server did not survive";
}

TEST_F(Sec, J11_restore_an_older_backup) {
  start();
  Browser early = browser();
  sign_up_user(early, User{"early", "early@example.com"});
  server->stop();
  auto files = [&](const std::filesystem::path& base) {
    return std::vector<std::pair<std::string, std::filesystem::path>>{
        {db(), base / "b.db"},
        {db() + "-wal", base / "b.db-wal"},
        {db() + "-shm", base / "b.db-shm"}};
  };
  const auto backup = dir->path() / "backup";
  std::filesystem::create_directories(backup);
  for (const auto& [live, copy] : files(backup)) {
    if (std::filesystem::exists(live)) {
      std::filesystem::copy_file(live, copy);
    }
  }
  restart();
  Browser late = browser();
  const std::string sid = sign_up_user(late, User{"late", "late@example.com"});
  server->stop();
  for (const auto& [live, copy] : files(backup)) {
    std::filesystem::remove(live);
    if (std::filesystem::exists(copy)) {
      std::filesystem::copy_file(copy, live);
    }
  }
  restart();
  EXPECT_TRUE(late.client().is_null()) << "a client from after the snapshot is simply gone";
  EXPECT_EQ(late.post("/__clerk/v1/client/sessions/" + sid + "/tokens").status, 401);
  EXPECT_EQ(it::at(early.client(), "sessions").as_array().size(), 1U);
}

// Issue 9, finding 6: master.key lost while the database holds signing keys sealed with it. The
// binary refuses to start (exit 1, naming the file and both ways out) and writes nothing: before
// the change it wrote a fresh master.key first, and only then failed to open the keys.
TEST_F(Sec, J_missing_master_key_with_sealed_keys_refuses_to_start_without_writing_one) {
  start();
  Browser b = browser();
  sign_up_user(b, User{});
  server->stop();
  const auto key_file = dir->path() / "master.key";
  ASSERT_TRUE(std::filesystem::exists(key_file));
  const auto kept = dir->path() / "master.key.backup";
  std::filesystem::rename(key_file, kept);
  const Rows before = rows();
  const std::string keys = sql_scalar(db(), "SELECT kid FROM signing_keys ORDER BY kid");
  auto listing = [&] {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir->path())) {
      const std::string name = e.path().filename().string();
      if (!name.starts_with("latchkey.db")) {  // SQLite's -wal/-shm come and go with readers
        names.push_back(name);
      }
    }
    std::sort(names.begin(), names.end());
    return names;
  };
  const auto files_before = listing();
  it::EnvVars env = env_;
  env.emplace_back("LATCHKEY_STORAGE_DATA_DIR", dir->str());
  env.emplace_back("LATCHKEY_KEYS_ALGORITHM", "ES256");
  for (const std::vector<std::string>& cmd :
       {std::vector<std::string>{"serve"}, std::vector<std::string>{"keys", "list"}}) {
    SCOPED_TRACE(cmd.front());
    const auto run = it::run_cli(cmd, env);
    const std::string out = run.out + run.err;
    EXPECT_EQ(run.exit_code, 1) << out;
    EXPECT_NE(out.find(key_file.string()), std::string::npos) << out;
    EXPECT_NE(out.find("is missing"), std::string::npos) << out;
    EXPECT_NE(out.find("keys.encryption_key"), std::string::npos) << out;
    EXPECT_EQ(out.find("latchkey listening"), std::string::npos) << out;
    EXPECT_FALSE(std::filesystem::exists(key_file)) << "a new master.key was written";
    EXPECT_EQ(listing(), files_before) << "the data directory changed";
  }
  EXPECT_EQ(rows(), before);
  EXPECT_EQ(sql_scalar(db(), "SELECT kid FROM signing_keys ORDER BY kid"), keys);
  // Restoring the file is the way back: the same keys, the same sessions.
  std::filesystem::rename(kept, key_file);
  restart();
  EXPECT_EQ(it::at(b.client(), "sessions").as_array().size(), 1U);
  EXPECT_EQ(sql_scalar(db(), "SELECT kid FROM signing_keys ORDER BY kid"), keys);
}

}  // namespace
}  // namespace latchkey::sec
