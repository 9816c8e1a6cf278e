// The operator's commands over the Backend API's services (issue 13): secret keys, the .env
// lines an application needs, users and sessions. They build the same flows::Backend the server
// runs (app/app.cpp serve), over the same store, so what they change the server sees at once.
#include <boost/json.hpp>

#include <functional>
#include <iostream>
#include <memory>
#include <string>

#include "app/app.hpp"
#include "app/first_factor_ports.hpp"
#include "app/internal.hpp"
#include "app/module_settings.hpp"
#include "app/webhook_events.hpp"
#include "core/base64.hpp"
#include "crypto/jwk.hpp"
#include "crypto/sealer.hpp"
#include "delivery/delivery.hpp"
#include "flows/backend.hpp"
#include "net/http_client.hpp"
#include "oauth/service.hpp"
#include "sessions/session_service.hpp"
#include "sessions/session_tokens.hpp"

namespace latchkey::app {
namespace {

struct Admin {
  flows::Backend& backend;
  tokens::KeyRing& ring;
  store::Store& store;
};

// Builds the services as serve() does (without a server) and runs `fn` over them.
int with_admin(const config::Config& c, std::string_view what,
               const std::function<int(Admin&)>& fn) {
  core::SystemClock clock;
  core::SystemRandom random;
  core::Secret master;
  auto keys = open_keys(c, clock, random, &master);
  if (!keys) {
    return report_error(keys.error(), what);
  }
  crypto::Sealer sealer(master);
  auto http_client = net::make_curl_http_client();
  auto oauth = oauth::Service::create(oauth_settings(c), *http_client, sealer, clock, random);
  if (!oauth) {
    return report_error(oauth.error(), what);
  }
  delivery::Outbox outbox(delivery_settings(c), sealer, random);
  OutboxCodeSender code_sender(outbox);
  PasswordPort password_port(password_hash_settings(c.passwords), password_policy(c.passwords),
                             password_lockout(c.passwords));
  sessions::TokenSettings ts;
  ts.issuer = c.server.public_url + c.frontend.path_prefix;
  ts.lifetime = c.frontend.session_token_lifetime;
  sessions::SessionTokens session_tokens(*keys->ring, clock, ts);
  sessions::Clients clients({.client_lifetime = c.frontend.client_lifetime,
                             .rotation_grace = c.frontend.client_rotation_grace},
                            random);
  sessions::SessionService session_service(
      {.session_lifetime = c.frontend.session_lifetime,
       .single_session_mode = c.frontend.single_session_mode,
       .last_active_write_interval = std::chrono::milliseconds(0)},
      clients, session_tokens, random);
  // What these commands change emits its webhook events as the server's requests do; the
  // server's worker delivers them (it polls the outbox).
  delivery::Webhooks webhooks(webhook_settings(c), random);
  WebhookEvents webhook_events(webhooks);
  if (!webhooks.settings().endpoints.empty()) {
    session_service.set_events(&webhook_events);
  }
  flows::FrontendSettings fs;
  fs.public_origin = public_origin_of(c.server.public_url);
  fs.identifiers = identifier_settings(c);
  fs.mfa = mfa_settings(c);
  flows::FlowDeps deps{fs,     *keys->store,    **oauth,       sealer,      clock,
                       random, session_service, password_port, code_sender, nullptr};
  flows::Backend backend(deps);
  Admin admin{backend, *keys->ring, *keys->store};
  return fn(admin);
}

std::string primary_email(const flows::UserView& u) {
  for (const auto& e : u.emails) {
    if (u.user.primary_email_address_id && e.id == *u.user.primary_email_address_id) {
      return e.email;
    }
  }
  return u.emails.empty() ? "-" : u.emails.front().email;
}

void print_user_line(const flows::UserView& u) {
  std::cout << u.user.id << "\t" << primary_email(u) << "\t" << u.user.first_name.value_or("")
            << "\t" << u.user.last_name.value_or("") << "\t" << (u.user.banned ? "banned" : "-")
            << "\t" << u.user.created_at_ms << "\n";
}

// The public URL's host[:port].
std::string public_host(const std::string& public_url) {
  std::string host = public_url.substr(public_url.find("://") + 3);
  return host.substr(0, host.find('/'));
}

// @clerk/shared's parsePublishableKey refuses a key whose host has no dot ("localhost:4000"), so
// such a host is written as its fully qualified form with the root's dot ("localhost.:4000", the
// same name to a resolver) and the SDKs are sent to the real URL by the proxy URL line.
bool needs_fqdn_dot(const std::string& host) {
  return host.substr(0, host.rfind(':')).find('.') == std::string::npos;
}

// The host the publishable key encodes, as clerk-js and @clerk/shared's parsePublishableKey read
// it back (pk_live_ + base64("<host>$"), no padding).
std::string publishable_key(const std::string& public_url) {
  std::string host = public_host(public_url);
  if (needs_fqdn_dot(host)) {
    const auto colon = host.rfind(':');
    host.insert(colon == std::string::npos ? host.size() : colon, ".");
  }
  std::string b64 = core::base64_encode(host + "$");
  while (!b64.empty() && b64.back() == '=') {
    b64.pop_back();
  }
  return "pk_live_" + b64;
}

// The PEM (SubjectPublicKeyInfo) of the key that signs now; "" if it cannot be found.
std::string signing_key_pem(const tokens::KeyRing& ring) {
  const std::string kid = ring.active_kid();
  auto keys = crypto::parse_jwks(ring.jwks_json());
  if (!keys) {
    return {};
  }
  for (const auto& k : *keys) {
    if (k.kid == kid) {
      return k.key.to_pem();
    }
  }
  return {};
}

// One line: a dotenv double-quoted value with \n for the PEM's line breaks.
std::string one_line(const std::string& pem) {
  std::string out;
  for (const char ch : pem) {
    if (ch == '\n') {
      out += "\\n";
    } else {
      out.push_back(ch);
    }
  }
  while (out.ends_with("\\n")) {
    out.resize(out.size() - 2);
  }
  return out;
}

}  // namespace

int secret_keys_create(const config::Config& c) {
  return with_admin(c, "secret-keys create", [](Admin& a) {
    auto k = a.backend.keys.create();
    if (!k) {
      return report_error(k.error(), "secret-keys create");
    }
    std::cerr << "secret key " << k->row.id
              << " created; it is shown once, keep it (CLERK_SECRET_KEY):\n";
    std::cout << k->key.reveal() << "\n";
    return kExitOk;
  });
}

int secret_keys_list(const config::Config& c) {
  return with_admin(c, "secret-keys list", [](Admin& a) {
    auto rows = a.backend.keys.list();
    if (!rows) {
      return report_error(rows.error(), "secret-keys list");
    }
    std::cout << "id\tkey\tcreated_at_ms\tstate\n";
    for (const auto& k : *rows) {
      std::cout << k.id << "\tsk_live_..." << k.hint << "\t" << k.created_at_ms << "\t"
                << (k.revoked_at_ms ? "revoked " + std::to_string(*k.revoked_at_ms)
                                    : std::string("valid"))
                << "\n";
    }
    return kExitOk;
  });
}

int secret_keys_revoke(const config::Config& c, const std::string& id) {
  return with_admin(c, "secret-keys revoke", [&](Admin& a) {
    if (auto st = a.backend.keys.revoke(id); !st) {
      return report_error(st.error(), "secret-keys revoke");
    }
    std::cout << "revoked " << id << "\n";
    return kExitOk;
  });
}

int print_env(const config::Config& c, bool with_secret_key) {
  return with_admin(c, "env", [&](Admin& a) {
    const std::string pk = publishable_key(c.server.public_url);
    std::cout << "CLERK_PUBLISHABLE_KEY=" << pk << "\n";
    std::cout << "NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY=" << pk << "\n";
    if (c.backend_api.enabled) {
      std::cout << "CLERK_API_URL=" << c.server.public_url << c.backend_api.path_prefix << "\n";
    }
    if (!c.frontend.path_prefix.empty() || needs_fqdn_dot(public_host(c.server.public_url))) {
      // The Frontend API is under a path, or on a host without a dot, which a publishable key
      // cannot encode as it is: the proxy URL names it (NEXT_PUBLIC_ for @clerk/nextjs, the other
      // for @clerk/express and @clerk/backend).
      const std::string proxy = c.server.public_url + c.frontend.path_prefix;
      std::cout << "NEXT_PUBLIC_CLERK_PROXY_URL=" << proxy << "\n";
      std::cout << "CLERK_PROXY_URL=" << proxy << "\n";
    }
    if (const std::string pem = signing_key_pem(a.ring); !pem.empty()) {
      std::cout << "CLERK_JWT_KEY=\"" << one_line(pem) << "\"\n";
    }
    if (with_secret_key) {
      auto k = a.backend.keys.create();
      if (!k) {
        return report_error(k.error(), "env");
      }
      std::cout << "CLERK_SECRET_KEY=" << k->key.reveal() << "\n";
      std::cerr << "a new secret key " << k->row.id << " was created for CLERK_SECRET_KEY\n";
    }
    return kExitOk;
  });
}

int users_list(const config::Config& c, const std::string& query, int limit) {
  return with_admin(c, "users list", [&](Admin& a) {
    store::UserQuery q;
    q.query = query;
    q.limit = limit;
    auto users = a.backend.users.list(q);
    if (!users) {
      return report_error(users.error(), "users list");
    }
    std::cout << "id\temail\tfirst_name\tlast_name\tbanned\tcreated_at_ms\n";
    for (const auto& u : *users) {
      print_user_line(u);
    }
    return kExitOk;
  });
}

int users_show(const config::Config& c, const std::string& id) {
  return with_admin(c, "users show", [&](Admin& a) {
    auto u = a.backend.users.get(id);
    if (!u) {
      return report_error(u.error(), "users show");
    }
    boost::json::object o;
    o["id"] = u->user.id;
    boost::json::array emails;
    for (const auto& e : u->emails) {
      emails.emplace_back(
          boost::json::object{{"id", e.id}, {"email", e.email}, {"verified", e.verified}});
    }
    o["email_addresses"] = std::move(emails);
    o["first_name"] = u->user.first_name ? boost::json::value(*u->user.first_name) : nullptr;
    o["last_name"] = u->user.last_name ? boost::json::value(*u->user.last_name) : nullptr;
    o["username"] = u->user.username ? boost::json::value(*u->user.username) : nullptr;
    o["password_enabled"] = u->user.password_digest.has_value();
    o["banned"] = u->user.banned;
    o["locked_until"] =
        u->user.locked_until_ms ? boost::json::value(*u->user.locked_until_ms) : nullptr;
    o["external_accounts"] = static_cast<std::int64_t>(u->accounts.size());
    o["created_at"] = u->user.created_at_ms;
    o["last_sign_in_at"] =
        u->user.last_sign_in_at_ms ? boost::json::value(*u->user.last_sign_in_at_ms) : nullptr;
    std::cout << boost::json::serialize(o) << "\n";
    return kExitOk;
  });
}

int users_create(const config::Config& c, const UserCreateArgs& args) {
  return with_admin(c, "users create", [&](Admin& a) {
    flows::UserParams p;
    p.email_addresses.push_back(args.email);
    if (!args.password.empty()) {
      p.password = core::Secret(args.password);
    }
    if (!args.first_name.empty()) {
      p.first_name = args.first_name;
    }
    if (!args.last_name.empty()) {
      p.last_name = args.last_name;
    }
    auto u = a.backend.users.create(p);
    if (!u) {
      return report_error(u.error(), "users create");
    }
    std::cout << u->user.id << "\n";
    return kExitOk;
  });
}

int users_ban(const config::Config& c, const std::string& id, bool banned) {
  return with_admin(c, banned ? "users ban" : "users unban", [&](Admin& a) {
    auto u = a.backend.users.set_banned(id, banned);
    if (!u) {
      return report_error(u.error(), banned ? "users ban" : "users unban");
    }
    std::cout << (banned ? "banned " : "unbanned ") << id << "\n";
    return kExitOk;
  });
}

int users_delete(const config::Config& c, const std::string& id) {
  return with_admin(c, "users delete", [&](Admin& a) {
    if (auto st = a.backend.users.remove(id); !st) {
      return report_error(st.error(), "users delete");
    }
    std::cout << "deleted " << id << "\n";
    return kExitOk;
  });
}

int sessions_list(const config::Config& c, const std::string& user_id) {
  return with_admin(c, "sessions list", [&](Admin& a) {
    flows::SessionQuery q;
    q.user_id = user_id;
    q.limit = 500;
    auto page = a.backend.sessions.list(q);
    if (!page) {
      return report_error(page.error(), "sessions list");
    }
    std::cout << "id\tclient_id\tstatus\tlast_active_at_ms\texpire_at_ms\n";
    for (const auto& s : page->sessions) {
      std::cout << s.id << "\t" << s.client_id << "\t" << s.status << "\t" << s.last_active_at_ms
                << "\t" << s.expire_at_ms << "\n";
    }
    return kExitOk;
  });
}

int sessions_revoke(const config::Config& c, const std::string& id) {
  return with_admin(c, "sessions revoke", [&](Admin& a) {
    auto s = a.backend.sessions.revoke(id);
    if (!s) {
      return report_error(s.error(), "sessions revoke");
    }
    std::cout << id << " " << s->status << "\n";
    return kExitOk;
  });
}

int webhooks_list(const config::Config& c, bool failed_only) {
  return with_admin(c, "webhooks list", [&](Admin& a) {
    std::vector<store::WebhookDelivery> rows;
    auto st = a.store.read([&](store::Tx& tx) -> core::Status {
      auto r = tx.list_webhook_deliveries(failed_only, 500);
      if (!r) {
        return core::fail(std::move(r.error()));
      }
      rows = std::move(*r);
      return {};
    });
    if (!st) {
      return report_error(st.error(), "webhooks list");
    }
    std::cout << "id\tevent_type\tendpoint\tstatus\tattempts\tlast_error\n";
    for (const auto& d : rows) {
      std::cout << d.id << "\t" << d.event_type << "\t" << d.endpoint << "\t" << d.status << "\t"
                << d.attempts << "\t" << d.last_error.value_or("-") << "\n";
    }
    return kExitOk;
  });
}

int webhooks_replay(const config::Config& c, const std::string& id) {
  return with_admin(c, "webhooks replay", [&](Admin& a) {
    core::SystemClock clock;
    auto d = delivery::replay_webhook(a.store, id, clock.now_ms());
    if (!d) {
      return report_error(d.error(), "webhooks replay");
    }
    std::cout << "rescheduled " << d->id << " (" << d->event_type << " to " << d->endpoint << ")\n";
    return kExitOk;
  });
}

}  // namespace latchkey::app
