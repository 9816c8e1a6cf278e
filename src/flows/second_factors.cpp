#include "flows/second_factors.hpp"

#include <array>

#include "crypto/totp.hpp"
#include "flows/detail/attempt.hpp"
#include "sessions/events.hpp"

namespace latchkey::flows {

using core::Code;
using core::Error;
using core::fail;
using core::Result;
using core::Status;
using namespace detail;

namespace {

std::string totp_aad(const std::string& id) { return "totp:" + id; }
std::string backup_code_context(const std::string& user_id) { return "backup_code:" + user_id; }

// RFC 3986 unreserved characters stay, everything else is %XX (the otpauth label and issuer).
std::string percent_encode(std::string_view s) {
  static constexpr std::string_view kHex = "0123456789ABCDEF";
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

// Backup codes: 8 characters of [a-z0-9] (~41 bits each), what Clerk's look like; entered
// case-insensitively with surrounding spaces ignored.
std::string new_backup_code(core::Random& random) {
  static constexpr std::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string code(8, 'a');
  for (char& c : code) {
    c = kAlphabet[random.uniform(static_cast<std::uint32_t>(kAlphabet.size()))];
  }
  return code;
}

std::string normalise_backup_code(std::string_view code) {
  std::string out;
  for (const char c : code) {
    if (c == ' ' || c == '-' || c == '\t') {
      continue;
    }
    out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return out;
}

Result<std::vector<std::string>> replace_backup_codes(store::Tx& tx, FlowDeps& d,
                                                      const std::string& user_id,
                                                      std::int64_t now) {
  std::vector<std::string> codes;
  std::vector<std::string> macs;
  for (int i = 0; i < MfaSettings::kBackupCodeCount; ++i) {
    codes.push_back(new_backup_code(d.random));
    macs.push_back(d.sealer.mac(backup_code_context(user_id), codes.back()));
  }
  LK_TRY(tx.replace_backup_codes(user_id, macs, now));
  return codes;
}

Result<core::Secret> open_secret(FlowDeps& d, const store::Totp& t) {
  auto raw = d.sealer.open(t.secret_enc, totp_aad(t.id));
  if (!raw) {
    return fail(std::move(raw.error()));
  }
  return core::Secret(std::move(*raw));
}

Error not_enabled(std::string_view what) {
  return Error(Code::kStrategyNotAllowed, "is invalid",
               std::string(what) + " is not enabled for this application.");
}

// The session of the caller a /v1/me request names, live (pending included), and its user.
Result<store::Session> me_session(store::Tx& tx, FlowDeps& d, const Caller& caller,
                                  const std::string& session_id, std::int64_t now) {
  if (session_id.empty()) {
    return fail(Error(Code::kAuthenticationInvalid).with_internal("/v1/me without a session"));
  }
  return d.sessions.authorize(tx, caller, session_id, now);
}

// A change to the user's second factors: the user's updated_at moves and user.updated is emitted
// in the same transaction (webhooks).
Status user_changed(store::Tx& tx, FlowDeps& d, const std::string& user_id, std::int64_t now) {
  auto user = require(tx.get_user(user_id), Code::kResourceNotFound);
  if (!user) {
    return fail(std::move(user.error()));
  }
  user->updated_at_ms = now;
  LK_TRY(tx.update_user(*user));
  return sessions::emit(d.sessions.events(), tx, sessions::Event::kUserUpdated, user_id, now);
}

// Runs `body(tx, session, now, response)` for the caller's live session `session_id` in one
// transaction on its client, and returns the client after it (tokens minted) with `response`.
template <typename T, typename Body>
Result<MeResult<T>> on_session(FlowDeps& d, const Caller& caller, const std::string& session_id,
                               Body&& body) {
  T response{};
  auto m = mutate_client(d, caller, session_id,
                         [&](store::Tx& tx, store::Client&, std::int64_t now, Mutation&) -> Status {
                           response = T{};  // the transaction may run again
                           auto s = me_session(tx, d, caller, session_id, now);
                           if (!s) {
                             return fail(std::move(s.error()));
                           }
                           return body(tx, *s, now, response);
                         });
  if (!m) {
    return fail(std::move(m.error()));
  }
  return MeResult<T>{std::move(*m), std::move(response)};
}

std::string primary_identifier(const UserView& u) {
  for (const auto& e : u.emails) {
    if (u.user.primary_email_address_id && e.id == *u.user.primary_email_address_id) {
      return e.email;
    }
  }
  if (!u.emails.empty()) {
    return u.emails.front().email;
  }
  return u.user.username.value_or(u.user.id);
}

}  // namespace

std::vector<std::string> second_factor_strategies(const MfaSettings& settings,
                                                  const store::MfaSummary& mfa) {
  std::vector<std::string> out;
  if (settings.authenticator_app && mfa.totp) {
    out.emplace_back("totp");
    if (settings.backup_codes && mfa.backup_codes > 0) {
      out.emplace_back("backup_code");
    }
  }
  return out;
}

Result<std::vector<std::string>> SessionTasks::tasks(store::Tx& tx, const std::string& user_id) {
  std::vector<std::string> out;
  auto user = tx.get_user(user_id);
  if (!user) {
    return fail(std::move(user.error()));
  }
  if (*user && (*user)->password_reset_required && (*user)->password_digest) {
    out.emplace_back("reset-password");
  }
  if (settings_.required && settings_.authenticator_app) {
    auto mfa = tx.get_mfa_summary(user_id);
    if (!mfa) {
      return fail(std::move(mfa.error()));
    }
    if (second_factor_strategies(settings_, *mfa).empty()) {
      out.emplace_back("setup-mfa");
    }
  }
  return out;
}

namespace {

// Which second factor was checked and what it found, before the run of wrong codes is counted.
Result<FactorOutcome> check_code(store::Tx& tx, FlowDeps& d, const std::string& user_id,
                                 std::string_view strategy, std::string_view code,
                                 std::int64_t now_ms) {
  if (strategy == "totp") {
    auto t = tx.get_totp(user_id);
    if (!t) {
      return fail(std::move(t.error()));
    }
    if (!*t || !(*t)->verified) {
      return FactorOutcome::kIncorrect;
    }
    auto secret = open_secret(d, **t);
    if (!secret) {
      return fail(std::move(secret.error()));
    }
    const auto step = crypto::totp::match(*secret, code, now_ms / 1000, d.settings.mfa.totp_window);
    if (!step) {
      return FactorOutcome::kIncorrect;
    }
    // Conditional: a step at or below the last one accepted is a replay (or lost a race).
    auto used = tx.use_totp_step(user_id, *step, now_ms);
    if (!used) {
      if (used.error().code == Code::kResourceNotFound) {
        return FactorOutcome::kIncorrect;
      }
      return fail(std::move(used.error()));
    }
    return FactorOutcome::kVerified;
  }
  if (strategy == "backup_code") {
    const std::string normalised = normalise_backup_code(code);
    if (normalised.empty() || normalised.size() > 64) {
      return FactorOutcome::kIncorrect;
    }
    auto used = tx.use_backup_code(user_id, d.sealer.mac(backup_code_context(user_id), normalised));
    if (!used) {
      if (used.error().code == Code::kResourceNotFound) {
        return FactorOutcome::kIncorrect;
      }
      return fail(std::move(used.error()));
    }
    return FactorOutcome::kVerified;
  }
  return FactorOutcome::kIncorrect;
}

}  // namespace

Result<FactorOutcome> check_second_factor(store::Tx& tx, FlowDeps& d, const std::string& user_id,
                                          std::string_view strategy, std::string_view code,
                                          std::int64_t now_ms) {
  // Wrong codes count per user across sign-ins (a new sign-in's fresh attempts do not reset
  // them); past the password lockout's threshold the user is locked like by wrong passwords.
  auto user = require(tx.get_user(user_id), Code::kResourceNotFound);
  if (!user) {
    return fail(std::move(user.error()));
  }
  LK_TRY(check_not_locked(*user, now_ms));
  auto outcome = check_code(tx, d, user_id, strategy, code, now_ms);
  if (!outcome) {
    return fail(std::move(outcome.error()));
  }
  auto t = tx.get_totp(user_id);
  if (!t) {
    return fail(std::move(t.error()));
  }
  if (!*t) {
    return *outcome;
  }
  if (*outcome == FactorOutcome::kVerified) {
    if ((*t)->failed_attempts != 0) {  // (a TOTP code already reset it with its step)
      (*t)->failed_attempts = 0;
      (*t)->updated_at_ms = now_ms;
      LK_TRY(tx.update_totp(**t));
    }
    return *outcome;
  }
  ++(*t)->failed_attempts;
  (*t)->updated_at_ms = now_ms;
  LK_TRY(tx.update_totp(**t));
  if (const auto until = d.passwords.lockout_until((*t)->failed_attempts, now_ms)) {
    user->locked_until_ms = until;
    user->updated_at_ms = now_ms;
    LK_TRY(tx.update_user(*user));
  }
  return *outcome;
}

Result<MeResult<TotpView>> MeService::create_totp(const Caller& caller,
                                                  const std::string& session_id) {
  if (!d_.settings.mfa.authenticator_app) {
    return fail(not_enabled("Authenticator apps"));
  }
  return on_session<TotpView>(
      d_, caller, session_id,
      [&](store::Tx& tx, const store::Session& s, std::int64_t now, TotpView& view) -> Status {
        auto existing = tx.get_totp(s.user_id);
        if (!existing) {
          return fail(std::move(existing.error()));
        }
        if (*existing && (*existing)->verified) {
          return fail(Error(Code::kInvalidState, "TOTP already enabled",
                            "An authenticator app is already set up for this account. Remove "
                            "it before adding another."));
        }
        if (*existing) {
          LK_TRY(tx.delete_totp(s.user_id));  // an enrollment that was never finished
        }
        auto user = sessions::load_user(tx, s.user_id);
        if (!user) {
          return fail(std::move(user.error()));
        }
        std::string raw(crypto::totp::kSecretBytes, '\0');
        d_.random.fill(std::span(reinterpret_cast<std::uint8_t*>(raw.data()), raw.size()));
        const core::Secret secret(raw);
        std::fill(raw.begin(), raw.end(), '\0');
        store::Totp t;
        t.id = d_.random.id("totp");
        t.user_id = s.user_id;
        t.secret_enc = d_.sealer.seal(secret.reveal(), totp_aad(t.id));
        t.created_at_ms = now;
        t.updated_at_ms = now;
        LK_TRY(tx.insert_totp(t));
        const std::string b32 = crypto::totp::base32(secret.reveal());
        const std::string& issuer = d_.settings.mfa.issuer;
        view = TotpView{t, b32,
                        "otpauth://totp/" + percent_encode(issuer) + ":" +
                            percent_encode(primary_identifier(*user)) +
                            "?issuer=" + percent_encode(issuer) + "&secret=" + b32 +
                            "&algorithm=SHA1&digits=6&period=30",
                        std::nullopt};
        return {};
      });
}

Result<MeResult<TotpView>> MeService::verify_totp(const Caller& caller,
                                                  const std::string& session_id,
                                                  std::string_view code) {
  if (!d_.settings.mfa.authenticator_app) {
    return fail(not_enabled("Authenticator apps"));
  }
  return on_session<TotpView>(
      d_, caller, session_id,
      [&](store::Tx& tx, const store::Session& s, std::int64_t now, TotpView& view) -> Status {
        auto t = require(tx.get_totp(s.user_id), Code::kResourceNotFound);
        if (!t) {
          return fail(std::move(t.error()));
        }
        if (t->verified) {
          return fail(Error(Code::kVerificationAlreadyVerified));
        }
        auto secret = open_secret(d_, *t);
        if (!secret) {
          return fail(std::move(secret.error()));
        }
        const auto step =
            crypto::totp::match(*secret, code, now / 1000, d_.settings.mfa.totp_window);
        if (!step) {
          return fail(Error(Code::kFormCodeIncorrect).with_meta("param_name", "code"));
        }
        t->verified = true;
        t->last_used_step = *step;  // the enrolling code is not a sign-in code as well
        t->updated_at_ms = now;
        LK_TRY(tx.update_totp(*t));
        view = TotpView{*t, std::nullopt, std::nullopt, std::nullopt};
        if (d_.settings.mfa.backup_codes) {
          auto codes = replace_backup_codes(tx, d_, s.user_id, now);
          if (!codes) {
            return fail(std::move(codes.error()));
          }
          view.backup_codes = std::move(*codes);
        }
        return user_changed(tx, d_, s.user_id, now);
      });
}

Result<MeResult<std::string>> MeService::delete_totp(const Caller& caller,
                                                     const std::string& session_id) {
  return on_session<std::string>(
      d_, caller, session_id,
      [&](store::Tx& tx, const store::Session& s, std::int64_t now, std::string& id) -> Status {
        auto t = require(tx.get_totp(s.user_id), Code::kResourceNotFound);
        if (!t) {
          return fail(std::move(t.error()));
        }
        id = t->id;
        LK_TRY(tx.delete_totp(s.user_id));
        // Backup codes are the way back in when the app is lost: with no app they go too.
        LK_TRY(tx.delete_backup_codes(s.user_id));
        return user_changed(tx, d_, s.user_id, now);
      });
}

Result<MeResult<BackupCodesView>> MeService::create_backup_codes(const Caller& caller,
                                                                 const std::string& session_id) {
  if (!d_.settings.mfa.backup_codes) {
    return fail(not_enabled("Backup codes"));
  }
  return on_session<BackupCodesView>(
      d_, caller, session_id,
      [&](store::Tx& tx, const store::Session& s, std::int64_t now,
          BackupCodesView& view) -> Status {
        auto mfa = tx.get_mfa_summary(s.user_id);
        if (!mfa) {
          return fail(std::move(mfa.error()));
        }
        if (!mfa->totp) {
          return fail(Error(Code::kInvalidState, "Backup codes need another second factor",
                            "Set up an authenticator app before creating backup codes."));
        }
        auto codes = replace_backup_codes(tx, d_, s.user_id, now);
        if (!codes) {
          return fail(std::move(codes.error()));
        }
        view = BackupCodesView{d_.random.id("bc"), std::move(*codes), now};
        return user_changed(tx, d_, s.user_id, now);
      });
}

Result<MeResult<UserView>> MeService::change_password(const Caller& caller,
                                                      const std::string& session_id,
                                                      const ChangePasswordParams& params) {
  // Read who it is first: the policy, the hash and the current password's check cost argon2id
  // time and need no transaction.
  auto who = get(caller, session_id);
  if (!who) {
    return fail(std::move(who.error()));
  }
  const store::User& user = who->response.user;
  const bool flagged = user.password_reset_required && user.password_digest;
  if (user.password_digest && !flagged) {
    if (!params.current_password) {
      return fail(Error(Code::kFormParamMissing).with_meta("param_name", "current_password"));
    }
    if (!d_.passwords.verify(*params.current_password, *user.password_digest).match) {
      return fail(Error(Code::kFormPasswordIncorrect).with_meta("param_name", "current_password"));
    }
  }
  std::vector<std::string_view> inputs;
  for (const auto& e : who->response.emails) {
    inputs.emplace_back(e.email);
  }
  if (auto ok = d_.passwords.check_policy(params.new_password, inputs); !ok) {
    return fail(std::move(ok.error()));
  }
  auto digest = d_.passwords.hash(params.new_password);
  if (!digest) {
    return fail(std::move(digest.error()));
  }
  return on_session<UserView>(
      d_, caller, session_id,
      [&](store::Tx& tx, const store::Session& s, std::int64_t now, UserView& view) -> Status {
        auto u = require(tx.get_user(s.user_id), Code::kResourceNotFound);
        if (!u) {
          return fail(std::move(u.error()));
        }
        if (u->password_digest != user.password_digest) {
          // Changed since it was checked: check again rather than overwrite it.
          return fail(Error(Code::kConflict).with_internal("password changed concurrently"));
        }
        u->password_digest = *digest;
        u->password_reset_required = false;
        u->failed_password_attempts = 0;
        u->locked_until_ms.reset();
        u->updated_at_ms = now;
        LK_TRY(tx.update_user(*u));
        if (params.sign_out_of_other_sessions) {
          auto n = d_.sessions.revoke_user_sessions(tx, u->id, s.id, now);
          if (!n) {
            return fail(std::move(n.error()));
          }
        }
        LK_TRY(sessions::emit(d_.sessions.events(), tx, sessions::Event::kUserUpdated, u->id, now));
        auto loaded = sessions::load_user(tx, u->id);
        if (!loaded) {
          return fail(std::move(loaded.error()));
        }
        view = std::move(*loaded);
        return {};
      });
}

Result<MeResult<UserView>> MeService::get(const Caller& caller, const std::string& session_id) {
  return on_session<UserView>(
      d_, caller, session_id,
      [&](store::Tx& tx, const store::Session& s, std::int64_t, UserView& view) -> Status {
        auto user = sessions::load_user(tx, s.user_id);
        if (!user) {
          return fail(std::move(user.error()));
        }
        view = std::move(*user);
        return {};
      });
}

}  // namespace latchkey::flows
