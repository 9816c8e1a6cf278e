// bench/peer/run.mjs — copy of ../shared/peer-bench/bench/run.mjs (the peer harness's runner),
// extended so one driver measures both Better Auth and Latchkey the same way:
// - the flow hooks of lib/flow.mjs (firstUrl, after) and target.prepare(run) (fresh data dir);
// - cold start measured twice: first start on a fresh database (the harness's figure) and a
//   restart on the database of that first start;
// - a token-refresh phase for targets that mint session JWTs (target.refresh): wrk with a Lua
//   script over REFRESH_SESSIONS sessions, once with a constant Origin (token reuse allowed) and
//   once alternating the Origin (the token's azp) per session, which forces an RS256 signature
//   on every request;
// - results written as results-<target>.json / .md under OUT.
// bench/run.sh copies this file to <peer-bench copy>/bench/run-latchkey.mjs and lib/flow.mjs to
// <copy>/lib/flow-latchkey.mjs, so `undici` resolves from the harness's node_modules.
//
// CPU layout on a 2-core box: server under test pinned to PEER_CPU (0); the IdP,
// this driver and wrk pinned to LOAD_CPU (1). We also record the server's own
// CPU time per operation (utime+stime from /proc), which does not depend on who
// the bottleneck is and compares servers fairly.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { request } from 'undici';
import { CookieJar, runFlow, runLoad, defaultAgent, httpGet } from '../lib/flow-latchkey.mjs';

const HERE = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const env = (k, d) => (process.env[k] !== undefined ? process.env[k] : d);
const RUNS = Number(env('RUNS', 3));
const N_SEQ = Number(env('N_SEQ', 200));
const N_CONC = Number(env('N_CONC', 800));
const CONC = Number(env('CONC', 16));
const WARMUP = Number(env('WARMUP', 100));
const WRK_SECS = Number(env('WRK_SECS', 10));
const WRK_CONN = Number(env('WRK_CONN', 64));
const PEER_CPU = env('PEER_CPU', '0');
const LOAD_CPU = env('LOAD_CPU', '1');
const IDP_PORT = Number(env('IDP_PORT', 4000));
const IDP = `http://127.0.0.1:${IDP_PORT}`;
const TARGET = env('TARGET', './targets/better-auth.mjs');
const OUT = env('OUT', path.join(HERE, 'results'));
const CLIENT_ID = env('IDP_CLIENT_ID', 'peer-bench');
const CLIENT_SECRET = env('IDP_CLIENT_SECRET', 'peer-bench-secret');
const REFRESH_SESSIONS = Number(env('REFRESH_SESSIONS', 128));

const target = (await import(path.resolve(HERE, TARGET))).default({ port: Number(env('PEER_PORT', 3000)) });
const CLK_TCK = 100; // Linux USER_HZ
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const hasTaskset = (() => { try { execFileSync('taskset', ['-V'], { stdio: 'ignore' }); return true; } catch { return false; } })();
const pin = (cpu, argv) => (hasTaskset && cpu !== '' ? ['taskset', '-c', cpu, ...argv] : argv);

function rssMiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? +(Number(m[1]) / 1024).toFixed(1) : NaN;
}
function cpuMs(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK; // utime+stime
}

