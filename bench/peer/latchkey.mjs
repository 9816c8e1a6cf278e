// bench/peer/latchkey.mjs — how the peer harness (../shared/peer-bench) drives Latchkey.
// Same shape as the harness's targets/better-auth.mjs, plus the hooks of bench/peer/lib/flow.mjs
// (firstUrl, after) and of bench/peer/run.mjs (prepare, refresh, restartEnv).
//
// Env: LATCHKEY_BIN (the release binary; bench/run.sh sets it), LATCHKEY_BENCH_DATA (a scratch
// folder; each run gets a fresh data dir under it), IDP_PORT (4000).
//
// The timed sign-in flow is every request a browser running the Clerk SDK makes up to holding a
// signed-in session:
//   1. POST <fapi>/v1/client/sign_ins  strategy=oauth_google&redirect_url=/sso-callback&identifier=<hint>
//      -> 200 {response:{first_factor_verification:{external_verification_redirect_url}}} + __client
//   2-4. the IdP's authorize -> interaction -> resume (identical to the peer's hops)
//   5. GET <fapi>/v1/oauth_callback?code&state&iss -> 303 /sso-callback (code exchange at the IdP's
//      token endpoint, ID token validation, user lookup/creation, session for returning users)
//   6. GET <fapi>/v1/client: what the SDK reads on the /sso-callback page to learn the outcome
//   7. NEW users only: POST <fapi>/v1/client/sign_ups transfer=true (creates the user and session)
// The /sso-callback HTML page itself is the app's, not Latchkey's, and is not fetched (the peer's
// landing page `/` is not fetched either).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export default function target({ port = 8080 } = {}) {
  const base = `http://127.0.0.1:${port}`;
  const fapi = `${base}/__clerk`;
  // A second allowed origin: the token-refresh benchmark alternates the Origin (so the token's
  // azp) to force a fresh RS256 signature on every request (see run.mjs, refresh phase).
  const otherOrigin = `http://localhost:${port}`;
  const idp = `http://127.0.0.1:${process.env.IDP_PORT || 4000}`;
  const bin = process.env.LATCHKEY_BIN || 'latchkey';
  const scratch = process.env.LATCHKEY_BENCH_DATA || path.join(os.tmpdir(), 'latchkey-bench-data');
  let dataDir = path.join(scratch, 'data');
  const json = (text) => { try { return JSON.parse(text || 'null'); } catch { return null; } };
  const firstSession = (client) => client?.sessions?.find((s) => s.id === client.last_active_session_id) || client?.sessions?.[0];

  return {
    name: 'latchkey',
    base,
    // The env is computed at spawn time (prepare() picks the data dir).
    cmd: [bin, 'serve'],
    get env() {
      return {
        LATCHKEY_SERVER_LISTEN: `127.0.0.1:${port}`,
        LATCHKEY_SERVER_PUBLIC_URL: base,
        LATCHKEY_STORAGE_DATA_DIR: dataDir,
        // The peer writes no per-request log either.
        LATCHKEY_LOGGING_ACCESS_LOG: 'false',
        LATCHKEY_LOGGING_LEVEL: 'warn',
        // A benchmark from one IP trips the abuse limits; the peer runs with its rate limit off too.
        LATCHKEY_RATELIMIT_ENABLED: 'false',
        LATCHKEY_FRONTEND_ALLOWED_ORIGINS: otherOrigin,
        LATCHKEY_PROVIDERS_OAUTH_GOOGLE_CLIENT_ID: 'peer-bench',
        LATCHKEY_PROVIDERS_OAUTH_GOOGLE_CLIENT_SECRET: 'peer-bench-secret',
        LATCHKEY_PROVIDERS_OAUTH_GOOGLE_ISSUER: idp,
        LATCHKEY_PROVIDERS_OAUTH_GOOGLE_TOKEN_AUTH_METHOD: 'client_secret_post',
      };
    },
    // A fresh data dir per run (the harness's PEER_FRESH_DB=1): database, master key, signing key.
    prepare(run) {
      dataDir = path.join(scratch, `run-${run}`);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
    // The "Sign in with Google" click as the SDK sends it (identifier becomes the IdP's login_hint).
    start: (loginHint) => ({
      method: 'POST',
      url: `${fapi}/v1/client/sign_ins`,
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base },
      body: new URLSearchParams({ strategy: 'oauth_google', redirect_url: '/sso-callback', identifier: loginHint }).toString(),
    }),
    firstUrl: (j) => j?.response?.first_factor_verification?.external_verification_redirect_url,
    isCallback: (url) => url.startsWith(`${fapi}/v1/oauth_callback`),
    async after({ send, trace }) {
      const c = await send({ url: `${fapi}/v1/client`, headers: { origin: base } });
      if (trace) trace.push(`GET ${fapi}/v1/client -> ${c.status}`);
      const client = json(c.text)?.response;
      if (c.status !== 200 || !client) return { ok: false, error: `GET /v1/client ${c.status}: ${c.text.slice(0, 200)}` };
      if (firstSession(client)) return { ok: true };  // returning user: signed in by the callback
      if (client.sign_in?.first_factor_verification?.status !== 'transferable') {
        return { ok: false, error: `no session and not transferable: ${JSON.stringify(client.sign_in?.first_factor_verification)}` };
      }
      const t = await send({
        method: 'POST', url: `${fapi}/v1/client/sign_ups`,
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base },
        body: 'transfer=true',
      });
      if (trace) trace.push(`POST ${fapi}/v1/client/sign_ups transfer=true -> ${t.status}`);
      const signUp = json(t.text);
      if (t.status !== 200 || signUp?.response?.status !== 'complete') {
        return { ok: false, error: `transfer ${t.status}: ${t.text.slice(0, 200)}` };
      }
      return { ok: true };
    },
    redirectUri: `${fapi}/v1/oauth_callback`,
    // Session check: GET /v1/client with the __client cookie (what the SDK polls), and what "a
    // session exists" means.
    sessionUrl: `${fapi}/v1/client`,
    sessionOk: (status, text) => status === 200 && !!firstSession(json(text)?.response)?.id,
    sessionCookieNames: ['__client'],
    // The session id a refresh needs (from the verify response of a flow).
    sessionId: (text) => firstSession(json(text)?.response)?.id,
    // Token refresh: POST /v1/client/sessions/{id}/tokens (the SDK's getToken()).
    refresh: {
      url: (sid) => `${fapi}/v1/client/sessions/${sid}/tokens`,
      origins: [base, otherOrigin],
      ok: (status, text) => status === 200 && typeof json(text)?.jwt === 'string',
    },
    // Readiness probe for the cold-start measurement: the same kind of request as the peer's
    // (a session check without a cookie, 200 with no session).
    readyUrl: `${fapi}/v1/client`,
  };
}
