// bench/passwords/run.mjs — the password sign-in row (issue 11): Latchkey's
// POST /__clerk/v1/client/sign_ins identifier=<email>&password=<pw> side by side with Better Auth's
// POST /api/auth/sign-in/email {email,password}, each server alone on PEER_CPU, this driver on
// LOAD_CPU. Per run: a fresh server on a fresh database, PW_USERS users made through each server's
// own sign-up API (untimed; Latchkey: sign_ups strategy=password -> prepare_verification email_code
// -> attempt_verification with the code from <data_dir>/mail/*.eml), PW_WARMUP sign-ins, then
// PW_N sign-ins at c=CONC, each from a fresh browser (no cookies: a new client/session per
// sign-in, round robin over the users). Measured: sign-ins/s, p50/p99, and the server's CPU per
// sign-in (utime+stime from /proc, as run.mjs does).
//
// bench/passwords.sh and bench/run.sh copy this file to <peer-bench copy>/bench/passwords-latchkey.mjs
// (undici and lib/flow-latchkey.mjs resolve from there). Writes $OUT/results-passwords.json (read by
// bench/passwords/render.mjs), with the raw argon2id rate from ARGON2_MICRO_JSON (a Google Benchmark
// JSON holding BM_Argon2idVerifyDefault, run on PEER_CPU) and PASSWORDS_COMMAND (the command line).
//
// Env: RUNS, CONC (16), PW_N (sign-ins per run at c=CONC, 800), PW_USERS (16), PW_WARMUP (32),
// PEER_CPU/LOAD_CPU, LATCHKEY_BIN, LATCHKEY_BENCH_DATA, ONLY=latchkey|better-auth, OUT.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CookieJar, send, defaultAgent, percentile } from '../lib/flow-latchkey.mjs';

const HERE = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const env = (k, d) => (process.env[k] !== undefined && process.env[k] !== '' ? process.env[k] : d);
const RUNS = Number(env('RUNS', 3));
const CONC = Number(env('CONC', 16));
const N = Number(env('PW_N', 800));
const USERS = Number(env('PW_USERS', 16));
const WARMUP = Number(env('PW_WARMUP', 32));
const PEER_CPU = env('PEER_CPU', '0');
const LOAD_CPU = env('LOAD_CPU', '1');
const IDP_PORT = Number(env('IDP_PORT', 4000));
const OUT = env('OUT', path.join(HERE, 'results'));
const ONLY = env('ONLY', '');
const LATCHKEY_PORT = 8080;
const PEER_PORT = 3000;
const PASSWORD = 'Bench-passw0rd-x7Qz!r';  // long, not in any breach list
const CLK_TCK = 100;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pin = (cpu, argv) => ['taskset', '-c', cpu, ...argv];
const json = (t) => { try { return JSON.parse(t || 'null'); } catch { return null; } };

