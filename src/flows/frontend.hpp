#pragma once
// The Frontend API's domain services, HTTP-free (design.md §3.4), built over one FlowDeps: the
// client and its sessions, sign-in, sign-up, and the OAuth callback. Every write happens in one
// store transaction, so a failure leaves no half-made user, session or link; provider calls
// happen outside transactions (no lock is held across the network).
#include "flows/client_service.hpp"
#include "flows/email_links.hpp"
#include "flows/flow_types.hpp"
#include "flows/oauth_callback.hpp"
#include "flows/second_factors.hpp"
#include "flows/sign_in_service.hpp"
#include "flows/sign_up_service.hpp"

namespace latchkey::flows {

struct Frontend {
  explicit Frontend(FlowDeps& d)
      : deps(d), clients(d), sign_ins(d), sign_ups(d), callback(d), email_links(d), me(d) {}

  FlowDeps& deps;
  ClientService clients;
  SignInService sign_ins;
  SignUpService sign_ups;
  OAuthCallback callback;
  EmailLinks email_links;
  MeService me;
};

}  // namespace latchkey::flows