function startProc(name, argv, extraEnv) {
  const [cmd, ...args] = argv;
  const child = spawn(cmd, args, { cwd: HERE, env: { ...process.env, LAG_LOG: '1', ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = fs.createWriteStream(path.join(OUT, `${name}.log`), { flags: 'a' });
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
async function waitReady(url, timeoutMs = 30000, okStatus = (s) => s === 200) {
  const t0 = performance.now();
  for (;;) {
    try {
      const r = await request(url, { dispatcher: defaultAgent });
      await r.body.dump();
      if (okStatus(r.statusCode)) return performance.now() - t0;
    } catch { /* not up yet */ }
    if (performance.now() - t0 > timeoutMs) throw new Error(`not ready: ${url}`);
    await sleep(1);
  }
}

// ---------------------------------------------------------------- IdP alone
function b64url(buf) { return buf.toString('base64url'); }
function idpOnlyFlow(hint) {
  const verifier = b64url(crypto.randomBytes(32));
  const challenge = b64url(crypto.createHash('sha256').update(verifier).digest());
  const q = new URLSearchParams({
    response_type: 'code', client_id: CLIENT_ID, redirect_uri: target.redirectUri,
    scope: 'openid email profile', state: b64url(crypto.randomBytes(16)), nonce: b64url(crypto.randomBytes(16)),
    login_hint: hint, code_challenge: challenge, code_challenge_method: 'S256',
  });
  return { url: `${IDP}/auth?${q}`, verifier };
}
async function idpRoundTrip(hint) {
  const { url, verifier } = idpOnlyFlow(hint);
  const jar = new CookieJar();
  const t0 = performance.now();
  const r = await runFlow({ jar, idpOrigin: IDP, start: { url }, stopBefore: (u) => u.startsWith(target.redirectUri) });
  if (!r.ok || !r.final?.url) return { ok: false, ms: 0, error: r.error || 'no redirect to client' };
  const code = new URL(r.final.url).searchParams.get('code');
  const tok = await request(`${IDP}/token`, {
    method: 'POST', dispatcher: defaultAgent,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: target.redirectUri, code_verifier: verifier, client_id: CLIENT_ID, client_secret: CLIENT_SECRET }).toString(),
  });
  const body = await tok.body.json();
  const ms = performance.now() - t0;
  return body.id_token ? { ok: true, ms } : { ok: false, ms, error: JSON.stringify(body) };
}
async function idpLoad(total, concurrency, prefix) {
  let next = 0; const lat = []; const errs = [];
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    for (;;) { const i = next++; if (i >= total) return; const r = await idpRoundTrip(`${prefix}-${i}`); if (r.ok) lat.push(r.ms); else errs.push(r.error); }
  }));
  const s = (performance.now() - t0) / 1000; lat.sort((a, b) => a - b);
  const p = (q) => +lat[Math.min(lat.length - 1, Math.ceil(q * lat.length) - 1)].toFixed(2);
  return { total, concurrency, ok: lat.length, failed: errs.length, seconds: +s.toFixed(3), perSec: +(lat.length / s).toFixed(1), p50: p(0.5), p99: p(0.99), firstError: errs[0] };
}

// ---------------------------------------------------------------- peer flows
function peerFlow(hint, jar = new CookieJar()) {
  return {
    jar, idpOrigin: IDP, start: target.start(hint), stopAfter: target.isCallback,
    verify: { url: target.sessionUrl, ok: target.sessionOk },
    firstUrl: target.firstUrl, after: target.after,
  };
}

function runWrk(cookieHeader, extra = [], url = target.sessionUrl, wrkEnv = {}) {
  const head = cookieHeader ? ['-H', `Cookie: ${cookieHeader}`] : [];
  const args = pin(LOAD_CPU, ['wrk', '-t1', `-c${WRK_CONN}`, `-d${WRK_SECS}s`, '--latency', ...head, ...extra, url]);
  const out = execFileSync(args[0], args.slice(1), { encoding: 'utf8', env: { ...process.env, ...wrkEnv } });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const unit = (v, u) => Number(v) * ({ us: 0.001, ms: 1, s: 1000 }[u]);
  const lat = (p) => { const m = new RegExp(`\\s${p}%\\s+([\\d.]+)(us|ms|s)`).exec(out); return m ? +unit(m[1], m[2]).toFixed(3) : NaN; };
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] || 0);
  const errors = /Socket errors:.*/.exec(out)?.[0] || '';
  return { rps, p50: lat(50), p99: lat(99), non2xx, errors, raw: out };
}

