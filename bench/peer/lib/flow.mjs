// lib/flow.mjs — server-agnostic OAuth/OIDC browser-flow driver.
//
// Copy of ../shared/peer-bench/lib/flow.mjs (the peer harness) with two optional hooks, so a
// server whose sign-in is not "one redirect then a callback that sets the session" can be driven
// by the same code. With neither hook the behaviour is the harness's, byte for byte:
//   firstUrl(res): the URL to navigate to after the start response when it is not a 3xx and not a
//            JSON {url} (Latchkey: response.first_factor_verification.external_verification_redirect_url).
//   after({jar, agent, send, res}): async; runs INSIDE the timed part after the callback response,
//            for the requests a browser still makes before it holds a session (Latchkey: the SDK
//            reads /v1/client and, for a new user, transfers the sign-in to a sign-up). Returns
//            {ok:true} or {ok:false, error}.
//
// A "flow" = one start request to the relying party (RP) under test, then GETs
// following every redirect (through the IdP's authorize/interaction/resume and
// back to the RP's callback) with a per-flow cookie jar, exactly as a browser
// would, minus HTML. The RP under test is described only by:
//   start:   { method, url, headers?, body? }  — what a "Sign in" click sends.
//            A 3xx Location is followed; a 2xx JSON body with a string `url`
//            (Better Auth's POST /sign-in/social answer) is followed too.
//   stopAfter(url): true for the RP's callback URL; its response (which sets
//            the session cookie) ends the timed part. Default: a request to a
//            non-IdP origin whose query has `code=` or `error=`.
//   verify:  { url, ok(status, bodyText) } — checks that a session exists with
//            the jar afterwards (not timed).
import { Agent, request } from 'undici';

