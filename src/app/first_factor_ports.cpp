#include "app/first_factor_ports.hpp"

namespace latchkey::app {

core::Result<std::string> PasswordPort::hash(const core::Secret& password) const {
  return hasher_.hash(password);
}

flows::PasswordCheck PasswordPort::verify(const core::Secret& password,
                                          std::string_view digest) const {
  const passwords::Verification v = hasher_.verify(password, digest);
  return flows::PasswordCheck{v.match, v.needs_rehash};
}

void PasswordPort::verify_dummy(const core::Secret& password) const {
  hasher_.verify_dummy(password);
}

core::Status PasswordPort::check_policy(const core::Secret& password,
                                        std::span<const std::string_view> user_inputs) const {
  return passwords::check_policy(policy_, password, user_inputs);
}

std::optional<std::int64_t> PasswordPort::lockout_until(int failed_attempts,
                                                        std::int64_t now_ms) const {
  return passwords::lockout_until(lockout_, failed_attempts, now_ms);
}

core::Status OutboxCodeSender::send(store::Tx& tx, const flows::OutgoingCode& message,
                                    std::int64_t now_ms) {
  delivery::Message m;
  m.channel = delivery::Channel::kEmail;
  switch (message.purpose) {
    case flows::CodePurpose::kVerification:
      m.purpose = delivery::Purpose::kVerificationCode;
      break;
    case flows::CodePurpose::kSignIn:
      m.purpose = delivery::Purpose::kSignInCode;
      break;
    case flows::CodePurpose::kResetPassword:
      m.purpose = delivery::Purpose::kResetPasswordCode;
      break;
    case flows::CodePurpose::kSignUpAttempt:
      m.purpose = delivery::Purpose::kSignUpAttempt;
      break;
    case flows::CodePurpose::kEmailLink:
      m.purpose = delivery::Purpose::kEmailLink;
      break;
    case flows::CodePurpose::kVerificationLink:
      m.purpose = delivery::Purpose::kVerificationLink;
      break;
  }
  m.to = message.to;
  if (message.purpose == flows::CodePurpose::kEmailLink ||
      message.purpose == flows::CodePurpose::kVerificationLink) {
    m.link = message.link;
  } else if (message.purpose != flows::CodePurpose::kSignUpAttempt) {
    m.code = message.code;  // the notice carries none
  }
  m.expires_in_minutes = message.expires_in_minutes;
  m.remote_ip = message.remote_ip;
  return outbox_.enqueue(tx, m, now_ms);
}

}  // namespace latchkey::app
