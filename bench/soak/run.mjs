// bench/soak/run.mjs — the soak run (issue 15 item 4): one Latchkey node (SQLite) under a realistic
// mix for a long time, at a fixed share of the capacity measured just before, watching that
// nothing drifts: errors, resident memory, open file descriptors, and latency per window.
//
//   node bench/soak/run.mjs [--duration 600] [--load 0.7] [--concurrency 16] [--out FILE]
//
// Env: LATCHKEY_BIN (the binary; default build/release/src/cli/latchkey). No npm packages: the
// driver is Node's own fetch. The server is started here on port 0 with a fresh data dir, in test
// mode (`[testing] enabled`), so a new user signs up with a `+clerk_test` address and the code
// 424242 exactly as through the SDK, minus the mail. Rate limits are off (one client IP).
//
// The mix, per operation drawn (weights): new user sign-up with email + password and the email
// code (8), returning password sign-in (12), session check GET /v1/client (50), session token
// refresh POST /v1/client/sessions/{id}/tokens (25), sign-out (5). Signed-in browsers are kept in a
// pool; a sign-out removes one.
//
// Phases: a capacity probe (closed loop at --concurrency for max(5 s, duration/20)), then the soak
// as an open loop at --load x capacity for --duration seconds. Every second RSS (VmRSS) and the
// number of open descriptors of the server are sampled; per window (duration/10) p50/p99 and
// errors are reported. Slopes are least squares over the per-window medians of the second half
// (after the caches and pools have filled). Exit 1 on any error or when the server holds more than
// 8 descriptors more at rest after the soak than before it, so CI can run a short version
// (scripts/test.sh runs 60 s). RSS is reported, not judged: its slope needs the 10-minute run.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const duration = Number(args.duration ?? 600);
const load = Number(args.load ?? 0.7);
const concurrency = Number(args.concurrency ?? 16);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const bin = process.env.LATCHKEY_BIN || path.join(root, 'build/release/src/cli/latchkey');
const password = 'soak-run correct horse battery 7';
const appOrigin = 'http://soak.localhost:3000';

// ---- the server --------------------------------------------------------------------------------
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-soak-'));
const child = spawn(bin, ['serve'], {
  env: {
    PATH: process.env.PATH,
    LATCHKEY_STORAGE_DATA_DIR: dataDir,
    LATCHKEY_SERVER_LISTEN: '127.0.0.1:0',
    LATCHKEY_LOGGING_LEVEL: 'info', // the listening line; the access log stays off
    LATCHKEY_LOGGING_ACCESS_LOG: 'false',
    LATCHKEY_RATELIMIT_ENABLED: 'false',
    LATCHKEY_TESTING_ENABLED: 'true',
    // The port is only known once bound: the app's origin is a fixed, allowed one.
    LATCHKEY_FRONTEND_ALLOWED_ORIGINS: appOrigin,
  },
  stdio: ['ignore', 'pipe', 'pipe'],
});
let logs = '';
const port = await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`latchkey did not start:\n${logs}`)), 30_000);
  const onData = (d) => {
    logs += d;
    const m = /latchkey listening on 127\.0\.0\.1:(\d+)/.exec(logs);
    if (m) { clearTimeout(timer); resolve(Number(m[1])); }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  child.on('exit', (code) => { if (!stopping) reject(new Error(`latchkey exited (${code}):\n${logs}`)); });
});
const origin = `http://127.0.0.1:${port}`;
const fapi = `${origin}/__clerk/v1`;
let stopping = false;
const stop = () => {
  stopping = true;
  child.kill('SIGTERM');
  fs.rmSync(dataDir, { recursive: true, force: true });
};
process.on('SIGINT', () => { stop(); process.exit(130); });

