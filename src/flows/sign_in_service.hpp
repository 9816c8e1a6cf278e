#pragma once
// signIn.create: a new sign-in on the caller's client (creating the client on its first
// attempt) - started with an OAuth strategy, with an identifier (and maybe its password, or a
// code strategy), or transferred from a sign-up whose external account already exists
// (signIn.create({transfer: true})). Then the first factor's prepare / attempt, and the
// password reset (sign_in_factors.cpp).
#include "core/error.hpp"
#include "flows/flow_types.hpp"

namespace latchkey::flows {

class SignInService {
 public:
  explicit SignInService(FlowDeps& deps) : d_(deps) {}

  core::Result<Mutation> create(const Caller& caller, const SignInParams& params);

  // signIn.prepareFirstFactor / emailCode.sendCode / resetPasswordEmailCode.sendCode.
  core::Result<Mutation> prepare_first_factor(const Caller& caller, const std::string& id,
                                              const FactorParams& params);
  // signIn.attemptFirstFactor / password / verifyCode.
  core::Result<Mutation> attempt_first_factor(const Caller& caller, const std::string& id,
                                              const FactorParams& params);
  // signIn.mfa.verifyTOTP / verifyBackupCode / attemptSecondFactor (needs_second_factor).
  core::Result<Mutation> attempt_second_factor(const Caller& caller, const std::string& id,
                                               const FactorParams& params);
  // signIn.resetPassword / submitPassword (needs_new_password).
  core::Result<Mutation> reset_password(const Caller& caller, const std::string& id,
                                        const ResetPasswordParams& params);

 private:
  // create() for an identifier (password, codes): looked up before the write transaction.
  core::Result<Mutation> create_with_identifier(const Caller& caller, const SignInParams& params);

  FlowDeps& d_;
};

}  // namespace latchkey::flows
