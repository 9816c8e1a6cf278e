#pragma once
// The implementations of flows/'s first-factor ports (flows/first_factors.hpp): passwords/ for
// hashing, policy and lockout; delivery/'s transactional outbox for one-time codes.
#include "delivery/delivery.hpp"
#include "flows/first_factors.hpp"
#include "passwords/passwords.hpp"

namespace latchkey::app {

class PasswordPort final : public flows::PasswordHasher {
 public:
  PasswordPort(passwords::HashSettings hash, passwords::PolicySettings policy,
               passwords::LockoutSettings lockout)
      : hasher_(hash), policy_(std::move(policy)), lockout_(lockout) {}

  core::Result<std::string> hash(const core::Secret& password) const override;
  flows::PasswordCheck verify(const core::Secret& password, std::string_view digest) const override;
  void verify_dummy(const core::Secret& password) const override;
  core::Status check_policy(const core::Secret& password,
                            std::span<const std::string_view> user_inputs) const override;
  std::optional<std::int64_t> lockout_until(int failed_attempts,
                                            std::int64_t now_ms) const override;

  [[nodiscard]] const passwords::PolicySettings& policy() const { return policy_; }

 private:
  passwords::Hasher hasher_;
  passwords::PolicySettings policy_;
  passwords::LockoutSettings lockout_;
};

// Codes go out through the outbox, in the transaction that made them.
class OutboxCodeSender final : public flows::CodeSender {
 public:
  explicit OutboxCodeSender(delivery::Outbox& outbox) : outbox_(outbox) {}

  core::Status send(store::Tx& tx, const flows::OutgoingCode& message,
                    std::int64_t now_ms) override;
  void committed() override { outbox_.notify(); }

 private:
  delivery::Outbox& outbox_;
};

}  // namespace latchkey::app