async function oneRun(run) {
  const res = { run };
  const idp = startProc('idp', pin(LOAD_CPU, ['node', 'idp.mjs']), { IDP_PORT: String(IDP_PORT) });
  await waitReady(`${IDP}/.well-known/openid-configuration`);
  await sleep(50);
  // Another process on the port would answer the probe while ours exits (EADDRINUSE).
  if (idp.exitCode !== null) throw new Error(`the IdP exited (${idp.exitCode}); is port ${IDP_PORT} taken? see ${OUT}/idp.log`);
  let peer;
  try {
    // --- cold start: spawn -> first 200 on readyUrl (includes IdP discovery, DB migrations)
    target.prepare?.(run);
    let t0 = performance.now();
    peer = startProc(target.name, pin(PEER_CPU, target.cmd), { ...target.env, PEER_FRESH_DB: '1', IDP_URL: IDP });
    await waitReady(target.readyUrl, 60000);
    res.coldStartMs = +(performance.now() - t0).toFixed(1);
    if (peer.exitCode !== null) throw new Error(`${target.name} exited (${peer.exitCode}); is its port taken? see ${OUT}/${target.name}.log`);
    res.coldStartCpuMs = cpuMs(peer.pid);
    await stopProc(peer);
    // --- restart on the database the first start made (the usual deploy/restart case)
    t0 = performance.now();
    peer = startProc(target.name, pin(PEER_CPU, target.cmd), { ...target.env, IDP_URL: IDP });
    await waitReady(target.readyUrl, 60000);
    res.restartMs = +(performance.now() - t0).toFixed(1);
    res.restartCpuMs = cpuMs(peer.pid);
    await sleep(1000);
    res.rssIdleMiB = rssMiB(peer.pid);

    // --- IdP alone (authorize -> interaction -> resume -> code, then token)
    const idpCpu0 = cpuMs(idp.pid);
    for (let i = 0; i < WARMUP; i++) await idpRoundTrip(`warm-idp-${run}-${i}`);
    res.idpSeq = await idpLoad(N_SEQ, 1, `idp-seq-${run}`);
    res.idpConc = await idpLoad(N_CONC, CONC, `idp-conc-${run}`);
    res.idpCpuMsPerFlow = +((cpuMs(idp.pid) - idpCpu0) / (WARMUP + N_SEQ + N_CONC)).toFixed(2);

    // --- warm the peer (JIT, connection pools, JWKS cache): distinct new users
    for (let i = 0; i < WARMUP; i++) {
      const r = await runFlow(peerFlow(`warm-${run}-${i}`));
      if (!r.ok) throw new Error(`warmup flow failed: ${r.error}`);
    }
    // --- NEW users (each login_hint never seen before)
    let c0 = cpuMs(peer.pid); let i0 = cpuMs(idp.pid);
    res.newSeq = await runLoad({ total: N_SEQ, concurrency: 1, makeFlow: (i) => peerFlow(`new-seq-${run}-${i}`) });
    res.newConc = await runLoad({ total: N_CONC, concurrency: CONC, makeFlow: (i) => peerFlow(`new-conc-${run}-${i}`) });
    res.newPeerCpuMsPerFlow = +((cpuMs(peer.pid) - c0) / (N_SEQ + N_CONC)).toFixed(2);
    res.newIdpCpuMsPerFlow = +((cpuMs(idp.pid) - i0) / (N_SEQ + N_CONC)).toFixed(2);
    // --- RETURNING users (exist in the peer DB; fresh browser: no RP or IdP cookies)
    c0 = cpuMs(peer.pid); i0 = cpuMs(idp.pid);
    res.retSeq = await runLoad({ total: N_SEQ, concurrency: 1, makeFlow: (i) => peerFlow(`new-seq-${run}-${i}`) });
    res.retConc = await runLoad({ total: N_CONC, concurrency: CONC, makeFlow: (i) => peerFlow(`new-conc-${run}-${i}`) });
    res.retPeerCpuMsPerFlow = +((cpuMs(peer.pid) - c0) / (N_SEQ + N_CONC)).toFixed(2);
    res.retIdpCpuMsPerFlow = +((cpuMs(idp.pid) - i0) / (N_SEQ + N_CONC)).toFixed(2);

    // --- session check under wrk (one valid session cookie, 64 connections)
    const jar = new CookieJar();
    const r = await runFlow(peerFlow(`wrk-user-${run}`, jar));
    if (!r.ok) throw new Error(`session setup failed: ${r.error}`);
    const cookie = target.sessionCookieNames.map((n) => `${n}=${jar.get(target.base, n)}`).join('; ');
    c0 = cpuMs(peer.pid);
    const w = runWrk(cookie);
    res.session = { rps: w.rps, p50: w.p50, p99: w.p99, non2xx: w.non2xx, errors: w.errors };
    res.sessionPeerCpuUsPerReq = +(((cpuMs(peer.pid) - c0) * 1000) / (w.rps * WRK_SECS)).toFixed(1);
    fs.writeFileSync(path.join(OUT, `wrk-run${run}.txt`), w.raw);
    // a response from the wrk'd endpoint must really be a session
    const check = await httpGet(target.sessionUrl, new CookieJar(), defaultAgent, { cookie });
    res.session.validBody = target.sessionOk(check.status, check.text);

    // --- token refresh (targets that mint session JWTs): REFRESH_SESSIONS signed-in browsers
    if (target.refresh) {
      const lines = [];
      for (let i = 0; i < REFRESH_SESSIONS; i++) {
        const j = new CookieJar();
        const f = await runFlow(peerFlow(`refresh-${run}-${i}`, j));
        if (!f.ok) throw new Error(`refresh session setup failed: ${f.error}`);
        const sid = target.sessionId(f.final.text);
        const ck = target.sessionCookieNames.map((n) => `${n}=${j.get(target.base, n)}`).join('; ');
        lines.push(`${ck}\t${new URL(target.refresh.url(sid)).pathname}`);
        if (i === 0) {
          const r1 = await request(target.refresh.url(sid), { method: 'POST', dispatcher: defaultAgent, headers: { cookie: ck, origin: target.refresh.origins[0] } });
          const body = await r1.body.text();
          if (!target.refresh.ok(r1.statusCode, body)) throw new Error(`refresh check failed ${r1.statusCode}: ${body.slice(0, 200)}`);
        }
      }
      const sessFile = path.join(OUT, `refresh-sessions-run${run}.tsv`);
      fs.writeFileSync(sessFile, `${lines.join('\n')}\n`);
      const lua = path.join(path.dirname(new URL(import.meta.url).pathname), 'refresh.lua');
      for (const mode of ['reuse', 'mint']) {
        c0 = cpuMs(peer.pid);
        const w2 = runWrk('', ['-s', lua], target.base, {
          REFRESH_SESSIONS_FILE: sessFile, REFRESH_MODE: mode,
          ORIGIN_A: target.refresh.origins[0], ORIGIN_B: target.refresh.origins[1],
        });
        res[`refresh_${mode}`] = { rps: w2.rps, p50: w2.p50, p99: w2.p99, non2xx: w2.non2xx, errors: w2.errors };
        res[`refresh_${mode}CpuUsPerReq`] = +(((cpuMs(peer.pid) - c0) * 1000) / (w2.rps * WRK_SECS)).toFixed(1);
        fs.writeFileSync(path.join(OUT, `wrk-refresh-${mode}-run${run}.txt`), w2.raw);
      }
    }
    await sleep(500);
    res.rssAfterMiB = rssMiB(peer.pid);
  } finally {
    await stopProc(peer);
    await stopProc(idp);
  }
  return res;
}

