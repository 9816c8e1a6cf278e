#include "app/app.hpp"

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>

#include "api/dto/encode.hpp"
#include "api/errors.hpp"
#include "api/routes.hpp"
#include "app/captcha_verifier.hpp"
#include "app/first_factor_ports.hpp"
#include "app/internal.hpp"
#include "app/module_settings.hpp"
#include "app/store_key_store.hpp"
#include "app/users_import.hpp"
#include "app/webhook_events.hpp"
#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/random.hpp"
#include "crypto/sealer.hpp"
#include "delivery/delivery.hpp"
#include "flows/frontend.hpp"
#include "flows/testing_token.hpp"
#include "http/cors.hpp"
#include "http/metrics_handler.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "net/http_client.hpp"
#include "oauth/service.hpp"
#include "ratelimit/limiter.hpp"
#include "ratelimit/store_counters.hpp"
#include "sessions/session_service.hpp"
#include "sessions/session_tokens.hpp"
#include "store/store.hpp"
#include "tokens/key_ring.hpp"
#include "tokens/master_key.hpp"

namespace latchkey::app {
namespace {

using http::Request;
using http::Response;

std::string database_url(const config::Config& c) {
  if (!c.storage.database_url.empty()) {
    return c.storage.database_url;
  }
  return (c.storage.data_dir / "latchkey.db").string();
}

core::Result<std::unique_ptr<store::Store>> open_store(const config::Config& c) {
  const std::string url = database_url(c);
  const bool postgres = url.starts_with("postgres://") || url.starts_with("postgresql://");
  if (postgres && c.keys.encryption_key.empty()) {
    // Nodes sharing a database must share the key that seals the signing keys: a per-node
    // master.key would make every other node's keys unreadable.
    return core::fail(core::Error(core::Code::kServiceUnavailable)
                          .with_internal("keys.encryption_key is required with PostgreSQL storage "
                                         "(set LATCHKEY_KEYS_ENCRYPTION_KEY on every node)"));
  }
  std::error_code ec;
  std::filesystem::create_directories(c.storage.data_dir, ec);
  std::filesystem::permissions(c.storage.data_dir, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace, ec);
  // "postgres://..." selects PostgreSQL. One connection per worker plus one for housekeeping,
  // and a few for the outbound pool's handlers (they hold one only inside their transactions,
  // never across a provider call), so they do not make the workers wait for a connection.
  auto s = store::open_store(url, static_cast<int>(c.storage.busy_timeout.count()),
                             static_cast<int>(std::max(4U, c.server.workers + 1) +
                                              std::min(4U, c.server.outbound_workers)));
  if (!s) {
    return s;
  }
  auto applied = (*s)->migrate();
  if (!applied) {
    return core::fail(applied.error());
  }
  if (*applied > 0) {
    spdlog::info("applied {} migration(s)", *applied);
  }
  return s;
}

int report(const core::Error& e, std::string_view what) {
  spdlog::error("{}: {}{}{}", what, api::error_info(e.code).wire_code,
                e.internal.empty() ? "" : ": ", e.internal);
  return kExitRuntime;
}

// The origin ("scheme://host[:port]") of an absolute URL.
// The host of a serialised origin, without the port: what siteverify reports as `hostname`.
std::string host_of_origin(std::string_view origin) {
  const auto scheme = origin.find("://");
  std::string_view rest = scheme == std::string_view::npos ? origin : origin.substr(scheme + 3);
  if (rest.starts_with('[')) {
    return std::string(rest.substr(0, rest.find(']') + 1));
  }
  return std::string(rest.substr(0, rest.find(':')));
}

std::string origin_of(const std::string& url) {
  return http::normalize_origin(url.substr(0, url.find('/', url.find("://") + 3)));
}

std::string absolute(const std::string& public_url, const std::string& path_or_url) {
  if (path_or_url.starts_with("http://") || path_or_url.starts_with("https://")) {
    return path_or_url;
  }
  return origin_of(public_url) + (path_or_url.starts_with('/') ? "" : "/") + path_or_url;
}

// Housekeeping off the request path: expired rows, keys rotated by another process, the
// sessions' batched last_active_at (frontend.last_active_write_interval).
class Housekeeper {
 public:
  Housekeeper(store::Store& store, tokens::KeyRing& keys, sessions::SessionService& sessions,
              const core::Clock& clock)
      : store_(store), keys_(keys), sessions_(sessions), clock_(clock), thread_([this] {
          loop();
        }) {}
  ~Housekeeper() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
    // The server has stopped: what is still remembered is written now, not lost.
    flush_last_active(true);
  }
  Housekeeper(const Housekeeper&) = delete;
  Housekeeper& operator=(const Housekeeper&) = delete;

