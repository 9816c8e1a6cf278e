// Email links: the token, the link sent at prepare (kSendCode for email_link) and GET /v1/verify.
#include "flows/email_links.hpp"

#include "core/base64.hpp"
#include "flows/detail/attempt.hpp"
#include "flows/policy.hpp"

namespace latchkey::flows {

using core::Code;
using core::Error;
using core::fail;
using core::Result;
using core::Status;
using namespace detail;

namespace {

constexpr std::string_view kTokenContext = "email_link_token:v1";

std::string_view kind_name(LinkAttempt a) { return a == LinkAttempt::kSignIn ? "si" : "su"; }

Error bad_token(std::string why) {
  return Error(Code::kVerificationFailed, "Verification failed",
               "This link is invalid, was replaced by a newer one or was already used. Request a "
               "new link.")
      .with_internal("email link: " + std::move(why));
}

// The redirect_url with Clerk's query parameters appended.
std::string with_status(const std::string& url, std::string_view status,
                        const std::optional<std::string>& session_id) {
  std::string out = url;
  const auto hash = out.find('#');
  std::string fragment;
  if (hash != std::string::npos) {
    fragment = out.substr(hash);
    out.resize(hash);
  }
  out += out.find('?') == std::string::npos ? '?' : '&';
  out += "__clerk_status=";
  out += status;
  if (session_id) {
    out += "&__clerk_created_session=" + *session_id;
  }
  return out + fragment;
}

}  // namespace

std::string link_nonce_context(std::string_view attempt_id) {
  return "email_link:" + std::string(attempt_id);
}

std::string seal_link_token(const crypto::Sealer& sealer, const LinkClaims& c) {
  const std::string payload = "1|" + std::string(kind_name(c.attempt)) + "|" + c.attempt_id + "|" +
                              c.nonce + "|" + std::to_string(c.expire_at_ms);
  return core::base64url_encode(payload) + "." + sealer.mac(kTokenContext, payload);
}

Result<LinkClaims> open_link_token(const crypto::Sealer& sealer, std::string_view token) {
  const auto dot = token.find('.');
  if (token.size() > 1024 || dot == std::string_view::npos) {
    return fail(bad_token("malformed token"));
  }
  auto payload = core::base64url_decode(token.substr(0, dot));
  if (!payload || !sealer.mac_equals(token.substr(dot + 1), kTokenContext, *payload)) {
    return fail(bad_token("token signature invalid"));
  }
  // Authentic: we wrote it, so its shape is ours.
  std::vector<std::string> parts;
  std::string cur;
  for (char ch : *payload) {
    if (ch == '|') {
      parts.push_back(std::move(cur));
      cur.clear();
    } else {
      cur.push_back(ch);
    }
  }
  parts.push_back(std::move(cur));
  if (parts.size() != 5 || parts[0] != "1" || (parts[1] != "si" && parts[1] != "su") ||
      parts[2].empty() || parts[3].empty() || parts[4].empty() || parts[4].size() > 18) {
    return fail(bad_token("token payload invalid"));
  }
  LinkClaims c;
  c.attempt = parts[1] == "si" ? LinkAttempt::kSignIn : LinkAttempt::kSignUp;
  c.attempt_id = std::move(parts[2]);
  c.nonce = std::move(parts[3]);
  for (char ch : parts[4]) {
    if (ch < '0' || ch > '9') {
      return fail(bad_token("token expiry invalid"));
    }
    c.expire_at_ms = c.expire_at_ms * 10 + (ch - '0');
  }
  return c;
}

namespace detail {

Status issue_link(store::Tx& tx, FlowDeps& d, Verification& v, LinkAttempt kind,
                  const CodeTarget& target, const std::string& attempt_id, std::int64_t now) {
  const IdentifierSettings& ids = d.settings.identifiers;
  if (v.sent_at_ms && v.strategy == "email_link" && v.email_address_id == target.email_address_id &&
      now - *v.sent_at_ms < ids.code_resend_cooldown.count()) {
    const auto wait_s = (ids.code_resend_cooldown.count() - (now - *v.sent_at_ms) + 999) / 1000;
    return fail(Error(Code::kTooManyRequests, "Too many requests",
                      "A link was sent moments ago. Please wait " + std::to_string(wait_s) +
                          " seconds before asking for another.")
                    .with_meta("retry_after", std::to_string(wait_s)));
  }
  LinkClaims claims;
  claims.attempt = kind;
  claims.attempt_id = attempt_id;
  claims.nonce = d.random.token(24);
  claims.expire_at_ms = now + ids.email_link_lifetime.count();
  v.strategy = "email_link";
  v.code_mac = d.sealer.mac(link_nonce_context(attempt_id), claims.nonce);
  v.attempts = 0;
  v.sent_at_ms = now;
  v.expire_at_ms = claims.expire_at_ms;
  v.email_address_id = target.email_address_id;
  v.link_redirect_url = target.redirect_url;
  v.error.reset();
  if (target.email.empty()) {
    return {};  // a factor of nobody (user enumeration protection): nothing is sent
  }
  OutgoingCode message;
  message.purpose =
      kind == LinkAttempt::kSignIn ? CodePurpose::kEmailLink : CodePurpose::kVerificationLink;
  message.to = target.email;
  message.link =
      core::Secret(d.settings.verify_url + "?token=" + seal_link_token(d.sealer, claims));
  message.expires_in_minutes = static_cast<int>(ids.email_link_lifetime.count() / 60000);
  message.remote_ip = target.remote_ip;
  return d.codes.send(tx, message, now);
}

}  // namespace detail

namespace {

// What the token's attempt holds, found in the transaction.
struct Found {
  std::string redirect_url;  // "" until known
  std::optional<Error> refusal;
  std::string status = "failed";
};

// The verification a token names, and whether it still waits for this token.
Status check_verification(const FlowDeps& d, const std::optional<Verification>& v,
                          const LinkClaims& c, std::int64_t abandon_at_ms, std::int64_t now,
                          Found& f) {
  if (!v || v->strategy != "email_link" || !v->link_redirect_url) {
    return fail(bad_token("the attempt has no email link verification"));
  }
  f.redirect_url = *v->link_redirect_url;
  if (!v->code_mac ||
      !d.sealer.mac_equals(*v->code_mac, link_nonce_context(c.attempt_id), c.nonce)) {
    f.refusal = bad_token("a newer link replaced this one");
    return {};
  }
  if (v->status != "unverified") {
    f.refusal = bad_token("the verification is " + v->status + " (a used link)");
    return {};
  }
  if (c.expire_at_ms <= now || (v->expire_at_ms && *v->expire_at_ms <= now) ||
      abandon_at_ms <= now) {
    f.status = "expired";
    f.refusal = Error(Code::kVerificationExpired).with_internal("email link: expired");
    return {};
  }
  return {};
}

// A link opened in another browser: the tab that asked still holds the client's credential and
// polls with it, so the rotation the completion made is undone and no cookie is issued to the
// opener (docs/security.md "Email links").
void keep_asking_credential(store::Client& client, const store::Client& before,
                            std::optional<std::string>& issued) {
  client.cookie_token_hash = before.cookie_token_hash;
  client.previous_cookie_token_hash = before.previous_cookie_token_hash;
  client.previous_cookie_valid_until_ms = before.previous_cookie_valid_until_ms;
  issued.reset();
}

}  // namespace

Result<LinkOutcome> EmailLinks::verify(const Caller& caller, std::string_view token) {
  const std::int64_t now = d_.clock.now_ms();
  auto claims = open_link_token(d_.sealer, token);
  if (!claims) {
    return fail(std::move(claims.error()));
  }
  if (!d_.settings.identifiers.email_link) {
    return fail(bad_token("email_link is not enabled"));
  }
  LinkOutcome out;
  Found found;
  auto st = d_.store.transaction([&](store::Tx& tx) -> Status {
    out = LinkOutcome{};
    found = Found{};
    // Whose link it is: the client that asked, whatever browser opened it.
    auto same_client = [&](const store::Client& owner) -> bool {
      auto mine = d_.clients().find(tx, caller, now);
      return mine && *mine && (*mine)->id == owner.id;
    };
    std::optional<std::string> session_id;
    std::optional<std::string> issued;
    if (claims->attempt == LinkAttempt::kSignIn) {
      auto a = load_attempt<store::SignIn>(tx, claims->attempt_id);
      if (!a) {
        return fail(bad_token("no such sign-in"));
      }
      LK_TRY(
          check_verification(d_, a->data.first_factor, *claims, a->row.abandon_at_ms, now, found));
      if (found.refusal) {
        return {};
      }
      auto client = require(tx.get_client(a->row.client_id), Code::kClientNotFound);
      if (!client) {
        return fail(std::move(client.error()));
      }
      if (!client->sign_in_id || *client->sign_in_id != a->row.id) {
        found.refusal = bad_token("the sign-in is no longer the client's current one");
        return {};
      }
      auto state = load_sign_in_state(a->row.status, a->data);
      if (!state) {
        return fail(std::move(state.error()));
      }
      const bool mine = same_client(*client);
      const store::Client before = *client;
      SignInInput in;
      in.factor_strategy = "email_link";
      LK_TRY(
          run_sign_in(tx, d_, *client, a->row, a->data, *state,
                      sign_in_events::FirstFactorAttempted{"email_link", FactorOutcome::kVerified},
                      in, now, issued));
      session_id = a->data.created_session_id;
      if (!mine) {
        keep_asking_credential(*client, before, issued);
      }
      client->updated_at_ms = now;
      LK_TRY(tx.update_client(*client));
    } else {
      auto a = load_attempt<store::SignUp>(tx, claims->attempt_id);
      if (!a) {
        return fail(bad_token("no such sign-up"));
      }
      LK_TRY(check_verification(d_, a->data.email_verification, *claims, a->row.abandon_at_ms, now,
                                found));
      if (found.refusal) {
        return {};
      }
      auto client = require(tx.get_client(a->row.client_id), Code::kClientNotFound);
      if (!client) {
        return fail(std::move(client.error()));
      }
      if (!client->sign_up_id || *client->sign_up_id != a->row.id) {
        found.refusal = bad_token("the sign-up is no longer the client's current one");
        return {};
      }
      auto state = load_sign_up_state(a->row.status, a->data);
      if (!state) {
        return fail(std::move(state.error()));
      }
      SignUpData preview = a->data;
      preview.email_verified = true;
      const bool nothing_missing = missing_fields(preview, required_for(d_, preview)).empty();
      const bool mine = same_client(*client);
      const store::Client before = *client;
      LK_TRY(run_sign_up(tx, d_, *client, a->row, a->data, *state,
                         sign_up_events::VerificationAttempted{
                             "email_link", FactorOutcome::kVerified, nothing_missing},
                         {}, now, issued));
      session_id = a->data.created_session_id;
      if (!mine) {
        keep_asking_credential(*client, before, issued);
      }
      client->updated_at_ms = now;
      LK_TRY(tx.update_client(*client));
    }
    found.status = "verified";
    out.new_client_token = std::move(issued);
    out.redirect_to = with_status(found.redirect_url, "verified", session_id);
    return {};
  });
  if (!st) {
    return fail(std::move(st.error()));
  }
  if (found.refusal) {
    // Nothing was written (the transaction only read); the browser still goes back to the app.
    LinkOutcome refused;
    refused.status = found.status;
    refused.redirect_to = with_status(found.redirect_url, found.status, std::nullopt);
    refused.failure = std::move(found.refusal);
    return refused;
  }
  out.status = "verified";
  return out;
}

}  // namespace latchkey::flows
