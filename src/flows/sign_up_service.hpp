#pragma once
// signUp.create and signUp.update: a new sign-up (started with an OAuth strategy, with profile
// fields only, or transferred from a sign-in whose external account is unknown), and the PATCH
// that fills missing fields or starts the provider round trip (signUp.sso).
#include <string>

#include "core/error.hpp"
#include "flows/flow_types.hpp"

namespace latchkey::flows {

class SignUpService {
 public:
  explicit SignUpService(FlowDeps& deps) : d_(deps) {}

  core::Result<Mutation> create(const Caller& caller, const SignUpParams& params);
  core::Result<Mutation> update(const Caller& caller, const std::string& id,
                                const SignUpParams& params);
  // signUp.prepareEmailAddressVerification / attemptEmailAddressVerification
  // (sign_up_verifications.cpp).
  core::Result<Mutation> prepare_verification(const Caller& caller, const std::string& id,
                                              const VerificationParams& params);
  core::Result<Mutation> attempt_verification(const Caller& caller, const std::string& id,
                                              const VerificationParams& params);

 private:
  core::Status check_captcha(const Caller& caller, const SignUpParams& params,
                             bool& needs_transfer_check);
  // The password of a create/update: checked against the policy and hashed before the
  // transaction (nullopt: none was sent).
  core::Result<std::optional<std::string>> hash_password(const SignUpParams& params,
                                                         const SignUpData& data, bool oauth);
  FlowDeps& d_;
};

}  // namespace latchkey::flows