 private:
  void loop() {
    int tick = 0;
    std::unique_lock lock(mu_);
    // Keys rotated by another node or by `keys rotate` are picked up within 5 s (one small
    // query); expired rows are purged every 5 minutes.
    while (!cv_.wait_for(lock, std::chrono::seconds(5), [this] { return stop_; })) {
      lock.unlock();
      if (auto st = keys_.reload(); !st) {
        spdlog::warn("key reload failed: {}", st.error().internal);
      }
      flush_last_active(false);
      if (++tick % 60 == 0) {
        store::PurgeCounts counts;
        auto r = store_.transaction([&](store::Tx& tx) -> core::Status {
          auto c = tx.purge_expired(clock_.now_ms());
          if (!c) {
            return core::fail(c.error());
          }
          counts = *c;
          return {};
        });
        if (!r) {
          spdlog::warn("purge failed: {}", r.error().internal);
        }
      }
      lock.lock();
    }
  }

  void flush_last_active(bool all) {
    if (auto n = sessions_.flush_last_active(store_, clock_.now_ms(), all); !n) {
      spdlog::warn("last_active_at flush failed: {}", n.error().internal);
    }
  }

  store::Store& store_;
  tokens::KeyRing& keys_;
  sessions::SessionService& sessions_;
  const core::Clock& clock_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace

int report_error(const core::Error& e, std::string_view what) { return report(e, what); }
std::string public_origin_of(const std::string& url) { return origin_of(url); }

core::Result<Keys> open_keys(const config::Config& c, const core::Clock& clock,
                             core::Random& random, core::Secret* master_out) {
  auto store = open_store(c);
  if (!store) {
    return core::fail(store.error());
  }
  // Signing keys in the store were sealed with a master key: if master.key has gone missing, a
  // new one must not be created (issue 9, finding 6).
  auto missing = tokens::MissingKeyFile::kCreate;
  if (c.keys.encryption_key.empty()) {
    auto sealed = (*store)->read([&](store::Tx& tx) -> core::Status {
      auto rows = tx.list_signing_keys();
      if (!rows) {
        return core::fail(std::move(rows.error()));
      }
      if (!rows->empty()) {
        missing = tokens::MissingKeyFile::kRefuse;
      }
      return {};
    });
    if (!sealed) {
      return core::fail(sealed.error());
    }
  }
  auto master =
      tokens::load_or_create_master_key(c.keys.encryption_key, c.storage.data_dir, missing);
  if (!master) {
    return core::fail(master.error());
  }
  if (master_out != nullptr) {
    *master_out = *master;
  }
  auto key_store = std::make_unique<StoreKeyStore>(**store);
  auto ring = std::make_unique<tokens::KeyRing>(*key_store, clock, random, std::move(*master),
                                                key_ring_options(c.keys));
  if (auto st = ring->load_or_create(); !st) {
    return core::fail(st.error());
  }
  return Keys{std::move(*store), std::move(key_store), std::move(ring)};
}

int migrate(const config::Config& c) {
  auto store = open_store(c);
  if (!store) {
    return report(store.error(), "migrate");
  }
  auto v = (*store)->schema_version();
  if (!v) {
    return report(v.error(), "migrate");
  }
  std::cout << "schema version " << *v << "\n";
  return kExitOk;
}

int users_import(const config::Config& c, const std::string& file, bool dry_run) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::cerr << "latchkey: users import: cannot read " << file << "\n";
    return kExitRuntime;
  }
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto store = open_store(c);
  if (!store) {
    return report(store.error(), "users import");
  }
  core::SystemClock clock;
  core::SystemRandom random;
  delivery::Webhooks webhooks(webhook_settings(c),
                              random);  // user.created, delivered by the server
  WebhookEvents webhook_events(webhooks);
  auto result = import_users(**store, text, dry_run, clock, random,
                             webhooks.settings().endpoints.empty() ? nullptr : &webhook_events);
  if (!result) {
    if (result.error().code == core::Code::kFormParamInvalid) {
      std::cerr << "latchkey: users import: " << result.error().message << "\n";
      return kExitRuntime;
    }
    return report(result.error(), "users import");
  }
  std::cout << format_report(*result, dry_run);
  return result->failed == 0 ? kExitOk : kExitRuntime;
}

