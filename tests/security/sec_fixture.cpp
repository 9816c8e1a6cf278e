#include "sec_fixture.hpp"

#include <sqlite3.h>

#include <ostream>
#include <thread>

namespace latchkey::sec {

using ::testing::HasSubstr;

std::ostream& operator<<(std::ostream& os, const Rows& r) {
  return os << "users(" << r.user_count << ")=" << r.users << "\nemails=" << r.emails
            << "\naccounts(" << r.account_count << ")=" << r.accounts << "\nsessions("
            << r.session_count << ")=" << r.sessions;
}

namespace {

struct Db {
  sqlite3* h = nullptr;
  explicit Db(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << "cannot open " << path << ": " << (h ? sqlite3_errmsg(h) : "?");
    }
    sqlite3_busy_timeout(h, 2000);
  }
  ~Db() { sqlite3_close(h); }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Every row of a query, columns joined by '|', rows by '\n'.
  std::string dump(const std::string& sql, int* count = nullptr) const {
    sqlite3_stmt* st = nullptr;
    std::string out;
    int n = 0;
    if (sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << sqlite3_errmsg(h);
      return out;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
      ++n;
      for (int i = 0; i < sqlite3_column_count(st); ++i) {
        const auto* t = sqlite3_column_text(st, i);
        out += t ? reinterpret_cast<const char*>(t) : "NULL";
        out += '|';
      }
      out += '\n';
    }
    sqlite3_finalize(st);
    if (count != nullptr) {
      *count = n;
    }
    return out;
  }
};

}  // namespace

Rows read_rows(const std::string& db_path) {
  Db db(db_path);
  Rows r;
  r.users = db.dump("SELECT * FROM users ORDER BY id", &r.user_count);
  r.emails = db.dump("SELECT * FROM email_addresses ORDER BY id");
  r.accounts = db.dump("SELECT * FROM external_accounts ORDER BY id", &r.account_count);
  r.sessions = db.dump("SELECT * FROM sessions ORDER BY id", &r.session_count);
  return r;
}

std::string sql_scalar(const std::string& db_path, const std::string& sql) {
  Db db(db_path);
  std::string s = db.dump(sql);
  while (!s.empty() && (s.back() == '\n' || s.back() == '|')) {
    s.pop_back();
  }
  return s;
}

HttpResponse request_from(const std::string& source_ip, int port, const it::HttpRequest& request) {
  auto r = it::http_request(port, request, std::chrono::seconds(10), source_ip);
  if (r.end == it::HttpEnd::kConnectFailed) {
    ADD_FAILURE() << "cannot connect from " << source_ip;
  }
  return r;
}

std::optional<std::string> set_cookie_named(const HttpResponse& r, const std::string& name) {
  for (const auto& c : r.all("set-cookie")) {
    if (c.starts_with(name + "=")) {
      return c;
    }
  }
  return std::nullopt;
}

// ---- fixture ----------------------------------------------------------------------------------

void Sec::SetUp() {
  idp = std::make_unique<ScriptIdp>();
  dir = std::make_unique<it::TempDir>();
}

void Sec::TearDown() {
  if (server) {
    server->stop();
  }
  if (idp) {
    idp->stop();
  }
}

std::string Sec::db() const { return (dir->path() / "latchkey.db").string(); }

void Sec::start(it::EnvVars extra, std::optional<it::EnvVars> provider_env) {
  port_ = it::free_port();
  const std::string base = "http://127.0.0.1:" + std::to_string(port_);
  env_ = provider_env ? *provider_env : idp->google_env();
  env_.emplace_back("LATCHKEY_SERVER_LISTEN", "127.0.0.1:" + std::to_string(port_));
  env_.emplace_back("LATCHKEY_SERVER_PUBLIC_URL", base);
  env_.emplace_back("LATCHKEY_LOGGING_ACCESS_LOG", "false");
  // Catalog entries other than G/K rate-limit tests must not trip a limit by accident.
  env_.emplace_back("LATCHKEY_RATELIMIT_ENABLED", "false");
  env_.insert(env_.end(), extra.begin(), extra.end());
  server = std::make_unique<it::Server>(it::ServerOptions{.env = env_,
                                                          .fixed_port = false,
                                                          .fast_keys = true,
                                                          .data_dir = dir.get(),
                                                          .binary = binary_});
}

void Sec::restart() {
  server->stop();
  server.reset();
  server = std::make_unique<it::Server>(it::ServerOptions{.env = env_,
                                                          .fixed_port = false,
                                                          .fast_keys = true,
                                                          .data_dir = dir.get(),
                                                          .binary = binary_});
}

