// The client view, and the pieces of attempt handling shared by every flow.
#include <algorithm>
#include <cctype>

#include "flows/detail/attempt.hpp"

namespace latchkey::flows {

const SessionView* ClientView::find_session(std::string_view id) const {
  for (const auto& s : sessions) {
    if (s.session.id == id) {
      return &s;
    }
  }
  return nullptr;
}

namespace detail {

using core::fail;
using core::Result;
using core::Status;

std::optional<std::string> non_empty(const std::string& s) {
  if (s.empty()) {
    return std::nullopt;
  }
  return s;
}

std::string lower_ascii(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

namespace {

// The current attempt of one kind, if it is still in progress (not abandoned).
template <typename Row>
Status load_current(store::Tx& tx, const std::optional<std::string>& id, std::int64_t now,
                    std::optional<Row>& row,
                    std::optional<typename AttemptTraits<Row>::Data>& data) {
  if (!id) {
    return {};
  }
  auto found = AttemptTraits<Row>::get(tx, *id);
  if (!found) {
    return fail(std::move(found.error()));
  }
  if (*found && (*found)->abandon_at_ms > now) {
    auto parsed = AttemptTraits<Row>::parse((*found)->data);
    if (!parsed) {
      return fail(std::move(parsed.error()));
    }
    row = std::move(**found);
    data = std::move(*parsed);
  }
  return {};
}

// Login CSRF: the attempt's OAuth verification fails with `why` if it still waits for the
// provider (the machine's StateRejected); anything else about the attempt is left alone.
template <typename Row>
Status fail_verification(store::Tx& tx, FlowDeps& d, const std::string& id, const core::Error& why,
                         std::int64_t now) {
  using T = AttemptTraits<Row>;
  auto row = T::get(tx, id);
  if (!row) {
    return fail(std::move(row.error()));
  }
  if (!*row) {
    return {};
  }
  auto data = T::parse((*row)->data);
  if (!data) {
    return {};  // nothing of ours to fail in an unreadable attempt
  }
  store::Client unused;           // StateRejected creates nothing on the client
  std::optional<std::string> no;  // nor rotates its credential
  if constexpr (std::is_same_v<Row, store::SignIn>) {
    auto state = load_sign_in_state((*row)->status, *data);
    if (!state || !awaits_callback(*state)) {
      return {};
    }
    return run_sign_in(tx, d, unused, **row, *data, *state, sign_in_events::StateRejected{why.code},
                       {.error = &why}, now, no);
  } else {
    auto state = load_sign_up_state((*row)->status, *data);
    if (!state || !awaits_callback(*state)) {
      return {};
    }
    return run_sign_up(tx, d, unused, **row, *data, *state, sign_up_events::StateRejected{why.code},
                       {.error = &why}, now, no);
  }
}

}  // namespace

Status fail_oauth_verification(store::Tx& tx, FlowDeps& d, std::string_view type,
                               const std::string& id, const core::Error& why, std::int64_t now) {
  return type == kSignInType ? fail_verification<store::SignIn>(tx, d, id, why, now)
                             : fail_verification<store::SignUp>(tx, d, id, why, now);
}

Result<ClientView> load_view(store::Tx& tx, FlowDeps& d, const store::Client& client,
                             std::int64_t now) {
  ClientView view;
  view.client = client;
  auto sessions = d.sessions.live_views(tx, client.id, now);
  if (!sessions) {
    return fail(std::move(sessions.error()));
  }
  view.sessions = std::move(*sessions);
  if (view.client.last_active_session_id &&
      view.find_session(*view.client.last_active_session_id) == nullptr) {
    view.client.last_active_session_id.reset();
  }
  LK_TRY(load_current<store::SignIn>(tx, client.sign_in_id, now, view.sign_in, view.sign_in_data));
  LK_TRY(load_current<store::SignUp>(tx, client.sign_up_id, now, view.sign_up, view.sign_up_data));
  // An email link past its lifetime reads as expired, as Clerk's does: the SDK's poller
  // (emailLink.waitForVerification) stops on it. The stored attempt is left as it is.
  auto expire_link = [now](std::optional<Verification>& v) {
    if (v && v->strategy == "email_link" && v->status == "unverified" && v->expire_at_ms &&
        *v->expire_at_ms <= now) {
      v->status = "expired";
    }
  };
  if (view.sign_in_data) {
    expire_link(view.sign_in_data->first_factor);
  }
  if (view.sign_up_data) {
    expire_link(view.sign_up_data->email_verification);
  }
  return view;
}

Status finish_mutation(store::Tx& tx, FlowDeps& d, store::Client& client,
                       const std::string& resource_id, std::int64_t now, Mutation& out) {
  client.updated_at_ms = now;
  LK_TRY(tx.update_client(client));
  auto view = load_view(tx, d, client, now);
  if (!view) {
    return fail(std::move(view.error()));
  }
  out.client = std::move(*view);
  out.resource_id = resource_id;
  return {};
}

void attach_tokens(FlowDeps& d, ClientView& view, const Caller& caller) {
  d.sessions.attach_tokens(view.sessions, d.azp(caller));
}

}  // namespace detail
}  // namespace latchkey::flows
