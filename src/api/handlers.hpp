#pragma once
// Internal to api/: the handlers the route table (api/routes.cpp) points at. Each decodes what
// the pipeline parsed (Call::query, Call::form, Call::caller), calls one service and encodes its
// answer; policy (origin, parsing, limits, cookie hygiene) is the table's.
#include "api/context.hpp"
#include "http/message.hpp"

namespace latchkey::api {

using HandlerFn = http::Response (*)(Call& call);

// Operational endpoints (api/operational.cpp).
http::Response healthz(Call& call);
http::Response readyz(Call& call);
http::Response prometheus_metrics(Call& call);
http::Response jwks_document(Call& call);

// A POST that only exists to carry `_method` (README §1.5): without one it is 405.
http::Response method_not_allowed(Call& call);

// The client and its sessions (api/frontend/handlers_client.cpp).
http::Response environment(Call& call);
http::Response get_client(Call& call);
http::Response destroy_client(Call& call);
http::Response touch_session(Call& call);
http::Response end_session(Call& call);
http::Response remove_session(Call& call);
http::Response session_token(Call& call);
http::Response sign_out(Call& call);

// The SSR SDKs' server-side handshake (api/frontend/handlers_handshake.cpp).
http::Response client_handshake(Call& call);

// Sign-in and sign-up attempts (api/frontend/handlers_sign_in_up.cpp).
http::Response create_sign_in(Call& call);
http::Response get_sign_in(Call& call);
http::Response create_sign_up(Call& call);
http::Response get_sign_up(Call& call);
http::Response update_sign_up(Call& call);
http::Response prepare_first_factor(Call& call);
http::Response attempt_first_factor(Call& call);
http::Response attempt_second_factor(Call& call);
// /v1/me (handlers_me.cpp)
http::Response me_get(Call& call);
http::Response me_change_password(Call& call);
http::Response me_totp_create(Call& call);
http::Response me_totp_verify(Call& call);
http::Response me_totp_delete(Call& call);
http::Response me_backup_codes_create(Call& call);
http::Response reset_password(Call& call);
http::Response prepare_verification(Call& call);
http::Response attempt_verification(Call& call);

// The OAuth callback (api/frontend/handlers_callback.cpp).
http::Response oauth_callback(Call& call);
// An email link opened in a browser (api/frontend/handlers_callback.cpp).
http::Response verify_email_link(Call& call);

// The Backend API (api/backend/): users, and sessions.
http::Response bapi_list_users(Call& call);
http::Response bapi_count_users(Call& call);
http::Response bapi_create_user(Call& call);
http::Response bapi_get_user(Call& call);
http::Response bapi_update_user(Call& call);
http::Response bapi_delete_user(Call& call);
http::Response bapi_merge_user_metadata(Call& call);
http::Response bapi_replace_user_metadata(Call& call);
http::Response bapi_ban_user(Call& call);
http::Response bapi_unban_user(Call& call);
http::Response bapi_lock_user(Call& call);
http::Response bapi_unlock_user(Call& call);
http::Response bapi_set_password_compromised(Call& call);
http::Response bapi_unset_password_compromised(Call& call);
http::Response bapi_verify_password(Call& call);
http::Response bapi_disable_mfa(Call& call);
http::Response bapi_list_sessions(Call& call);
http::Response bapi_get_session(Call& call);
http::Response bapi_revoke_session(Call& call);
http::Response bapi_session_token(Call& call);
http::Response bapi_list_clients(Call& call);
http::Response bapi_handshake_payload(Call& call);
http::Response bapi_email_get(Call& call);
http::Response bapi_email_create(Call& call);
http::Response bapi_email_update(Call& call);
http::Response bapi_email_delete(Call& call);
http::Response bapi_get_client(Call& call);
http::Response bapi_verify_client(Call& call);
http::Response bapi_create_testing_token(Call& call);

}  // namespace latchkey::api
