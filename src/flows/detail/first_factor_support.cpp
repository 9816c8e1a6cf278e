// What the password, email-code and reset-code strategies share: the canonical identifier, the
// factors a user is offered, one-time codes (issued, MAC'd, checked, counted) and the password
// check with its lockout. The machines decide what an outcome leads to; this file finds it.
#include <algorithm>

#include "flows/detail/attempt.hpp"
#include "flows/policy.hpp"

namespace latchkey::flows::detail {

using core::Code;
using core::Error;
using core::fail;
using core::Result;
using core::Status;

namespace {

// The context a code's MAC binds it to: the attempt and the strategy, so a code sent for one
// attempt or purpose verifies nothing else.
std::string code_context(const std::string& attempt_id, std::string_view strategy) {
  return "otp:" + attempt_id + ":" + std::string(strategy);
}

}  // namespace

bool is_test_email(std::string_view email) {
  const auto at = email.rfind('@');
  return at != std::string_view::npos &&
         email.substr(0, at).find("+clerk_test") != std::string_view::npos;
}

Result<std::optional<Identified>> identify(store::Tx& tx, const FlowDeps& d,
                                           const std::string& identifier) {
  std::optional<store::User> user;
  if (identifier.find('@') != std::string::npos) {
    if (!d.settings.identifiers.email_address) {
      return std::optional<Identified>();
    }
    auto u = tx.find_user_by_email(identifier);
    if (!u) {
      return fail(std::move(u.error()));
    }
    user = std::move(*u);
  } else {
    auto u = tx.find_user_by_username(identifier);
    if (!u) {
      return fail(std::move(u.error()));
    }
    user = std::move(*u);
  }
  if (!user) {
    return std::optional<Identified>();
  }
  auto emails = tx.list_email_addresses(user->id);
  if (!emails) {
    return fail(std::move(emails.error()));
  }
  return std::optional<Identified>(Identified{std::move(*user), std::move(*emails)});
}

std::vector<Factor> factors_for(const FlowDeps& d, const Identified& who) {
  const IdentifierSettings& ids = d.settings.identifiers;
  std::vector<Factor> out;
  const bool has_password = who.user.password_digest.has_value();
  if (ids.password && has_password) {
    out.push_back(Factor{"password", "", "", "", false});
  }
  std::vector<const store::EmailAddress*> emails;
  for (const auto& e : who.emails) {
    if (e.verified) {
      emails.push_back(&e);
    }
  }
  // The primary address first.
  std::stable_partition(emails.begin(), emails.end(), [&](const store::EmailAddress* e) {
    return who.user.primary_email_address_id == e->id;
  });
  if (ids.email_code && ids.email_address) {
    for (const auto* e : emails) {
      out.push_back(Factor{"email_code", mask_email(e->email), e->id, e->email,
                           who.user.primary_email_address_id == e->id});
    }
    // Reset codes only for users who have a password to reset (part2 §3).
    if (ids.password && has_password) {
      for (const auto* e : emails) {
        out.push_back(Factor{"reset_password_email_code", mask_email(e->email), e->id, e->email,
                             who.user.primary_email_address_id == e->id});
      }
    }
  }
  if (ids.email_link && ids.email_address) {
    for (const auto* e : emails) {
      out.push_back(Factor{"email_link", mask_email(e->email), e->id, e->email,
                           who.user.primary_email_address_id == e->id});
    }
  }
  return out;
}

UserData user_data_of(const store::User& u) {
  return UserData{u.first_name.value_or(""), u.last_name.value_or(""), u.image_url.value_or("")};
}

Status issue_code(store::Tx& tx, FlowDeps& d, Verification& v, std::string_view strategy,
                  const std::string& to, const std::optional<std::string>& email_address_id,
                  const std::string& attempt_id, CodePurpose purpose, const std::string& remote_ip,
                  std::int64_t now) {
  const IdentifierSettings& ids = d.settings.identifiers;
  if (v.sent_at_ms && v.strategy == strategy && v.email_address_id == email_address_id &&
      now - *v.sent_at_ms < ids.code_resend_cooldown.count()) {
    const auto wait_s = (ids.code_resend_cooldown.count() - (now - *v.sent_at_ms) + 999) / 1000;
    return fail(Error(Code::kTooManyRequests, "Too many requests",
                      "A code was sent moments ago. Please wait " + std::to_string(wait_s) +
                          " seconds before asking for another.")
                    .with_meta("retry_after", std::to_string(wait_s)));
  }
  // Six digits, uniform (Random::uniform draws without modulo bias); Clerk's fixed test code for
  // a test address in test mode, which is then sent nothing.
  const bool test_address = ids.test_mode && is_test_email(to);
  std::string code(6, '0');
  if (test_address) {
    code = "424242";
  } else {
    for (char& c : code) {
      c = static_cast<char>('0' + d.random.uniform(10));
    }
  }
  v.strategy = std::string(strategy);
  v.code_mac = d.sealer.mac(code_context(attempt_id, strategy), code);
  v.attempts = 0;
  v.sent_at_ms = now;
  v.expire_at_ms = now + ids.code_lifetime.count();
  v.email_address_id = email_address_id;
  v.error.reset();
  if (to.empty() || test_address) {
    // A test address (test mode), or a factor of nobody (user enumeration protection): the attempt
    // looks prepared, nothing is sent, and no code can match the MAC of one that was never shown to
    // anyone.
    return {};
  }
  OutgoingCode message;
  message.purpose = purpose;
  message.to = to;
  message.code = core::Secret(std::move(code));
  message.expires_in_minutes = static_cast<int>(ids.code_lifetime.count() / 60000);
  message.remote_ip = remote_ip;
  return d.codes.send(tx, message, now);
}

FactorOutcome check_code(const FlowDeps& d, Verification& v, const std::string& attempt_id,
                         std::string_view code, std::int64_t now) {
  if (!v.code_mac || !v.expire_at_ms || *v.expire_at_ms <= now) {
    return FactorOutcome::kExpired;
  }
  if (v.attempts >= d.settings.identifiers.code_max_attempts) {
    return FactorOutcome::kTooManyAttempts;
  }
  if (d.sealer.mac_equals(*v.code_mac, code_context(attempt_id, v.strategy), code)) {
    return FactorOutcome::kVerified;
  }
  ++v.attempts;
  return v.attempts >= d.settings.identifiers.code_max_attempts ? FactorOutcome::kTooManyAttempts
                                                                : FactorOutcome::kIncorrect;
}

PasswordResult check_password(const FlowDeps& d, const std::optional<Identified>& who,
                              const core::Secret& password) {
  PasswordResult r;
  if (!who || !who->user.password_digest || !d.settings.identifiers.password) {
    d.passwords.verify_dummy(password);  // the same cost as a wrong password
    return r;
  }
  const PasswordCheck c = d.passwords.verify(password, *who->user.password_digest);
  if (!c.match) {
    return r;
  }
  r.outcome =
      who->user.password_reset_required ? FactorOutcome::kMustReset : FactorOutcome::kVerified;
  if (c.needs_rehash) {
    if (auto h = d.passwords.hash(password)) {
      r.rehash = std::move(*h);
    }
  }
  return r;
}

Status check_not_locked(const store::User& u, std::int64_t now) {
  if (u.locked_until_ms && *u.locked_until_ms > now) {
    const auto seconds = (*u.locked_until_ms - now + 999) / 1000;
    return fail(
        Error(Code::kUserLocked).with_meta("lockout_expires_in_seconds", std::to_string(seconds)));
  }
  return {};
}

Status record_password_outcome(store::Tx& tx, FlowDeps& d, const std::string& user_id,
                               FactorOutcome outcome, const std::optional<std::string>& rehash,
                               std::int64_t now) {
  auto user = require(tx.get_user(user_id), Code::kFormIdentifierNotFound);
  if (!user) {
    return fail(std::move(user.error()));
  }
  if (outcome == FactorOutcome::kIncorrect) {
    // A lockout that expired starts the count again.
    if (user->locked_until_ms && *user->locked_until_ms <= now) {
      user->failed_password_attempts = 0;
      user->locked_until_ms.reset();
    }
    ++user->failed_password_attempts;
    user->locked_until_ms = d.passwords.lockout_until(user->failed_password_attempts, now);
  } else {
    user->failed_password_attempts = 0;
    user->locked_until_ms.reset();
    if (rehash) {
      user->password_digest = *rehash;
    }
  }
  user->updated_at_ms = now;
  return tx.update_user(*user);
}

}  // namespace latchkey::flows::detail
