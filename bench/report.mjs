// bench/report.mjs — turns one bench/run.sh run into docs/benchmarks.md (stdout).
// Input folder (argv[2]): results-latchkey.json, results-better-auth.json (bench/peer/run.mjs),
// micro.json (Google Benchmark), openssl-speed.txt. Only node built-ins.
// The hand-written analysis (what bounds each figure, profiles) is bench/analysis.md, appended.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { storageSection } from './storage/render.mjs';
import { passwordSection } from './passwords/render.mjs';

const dir = process.argv[2];
const here = path.dirname(new URL(import.meta.url).pathname);
const readJson = (f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
const lk = readJson('results-latchkey.json');
const ba = readJson('results-better-auth.json');
const micro = readJson('micro.json');
const speed = fs.readFileSync(path.join(dir, 'openssl-speed.txt'), 'utf8');
const sh = (cmd, args) => { try { return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(); } catch { return '?'; } };

const get = (o, k) => k.split('.').reduce((a, b) => a?.[b], o);
function median(xs) {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
const med = (res, k) => median(res.runs.map((r) => get(r, k)));
const all = (res, k) => res.runs.map((r) => get(r, k)).map((v) => (Number.isFinite(v) ? v : '–')).join(' / ');
const fmt = (v, d = 1) => {
  if (!Number.isFinite(v)) return 'n/a';
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US');
  return Number(v.toFixed(Math.abs(v) < 10 ? Math.max(d, 2) : d)).toString();
};
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? a / b : NaN);

// ---- raw OpenSSL RS256 ---------------------------------------------------------------------------
const m = /^rsa 2048 bits\s+\S+\s+\S+\s+([\d.]+)\s+([\d.]+)/m.exec(speed);
const opensslSign = m ? Number(m[1]) : NaN;
const opensslVerify = m ? Number(m[2]) : NaN;

// ---- figures -------------------------------------------------------------------------------------
// [label, key, unit, better ('lower'|'higher'), digits]
const rows = [
  ['OAuth sign-in, NEW user: server CPU per flow', 'newPeerCpuMsPerFlow', 'ms', 'lower'],
  ['OAuth sign-in, NEW user, sequential', 'newSeq.perSec', 'flows/s', 'higher'],
  ['  p50 latency (includes the IdP)', 'newSeq.p50', 'ms', 'lower'],
  [`OAuth sign-in, NEW user, c=${lk.config.CONC}`, 'newConc.perSec', 'flows/s', 'higher'],
  ['  p99 latency', 'newConc.p99', 'ms', 'lower'],
  ['OAuth sign-in, RETURNING user: server CPU per flow', 'retPeerCpuMsPerFlow', 'ms', 'lower'],
  ['OAuth sign-in, RETURNING user, sequential', 'retSeq.perSec', 'flows/s', 'higher'],
  ['  p50 latency (includes the IdP)', 'retSeq.p50', 'ms', 'lower'],
  [`OAuth sign-in, RETURNING user, c=${lk.config.CONC}`, 'retConc.perSec', 'flows/s', 'higher'],
  ['  p99 latency', 'retConc.p99', 'ms', 'lower'],
  ['IdP CPU per flow (same IdP for both; NEW users)', 'newIdpCpuMsPerFlow', 'ms', 'lower'],
  [`session check, wrk c=${lk.config.WRK_CONN}`, 'session.rps', 'req/s', 'higher'],
  ['  p50 latency', 'session.p50', 'ms', 'lower'],
  ['  p99 latency', 'session.p99', 'ms', 'lower'],
  ['  server CPU per check', 'sessionPeerCpuUsPerReq', 'µs', 'lower'],
  ['token refresh, every request signs RS256', 'refresh_mint.rps', 'req/s', 'higher'],
  ['  p99 latency', 'refresh_mint.p99', 'ms', 'lower'],
  ['  server CPU per refresh', 'refresh_mintCpuUsPerReq', 'µs', 'lower'],
  ['token refresh, same Origin (token reuse within 5 s)', 'refresh_reuse.rps', 'req/s', 'higher'],
  ['  server CPU per refresh', 'refresh_reuseCpuUsPerReq', 'µs', 'lower'],
  ['RSS idle (1 s after ready)', 'rssIdleMiB', 'MiB', 'lower'],
  ['RSS after load', 'rssAfterMiB', 'MiB', 'lower'],
  ['cold start, fresh data dir: spawn → first 200', 'coldStartMs', 'ms', 'lower'],
  ['  server CPU to first 200 (10 ms ticks)', 'coldStartCpuMs', 'ms', 'lower'],
  ['restart on existing data: spawn → first 200', 'restartMs', 'ms', 'lower'],
  ['  server CPU to first 200 (10 ms ticks)', 'restartCpuMs', 'ms', 'lower'],
];
const figTable = ['| figure (median of runs) | Latchkey | Better Auth | Latchkey vs Better Auth |', '|---|---|---|---|'];
for (const [label, key, unit, better] of rows) {
  const a = med(lk, key);
  const b = med(ba, key);
  let cmp = 'n/a';
  if (Number.isFinite(a) && Number.isFinite(b) && a > 0 && b > 0) {
    const r = better === 'higher' ? a / b : b / a;
    cmp = `${r >= 1 ? `${fmt(r)}x better` : `${fmt(1 / r)}x worse`} (ratio ${fmt(a / b, 3)})`;
  }
  figTable.push(`| ${label} (${unit}) | ${fmt(a)} | ${Number.isFinite(b) ? fmt(b) : 'n/a'} | ${cmp} |`);
}

// ---- targets (issue 6 §4, issue 2) -----------------------------------------------------------------
const tgt = [];
const T = (name, value, ok, detail) => tgt.push(`| ${name} | ${value} | ${ok ? '**met**' : '**missed**'} | ${detail} |`);
{
  const r = ratio(med(lk, 'newPeerCpuMsPerFlow'), med(ba, 'newPeerCpuMsPerFlow'));
  T('server CPU per OAuth sign-in ≤ 1/10 of the peer (NEW users)', `${fmt(r, 3)}`, r <= 0.1, `${fmt(med(lk, 'newPeerCpuMsPerFlow'))} ms vs ${fmt(med(ba, 'newPeerCpuMsPerFlow'))} ms`);
  const r2 = ratio(med(lk, 'retPeerCpuMsPerFlow'), med(ba, 'retPeerCpuMsPerFlow'));
  T('server CPU per OAuth sign-in ≤ 1/10 of the peer (RETURNING users)', `${fmt(r2, 3)}`, r2 <= 0.1, `${fmt(med(lk, 'retPeerCpuMsPerFlow'))} ms vs ${fmt(med(ba, 'retPeerCpuMsPerFlow'))} ms`);
  const s = ratio(med(lk, 'session.rps'), med(ba, 'session.rps'));
  T('session checks ≥ 20x the peer\'s req/s (one core each)', `${fmt(s)}x`, s >= 20, `${fmt(med(lk, 'session.rps'))} vs ${fmt(med(ba, 'session.rps'))} req/s; CPU per check ${fmt(med(lk, 'sessionPeerCpuUsPerReq'))} vs ${fmt(med(ba, 'sessionPeerCpuUsPerReq'))} µs`);
  const t = ratio(med(lk, 'refresh_mint.rps'), opensslSign);
  T('token refresh (every request signs) ≥ 80% of raw RS256 signing rate', `${fmt(100 * t, 3)}%`, t >= 0.8, `${fmt(med(lk, 'refresh_mint.rps'))} req/s vs openssl speed rsa2048 ${fmt(opensslSign)} sign/s, same core, same run`);
  const ri = med(lk, 'rssIdleMiB');
  T('RSS idle < 10 MB', `${fmt(ri)} MiB`, ri * 1.048576 < 10, `peer ${fmt(med(ba, 'rssIdleMiB'))} MiB`);
  const ra = ratio(med(lk, 'rssAfterMiB'), med(ba, 'rssAfterMiB'));
  T('RSS after load < 1/5 of the peer', `${fmt(ra, 3)}`, ra < 0.2, `${fmt(med(lk, 'rssAfterMiB'))} vs ${fmt(med(ba, 'rssAfterMiB'))} MiB`);
  const c = ratio(med(lk, 'coldStartMs'), med(ba, 'coldStartMs'));
  T('cold start < 1/10 of the peer (fresh data dir)', `${fmt(c, 3)}`, c < 0.1, `${fmt(med(lk, 'coldStartMs'))} vs ${fmt(med(ba, 'coldStartMs'))} ms`);
  const c2 = ratio(med(lk, 'restartMs'), med(ba, 'restartMs'));
  T('cold start < 1/10 of the peer (restart, existing data)', `${fmt(c2, 3)}`, c2 < 0.1, `${fmt(med(lk, 'restartMs'))} vs ${fmt(med(ba, 'restartMs'))} ms`);
  const a = med(lk, 'coldStartMs');
  T('issue 2: cold start to first served request < 50 ms (fresh data dir)', `${fmt(a)} ms`, a < 50, 'includes migrations and generating the RSA-2048 signing key');
  const b = med(lk, 'restartMs');
  T('issue 2: cold start to first served request < 50 ms (restart)', `${fmt(b)} ms`, b < 50, 'migrations already applied, key loaded and unsealed');
}

// ---- micro ---------------------------------------------------------------------------------------
const microRows = ['| benchmark | CPU time per op | wall time per op | ops/s per core (by CPU time) |', '|---|---|---|---|'];
const dur = (ns) => (ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : ns >= 1e3 ? `${(ns / 1e3).toFixed(2)} µs` : `${ns.toFixed(0)} ns`);
for (const bm of micro.benchmarks.filter((x) => x.run_type !== 'aggregate')) {
  const unit = { ns: 1, us: 1e3, ms: 1e6, s: 1e9 }[bm.time_unit] || 1;
  const cpu = bm.cpu_time * unit;
  microRows.push(`| ${bm.name} | ${dur(cpu)} | ${dur(bm.real_time * unit)} | ${fmt(1e9 / cpu)} |`);
}

// ---- per-run detail ------------------------------------------------------------------------------
function runTable(res) {
  const keys = [
    ['coldStartMs', 'cold start fresh (ms)'], ['coldStartCpuMs', '  CPU (ms)'], ['restartMs', 'restart (ms)'], ['restartCpuMs', '  CPU (ms)'], ['rssIdleMiB', 'RSS idle (MiB)'],
    ['idpSeq.perSec', 'IdP alone, sequential (flows/s)'], ['idpCpuMsPerFlow', 'IdP CPU per authorize+token (ms)'],
    ['newSeq.perSec', 'NEW seq (flows/s)'], ['newSeq.p50', '  p50 ms'], ['newSeq.p99', '  p99 ms'],
    ['newConc.perSec', `NEW c=${res.config.CONC} (flows/s)`], ['newConc.p50', '  p50 ms'], ['newConc.p99', '  p99 ms'],
    ['newPeerCpuMsPerFlow', 'server CPU per NEW flow (ms)'], ['newIdpCpuMsPerFlow', 'IdP CPU per NEW flow (ms)'],
    ['retSeq.perSec', 'RETURNING seq (flows/s)'], ['retSeq.p50', '  p50 ms'], ['retSeq.p99', '  p99 ms'],
    ['retConc.perSec', `RETURNING c=${res.config.CONC} (flows/s)`], ['retConc.p50', '  p50 ms'], ['retConc.p99', '  p99 ms'],
    ['retPeerCpuMsPerFlow', 'server CPU per RETURNING flow (ms)'], ['retIdpCpuMsPerFlow', 'IdP CPU per RETURNING flow (ms)'],
    ['session.rps', 'session check (req/s)'], ['session.p50', '  p50 ms'], ['session.p99', '  p99 ms'],
    ['sessionPeerCpuUsPerReq', 'server CPU per session check (µs)'],
    ['refresh_mint.rps', 'refresh, signing (req/s)'], ['refresh_mint.p50', '  p50 ms'], ['refresh_mint.p99', '  p99 ms'],
    ['refresh_mintCpuUsPerReq', 'server CPU per refresh, signing (µs)'],
    ['refresh_reuse.rps', 'refresh, reuse (req/s)'], ['refresh_reuseCpuUsPerReq', 'server CPU per refresh, reuse (µs)'],
    ['rssAfterMiB', 'RSS after load (MiB)'],
  ];
  const out = [`| ${res.target} | median | runs |`, '|---|---|---|'];
  for (const [k, label] of keys) {
    const v = med(res, k);
    if (!Number.isFinite(v)) continue;
    out.push(`| ${label} | ${fmt(v)} | ${all(res, k)} |`);
  }
  const fails = res.runs.flatMap((r) => ['newSeq', 'newConc', 'retSeq', 'retConc', 'idpSeq', 'idpConc'].filter((k) => r[k]?.failed).map((k) => `run ${r.run} ${k}: ${r[k].failed} failed (${r[k].firstError})`));
  const non2xx = res.runs.flatMap((r) => ['session', 'refresh_mint', 'refresh_reuse'].filter((k) => r[k]?.non2xx || r[k]?.errors).map((k) => `run ${r.run} ${k}: non-2xx ${r[k].non2xx} ${r[k].errors}`));
  const invalid = res.runs.filter((r) => r.session && !r.session.validBody).map((r) => `run ${r.run}: the wrk cookie did not give a valid session body`);
  const problems = [...fails, ...non2xx, ...invalid];
  return `${out.join('\n')}\n${problems.length ? `\nProblems: ${problems.join('; ')}\n` : '\nNo failed flows, no non-2xx responses.\n'}`;
}

// ---- machine and versions -------------------------------------------------------------------------
const cpuModel = (/model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8')) || [])[1] || '?';
const debian = sh('cat', ['/etc/debian_version']);
const lockFile = path.join(process.env.PEER_BENCH_COPY || '', 'package-lock.json');
let lockVersions = {};
try {
  const lock = JSON.parse(fs.readFileSync(lockFile, 'utf8'));
  for (const n of ['better-auth', 'better-sqlite3', 'oidc-provider', 'undici', 'kysely', 'better-call']) {
    lockVersions[n] = lock.packages?.[`node_modules/${n}`]?.version || '?';
  }
} catch { lockVersions = {}; }
const git = sh('git', ['-C', path.join(here, '..'), 'describe', '--always', '--dirty']);
const lkVersion = sh(process.env.LATCHKEY_BIN || 'latchkey', ['version']).split('\n')[0];
const dpkg = (p) => sh('dpkg-query', ['-W', '-f=${Version}', p]);
const cfg = lk.config;
const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const analysisFile = path.join(here, 'analysis.md');
const analysis = fs.existsSync(analysisFile) ? fs.readFileSync(analysisFile, 'utf8') : '';
// bench/storage.sh's results, when present (bench/run.sh runs it unless STORAGE=0).
const storageFile = path.join(dir, 'results-storage.json');
const storageAnalysisFile = path.join(here, 'storage', 'analysis.md');
const storage = fs.existsSync(storageFile)
  ? `${storageSection(JSON.parse(fs.readFileSync(storageFile, 'utf8')), fs.existsSync(storageAnalysisFile) ? fs.readFileSync(storageAnalysisFile, 'utf8') : '')}\n`
  : '';

// bench/passwords/run.mjs's results, when present (bench/run.sh runs it unless PASSWORDS=0).
const passwordsFile = path.join(dir, 'results-passwords.json');
const passwords = fs.existsSync(passwordsFile) ? `${passwordSection(JSON.parse(fs.readFileSync(passwordsFile, 'utf8')))}\n` : '';

process.stdout.write(`# Benchmarks: Latchkey side by side with Better Auth

Generated by \`${process.env.BENCH_COMMAND || 'bash bench/run.sh'}\` on ${date}. Everything below comes from that command;
re-run the command to refresh it (raw results: \`build/bench/results/\`).

- **Machine**: ${os.cpus().length} vCPU \`${cpuModel}\`, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, kernel ${os.release()}, Debian ${debian}.
- **Latchkey**: ${lkVersion} (git ${git}), Release build (g++ ${dpkg('g++-12')}, -O3), OpenSSL ${dpkg('libssl3')}, SQLite ${dpkg('libsqlite3-0')}, Boost 1.81.
  Configuration: defaults (\`server.threads = 1\`, \`server.workers = 2\`, RS256 2048-bit key, SQLite WAL) except
  \`logging.access_log = false\`, \`logging.level = warn\` (the peer writes no per-request log either) and
  \`ratelimit.enabled = false\` (a benchmark from one IP trips the abuse limits; the harness turns the peer's off too).
- **Peer**: better-auth ${lockVersions['better-auth'] || '?'} on Node ${process.version} (NODE_ENV=production), better-sqlite3 ${lockVersions['better-sqlite3'] || '?'}, kysely ${lockVersions.kysely || '?'}.
- **IdP** (both): oidc-provider ${lockVersions['oidc-provider'] || '?'} (\`../shared/peer-bench/idp.mjs\`); driver: undici ${lockVersions.undici || '?'}; wrk ${dpkg('wrk')}.
- **Pinning**: the server under test alone on cpu ${cfg.PEER_CPU}; the IdP, the driver and wrk on cpu ${cfg.LOAD_CPU}. Server CPU
  per operation is utime+stime of the server process from \`/proc/<pid>/stat\`, as the harness does.
- **Sizes**: ${cfg.RUNS} run(s), each with a fresh IdP, a fresh server and a fresh database; ${cfg.WARMUP} warm-up flows, ${cfg.N_SEQ} sequential
  + ${cfg.N_CONC} flows at c=${cfg.CONC} per row; wrk ${cfg.WRK_SECS} s with ${cfg.WRK_CONN} connections; ${cfg.REFRESH_SESSIONS} sessions for token refresh. The machine is
  shared and noisy: compare the CPU-per-operation rows first, they do not depend on who is the bottleneck.

## What each timed flow includes

| step | Better Auth | Latchkey |
|---|---|---|
| start | \`POST /api/auth/sign-in/social\` (JSON) → 200 \`{url}\` + state cookie | \`POST /__clerk/v1/client/sign_ins\` \`strategy=oauth_google&redirect_url=/sso-callback&identifier=<hint>\` → 200 sign-in JSON + \`__client\` cookie |
| IdP | authorize → interaction → resume (303s, same IdP, same code) | the same three hops |
| callback | \`GET /api/auth/callback/idp\` → 302 \`/\` + session cookie (code exchange, id_token check, user/account/session rows) | \`GET /__clerk/v1/oauth_callback\` → 303 \`/sso-callback\` (code exchange, ID token validation per OIDC Core 3.1.3.7, user lookup; the session for a returning user) |
| after the callback | — (signed in) | \`GET /__clerk/v1/client\` (what the SDK reads on the callback page); NEW users also \`POST /__clerk/v1/client/sign_ups transfer=true\` (creates user, email, external account, session; the response carries an RS256 session token) |
| not timed | landing page \`/\`; verifying \`GET /api/auth/get-session\` | the app's \`/sso-callback\` page; verifying \`GET /__clerk/v1/client\` |

So Latchkey's timed flow has one request more than the peer's for returning users and two more for new users; its
CPU per flow includes them. NEW = a login hint never seen before; RETURNING = the same hints again from a fresh
browser (no cookies), so the IdP hops are identical and the difference isolates create vs lookup.

Session check = \`GET /api/auth/get-session\` (peer) vs \`GET /__clerk/v1/client\` (Latchkey), one session cookie,
wrk \`-c${cfg.WRK_CONN}\`; Latchkey's answer is the full client (user, emails, external account, session and its current
session JWT). Token refresh = \`POST /__clerk/v1/client/sessions/{id}/tokens\` (the SDK's \`getToken()\`); the peer as
configured by the harness mints no JWTs, so this row has no peer figure and is compared with the raw RS256 signing
rate instead. "Every request signs" alternates the request's Origin (so the token's \`azp\`) per session so that
no token can be reused; "same Origin" lets the server hand back a token it minted less than 5 s ago (same claims,
same key, at least 55 of 60 s of validity left).

## Side by side

${figTable.join('\n')}

Raw OpenSSL on the same core in the same run (\`openssl speed -seconds N rsa2048\`): **${fmt(opensslSign)} RS256 signatures/s**, ${fmt(opensslVerify)} verifications/s.

## Targets

| target | value | | detail |
|---|---|---|---|
${tgt.join('\n')}

## Micro benchmarks (\`build/bench/bench/micro/latchkey_micro\`, pinned to one core)

${microRows.join('\n')}

## Every run

${runTable(lk)}
${runTable(ba)}
${passwords}${storage}${analysis}`);
