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

 private:
  FlowDeps& d_;
};

}  // namespace latchkey::flows
