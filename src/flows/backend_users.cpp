// The Backend API's users (flows/backend.hpp): every change in one transaction; passwords are
// checked against the policy and hashed before it (argon2id takes tens of milliseconds).
#include <boost/json.hpp>

#include <array>
#include <utility>

#include "flows/backend.hpp"
#include "flows/identifiers.hpp"

namespace latchkey::flows {
namespace {

namespace json = boost::json;
using core::Code;
using core::Error;
using core::fail;
using core::Result;
using core::Status;

Error param_invalid(std::string_view param) {
  return Error(Code::kFormParamInvalid).with_meta("param_name", std::string(param));
}

Error user_not_found() {
  return Error(Code::kResourceNotFound, "not found", "User not found")
      .with_reason(core::Reason::kUnspecified);
}

// A user by id, or 404.
Result<store::User> require_user(store::Tx& tx, const std::string& id) {
  auto u = tx.get_user(id);
  if (!u) {
    return fail(std::move(u.error()));
  }
  if (!*u) {
    return fail(user_not_found());
  }
  return std::move(**u);
}

// The password's digest, after the policy (unless skipped), outside any transaction.
Result<std::optional<std::string>> hash_password(FlowDeps& d, const UserParams& p) {
  if (!p.password) {
    return std::optional<std::string>();
  }
  if (!p.skip_password_checks) {
    std::vector<std::string_view> inputs;
    for (const auto* s : {&p.first_name, &p.last_name, &p.username}) {
      if (*s) {
        inputs.emplace_back(**s);
      }
    }
    for (const auto& e : p.email_addresses) {
      inputs.emplace_back(e);
    }
    if (auto st = d.passwords.check_policy(*p.password, inputs); !st) {
      return fail(std::move(st.error()));
    }
  }
  auto digest = d.passwords.hash(*p.password);
  if (!digest) {
    return fail(std::move(digest.error()));
  }
  return std::optional<std::string>(std::move(*digest));
}

Status check_username(store::Tx& tx, const std::optional<std::string>& username,
                      const std::string& self) {
  if (!username) {
    return {};
  }
  auto other = tx.find_user_by_username(*username);
  if (!other) {
    return fail(std::move(other.error()));
  }
  if (*other && (*other)->id != self) {
    return fail(Error(Code::kFormIdentifierExists).with_meta("param_name", "username"));
  }
  return {};
}

// Runs `change` on the user in one transaction and returns the user as it is afterwards.
template <typename Change>
Result<UserView> change_user(FlowDeps& d, const std::string& id, Change&& change) {
  UserView out;
  auto st = d.store.transaction([&](store::Tx& tx) -> Status {
    auto user = require_user(tx, id);
    if (!user) {
      return fail(std::move(user.error()));
    }
    const std::int64_t now = d.clock.now_ms();
    if (auto c = change(tx, *user, now); !c) {
      return c;
    }
    user->updated_at_ms = now;
    if (auto u = tx.update_user(*user); !u) {
      return u;
    }
    if (auto e = sessions::emit(d.sessions.events(), tx, sessions::Event::kUserUpdated, id, now);
        !e) {
      return e;
    }
    auto view = sessions::load_user(tx, id);
    if (!view) {
      return fail(std::move(view.error()));
    }
    out = std::move(*view);
    return {};
  });
  if (!st) {
    return fail(std::move(st.error()));
  }
  return out;
}

void merge_into(json::object& base, const json::object& patch) {
  for (const auto& [k, v] : patch) {
    if (v.is_null()) {
      base.erase(k);
    } else if (v.is_object() && base.contains(k) && base.at(k).is_object()) {
      merge_into(base.at(k).as_object(), v.as_object());
    } else {
      base[k] = v;
    }
  }
}

}  // namespace

Result<std::string> merge_json_objects(std::string_view base, std::string_view patch) {
  boost::system::error_code ec;
  json::value b = json::parse(base.empty() ? std::string_view("{}") : base, ec);
  if (ec || !b.is_object()) {
    return fail(Error(Code::kFormParamInvalid).with_internal("stored metadata is not an object"));
  }
  json::value p = json::parse(patch, ec);
  if (ec || !p.is_object()) {
    return fail(Error(Code::kFormParamInvalid));
  }
  merge_into(b.as_object(), p.as_object());
  return json::serialize(b);
}

Result<UserView> BackendUsers::get(const std::string& id) {
  UserView out;
  auto st = d_.store.read([&](store::Tx& tx) -> Status {
    if (auto u = require_user(tx, id); !u) {
      return fail(std::move(u.error()));
    }
    auto view = sessions::load_user(tx, id);
    if (!view) {
      return fail(std::move(view.error()));
    }
    out = std::move(*view);
    return {};
  });
  if (!st) {
    return fail(std::move(st.error()));
  }
  return out;
}

Result<std::vector<UserView>> BackendUsers::list(const store::UserQuery& query) {
  std::vector<UserView> out;
  auto st = d_.store.read([&](store::Tx& tx) -> Status {
    auto rows = tx.list_users(query);
    if (!rows) {
      return fail(std::move(rows.error()));
    }
    for (const auto& u : *rows) {
      auto view = sessions::load_user(tx, u.id);
      if (!view) {
        return fail(std::move(view.error()));
      }
      out.push_back(std::move(*view));
    }
    return {};
  });
  if (!st) {
    return fail(std::move(st.error()));
  }
  return out;
}

Result<std::int64_t> BackendUsers::count(const store::UserQuery& query) {
  std::int64_t n = 0;
  auto st = d_.store.read([&](store::Tx& tx) -> Status {
    auto c = tx.count_users(query);
    if (!c) {
      return fail(std::move(c.error()));
    }
    n = *c;
    return {};
  });
  if (!st) {
    return fail(std::move(st.error()));
  }
  return n;
}

Result<UserView> BackendUsers::create(const UserParams& params) {
  // The one canonical form the Frontend API signs in with (flows/identifiers.hpp).
  UserParams p = params;
  for (auto& e : p.email_addresses) {
    auto canonical = canonical_email(e, "email_address");
    if (!canonical) {
      return fail(std::move(canonical.error()));
    }
    e = std::move(*canonical);
  }
  if (p.email_addresses.empty() && !p.username) {
    return fail(Error(Code::kFormParamMissing).with_meta("param_name", "email_address"));
  }
  auto digest = hash_password(d_, p);
  if (!digest) {
    return fail(std::move(digest.error()));
  }
  const std::string id = d_.random.id("user");
  std::vector<std::string> email_ids;
  for (std::size_t i = 0; i < p.email_addresses.size(); ++i) {
    email_ids.push_back(d_.random.id("idn"));
  }
  UserView out;
  auto st = d_.store.transaction([&](store::Tx& tx) -> Status {
    const std::int64_t now = d_.clock.now_ms();
    if (auto u = check_username(tx, p.username, id); !u) {
      return u;
    }
    store::User user;
    user.id = id;
    user.first_name = p.first_name;
    user.last_name = p.last_name;
    user.username = p.username;
    user.public_metadata = p.public_metadata.value_or("{}");
    user.private_metadata = p.private_metadata.value_or("{}");
    user.unsafe_metadata = p.unsafe_metadata.value_or("{}");
    user.password_digest = *digest;
    if (!email_ids.empty()) {
      user.primary_email_address_id = email_ids.front();
    }
    user.created_at_ms = now;
    user.updated_at_ms = now;
    if (auto ins = tx.insert_user(user); !ins) {
      return ins;
    }
    for (std::size_t i = 0; i < email_ids.size(); ++i) {
      store::EmailAddress e;
      e.id = email_ids[i];
      e.user_id = id;
      e.email = p.email_addresses[i];
      e.verified = true;  // an address the application's server vouches for
      e.verification_strategy = "admin";
      e.created_at_ms = now;
      e.updated_at_ms = now;
      if (auto ins = tx.insert_email_address(e); !ins) {
        if (store::is_conflict(ins.error(), store::kEmailAddressEmailKey)) {
          return fail(Error(Code::kFormIdentifierExists).with_meta("param_name", "email_address"));
        }
        return ins;
      }
    }
    if (auto e = sessions::emit(d_.sessions.events(), tx, sessions::Event::kUserCreated, id, now);
        !e) {
      return e;
    }
    auto view = sessions::load_user(tx, id);
    if (!view) {
      return fail(std::move(view.error()));
    }
    out = std::move(*view);
    return {};
  });
  if (!st) {
    return fail(std::move(st.error()));
  }
  return out;
}

Result<UserView> BackendUsers::update(const std::string& id, const UserParams& p) {
  auto digest = hash_password(d_, p);
  if (!digest) {
    return fail(std::move(digest.error()));
  }
  return change_user(d_, id, [&](store::Tx& tx, store::User& u, std::int64_t) -> Status {
    if (auto c = check_username(tx, p.username, id); !c) {
      return c;
    }
    if (p.primary_email_address_id) {
      auto e = tx.get_email_address(*p.primary_email_address_id);
      if (!e) {
        return fail(std::move(e.error()));
      }
      if (!*e || (*e)->user_id != id) {
        return fail(param_invalid("primary_email_address_id"));
      }
      u.primary_email_address_id = p.primary_email_address_id;
    }
    if (p.first_name) {
      u.first_name = p.first_name;
    }
    if (p.last_name) {
      u.last_name = p.last_name;
    }
    if (p.username) {
      u.username = p.username;
    }
    if (*digest) {
      u.password_digest = *digest;
      u.password_reset_required = false;
    }
    if (p.public_metadata) {
      u.public_metadata = *p.public_metadata;
    }
    if (p.private_metadata) {
      u.private_metadata = *p.private_metadata;
    }
    if (p.unsafe_metadata) {
      u.unsafe_metadata = *p.unsafe_metadata;
    }
    return {};
  });
}

Result<UserView> BackendUsers::merge_metadata(const std::string& id, const MetadataPatch& patch) {
  return change_user(d_, id, [&](store::Tx&, store::User& u, std::int64_t) -> Status {
    const std::array<std::pair<const std::optional<std::string>*, std::string*>, 3> fields{{
        {&patch.public_metadata, &u.public_metadata},
        {&patch.private_metadata, &u.private_metadata},
        {&patch.unsafe_metadata, &u.unsafe_metadata},
    }};
    for (const auto& [given, stored] : fields) {
      if (!*given) {
        continue;
      }
      auto merged = merge_json_objects(*stored, **given);
      if (!merged) {
        return fail(std::move(merged.error()));
      }
      *stored = std::move(*merged);
    }
    return {};
  });
}

Status BackendUsers::remove(const std::string& id) {
  return d_.store.transaction([&](store::Tx& tx) -> Status {
    auto st = tx.delete_user(id);
    if (!st && st.error().code == Code::kResourceNotFound) {
      return fail(user_not_found());
    }
    if (!st) {
      return st;
    }
    return sessions::emit(d_.sessions.events(), tx, sessions::Event::kUserDeleted, id,
                          d_.clock.now_ms());
  });
}

Result<UserView> BackendUsers::set_banned(const std::string& id, bool banned) {
  return change_user(d_, id, [&](store::Tx& tx, store::User& u, std::int64_t now) -> Status {
    u.banned = banned;
    if (banned) {
      auto n = d_.sessions.revoke_user_sessions(tx, id, "", now);
      if (!n) {
        return fail(std::move(n.error()));
      }
    }
    return {};
  });
}

Result<UserView> BackendUsers::set_locked(const std::string& id, bool locked) {
  return change_user(d_, id, [&](store::Tx&, store::User& u, std::int64_t) -> Status {
    if (locked) {
      u.locked_until_ms = kLockedForever;
    } else {
      u.locked_until_ms.reset();
      u.failed_password_attempts = 0;
    }
    return {};
  });
}

Result<UserView> BackendUsers::set_password_compromised(const std::string& id, bool compromised,
                                                        bool revoke_all_sessions) {
  return change_user(d_, id, [&](store::Tx& tx, store::User& u, std::int64_t now) -> Status {
    if (!u.password_digest) {
      return fail(Error(Code::kFormParamInvalid, "is invalid", "This user has no password.")
                      .with_meta("param_name", "password"));
    }
    u.password_reset_required = compromised;
    if (compromised && revoke_all_sessions) {
      auto n = d_.sessions.revoke_user_sessions(tx, id, "", now);
      if (!n) {
        return fail(std::move(n.error()));
      }
    }
    return {};
  });
}

Status BackendUsers::verify_password(const std::string& id, const core::Secret& password) {
  std::optional<std::string> digest;
  auto st = d_.store.read([&](store::Tx& tx) -> Status {
    auto u = require_user(tx, id);
    if (!u) {
      return fail(std::move(u.error()));
    }
    digest = u->password_digest;
    return {};
  });
  if (!st) {
    return st;
  }
  if (!digest) {
    d_.passwords.verify_dummy(password);
    return fail(Error(Code::kFormPasswordIncorrect).with_meta("param_name", "password"));
  }
  if (!d_.passwords.verify(password, *digest).match) {
    return fail(Error(Code::kFormPasswordIncorrect).with_meta("param_name", "password"));
  }
  return {};
}

Result<UserView> BackendUsers::disable_mfa(const std::string& id) {
  return change_user(d_, id, [](store::Tx& tx, store::User& user, std::int64_t) -> Status {
    // The authenticator app (none is not an error) and the backup codes beside it.
    if (auto t = tx.delete_totp(user.id); !t && t.error().code != Code::kResourceNotFound) {
      return t;
    }
    return tx.delete_backup_codes(user.id);
  });
}

// ---- email addresses ------------------------------------------------------------------------

namespace {

Error email_not_found() {
  return Error(Code::kResourceNotFound, "not found", "Email address not found")
      .with_reason(core::Reason::kUnspecified);
}

Result<store::EmailAddress> require_email(store::Tx& tx, const std::string& id) {
  auto e = tx.get_email_address(id);
  if (!e) {
    return fail(std::move(e.error()));
  }
  if (!*e) {
    return fail(email_not_found());
  }
  return std::move(**e);
}

Result<EmailView> email_view(store::Tx& tx, store::EmailAddress e) {
  auto accounts = tx.list_external_accounts(e.user_id);
  if (!accounts) {
    return fail(std::move(accounts.error()));
  }
  return EmailView{std::move(e), std::move(*accounts)};
}

// Runs `change` on the address and its owner in one transaction (the owner's updated_at moves
// with it) and returns the address as it is afterwards.
template <typename Change>
Result<EmailView> change_email(FlowDeps& d, const std::string& id, Change&& change) {
  EmailView out;
  auto st = d.store.transaction([&](store::Tx& tx) -> Status {
    auto e = require_email(tx, id);
    if (!e) {
      return fail(std::move(e.error()));
    }
    auto user = require_user(tx, e->user_id);
    if (!user) {
      return fail(std::move(user.error()));
    }
    const std::int64_t now = d.clock.now_ms();
    if (auto c = change(*e, *user); !c) {
      return c;
    }
    e->updated_at_ms = now;
    if (auto u = tx.update_email_address(*e); !u) {
      return u;
    }
    user->updated_at_ms = now;
    if (auto u = tx.update_user(*user); !u) {
      return u;
    }
    if (auto ev =
            sessions::emit(d.sessions.events(), tx, sessions::Event::kUserUpdated, user->id, now);
        !ev) {
      return ev;
    }
    auto v = email_view(tx, std::move(*e));
    if (!v) {
      return fail(std::move(v.error()));
    }
    out = std::move(*v);
    return {};
  });
  if (!st) {
    return fail(std::move(st.error()));
  }
  return out;
}

}  // namespace

Result<EmailView> BackendEmails::get(const std::string& id) {
  EmailView out;
  auto st = d_.store.read([&](store::Tx& tx) -> Status {
    auto e = require_email(tx, id);
    if (!e) {
      return fail(std::move(e.error()));
    }
    auto v = email_view(tx, std::move(*e));
    if (!v) {
      return fail(std::move(v.error()));
    }
    out = std::move(*v);
    return {};
  });
  if (!st) {
    return fail(std::move(st.error()));
  }
  return out;
}

Result<EmailView> BackendEmails::create(const NewEmailParams& p) {
  if (p.user_id.empty()) {
    return fail(Error(Code::kFormParamMissing).with_meta("param_name", "user_id"));
  }
  auto email = canonical_email(p.email_address, "email_address");
  if (!email) {
    return fail(std::move(email.error()));
  }
  const std::string id = d_.random.id("idn");
  EmailView out;
  auto st = d_.store.transaction([&](store::Tx& tx) -> Status {
    auto user = require_user(tx, p.user_id);
    if (!user) {
      return fail(std::move(user.error()));
    }
    const std::int64_t now = d_.clock.now_ms();
    store::EmailAddress e;
    e.id = id;
    e.user_id = p.user_id;
    e.email = *email;
    e.verified = p.verified;
    if (p.verified) {
      e.verification_strategy = "admin";
    }
    e.created_at_ms = now;
    e.updated_at_ms = now;
    if (auto ins = tx.insert_email_address(e); !ins) {
      if (store::is_conflict(ins.error(), store::kEmailAddressEmailKey)) {
        return fail(Error(Code::kFormIdentifierExists).with_meta("param_name", "email_address"));
      }
      return ins;
    }
    if (p.primary.value_or(!user->primary_email_address_id)) {
      user->primary_email_address_id = id;
    }
    user->updated_at_ms = now;
    if (auto u = tx.update_user(*user); !u) {
      return u;
    }
    if (auto ev =
            sessions::emit(d_.sessions.events(), tx, sessions::Event::kUserUpdated, user->id, now);
        !ev) {
      return ev;
    }
    auto v = email_view(tx, std::move(e));
    if (!v) {
      return fail(std::move(v.error()));
    }
    out = std::move(*v);
    return {};
  });
  if (!st) {
    return fail(std::move(st.error()));
  }
  return out;
}

Result<EmailView> BackendEmails::update(const std::string& id, const EmailPatch& patch) {
  return change_email(d_, id, [&](store::EmailAddress& e, store::User& u) -> Status {
    const bool is_primary = u.primary_email_address_id == e.id;
    if (patch.primary && !*patch.primary && is_primary) {
      return fail(Error(Code::kFormParamInvalid, "cannot be unset",
                        "Make another address primary instead of unsetting the primary one.")
                      .with_meta("param_name", "primary"));
    }
    if (patch.verified) {
      e.verified = *patch.verified;
      e.verification_strategy =
          *patch.verified ? std::optional<std::string>("admin") : std::nullopt;
    }
    if (patch.primary && *patch.primary) {
      u.primary_email_address_id = e.id;
    }
    return {};
  });
}

Status BackendEmails::remove(const std::string& id) {
  return d_.store.transaction([&](store::Tx& tx) -> Status {
    auto e = require_email(tx, id);
    if (!e) {
      return fail(std::move(e.error()));
    }
    auto user = require_user(tx, e->user_id);
    if (!user) {
      return fail(std::move(user.error()));
    }
    auto all = tx.list_email_addresses(user->id);
    if (!all) {
      return fail(std::move(all.error()));
    }
    const bool is_primary = user->primary_email_address_id == e->id;
    if (is_primary && all->size() > 1) {
      return fail(Error(Code::kFormParamInvalid, "is the primary address",
                        "The primary email address can only be deleted while it is the user's "
                        "only one: make another address primary first.")
                      .with_meta("param_name", "email_address_id"));
    }
    if (auto d = tx.delete_email_address(e->id); !d) {
      return d;
    }
    if (is_primary) {
      user->primary_email_address_id.reset();
    }
    const std::int64_t now = d_.clock.now_ms();
    user->updated_at_ms = now;
    if (auto u = tx.update_user(*user); !u) {
      return u;
    }
    return sessions::emit(d_.sessions.events(), tx, sessions::Event::kUserUpdated, user->id, now);
  });
}

}  // namespace latchkey::flows