int backup(const config::Config& c, const std::string& file) {
  const std::string url = database_url(c);
  if (url.starts_with("postgres://") || url.starts_with("postgresql://")) {
    std::cerr << "latchkey backup: storage is PostgreSQL; back it up with pg_dump "
                 "(pg_dump --format=custom --file=latchkey.dump DATABASE_URL), see "
                 "docs/deployment.md\n";
    return kExitUsage;
  }
  std::string_view path = url;
  if (path.starts_with("sqlite://")) {
    path.remove_prefix(std::string_view("sqlite://").size());
  }
  std::error_code ec;
  if (path == ":memory:" || !std::filesystem::exists(std::filesystem::path(path), ec)) {
    std::cerr << "latchkey backup: no database file at " << path << "\n";
    return kExitRuntime;
  }
  // No migration: a backup copies the database as it is.
  auto store = store::open_store(url, static_cast<int>(c.storage.busy_timeout.count()), 1);
  if (!store) {
    return report(store.error(), "backup");
  }
  auto version = (*store)->schema_version();
  if (!version) {
    return report(version.error(), "backup");
  }
  if (auto st = (*store)->backup(file); !st) {
    return report(st.error(), "backup");
  }
  std::cout << "backup of schema version " << *version << " written to " << file << "\n";
  if (c.keys.encryption_key.empty()) {
    std::cerr << "note: the signing keys are sealed with " << (c.storage.data_dir / "master.key")
              << "; keep a copy of it with the backup (a restore without it cannot sign)\n";
  }
  return kExitOk;
}

int keys_list(const config::Config& c) {
  core::SystemClock clock;
  core::SystemRandom random;
  auto keys = open_keys(c, clock, random, nullptr);
  if (!keys) {
    return report(keys.error(), "keys list");
  }
  std::cout << "kid\talg\tcreated_at_ms\tstate\n";
  for (const auto& k : keys->ring->list()) {
    std::cout << k.kid << "\t" << k.alg << "\t" << k.created_at_ms << "\t"
              << (k.active ? std::string("active")
                           : "retired " + std::to_string(k.retired_at_ms.value_or(0)))
              << (k.signing ? ", signing" : "") << "\n";
  }
  return kExitOk;
}

int keys_rotate(const config::Config& c) {
  core::SystemClock clock;
  core::SystemRandom random;
  auto keys = open_keys(c, clock, random, nullptr);
  if (!keys) {
    return report(keys.error(), "keys rotate");
  }
  auto kid = keys->ring->rotate();
  if (!kid) {
    return report(kid.error(), "keys rotate");
  }
  std::cout << "new active key " << *kid << "\n";
  if (c.keys.activation_delay.count() > 0) {
    std::cout << "published now; signs from " << c.keys.activation_delay.count()
              << " s from now (keys.activation_delay), until then the previous key signs\n";
  }
  return kExitOk;
}

