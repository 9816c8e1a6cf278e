// bench/bulkheads.mjs — the bulkhead figure (issue 15 item 1): session-check and token-refresh
// latency (p50/p99) of a signed-in browser, first unloaded, then while HANGING OAuth callbacks
// wait on an identity provider whose token endpoint accepts and never answers; the ratio of the
// two p99s. Self-contained (Node's own http and crypto): two in-process OpenID providers on
// 127.0.0.1:0 ("good", which signs the browser in, and "slow", which hangs) and the latchkey binary.
//
//   node bench/bulkheads.mjs            (bench/bulkheads.sh wraps it: pinning, the binary)
//
// Env: LATCHKEY_BIN (build/ci/src/cli/latchkey), N (2000 requests per phase and kind), CONC (4
// requests in flight), HANGING (50), OUTBOUND_WORKERS (64), WORKERS (2).
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const env = (k, d) => (process.env[k] !== undefined ? process.env[k] : d);
const BIN = env('LATCHKEY_BIN', path.resolve('build/ci/src/cli/latchkey'));
const N = Number(env('N', 2000));
const CONC = Number(env('CONC', 4));
const HANGING = Number(env('HANGING', 50));
const OUTBOUND_WORKERS = Number(env('OUTBOUND_WORKERS', 64));
const WORKERS = Number(env('WORKERS', 2));
const CLIENT_ID = 'bench-client';
const CLIENT_SECRET = 'bench-secret-0123456789';