function cpuMs(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
}
function startProc(name, argv, extraEnv) {
  const [cmd, ...args] = argv;
  const child = spawn(cmd, args, { cwd: HERE, env: { ...process.env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = fs.createWriteStream(path.join(OUT, `passwords-${name}.log`), { flags: 'a' });
  child.stdout.pipe(log); child.stderr.pipe(log);
  return child;
}
async function stopProc(child) {
  if (!child || child.exitCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 3000);
  await done; clearTimeout(t);
}
async function waitReady(url, child, timeoutMs = 60000) {
  const t0 = performance.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${url}: the server exited (${child.exitCode}); is its port taken?`);
    try { const r = await send(defaultAgent, new CookieJar(), { url }); if (r.status === 200) return; } catch { /* not up */ }
    if (performance.now() - t0 > timeoutMs) throw new Error(`not ready: ${url}`);
    await sleep(5);
  }
}

// ---------------------------------------------------------------- the two servers
function latchkeyTarget(run) {
  const base = `http://127.0.0.1:${LATCHKEY_PORT}`;
  const fapi = `${base}/__clerk/v1`;
  const scratch = env('LATCHKEY_BENCH_DATA', path.join(HERE, 'latchkey-data'));
  const dataDir = path.join(scratch, `passwords-run-${run}`);
  const form = (o) => ({ 'content-type': 'application/x-www-form-urlencoded', origin: base, body: new URLSearchParams(o).toString() });
  const post = (jar, url, o) => { const { body, ...headers } = form(o); return send(defaultAgent, jar, { method: 'POST', url, headers, body }); };
  const mailedCode = async (to) => {
    for (let i = 0; i < 200; i++) {
      const dir = path.join(dataDir, 'mail');
      const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.eml')) : [];
      for (const f of files) {
        const text = fs.readFileSync(path.join(dir, f), 'utf8');
        if (text.includes(`To: <${to}>`)) { const m = /\b(\d{6})\b/.exec(text); if (m) return m[1]; }
      }
      await sleep(50);
    }
    throw new Error(`no code mailed to ${to}`);
  };
  return {
    name: 'latchkey',
    prepare() { fs.rmSync(dataDir, { recursive: true, force: true }); },
    cmd: [env('LATCHKEY_BIN', 'latchkey'), 'serve'],
    env: {
      LATCHKEY_SERVER_LISTEN: `127.0.0.1:${LATCHKEY_PORT}`,
      LATCHKEY_SERVER_PUBLIC_URL: base,
      LATCHKEY_STORAGE_DATA_DIR: dataDir,
      LATCHKEY_LOGGING_ACCESS_LOG: 'false',
      LATCHKEY_LOGGING_LEVEL: 'warn',
      LATCHKEY_RATELIMIT_ENABLED: 'false',
    },
    readyUrl: `${fapi}/client`,
    async signUp(email) {
      const jar = new CookieJar();
      const su = await post(jar, `${fapi}/client/sign_ups`, { strategy: 'password', email_address: email, password: PASSWORD });
      const id = json(su.text)?.response?.id;
      if (su.status !== 200 || !id) throw new Error(`sign_ups ${su.status}: ${su.text.slice(0, 300)}`);
      const prep = await post(jar, `${fapi}/client/sign_ups/${id}/prepare_verification`, { strategy: 'email_code' });
      if (prep.status !== 200) throw new Error(`prepare_verification ${prep.status}: ${prep.text.slice(0, 300)}`);
      const done = await post(jar, `${fapi}/client/sign_ups/${id}/attempt_verification`, { strategy: 'email_code', code: await mailedCode(email) });
      if (done.status !== 200 || json(done.text)?.response?.status !== 'complete') throw new Error(`attempt_verification ${done.status}: ${done.text.slice(0, 300)}`);
    },
    async signIn(email) {
      const r = await post(new CookieJar(), `${fapi}/client/sign_ins`, { identifier: email, password: PASSWORD });
      const j = json(r.text)?.response;
      return r.status === 200 && j?.status === 'complete' && !!j?.created_session_id ? null : `sign_ins ${r.status}: ${r.text.slice(0, 300)}`;
    },
  };
}
function betterAuthTarget() {
  const base = `http://127.0.0.1:${PEER_PORT}`;
  const post = (url, o) => send(defaultAgent, new CookieJar(), { method: 'POST', url, headers: { 'content-type': 'application/json', origin: base }, body: JSON.stringify(o) });
  return {
    name: 'better-auth',
    cmd: ['node', 'peer-better-auth.mjs'],
    env: { PEER_PORT: String(PEER_PORT), NODE_ENV: 'production', PEER_FRESH_DB: '1', IDP_URL: `http://127.0.0.1:${IDP_PORT}` },
    readyUrl: `${base}/api/auth/get-session`,
    async signUp(email) {
      const r = await post(`${base}/api/auth/sign-up/email`, { email, password: PASSWORD, name: email.split('@')[0] });
      if (r.status !== 200) throw new Error(`sign-up/email ${r.status}: ${r.text.slice(0, 300)}`);
    },
    async signIn(email) {
      const r = await post(`${base}/api/auth/sign-in/email`, { email, password: PASSWORD });
      const sc = [].concat(r.headers['set-cookie'] || []).join(';');
      return r.status === 200 && json(r.text)?.token && sc.includes('better-auth.session_token=') ? null : `sign-in/email ${r.status}: ${r.text.slice(0, 300)}`;
    },
  };
}

async function load(t, emails, total, concurrency) {
  let next = 0; const lat = []; const errs = [];
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    for (;;) {
      const i = next++; if (i >= total) return;
      const s = performance.now();
      const err = await t.signIn(emails[i % emails.length]);
      if (err) errs.push(err); else lat.push(performance.now() - s);
    }
  }));
  const secs = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  return { total, concurrency, ok: lat.length, failed: errs.length, seconds: +secs.toFixed(3), perSec: +(lat.length / secs).toFixed(1), p50: +percentile(lat, 50).toFixed(2), p99: +percentile(lat, 99).toFixed(2), firstError: errs[0] };
}