function netstat() {
  // TcpExt ListenOverflows / TCPSynRetrans: a stall source worth knowing about
  const t = fs.readFileSync('/proc/net/netstat', 'utf8').split('\n');
  const out = {};
  for (let i = 0; i + 1 < t.length; i += 2) {
    const ks = t[i].split(' '); const vs = t[i + 1].split(' ');
    ks.forEach((k, j) => { if (['ListenOverflows', 'TCPSynRetrans', 'TCPTimeouts'].includes(k)) out[k] = Number(vs[j]); });
  }
  return out;
}
function median(xs) { const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b); return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN; }
function get(o, k) { return k.split('.').reduce((a, b) => a?.[b], o); }

fs.mkdirSync(OUT, { recursive: true });
for (const f of ['idp.log', `${target.name}.log`]) fs.rmSync(path.join(OUT, f), { force: true });
const runs = [];
for (let run = 1; run <= RUNS; run++) {
  const n0 = netstat();
  const r = await oneRun(run);
  const n1 = netstat();
  r.tcp = Object.fromEntries(Object.keys(n1).map((k) => [k, n1[k] - (n0[k] || 0)]));
  runs.push(r);
  console.error(`run ${run}:`, JSON.stringify(r));
}
const keys = [
  ['coldStartMs', 'cold start, fresh database: spawn to first 200 (ms)'], ['coldStartCpuMs', '  server CPU ms to first 200'],
  ['restartMs', 'restart on existing database: spawn to first 200 (ms)'], ['restartCpuMs', '  server CPU ms to first 200'],
  ['idpSeq.perSec', 'IdP alone authorize+token, sequential: flows/s'], ['idpSeq.p50', '  p50 ms'], ['idpSeq.p99', '  p99 ms'],
  [`idpConc.perSec`, `IdP alone authorize+token, c=${CONC}: flows/s`], ['idpConc.p50', '  p50 ms'], ['idpConc.p99', '  p99 ms'],
  ['idpCpuMsPerFlow', 'IdP CPU ms per authorize+token'],
  ['newSeq.perSec', 'OAuth sign-in NEW user, sequential: flows/s'], ['newSeq.p50', '  p50 ms'], ['newSeq.p99', '  p99 ms'],
  ['newConc.perSec', `OAuth sign-in NEW user, c=${CONC}: flows/s`], ['newConc.p50', '  p50 ms'], ['newConc.p99', '  p99 ms'],
  ['newPeerCpuMsPerFlow', 'peer CPU ms per NEW-user flow'], ['newIdpCpuMsPerFlow', 'IdP CPU ms per NEW-user flow'],
  ['retSeq.perSec', 'OAuth sign-in RETURNING user, sequential: flows/s'], ['retSeq.p50', '  p50 ms'], ['retSeq.p99', '  p99 ms'],
  ['retConc.perSec', `OAuth sign-in RETURNING user, c=${CONC}: flows/s`], ['retConc.p50', '  p50 ms'], ['retConc.p99', '  p99 ms'],
  ['retPeerCpuMsPerFlow', 'peer CPU ms per RETURNING-user flow'], ['retIdpCpuMsPerFlow', 'IdP CPU ms per RETURNING-user flow'],
  ['session.rps', `get-session, wrk c=${WRK_CONN} ${WRK_SECS}s: req/s`], ['session.p50', '  p50 ms'], ['session.p99', '  p99 ms'],
  ['sessionPeerCpuUsPerReq', 'peer CPU µs per get-session'],
  ['refresh_reuse.rps', `token refresh, same Origin (reuse allowed), wrk c=${WRK_CONN}: req/s`], ['refresh_reuse.p99', '  p99 ms'],
  ['refresh_reuseCpuUsPerReq', 'server CPU µs per refresh (reuse)'],
  ['refresh_mint.rps', `token refresh, every request signs (RS256), wrk c=${WRK_CONN}: req/s`], ['refresh_mint.p50', '  p50 ms'], ['refresh_mint.p99', '  p99 ms'],
  ['refresh_mintCpuUsPerReq', 'server CPU µs per refresh (signing)'],
  ['rssIdleMiB', 'peer RSS idle (MiB)'], ['rssAfterMiB', 'peer RSS after load (MiB)'],
];
const failures = runs.flatMap((r) => ['idpSeq', 'idpConc', 'newSeq', 'newConc', 'retSeq', 'retConc'].map((k) => r[k]?.failed ? `${k}(run ${r.run}): ${r[k].failed} failed, e.g. ${r[k].firstError}` : null).filter(Boolean));
const rows = keys.map(([k, label]) => `| ${label} | ${median(runs.map((r) => get(r, k)))} | ${runs.map((r) => get(r, k)).join(' / ')} |`);
const table = [`| metric (${target.name}) | median of ${RUNS} | runs |`, '|---|---|---|', ...rows].join('\n');
fs.writeFileSync(path.join(OUT, `results-${target.name}.json`), JSON.stringify({ target: target.name, config: { RUNS, N_SEQ, N_CONC, CONC, WARMUP, WRK_SECS, WRK_CONN, PEER_CPU, LOAD_CPU, REFRESH_SESSIONS }, runs }, null, 2));
fs.writeFileSync(path.join(OUT, `results-${target.name}.md`), `${table}\n`);
console.log(table);
if (failures.length) console.log(`\nFAILURES:\n${failures.join('\n')}`);
if (runs.some((r) => r.session && !r.session.validBody)) console.log('WARNING: wrk cookie did not yield a valid session body');
process.exit(failures.length ? 1 : 0);