HttpResponse Sec::start_sign_in(Browser& b, const std::string& strategy,
                                const std::string& redirect_url) {
  return b.post(kSignIns, {{"strategy", strategy}, {"redirect_url", redirect_url}});
}

HttpResponse Sec::start_sign_up(Browser& b, const std::string& strategy) {
  return b.post(kSignUps, {{"strategy", strategy}, {"redirect_url", "/sso-callback"}});
}

std::string Sec::auth_url_of(const HttpResponse& started) {
  const auto j = started.json();
  std::string u =
      it::str(j, "response.first_factor_verification.external_verification_redirect_url");
  if (u.empty()) {
    u = it::str(j, "response.verifications.external_account.external_verification_redirect_url");
  }
  return u;
}

HttpResponse Sec::callback(Browser& b, const Form& params) {
  return b.get(std::string(kCallback) + "?" + it::form_encode(params));
}

HttpResponse Sec::round_trip(Browser& b, const User& user, const std::string& strategy) {
  auto started = start_sign_in(b, strategy);
  EXPECT_EQ(started.status, 200) << started.body;
  auto g = idp->authorize(auth_url_of(started), user);
  return callback(b, {{"code", g.code}, {"state", g.state}});
}

std::string Sec::sign_up_user(Browser& b, const User& user, const std::string& strategy) {
  auto cb = round_trip(b, user, strategy);
  EXPECT_EQ(cb.status, 303) << cb.raw;
  auto su = b.post(kSignUps, {{"transfer", "true"}});
  EXPECT_EQ(su.status, 200) << su.body;
  EXPECT_EQ(it::str(su.json(), "response.status"), "complete") << su.body;
  return it::str(su.json(), "response.created_session_id");
}

void Sec::expect_log(const std::string& needle) {
  EXPECT_TRUE(server->child().wait_for_output(needle, std::chrono::seconds(3)).has_value())
      << "no audit line containing '" << needle << "' in:\n"
      << server->logs();
}

void Sec::expect_failed_attempt(Browser& b, const HttpResponse& cb, const Rows& before,
                                const std::string& code, const std::string& reason, int status) {
  EXPECT_EQ(cb.status, status) << cb.raw;
  if (status == 303) {
    EXPECT_EQ(cb.header("location").value_or(""), origin() + "/sso-callback");
  }
  EXPECT_FALSE(set_cookie_named(cb, "__client")) << "the callback set a cookie";
  EXPECT_FALSE(set_cookie_named(cb, "__session"));
  auto client = b.client();
  const std::string ff = it::str(client, "sign_in.first_factor_verification.status");
  const std::string ea = it::str(client, "sign_up.verifications.external_account.status");
  EXPECT_TRUE(ff == "failed" || ea == "failed" || client.is_null())
      << boost::json::serialize(client);
  if (!code.empty() && !client.is_null()) {
    const std::string got =
        ff == "failed" ? it::str(client, "sign_in.first_factor_verification.error.code")
                       : it::str(client, "sign_up.verifications.external_account.error.code");
    EXPECT_EQ(got, code) << boost::json::serialize(client);
  }
  EXPECT_TRUE(it::at(client, "sessions").is_null() || it::at(client, "sessions").as_array().empty())
      << boost::json::serialize(client);
  EXPECT_EQ(rows(), before);
  // Nothing to carry over into a sign-up either.
  auto transfer = b.post(kSignUps, {{"transfer", "true"}});
  EXPECT_GE(transfer.status, 400) << transfer.body;
  EXPECT_EQ(rows(), before);
  if (!reason.empty()) {
    expect_log(reason);
  }
}

void Sec::expect_accepted(Browser& b, const HttpResponse& cb) {
  EXPECT_EQ(cb.status, 303) << cb.raw;
  auto client = b.client();
  EXPECT_EQ(it::str(client, "sign_in.first_factor_verification.status"), "transferable")
      << boost::json::serialize(client);
}

void Sec::hostile_id_token(const std::string& reason, const User& user) {
  if (!server) {
    start();
  }
  Browser b = browser();
  const Rows before = rows();
  const int tokens = idp->token_calls();
  const int userinfo = idp->userinfo_calls();
  auto cb = round_trip(b, user);
  expect_failed_attempt(b, cb, before, "oauth_id_token_invalid", "reason=" + reason);
  EXPECT_EQ(idp->token_calls(), tokens + 1);
  EXPECT_EQ(idp->userinfo_calls(), userinfo) << "userinfo called with an unvalidated ID token";
}

}  // namespace latchkey::sec
