#pragma once
// signIn.create: a new sign-in on the caller's client (creating the client on its first
// attempt) - started with an OAuth strategy, or transferred from a sign-up whose external
// account already exists (signIn.create({transfer: true})).
#include "core/error.hpp"
#include "flows/flow_types.hpp"

namespace latchkey::flows {

class SignInService {
 public:
  explicit SignInService(FlowDeps& deps) : d_(deps) {}

  core::Result<Mutation> create(const Caller& caller, const SignInParams& params);

 private:
  FlowDeps& d_;
};

}  // namespace latchkey::flows