// `latchkey testing-token`: one testing token on stdout (for CLERK_TESTING_TOKEN), its expiry on
// stderr. Refused unless test mode is on: the server would ignore the token.
int testing_token(const config::Config& c) {
  if (!c.testing.enabled) {
    std::cerr << "latchkey: testing tokens need test mode: set testing.enabled = true "
                 "(LATCHKEY_TESTING_ENABLED=true)\n";
    return kExitUsage;
  }
  core::SystemClock clock;
  core::SystemRandom random;
  core::Secret master;
  auto keys = open_keys(c, clock, random, &master);
  if (!keys) {
    return report(keys.error(), "testing-token");
  }
  const flows::TestingTokens tokens(master);
  auto t = tokens.mint(clock.now_ms());
  if (!t) {
    return report(t.error(), "testing-token");
  }
  std::cout << t->token << "\n";
  std::cerr << "expires_at_ms " << t->expires_at_ms << " (in "
            << flows::TestingTokens::kLifetime.count() / 1000 << " s)\n";
  return kExitOk;
}

int serve(const config::Config& c) {
  core::SystemClock clock;
  core::SystemRandom random;
  core::Secret master;
  auto keys = open_keys(c, clock, random, &master);
  if (!keys) {
    return report(keys.error(), "start-up");
  }
  store::Store& store = *keys->store;
  tokens::KeyRing& ring = *keys->ring;

  crypto::Sealer sealer(master);
  auto http_client = net::make_curl_http_client();
  auto oauth = oauth::Service::create(oauth_settings(c), *http_client, sealer, clock, random);
  if (!oauth) {
    return report(oauth.error(), "oauth providers");
  }

  // Delivery (issue 11 item 4): the outbox the flows enqueue codes into, inside their own
  // transaction (through flows' CodeSender port, app/first_factor_ports.hpp), and the worker
  // that sends them, started below and joined on shutdown (it is destroyed before the store).
  const delivery::Settings delivery_options = delivery_settings(c);
  delivery::Outbox outbox(delivery_options, sealer, random);
  delivery::Worker delivery_worker(
      store, outbox, delivery::make_transports(delivery_options, *http_client), clock);
  if (delivery_options.smtp.server.host.empty()) {
    spdlog::info("email delivery: no [smtp] host configured; messages go to the mail drop {}",
                 delivery_options.mail_dir.string());
  } else {
    spdlog::info("email delivery: SMTP {}:{}", delivery_options.smtp.server.host,
                 delivery_options.smtp.server.port);
  }

  const std::string public_origin = origin_of(c.server.public_url);
  const std::string fapi_url = c.server.public_url + c.frontend.path_prefix;
  std::vector<std::string> origins{public_origin};
  for (const auto& o : c.frontend.allowed_origins) {
    origins.push_back(http::normalize_origin(o));
  }
  http::CorsOptions cors_options;
  cors_options.allowed_origins = origins;
  http::Cors cors(cors_options);

  sessions::TokenSettings ts;
  ts.issuer = fapi_url;
  ts.lifetime = c.frontend.session_token_lifetime;
  sessions::SessionTokens session_tokens(ring, clock, ts);
  sessions::Clients clients({.client_lifetime = c.frontend.client_lifetime,
                             .rotation_grace = c.frontend.client_rotation_grace},
                            random);
  sessions::SessionService session_service(
      {.session_lifetime = c.frontend.session_lifetime,
       .single_session_mode = c.frontend.single_session_mode,
       .last_active_write_interval = c.frontend.last_active_write_interval},
      clients, session_tokens, random);

  // Webhooks (issue 13 item 6): the sessions and flows emit events through the sessions::EventSink
  // port inside their transactions; WebhookEvents renders them (api/dto) into the webhook outbox,
  // and the worker (started below, joined on shutdown) delivers them.
  delivery::Webhooks webhooks(webhook_settings(c), random);
  WebhookEvents webhook_events(webhooks);
  if (!webhooks.settings().endpoints.empty()) {
    session_service.set_events(&webhook_events);
    spdlog::info("webhooks: {} endpoint(s), instance {}", webhooks.settings().endpoints.size(),
                 webhooks.settings().instance_id);
  }
  delivery::WebhookWorker webhook_worker(store, webhooks, *http_client, clock);

  flows::FrontendSettings fs;
  fs.public_origin = public_origin;
  fs.callback_url = fapi_url + "/v1/oauth_callback";
  fs.verify_url = fapi_url + "/v1/verify";
  fs.allowed_origins = cors.allowed_origins();
  fs.required_fields = c.frontend.required_fields;
  fs.attempt_lifetime = c.frontend.attempt_lifetime;
  fs.oauth_state_lifetime = c.frontend.oauth_state_lifetime;
  fs.single_session_mode = c.frontend.single_session_mode;
  fs.identifiers = identifier_settings(c);
  fs.mfa = mfa_settings(c);
  if (c.testing.enabled) {
    spdlog::warn(
        "test mode is on ([testing] enabled): +clerk_test addresses accept the code "
        "424242 and are sent nothing; never in production");
  }
  // First factors: passwords (argon2id; the dummy digest is made here, once) and codes through
  // the outbox.
  PasswordPort password_port(password_hash_settings(c.passwords), password_policy(c.passwords),
                             password_lockout(c.passwords));
  OutboxCodeSender code_sender(outbox);
  // Bot protection on sign-up (issue 11 item 6): siteverify through the shared HTTP client; the
  // widget is accepted when solved on a page of one of the allowed origins.
  const config::BotProtectionConfig& bot = c.bot_protection;
  fs.captcha.enabled = bot.enabled;
  fs.captcha.oauth_bypass = bot.oauth_bypass;
  CaptchaVerifierSettings captcha_settings;
  captcha_settings.verify_url =
      bot.verify_url.empty() ? default_verify_url(bot.provider) : bot.verify_url;
  captcha_settings.secret = bot.secret_key;
  for (const auto& o : fs.allowed_origins) {
    captcha_settings.hostnames.push_back(host_of_origin(o));
  }
  captcha_settings.timeout = bot.timeout;
  SiteverifyCaptchaVerifier captcha(std::move(captcha_settings), *http_client, clock);
  if (bot.enabled) {
    spdlog::info("bot protection: {} on sign-up, verified at {}", bot.provider,
                 bot.verify_url.empty() ? default_verify_url(bot.provider) : bot.verify_url);
  }
  // Test mode: @clerk/testing's testing token stands in for the captcha (issue 11 item 9).
  std::optional<flows::TestingTokens> testing_tokens;
  if (c.testing.enabled) {
    testing_tokens.emplace(master);
  }
  flows::FlowDeps flow_deps{fs,
                            store,
                            **oauth,
                            sealer,
                            clock,
                            random,
                            session_service,
                            password_port,
                            code_sender,
                            &captcha,
                            testing_tokens ? &*testing_tokens : nullptr};
  flows::Frontend frontend(flow_deps);
  // Session tasks (setup-mfa) by the instance's [mfa] rules, as the flows hold them.
  flows::SessionTasks session_tasks(flow_deps.settings.mfa);
  session_service.set_tasks(&session_tasks);
  flows::Backend backend(flow_deps);  // the Backend API's services, over the same deps

  api::dto::EnvironmentSettings env;
  env.application_name = c.frontend.application_name;
  env.sign_in_url = absolute(c.server.public_url, c.frontend.sign_in_url);
  env.sign_up_url = absolute(c.server.public_url, c.frontend.sign_up_url);
  env.home_url = absolute(c.server.public_url, c.frontend.home_url);
  for (const auto& s : (*oauth)->enabled_strategies()) {
    env.social.push_back({s, (*oauth)->find(s)->name});
  }
  env.required_fields = c.frontend.required_fields;
  env.single_session_mode = c.frontend.single_session_mode;
  env.email_address = fs.identifiers.email_address;
  env.password = fs.identifiers.password;
  env.email_code = fs.identifiers.email_code;
  env.email_link = fs.identifiers.email_link;
  env.authenticator_app = fs.mfa.authenticator_app;
  env.backup_codes = fs.mfa.backup_codes;
  env.second_factor_required = fs.mfa.required;
  env.password_min_length = password_port.policy().min_length;
  env.password_max_length = password_port.policy().max_length;
  env.captcha_enabled = bot.enabled;
  env.captcha_public_key = bot.site_key;
  env.captcha_widget_type = bot.widget;
  env.captcha_provider = bot.provider;
  env.captcha_oauth_bypass = bot.oauth_bypass;

  api::FrontendApiOptions fo;
  fo.prefix = c.frontend.path_prefix;
  fo.public_origin = public_origin;
  fo.secure_cookies = c.server.public_url.starts_with("https://");
  fo.client_cookie_max_age =
      std::chrono::duration_cast<std::chrono::seconds>(c.frontend.client_lifetime);
  fo.required_fields = c.frontend.required_fields;
  if (fs.identifiers.password) {
    // A sign-up no provider vouches for needs a password (flows' required_for; the encoder
    // drops it for social sign-ups).
    fo.required_fields.emplace_back("password");
  }
  fo.environment_json = api::dto::environment_json(env);
  fo.sign_in_url = env.sign_in_url;
  // Rate limits (docs/security.md). ratelimit.counters: "auto" keeps the counters in the database
  // when nodes share one (PostgreSQL), so every node counts against the same budget, and in this
  // node's memory on SQLite (one node: nothing to share, and memory is cheaper).
  const std::string db_url = database_url(c);
  const bool shared_counters =
      c.ratelimit.counters == "database" ||
      (c.ratelimit.counters == "auto" &&
       (db_url.starts_with("postgres://") || db_url.starts_with("postgresql://")));
  auto rate_counters = shared_counters ? ratelimit::make_store_counter_store(store)
                                       : ratelimit::make_memory_counter_store();
  if (c.ratelimit.enabled) {
    spdlog::info("rate-limit counters: {}",
                 shared_counters ? "database (shared by every node)" : "memory (this node only)");
  }
  ratelimit::Limiter limiter(*rate_counters, clock);
  if (c.ratelimit.enabled) {
    const auto& rl = c.ratelimit;
    auto rule = [&rl](std::string name, unsigned limit) {
      return ratelimit::Rule{std::move(name), limit, rl.window};
    };
    fo.limiter = &limiter;
    fo.limits.sign_in_ip = rule("sign_in_ip", rl.sign_in_per_ip);
    fo.limits.sign_in_client = rule("sign_in_client", rl.sign_in_per_client);
    fo.limits.verification_ip = rule("verification_ip", rl.verification_per_ip);
    fo.limits.verification_client = rule("verification_client", rl.verification_per_client);
    fo.limits.token_ip = rule("token_ip", rl.token_per_ip);
    fo.limits.token_client = rule("token_client", rl.token_per_client);
    fo.limits.trusted_proxies = rl.trusted_proxies;
  }
  core::Metrics metrics;
  // Provider round-trip failures by reason (design.md §3.13); reasons are a bounded set of our own
  // names, never provider text.
  metrics.add_collector([&oauth_service = **oauth](std::string& out) {
    out +=
        "# HELP latchkey_oauth_failures_total OAuth/OIDC callback failures by reason.\n"
        "# TYPE latchkey_oauth_failures_total counter\n";
    for (const auto& [reason, n] : oauth_service.failure_counts()) {
      out += "latchkey_oauth_failures_total{reason=\"";
      core::append_label_value(out, reason);
      out += "\"} " + std::to_string(n) + "\n";
    }
  });
  metrics.add_collector([&delivery_worker](std::string& out) {
    const auto st = delivery_worker.stats();
    out +=
        "# HELP latchkey_delivery_messages_total Email and SMS delivery attempts by outcome (sent; "
        "retried = failed and rescheduled; failed = given up).\n"
        "# TYPE latchkey_delivery_messages_total counter\n";
    out += "latchkey_delivery_messages_total{outcome=\"sent\"} " + std::to_string(st.sent) + "\n";
    out += "latchkey_delivery_messages_total{outcome=\"retried\"} " + std::to_string(st.retried) +
           "\n";
    out +=
        "latchkey_delivery_messages_total{outcome=\"failed\"} " + std::to_string(st.failed) + "\n";
  });
  metrics.add_collector([&webhook_worker](std::string& out) {
    const auto st = webhook_worker.stats();
    out +=
        "# HELP latchkey_webhook_deliveries_total Webhook delivery attempts by outcome (delivered; "
        "retried = failed and rescheduled; failed = given up).\n"
        "# TYPE latchkey_webhook_deliveries_total counter\n";
    out += "latchkey_webhook_deliveries_total{outcome=\"delivered\"} " +
           std::to_string(st.delivered) + "\n";
    out += "latchkey_webhook_deliveries_total{outcome=\"retried\"} " + std::to_string(st.retried) +
           "\n";
    out +=
        "latchkey_webhook_deliveries_total{outcome=\"failed\"} " + std::to_string(st.failed) + "\n";
  });
  api::Operational operational;
  operational.ready = [&store] { return store.ping(); };
  operational.jwks = [&ring] { return ring.jwks(); };
  api::Routes routes(frontend, cors, fo, std::move(operational), metrics);
  if (c.backend_api.enabled) {
    routes.enable_backend(backend, c.backend_api.path_prefix);
  }
  http::Router router;
  routes.register_routes(router);

  http::ServerOptions so;
  if (auto st = http::parse_listen(c.server.listen, so); !st) {
    return report(st.error(), "server.listen");
  }
  so.io_threads = c.server.threads;
  so.workers = c.server.workers;
  so.outbound_workers = c.server.outbound_workers;
  so.max_header_bytes = c.server.max_header_bytes;
  so.max_body_bytes = c.server.max_body_bytes;
  so.read_timeout = c.server.read_timeout;
  so.write_timeout = c.server.write_timeout;
  so.idle_timeout = c.server.idle_timeout;
  so.shutdown_timeout = c.server.shutdown_timeout;
  so.max_connections = c.server.max_connections;
  so.access_log = c.logging.access_log;
  http::Server server(so, router, metrics, [](const core::Error& e, const Request& req) {
    return api::error_response(e, req.request_id);
  });
  const std::string prefix = c.frontend.path_prefix;
  server.set_response_hook([&cors, prefix](const Request& req, Response& res) {
    res.set("x-content-type-options", "nosniff");
    if (prefix.empty() || req.path.starts_with(prefix) || req.path.starts_with("/v1/") ||
        req.path == "/.well-known/jwks.json") {
      cors.apply(req, res);
    }
  });
  if (auto st = server.start(); !st) {
    return report(st.error(), "listen");
  }
  spdlog::info("latchkey listening on {}:{} (public URL {}, frontend API {})", so.host,
               server.port(), c.server.public_url, fapi_url);
  Housekeeper housekeeper(store, ring, session_service, clock);
  delivery_worker.start();
  if (!webhooks.settings().endpoints.empty()) {
    webhook_worker.start();
  }
  if (auto st = server.run_until_signal(); !st) {
    return report(st.error(), "server");
  }
  webhook_worker.stop();
  delivery_worker.stop();
  spdlog::info("latchkey stopped");
  return kExitOk;
}

}  // namespace latchkey::app