export class CookieJar {
  // Keyed by origin (scheme://host:port): the IdP and the RP are both on
  // 127.0.0.1, but in real life they are different sites, so keep them apart.
  constructor() { this.store = new Map(); }
  setFrom(url, setCookieHeaders) {
    if (!setCookieHeaders) return;
    const list = Array.isArray(setCookieHeaders) ? setCookieHeaders : [setCookieHeaders];
    const u = new URL(url);
    let bucket = this.store.get(u.origin);
    if (!bucket) { bucket = new Map(); this.store.set(u.origin, bucket); }
    for (const line of list) {
      const parts = line.split(';');
      const eq = parts[0].indexOf('=');
      if (eq < 0) continue;
      const name = parts[0].slice(0, eq).trim();
      const value = parts[0].slice(eq + 1).trim();
      let path = '/';
      let expired = value === '';
      for (const attr of parts.slice(1)) {
        const [k, v = ''] = attr.split('=');
        const key = k.trim().toLowerCase();
        if (key === 'path') path = v.trim() || '/';
        else if (key === 'max-age' && Number(v) <= 0) expired = true;
        else if (key === 'expires' && Date.parse(v) < Date.now()) expired = true;
      }
      const id = `${name};${path}`;
      if (expired) bucket.delete(id); else bucket.set(id, { name, value, path });
    }
  }
  header(url) {
    const u = new URL(url);
    const bucket = this.store.get(u.origin);
    if (!bucket) return undefined;
    const out = [];
    for (const c of bucket.values()) {
      if (u.pathname === c.path || u.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`) || c.path === '/') out.push(`${c.name}=${c.value}`);
    }
    return out.length ? out.join('; ') : undefined;
  }
  get(origin, name) {
    const bucket = this.store.get(origin);
    if (!bucket) return undefined;
    for (const c of bucket.values()) if (c.name === name) return c.value;
    return undefined;
  }
  clear(origin) { if (origin) this.store.delete(origin); else this.store.clear(); }
}

export const defaultAgent = new Agent({ connections: 128, pipelining: 1, keepAliveTimeout: 60_000 });

export async function send(agent, jar, { method = 'GET', url, headers = {}, body }) {
  const h = { ...headers };
  const cookie = jar.header(url);
  if (cookie) h.cookie = cookie;
  const res = await request(url, { method, headers: h, body, dispatcher: agent, maxRedirections: 0 });
  jar.setFrom(url, res.headers['set-cookie']);
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text };
}

function cookieNames(res) {
  const sc = res.headers['set-cookie'];
  if (!sc) return '';
  return ` [set-cookie: ${(Array.isArray(sc) ? sc : [sc]).map((c) => c.split(';')[0].split('=')[0] + (/max-age=0|=;/i.test(c) ? '(cleared)' : '')).join(', ')}]`;
}

export async function httpGet(url, jar, agent = defaultAgent, headers = {}) {
  return send(agent, jar, { url, headers });
}

/**
 * Run one browser-like sign-in flow.
 * @returns {Promise<{ok:boolean, ms:number, hops:string[], error?:string, final?:object}>}
 */
export async function runFlow({ start, jar, idpOrigin, stopAfter, stopBefore, verify, firstUrl, after, agent = defaultAgent, maxHops = 12, trace = false }) {
  const hops = [];
  const marks = []; // "url-without-query cumulative-ms" per hop, for diagnosing slow flows
  const stop = stopAfter || ((u) => {
    const x = new URL(u);
    return x.origin !== idpOrigin && (x.searchParams.has('code') || x.searchParams.has('error'));
  });
  const t0 = performance.now();
  let res;
  let current = start.url;
  try {
    res = await send(agent, jar, start);
    marks.push(`${start.url.split('?')[0]} ${(performance.now() - t0).toFixed(1)}`);
    if (trace) hops.push(`${start.method || 'GET'} ${start.url} -> ${res.status} ${res.headers.location || ''}${cookieNames(res)} (${(performance.now() - t0).toFixed(1)}ms)`);
    for (let i = 0; i < maxHops; i++) {
      let next;
      if (res.status >= 300 && res.status < 400 && res.headers.location) {
        next = new URL(res.headers.location, current).toString();
      } else if (res.status >= 200 && res.status < 300 && i === 0 && res.text.startsWith('{')) {
        const j = JSON.parse(res.text);
        if (typeof j.url === 'string') next = new URL(j.url, current).toString();
        else if (firstUrl) { const u = firstUrl(j); if (typeof u === 'string') next = new URL(u, current).toString(); }
      }
      if (!next) break;
      if (stopBefore && stopBefore(next)) {
        // e.g. measuring the IdP alone: hand back the redirect (with ?code=) unfetched.
        return { ok: true, ms: performance.now() - t0, hops, marks, final: { url: next } };
      }
      current = next;
      res = await send(agent, jar, { url: current });
      marks.push(`${current.split('?')[0]} ${(performance.now() - t0).toFixed(1)}`);
      if (trace) hops.push(`GET ${current} -> ${res.status} ${res.headers.location || ''}${cookieNames(res)} (${(performance.now() - t0).toFixed(1)}ms)`);
      if (stop(current)) break;
    }
  } catch (err) {
    return { ok: false, ms: performance.now() - t0, hops, marks, error: String(err?.message || err) };
  }
  if (after && stop(current) && res.status < 400) {
    try {
      const a = await after({ jar, agent, res, send: (req) => send(agent, jar, req), trace: trace ? hops : undefined, t0 });
      if (!a.ok) return { ok: false, ms: performance.now() - t0, hops, marks, error: a.error };
      marks.push(`after ${(performance.now() - t0).toFixed(1)}`);
    } catch (err) {
      return { ok: false, ms: performance.now() - t0, hops, marks, error: String(err?.message || err) };
    }
  }
  const ms = performance.now() - t0;
  if (!stop(current)) return { ok: false, ms, hops, error: `flow ended at ${current} status ${res.status}: ${res.text.slice(0, 200)}` };
  if (res.status >= 400) return { ok: false, ms, hops, error: `callback status ${res.status}: ${res.text.slice(0, 200)}` };
  if (verify) {
    const v = await send(agent, jar, { url: verify.url, headers: verify.headers || {} });
    if (!verify.ok(v.status, v.text)) return { ok: false, ms, hops, error: `verify failed ${v.status}: ${v.text.slice(0, 200)}` };
    return { ok: true, ms, hops, marks, final: v };
  }
  return { ok: true, ms, hops, marks, final: res };
}

export function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

/**
 * Run `total` flows with `concurrency` workers. makeFlow(i) returns runFlow args.
 */
export async function runLoad({ total, concurrency, makeFlow, warmup = 0 }) {
  for (let i = 0; i < warmup; i++) await runFlow(makeFlow(-1 - i));
  let next = 0;
  const lat = [];
  const errors = [];
  let slowest;
  const t0 = performance.now();
  async function worker() {
    for (;;) {
      const i = next++;
      if (i >= total) return;
      const r = await runFlow(makeFlow(i));
      if (r.ok) lat.push(r.ms); else errors.push(r.error);
      if (!slowest || r.ms > slowest.ms) slowest = { ms: +r.ms.toFixed(1), marks: r.marks };
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  return {
    total, concurrency, ok: lat.length, failed: errors.length,
    seconds: +elapsed.toFixed(3),
    perSec: +(lat.length / elapsed).toFixed(1),
    p50: +percentile(lat, 50).toFixed(2),
    p99: +percentile(lat, 99).toFixed(2),
    firstError: errors[0],
    slowest,
  };
}