const b64u = (b) => Buffer.from(b).toString('base64url');
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// A minimal OpenID provider: discovery, JWKS, token (RS256 ID tokens); `hang` makes the token
// endpoint read the request and never answer. Codes are handed out by grant() (the user agent is
// this script).
async function idp({ hang }) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256', use: 'sig' };
  const codes = new Map();
  const held = [];
  let tokenCalls = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const send = (status, obj) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(obj));
      };
      if (req.url === '/.well-known/openid-configuration') {
        return send(200, {
          issuer: base, authorization_endpoint: `${base}/authorize`, token_endpoint: `${base}/token`,
          jwks_uri: `${base}/jwks`, response_types_supported: ['code'], subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256'],
        });
      }
      if (req.url === '/jwks') return send(200, { keys: [jwk] });
      if (req.url === '/token') {
        tokenCalls += 1;
        if (hang) { held.push(res); return undefined; }
        const form = new URLSearchParams(body);
        const g = codes.get(form.get('code'));
        if (!g) return send(400, { error: 'invalid_grant' });
        codes.delete(form.get('code'));
        const now = Math.floor(Date.now() / 1000);
        const head = b64u(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: 'k1' }));
        const claims = b64u(JSON.stringify({
          iss: base, sub: g.sub, aud: CLIENT_ID, iat: now, exp: now + 600, nonce: g.nonce,
          email: `${g.sub}@example.com`, email_verified: true, given_name: 'Bench', family_name: 'User',
        }));
        const sig = crypto.sign('sha256', Buffer.from(`${head}.${claims}`), privateKey);
        return send(200, { access_token: `at-${g.sub}`, token_type: 'Bearer', id_token: `${head}.${claims}.${b64u(sig)}` });
      }
      return send(404, { error: 'not_found' });
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${server.address().port}`;
  return {
    base,
    tokenCalls: () => tokenCalls,
    grant(authUrl, sub) {
      const q = new URL(authUrl).searchParams;
      const code = crypto.randomBytes(12).toString('hex');
      codes.set(code, { nonce: q.get('nonce'), sub });
      return { code, state: q.get('state') };
    },
    close() { for (const r of held) r.destroy(); server.closeAllConnections?.(); server.close(); },
  };
}

// One request; resolves {status, headers, body, ms}.
function call(port, method, target, { cookie, form, origin } = {}) {
  return new Promise((resolve, reject) => {
    const body = form ? new URLSearchParams(form).toString() : '';
    const headers = {};
    if (cookie) headers.cookie = cookie;
    if (method !== 'GET') {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers['content-length'] = Buffer.byteLength(body);
      headers.origin = origin;
    }
    const t0 = process.hrtime.bigint();
    const req = http.request({ host: '127.0.0.1', port, method, path: target, headers, agent }, (res) => {
      let data = '';
      res.on('data', (d) => (data += d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: data,
        ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const cookieOf = (r, jar) => {
  for (const c of r.headers['set-cookie'] || []) {
    if (c.startsWith('__client=')) return c.split(';')[0];
  }
  return jar;
};

async function main() {
  const good = await idp({ hang: false });
  const slow = await idp({ hang: true });
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-bulkheads-'));
  const provider = (name, i) => ({
    [`LATCHKEY_PROVIDERS_${name}_CLIENT_ID`]: CLIENT_ID,
    [`LATCHKEY_PROVIDERS_${name}_CLIENT_SECRET`]: CLIENT_SECRET,
    [`LATCHKEY_PROVIDERS_${name}_ISSUER`]: i.base,
  });
  const child = spawn(BIN, ['serve'], {
    env: {
      PATH: process.env.PATH,
      LATCHKEY_SERVER_LISTEN: `127.0.0.1:${port}`, LATCHKEY_SERVER_PUBLIC_URL: origin,
      LATCHKEY_SERVER_WORKERS: String(WORKERS), LATCHKEY_SERVER_OUTBOUND_WORKERS: String(OUTBOUND_WORKERS),
      LATCHKEY_OAUTH_MAX_CONCURRENT_PER_PROVIDER: String(Math.min(OUTBOUND_WORKERS - 1, HANGING + 4)),
      LATCHKEY_OAUTH_CALLBACK_DEADLINE: '5m', LATCHKEY_FRONTEND_OUTBOUND_TIMEOUT: '5m',
      LATCHKEY_STORAGE_DATA_DIR: dataDir, LATCHKEY_KEYS_ALGORITHM: 'ES256',
      LATCHKEY_LOGGING_ACCESS_LOG: 'false', LATCHKEY_LOGGING_LEVEL: 'warn', LATCHKEY_RATELIMIT_ENABLED: 'false',
      ...provider('OAUTH_CUSTOM_GOOD', good), ...provider('OAUTH_CUSTOM_SLOW', slow),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const cleanup = () => { child.kill('SIGTERM'); good.close(); slow.close(); fs.rmSync(dataDir, { recursive: true, force: true }); };
  try {
    for (let i = 0; ; i += 1) {
      try { if ((await call(port, 'GET', '/healthz')).status === 200) break; } catch { /* not yet */ }
      if (i > 200) throw new Error('latchkey did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
    // Sign in one browser through the good provider (a new user: sign-in, callback, transfer).
    const start = async (strategy, jar) => {
      const r = await call(port, 'POST', '/__clerk/v1/client/sign_ins',
        { cookie: jar, origin, form: { strategy, redirect_url: '/sso-callback' } });
      if (r.status !== 200) throw new Error(`sign-in create: ${r.status} ${r.body}`);
      return { jar: cookieOf(r, jar), url: JSON.parse(r.body).response.first_factor_verification.external_verification_redirect_url };
    };
    let { jar, url } = await start('oauth_custom_good', undefined);
    const g = good.grant(url, 'bench-user');
    let r = await call(port, 'GET', `/__clerk/v1/oauth_callback?code=${g.code}&state=${g.state}`, { cookie: jar });
    jar = cookieOf(r, jar);
    r = await call(port, 'POST', '/__clerk/v1/client/sign_ups', { cookie: jar, origin, form: { transfer: 'true' } });
    jar = cookieOf(r, jar);
    const sid = JSON.parse(r.body).response.created_session_id;
    if (!sid) throw new Error(`no session: ${r.body}`);

    const kinds = {
      session_check: () => call(port, 'GET', '/__clerk/v1/client', { cookie: jar }),
      token_refresh: () => call(port, 'POST', `/__clerk/v1/client/sessions/${sid}/tokens`, { cookie: jar, origin, form: {} }),
    };
    const measure = async (fn) => {
      const lat = [];
      let next = 0;
      await Promise.all(Array.from({ length: CONC }, async () => {
        while (next < N) {
          next += 1;
          const x = await fn();
          if (x.status !== 200) throw new Error(`status ${x.status}: ${x.body}`);
          lat.push(x.ms);
        }
      }));
      lat.sort((a, b) => a - b);
      const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
      return { n: lat.length, p50: q(0.5), p99: q(0.99) };
    };
    const results = { unloaded: {}, hanging: {} };
    for (const [k, fn] of Object.entries(kinds)) { await measure(fn); results.unloaded[k] = await measure(fn); }

    // HANGING browsers start a sign-in with the slow provider and come back to the callback.
    const pending = [];
    for (let i = 0; i < HANGING; i += 1) {
      const s = await start('oauth_custom_slow', undefined);
      const h = slow.grant(s.url, `hang-${i}`);
      pending.push(call(port, 'GET', `/__clerk/v1/oauth_callback?code=${h.code}&state=${h.state}`, { cookie: s.jar })
        .catch(() => ({ status: 0 })));
    }
    while (slow.tokenCalls() < HANGING) await new Promise((res) => setTimeout(res, 20));
    for (const [k, fn] of Object.entries(kinds)) results.hanging[k] = await measure(fn);
    const stillPending = slow.tokenCalls();
    slow.close();
    await Promise.all(pending);

    const f = (x) => x.toFixed(2);
    const lines = [`| request | unloaded p50 / p99 ms | with ${HANGING} hanging callbacks p50 / p99 ms | p99 ratio |`, '|---|---|---|---|'];
    for (const k of Object.keys(kinds)) {
      const a = results.unloaded[k];
      const b = results.hanging[k];
      lines.push(`| ${k.replace('_', ' ')} | ${f(a.p50)} / ${f(a.p99)} | ${f(b.p50)} / ${f(b.p99)} | ${(b.p99 / a.p99).toFixed(2)} |`);
    }
    console.log(JSON.stringify({ N, CONC, HANGING, WORKERS, OUTBOUND_WORKERS, hanging_at_provider: stillPending, ...results }));
    console.log(lines.join('\n'));
  } finally {
    cleanup();
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