// ---- a browser: cookies and the FAPI calls the SDK makes ---------------------------------------
class Browser {
  constructor() { this.cookies = new Map(); this.session = null; }
  async call(method, p, form) {
    const headers = { origin: appOrigin };
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    let body;
    if (form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(form).toString();
    }
    const res = await fetch(`${fapi}${p}`, { method, headers, body, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === '' || attrs.some((a) => /max-age=0/i.test(a))) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const text = await res.text();
    let json = null;
    try { json = JSON.parse(text); } catch { /* not JSON */ }
    if (res.status >= 400) throw new Error(`${method} ${p}: ${res.status} ${text.slice(0, 160)}`);
    return json;
  }
}

let users = 0;
const known = []; // [email] of users that exist
const pool = []; // signed-in browsers

async function signUp() {
  const b = new Browser();
  const email = `soak-${process.pid}-${users++}+clerk_test@example.com`;
  const su = await b.call('POST', '/client/sign_ups', { email_address: email, password });
  const id = su.response.id;
  await b.call('POST', `/client/sign_ups/${id}/prepare_verification`, { strategy: 'email_code' });
  const done = await b.call('POST', `/client/sign_ups/${id}/attempt_verification`, { strategy: 'email_code', code: '424242' });
  if (done.response.status !== 'complete') throw new Error(`sign-up ended ${done.response.status}`);
  b.session = done.response.created_session_id;
  known.push(email);
  pool.push(b);
}

async function signIn() {
  if (!known.length) return signUp();
  const b = new Browser();
  const email = known[Math.floor(Math.random() * known.length)];
  const si = await b.call('POST', '/client/sign_ins', { strategy: 'password', identifier: email, password });
  if (si.response.status !== 'complete') throw new Error(`sign-in ended ${si.response.status}`);
  b.session = si.response.created_session_id;
  pool.push(b);
}

const anyBrowser = () => pool[Math.floor(Math.random() * pool.length)];

async function check() {
  const b = anyBrowser();
  if (!b) return signIn();
  const c = await b.call('GET', '/client');
  if (!c.response?.sessions?.some((s) => s.id === b.session)) throw new Error('session check: session missing');
}

async function refresh() {
  const b = anyBrowser();
  if (!b) return signIn();
  const t = await b.call('POST', `/client/sessions/${b.session}/tokens`);
  if (typeof t.jwt !== 'string') throw new Error('token refresh: no jwt');
}

async function signOut() {
  if (pool.length < 8) return signIn();
  const b = pool.splice(Math.floor(Math.random() * pool.length), 1)[0];
  await b.call('POST', '/client/sessions?_method=DELETE');
}

const mix = [['sign_up', signUp, 8], ['sign_in', signIn, 12], ['check', check, 50], ['refresh', refresh, 25], ['sign_out', signOut, 5]];
const totalWeight = mix.reduce((a, m) => a + m[2], 0);
function draw() {
  let r = Math.random() * totalWeight;
  for (const m of mix) { if ((r -= m[2]) < 0) return m; }
  return mix[mix.length - 1];
}

// ---- measurement ---------------------------------------------------------------------------------
class Window {
  constructor(start) { this.start = start; this.lat = new Map(); this.errors = 0; this.firstError = null; }
  record(name, ms) { if (!this.lat.has(name)) this.lat.set(name, []); this.lat.get(name).push(ms); }
}
const pct = (xs, p) => { if (!xs.length) return 0; const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };

async function runOne(win) {
  const [name, fn] = draw();
  const t0 = performance.now();
  try {
    await fn();
    win.record(name, performance.now() - t0);
    return true;
  } catch (err) {
    win.errors += 1;
    win.firstError ??= `${name}: ${err.message}`;
    return false;
  }
}

function sample() {
  const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024;
  const fds = fs.readdirSync(`/proc/${child.pid}/fd`).length;
  return { t: performance.now(), rss, fds };
}
// Least squares over the medians of the second half's windows (RSS moves by 19 MiB with every
// concurrent argon2id hash: a median per window is the level, not the noise).
function slopePerMinute(points, key) {
  const perWindow = [];
  for (let i = 0; i < 10; i++) {
    const lo = t0 + i * windowSecs * 1000;
    const inWin = points.filter((p) => p.t >= lo && p.t < lo + windowSecs * 1000);
    if (inWin.length) perWindow.push({ t: lo + (windowSecs * 1000) / 2, [key]: pct(inWin.map((p) => p[key]), 0.5) });
  }
  const half = perWindow.slice(Math.floor(perWindow.length / 2));
  if (half.length < 2) return 0;
  const xs = half.map((p) => p.t / 60_000);
  const ys = half.map((p) => p[key]);
  const mx = xs.reduce((a, b) => a + b) / xs.length;
  const my = ys.reduce((a, b) => a + b) / ys.length;
  const num = xs.reduce((a, x, i) => a + (x - mx) * (ys[i] - my), 0);
  const den = xs.reduce((a, x) => a + (x - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

// Seed users so sign-ins and checks have something to work on.
for (let i = 0; i < 16; i++) await signUp();

await new Promise((r) => setTimeout(r, 5000));
const fdsBefore = sample().fds;

// Capacity probe: closed loop.
const probeSecs = Math.max(5, duration / 20);
const probe = new Window(performance.now());
let probeOps = 0;
const probeEnd = performance.now() + probeSecs * 1000;
await Promise.all(Array.from({ length: concurrency }, async () => {
  while (performance.now() < probeEnd) { if (await runOne(probe)) probeOps += 1; }
}));
const capacity = probeOps / probeSecs;
const rate = capacity * load;

// The soak: open loop at `rate` operations per second, at most 4x concurrency in flight.
const windowSecs = duration / 10;
const windows = [];
const samples = [sample()];
const t0 = performance.now();
const end = t0 + duration * 1000;
let inFlight = 0;
let dropped = 0;
let scheduled = 0;
const sampler = setInterval(() => samples.push(sample()), 1000);
await new Promise((resolve) => {
  const tick = () => {
    const now = performance.now();
    if (now >= end) { if (inFlight === 0) return resolve(); return setTimeout(tick, 5); }
    const idx = Math.floor((now - t0) / (windowSecs * 1000));
    while (windows.length <= idx) windows.push(new Window(t0 + windows.length * windowSecs * 1000));
    const due = Math.floor(((now - t0) / 1000) * rate);
    for (; scheduled < due; scheduled++) {
      if (inFlight >= concurrency * 4) { dropped += 1; continue; }
      inFlight += 1;
      runOne(windows[idx]).finally(() => { inFlight -= 1; });
    }
    setTimeout(tick, 2);
  };
  tick();
});
clearInterval(sampler);
// Descriptors at rest, before and after: the driver's idle keep-alive sockets close after 4 s.
await new Promise((r) => setTimeout(r, 5000));
const fdsAfter = sample().fds;

// ---- report --------------------------------------------------------------------------------------
const rssSlope = slopePerMinute(samples, 'rss');
const fdSlope = slopePerMinute(samples, 'fds');
const errors = windows.reduce((a, w) => a + w.errors, 0);
const ops = windows.reduce((a, w) => a + [...w.lat.values()].reduce((x, l) => x + l.length, 0), 0);
const report = {
  command: process.env.SOAK_COMMAND || `node bench/soak/run.mjs --duration ${duration}`,
  duration_s: duration, load, concurrency, capacity_ops_s: Math.round(capacity), target_ops_s: Math.round(rate),
  achieved_ops_s: Math.round(ops / duration), ops, errors, dropped,
  first_error: windows.find((w) => w.firstError)?.firstError ?? probe.firstError,
  users_created: users, signed_in_browsers: pool.length,
  rss_mib: { start: +samples[0].rss.toFixed(1), end: +samples.at(-1).rss.toFixed(1), median_last_window: +pct(samples.filter((p) => p.t >= end - windowSecs * 1000).map((p) => p.rss), 0.5).toFixed(1), max: +Math.max(...samples.map((s) => s.rss)).toFixed(1), slope_per_min: +rssSlope.toFixed(3) },
  fds: { at_rest_before: fdsBefore, at_rest_after: fdsAfter, max_under_load: Math.max(...samples.map((s) => s.fds)), slope_per_min: +fdSlope.toFixed(3) },
  windows: windows.map((w, i) => ({
    window: i, errors: w.errors,
    ...Object.fromEntries(mix.map(([n]) => [n, { n: w.lat.get(n)?.length ?? 0, p50_ms: +pct(w.lat.get(n) ?? [], 0.5).toFixed(2), p99_ms: +pct(w.lat.get(n) ?? [], 0.99).toFixed(2) }])),
  })),
};
stop();
const text = JSON.stringify(report, null, 2);
if (args.out) fs.writeFileSync(args.out, `${text}\n`);
console.log(text);
const fdLeak = fdsAfter - fdsBefore > 8;
if (errors > 0 || probe.errors > 0 || fdLeak) {
  console.error(`soak: FAILED (${errors + probe.errors} errors${fdLeak ? ', descriptors growing' : ''}); server output:\n${logs}`);
  process.exit(1);
}
console.error(`soak: ok — ${report.achieved_ops_s} ops/s for ${duration} s at ${Math.round(load * 100)} % of ${report.capacity_ops_s} ops/s, 0 errors, RSS ${report.rss_mib.start}→${report.rss_mib.end} MiB (${report.rss_mib.slope_per_min} MiB/min), descriptors at rest ${fdsBefore}→${fdsAfter}`);
