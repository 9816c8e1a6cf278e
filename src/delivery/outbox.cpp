#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <charconv>

#include "delivery/delivery.hpp"

namespace latchkey::delivery {
namespace {

// The associated data binding a sealed payload to its row: copied into another row it won't open.
std::string aad(const std::string& id) { return "outbox:" + id; }

bool has_control(std::string_view s) {
  return std::ranges::any_of(
      s, [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; });
}

// A deliberately loose check (flows/ validates identifiers): one '@', something on each side, no
// spaces, controls or angle brackets (which would break the headers and the SMTP envelope).
bool plausible_email(std::string_view s) {
  const auto at = s.find('@');
  return s.size() <= 254 && at != std::string_view::npos && at > 0 && at + 1 < s.size() &&
         s.find('@', at + 1) == std::string_view::npos && !has_control(s) &&
         s.find_first_of(" <>\"(),;:\\[]") == std::string_view::npos;
}

core::Error too_many(std::string message) {
  return core::Error(core::Code::kTooManyRequests, std::move(message));
}

}  // namespace

std::string_view channel_name(Channel c) { return c == Channel::kEmail ? "email" : "sms"; }

std::string_view purpose_name(Purpose p) {
  switch (p) {
    case Purpose::kVerificationCode:
      return "verification_code";
    case Purpose::kSignInCode:
      return "sign_in_code";
    case Purpose::kResetPasswordCode:
      return "reset_password_code";
    case Purpose::kEmailLink:
      return "email_link";
    case Purpose::kSignUpAttempt:
      return "sign_up_attempt";
    case Purpose::kVerificationLink:
      return "verification_link";
  }
  return "verification_code";
}

std::optional<Channel> channel_from_name(std::string_view name) {
  if (name == "email") {
    return Channel::kEmail;
  }
  if (name == "sms") {
    return Channel::kSms;
  }
  return std::nullopt;
}

std::optional<Purpose> purpose_from_name(std::string_view name) {
  for (const auto p :
       {Purpose::kVerificationCode, Purpose::kSignInCode, Purpose::kResetPasswordCode,
        Purpose::kEmailLink, Purpose::kSignUpAttempt, Purpose::kVerificationLink}) {
    if (purpose_name(p) == name) {
      return p;
    }
  }
  return std::nullopt;
}

std::chrono::milliseconds backoff(int attempts, std::chrono::milliseconds base,
                                  std::chrono::milliseconds max) {
  if (attempts <= 1) {
    return std::min(base, max);
  }
  std::chrono::milliseconds wait = base;
  for (int i = 1; i < attempts && wait < max; ++i) {
    wait *= 2;
  }
  return std::min(wait, max);
}

std::optional<std::string> calling_code(std::string_view number) {
  if (number.size() < 8 || number.size() > 16 || number[0] != '+' || number[1] == '0' ||
      !std::ranges::all_of(number.substr(1), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  const std::string_view d = number.substr(1);
  // ITU-T E.164 country codes: 1 and 7 are one digit; these two-digit ones are assigned as such;
  // every other code has three digits.
  if (d[0] == '1' || d[0] == '7') {
    return std::string(d.substr(0, 1));
  }
  static constexpr std::array<std::string_view, 44> kTwoDigit{
      "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46",
      "47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63",
      "64", "65", "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98"};
  const std::string_view two = d.substr(0, 2);
  if (std::ranges::find(kTwoDigit, two) != kTwoDigit.end()) {
    return std::string(two);
  }
  return std::string(d.substr(0, 3));
}

Outbox::Outbox(Settings settings, const crypto::Sealer& sealer, core::Random& random)
    : settings_(std::move(settings)), sealer_(sealer), random_(random) {}

core::Status Outbox::enqueue(store::Tx& tx, const Message& m, std::int64_t now_ms) {
  store::OutboxMessage row;
  row.channel = std::string(channel_name(m.channel));
  row.purpose = std::string(purpose_name(m.purpose));
  row.recipient = m.to;
  row.remote_ip = m.remote_ip;
  if (m.channel == Channel::kEmail) {
    if (!plausible_email(m.to)) {
      return core::fail(core::Code::kDeliveryRefused, "Messages cannot be sent to this address.");
    }
  } else {
    auto cc = calling_code(m.to);
    if (!cc) {
      return core::fail(core::Code::kDeliveryRefused,
                        "Messages cannot be sent to this number: it is not an E.164 number.");
    }
    const auto& allowed = settings_.limits.sms_countries;
    if (!allowed.empty() && std::ranges::find(allowed, *cc) == allowed.end()) {
      return core::fail(core::Code::kDeliveryRefused,
                        "Messages cannot be sent to numbers of this country.");
    }
    row.country = *cc;
  }
  const bool link = m.purpose == Purpose::kEmailLink || m.purpose == Purpose::kVerificationLink;
  const bool notice = m.purpose == Purpose::kSignUpAttempt;
  if ((link ? m.link.empty() : (!notice && m.code.empty())) || has_control(m.code.reveal()) ||
      has_control(m.link.reveal())) {
    return core::fail(core::Error(core::Code::kInternal)
                          .with_internal(link ? "delivery: a link message without a link"
                                              : "delivery: a code message without a code"));
  }
  if (m.expires_in_minutes < 1 || m.expires_in_minutes > 7 * 24 * 60) {
    return core::fail(core::Error(core::Code::kInternal)
                          .with_internal("delivery: expires_in_minutes out of range"));
  }

  // The limits, over the rows of the window (every node writes to the same table).
  const Limits& lim = settings_.limits;
  const std::int64_t since = now_ms - lim.window.count();
  struct Check {
    unsigned limit;
    store::OutboxKey key;
    const std::string* value;
    const char* message;
  };
  const Check checks[] = {
      {lim.per_recipient, store::OutboxKey::kRecipient, &row.recipient,
       "Too many messages were sent to this recipient. Please wait before trying again."},
      {row.remote_ip.empty() ? 0U : lim.per_ip, store::OutboxKey::kRemoteIp, &row.remote_ip,
       "Too many messages were requested. Please wait before trying again."},
      {row.country.empty() ? 0U : lim.per_country, store::OutboxKey::kCountry, &row.country,
       "Too many messages are being sent to this country. Please try again later."},
  };
  for (const auto& c : checks) {
    if (c.limit == 0) {
      continue;
    }
    auto n = tx.count_outbox_messages(c.key, *c.value, since);
    if (!n) {
      return core::fail(std::move(n.error()));
    }
    if (*n >= static_cast<std::int64_t>(c.limit)) {
      return core::fail(too_many(c.message));
    }
  }

  row.id = random_.id("msg");
  // version, expiry, code, link; none of them holds a line break (checked above).
  std::string payload = "1\n" + std::to_string(m.expires_in_minutes) + "\n";
  payload += m.code.reveal();
  payload += "\n";
  payload += m.link.reveal();
  row.payload_enc = sealer_.seal(payload, aad(row.id));
  std::fill(payload.begin(), payload.end(), '\0');
  row.status = "pending";
  row.next_attempt_at_ms = now_ms;
  row.created_at_ms = now_ms;
  if (auto st = tx.insert_outbox_message(row); !st) {
    return st;
  }
  spdlog::debug("delivery: queued {} ({} {})", row.id, row.channel, row.purpose);
  return {};
}

void Outbox::notify() {
  // Called under the lock, so once set_listener({}) returns (Worker::stop) no call is still
  // running into a worker that is going away.
  std::lock_guard lock(mu_);
  if (listener_) {
    listener_();
  }
}

void Outbox::set_listener(std::function<void()> listener) {
  std::lock_guard lock(mu_);
  listener_ = std::move(listener);
}

core::Result<Outbox::Payload> Outbox::open(const store::OutboxMessage& row) const {
  auto plain = sealer_.open(row.payload_enc, aad(row.id));
  if (!plain) {
    return core::fail(std::move(plain.error()));
  }
  core::Secret text(std::move(*plain));
  const std::string_view s = text.reveal();
  const auto a = s.find('\n');
  const auto b = a == std::string_view::npos ? a : s.find('\n', a + 1);
  const auto c = b == std::string_view::npos ? b : s.find('\n', b + 1);
  if (c == std::string_view::npos || s.substr(0, a) != "1") {
    return core::fail(core::Error(core::Code::kInternal).with_internal("delivery: bad payload"));
  }
  Payload p;
  const std::string_view minutes = s.substr(a + 1, b - a - 1);
  std::from_chars(minutes.data(), minutes.data() + minutes.size(), p.expires_in_minutes);
  p.code = core::Secret(std::string(s.substr(b + 1, c - b - 1)));
  p.link = core::Secret(std::string(s.substr(c + 1)));
  return p;
}

}  // namespace latchkey::delivery