async function oneRun(t, run) {
  t.prepare?.();
  const server = startProc(t.name, pin(PEER_CPU, t.cmd), t.env);
  try {
    await waitReady(t.readyUrl, server);
    const emails = Array.from({ length: USERS }, (_, i) => `pw-${run}-${i}@bench.test`);
    for (const e of emails) await t.signUp(e);
    const warm = await load(t, emails, WARMUP, Math.min(CONC, WARMUP || 1));
    if (warm.failed) throw new Error(`${t.name} warm-up sign-in failed: ${warm.firstError}`);
    const c0 = cpuMs(server.pid);
    const conc = await load(t, emails, N, CONC);
    const cpu = cpuMs(server.pid) - c0;
    return { run, conc, serverCpuMsPerSignIn: +(cpu / Math.max(1, conc.ok + conc.failed)).toFixed(2) };
  } finally {
    await stopProc(server);
  }
}

fs.mkdirSync(OUT, { recursive: true });
const file = path.join(OUT, 'results-passwords.json');
const prev = fs.existsSync(file) ? json(fs.readFileSync(file, 'utf8')) : null;
function argon2VerifyMs() {
  const f = env('ARGON2_MICRO_JSON', '');
  if (!f || !fs.existsSync(f)) return null;
  const bm = json(fs.readFileSync(f, 'utf8'))?.benchmarks?.find((x) => x.name === 'BM_Argon2idVerifyDefault' && x.run_type !== 'aggregate');
  if (!bm) return null;
  return +((bm.cpu_time * ({ ns: 1, us: 1e3, ms: 1e6, s: 1e9 }[bm.time_unit] || 1)) / 1e6).toFixed(3);
}
const result = {
  command: env('PASSWORDS_COMMAND', 'bash bench/passwords.sh'),
  date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  config: { RUNS, CONC, PW_N: N, PW_USERS: USERS, PW_WARMUP: WARMUP, PEER_CPU, LOAD_CPU },
  argon2idVerifyCpuMs: argon2VerifyMs(),
  targets: {},
};
// Better Auth registers its OAuth provider by discovery at start: give it the harness's IdP.
const idp = startProc('idp', pin(LOAD_CPU, ['node', 'idp.mjs']), { IDP_PORT: String(IDP_PORT) });
let failed = false;
try {
  await waitReady(`http://127.0.0.1:${IDP_PORT}/.well-known/openid-configuration`, idp);
  const targets = [];
  if (ONLY !== 'latchkey') targets.push(() => betterAuthTarget());
  if (ONLY !== 'better-auth') targets.push((run) => latchkeyTarget(run));
  for (const make of targets) {
    const runs = [];
    let name;
    for (let run = 1; run <= RUNS; run++) {
      const t = make(run);
      name = t.name;
      const r = await oneRun(t, run);
      console.error(`passwords ${t.name} run ${run}:`, JSON.stringify(r));
      if (r.conc.failed) failed = true;
      runs.push(r);
    }
    result.targets[name] = { runs };
  }
} finally {
  await stopProc(idp);
}
// ONLY=one side: keep the other side's last results.
for (const [k, v] of Object.entries(prev?.targets || {})) if (!result.targets[k]) result.targets[k] = v;
fs.writeFileSync(file, JSON.stringify(result, null, 2));
process.exit(failed ? 1 : 0);
