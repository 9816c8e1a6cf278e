// bench/storage/run.mjs — the storage benchmark (issue 4 item 6), driven by bench/storage.sh.
// Session check (wrk GET /v1/client with a __client cookie) and token refresh (wrk POST
// /v1/client/sessions/{id}/tokens, same Origin = token reuse allowed, and alternating Origin =
// every request signs) against:
//   sqlite-1      one node on SQLite
//   pg-1          one node on PostgreSQL
//   pg-1-nginx    nginx in front of one node on PostgreSQL (the proxy's own cost)
//   pg-2-nginx    two nodes on one PostgreSQL behind nginx, round robin
//   pg-1-w4       one node on PostgreSQL with server.workers = 4 (as many workers as two default nodes)
//   pg-1-w8       (optional) the same with server.workers = 8
// Sessions are made by the peer harness's OAuth flow (bench/peer/lib/flow.mjs, bench/peer/latchkey.mjs)
// against its IdP, through the same front (node or nginx) that wrk then hits; with two nodes the
// flow's requests land on both nodes.
//
// bench/storage.sh copies this file to <peer-bench copy>/bench/storage-latchkey.mjs so `undici` and
// the flow driver resolve from the copy. Writes OUT/results-storage.json and OUT/results-storage.md.
//
// CPU per request = utime+stime from /proc/<pid>/stat over the wrk run, divided by the requests wrk
// completed: summed over the Latchkey nodes; PostgreSQL's = every process of the cluster (the
// postmaster and its children: the pooled backends, walwriter, ...); nginx's = its one process.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { request } from 'undici';
import { CookieJar, runFlow, defaultAgent, httpGet } from '../lib/flow-latchkey.mjs';
import makeTarget from '../targets/latchkey.mjs';

const HERE = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const env = (k, d) => (process.env[k] !== undefined && process.env[k] !== '' ? process.env[k] : d);
const OUT = env('OUT', path.join(HERE, 'results'));
const WORK = env('STORAGE_WORK', path.join(OUT, 'storage-work'));
const BIN = env('LATCHKEY_BIN', 'latchkey');
const NGINX = env('NGINX_BIN', '/usr/sbin/nginx');
const PG_URL = env('PG_URL', '');            // postgres://latchkey@127.0.0.1:PORT/latchkey (trust auth)
const PG_DIR = env('PG_DIR', '');            // the cluster dir (data/postmaster.pid, server.log)
const ENC_KEY = env('ENC_KEY', '');          // keys.encryption_key for PostgreSQL nodes
const PEER_CPU = env('PEER_CPU', '0');
const LOAD_CPU = env('LOAD_CPU', '1');
const NODE_CPUS = env('NODE_CPUS', PEER_CPU).split(',');  // node i runs on NODE_CPUS[i % len]
const WRK_SECS = Number(env('WRK_SECS', 10));
const WRK_CONN = Number(env('WRK_CONN', 64));
const REFRESH_SESSIONS = Number(env('REFRESH_SESSIONS', 128));
const PROBE_N = Number(env('PROBE_N', 50));
const PERF = env('PERF', '').split(',').filter(Boolean);
const SCENARIOS = env('SCENARIOS', 'sqlite-1,pg-1,pg-1-w4,pg-1-nginx,pg-2-nginx').split(',').filter(Boolean);
const CLK_TCK = 100;  // Linux USER_HZ
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pin = (cpu, argv) => ['taskset', '-c', cpu, ...argv];

const CATALOG = {
  'sqlite-1': { label: 'one node, SQLite', nodes: 1, db: 'sqlite', proxy: false },
  'pg-1': { label: 'one node, PostgreSQL', nodes: 1, db: 'pg', proxy: false, probe: true },
  'pg-1-nginx': { label: 'nginx → one node, PostgreSQL', nodes: 1, db: 'pg', proxy: true },
  'pg-2-nginx': { label: 'nginx → two nodes, PostgreSQL (round robin)', nodes: 2, db: 'pg', proxy: true },
  'pg-1-w4': { label: 'one node, PostgreSQL, server.workers = 4', nodes: 1, db: 'pg', proxy: false, workers: 4 },
  'pg-1-w8': { label: 'one node, PostgreSQL, server.workers = 8', nodes: 1, db: 'pg', proxy: false, workers: 8 },
};
for (const s of SCENARIOS) {
  if (!CATALOG[s]) throw new Error(`unknown scenario ${s}; known: ${Object.keys(CATALOG).join(', ')}`);
  if (CATALOG[s].db === 'pg' && (!PG_URL || !PG_DIR || !ENC_KEY)) throw new Error(`${s} needs PG_URL, PG_DIR and ENC_KEY`);
}

// ---------------------------------------------------------------- processes and /proc
function cpuMsOf(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;  // utime+stime
  } catch { return 0; }  // exited
}
function pgPids() {
  if (!PG_DIR) return [];
  const master = Number(fs.readFileSync(path.join(PG_DIR, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
  const out = [master];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === master) out.push(Number(d));
    } catch { /* gone */ }
  }
  return out;
}
// Whole-machine view: busy share of each CPU (everything on it, also other users of the machine).
function cpuTimes() {
  const out = {};
  for (const l of fs.readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^(cpu\d+)\s+(.*)$/.exec(l);
    if (!m) continue;
    const v = m[2].split(/\s+/).map(Number);
    out[m[1]] = { idle: v[3] + v[4], total: v.slice(0, 8).reduce((a, b) => a + b, 0) };
  }
  return out;
}
function cpuBusy(a, b) {
  const out = {};
  for (const k of Object.keys(b)) {
    const dt = b[k].total - (a[k]?.total || 0);
    out[k] = dt > 0 ? +((100 * (dt - (b[k].idle - (a[k]?.idle || 0)))) / dt).toFixed(1) : null;
  }
  return out;
}
// PostgreSQL's CPU: per pid, so a backend that exits between two snapshots is not counted negative.
function pgSnapshot() { return new Map(pgPids().map((p) => [p, cpuMsOf(p)])); }
function pgDelta(a, b) { let s = 0; for (const [p, v] of b) s += v - (a.get(p) || 0); return s; }

const children = new Set();
function startProc(name, argv, extraEnv = {}) {
  const [cmd, ...args] = argv;
  const child = spawn(cmd, args, { cwd: HERE, env: { ...process.env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = fs.createWriteStream(path.join(OUT, `storage-${name}.log`), { flags: 'a' });
  child.stdout.pipe(log); child.stderr.pipe(log);
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}
async function stopProc(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 5000);
  await done; clearTimeout(t);
}
async function stopAll() { await Promise.all([...children].map(stopProc)); }
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, async () => { await stopAll(); process.exit(130); });

async function waitReady(url, child, timeoutMs = 30000) {
  const t0 = performance.now();
  for (;;) {
    if (child && child.exitCode !== null) throw new Error(`${url}: the process exited (${child.exitCode}); see ${OUT}/storage-*.log`);
    try {
      const r = await request(url, { dispatcher: defaultAgent });
      await r.body.dump();
      if (r.statusCode === 200) return;
    } catch { /* not up yet */ }
    if (performance.now() - t0 > timeoutMs) throw new Error(`not ready: ${url}`);
    await sleep(20);
  }
}
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}
function psql(db, sql) {
  const u = new URL(PG_URL);
  u.pathname = `/${db}`;
  return execFileSync('psql', [u.toString(), '-Atqc', sql], { encoding: 'utf8' }).trim();
}

// ---------------------------------------------------------------- wrk
function runWrk(front, extra, wrkEnv = {}, headers = []) {
  const args = pin(LOAD_CPU, ['wrk', '-t1', `-c${WRK_CONN}`, `-d${WRK_SECS}s`, '--latency', ...headers, ...extra, front]);
  const out = execFileSync(args[0], args.slice(1), { encoding: 'utf8', env: { ...process.env, ...wrkEnv } });
  const unit = (v, u) => Number(v) * ({ us: 0.001, ms: 1, s: 1000 }[u]);
  const lat = (p) => { const m = new RegExp(`\\s${p}%\\s+([\\d.]+)(us|ms|s)`).exec(out); return m ? +unit(m[1], m[2]).toFixed(3) : NaN; };
  const m = /(\d+) requests in ([\d.]+)(us|ms|s)/.exec(out);
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]),
    p50: lat(50), p99: lat(99),
    requests: m ? Number(m[1]) : NaN,
    seconds: m ? unit(m[2], m[3]) / 1000 : WRK_SECS,
    non2xx: Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] || 0),
    errors: /Socket errors:.*/.exec(out)?.[0] || '',
    raw: out,
  };
}

// One wrk phase with the CPU of every process involved.
function measure(setup, name, wrkArgs) {
  const nodes0 = setup.nodes.map((n) => cpuMsOf(n.pid));
  const pg0 = setup.db === 'pg' ? pgSnapshot() : null;
  const nx0 = setup.nginx ? cpuMsOf(setup.nginx.pid) : 0;
  // PERF=<scenario>:<phase>[,...]: a CPU profile of the node(s) during that phase (not for the figures:
  // perf's own cost lands on the load core).
  const perfOn = PERF.includes(`${setup.name}:${name}`);
  const perf = perfOn ? spawn('taskset', ['-c', LOAD_CPU, 'perf', 'record', '-F', '499', '-g', '-q', '-o', path.join(OUT, `storage-perf-${setup.name}-${name}.data`), '-p', setup.nodes.map((n) => n.pid).join(',')], { stdio: 'ignore' }) : null;
  const c0 = cpuTimes();
  const w = wrkArgs();
  const cpus = cpuBusy(c0, cpuTimes());
  if (perf) { perf.kill('SIGINT'); spawnSync('sleep', ['2']); }
  const nodesMs = setup.nodes.reduce((s, n, i) => s + cpuMsOf(n.pid) - nodes0[i], 0);
  const pgMs = pg0 ? pgDelta(pg0, pgSnapshot()) : NaN;
  const nxMs = setup.nginx ? cpuMsOf(setup.nginx.pid) - nx0 : NaN;
  fs.writeFileSync(path.join(OUT, `storage-wrk-${setup.name}-${name}.txt`), w.raw);
  const per = (ms) => (Number.isFinite(ms) && w.requests > 0 ? +((ms * 1000) / w.requests).toFixed(1) : null);
  const busy = (ms) => (Number.isFinite(ms) ? +((100 * ms) / (w.seconds * 1000)).toFixed(1) : null);
  const r = {
    rps: w.rps, p50: w.p50, p99: w.p99, requests: w.requests, seconds: w.seconds, non2xx: w.non2xx, errors: w.errors,
    nodeCpuUsPerReq: per(nodesMs), pgCpuUsPerReq: per(pgMs), nginxCpuUsPerReq: per(nxMs),
    nodeBusyPct: busy(nodesMs), pgBusyPct: busy(pgMs), nginxBusyPct: busy(nxMs), cpuBusyPct: cpus,
  };
  console.error(`  ${setup.name} ${name}: ${r.rps} req/s p50 ${r.p50} ms p99 ${r.p99} ms; CPU/req node ${r.nodeCpuUsPerReq} µs, pg ${r.pgCpuUsPerReq}, nginx ${r.nginxCpuUsPerReq}; non-2xx ${r.non2xx} ${r.errors}`);
  return r;
}

// ---------------------------------------------------------------- one setup
function nginxConf(dir, listenPort, nodePorts) {
  // docs/deployment.md's upstream and location blocks, without TLS and with the access log off
  // (as Latchkey's); one worker, no master, pinned like the load.
  fs.mkdirSync(path.join(dir, 'tmp'), { recursive: true });
  const conf = `worker_processes 1;
daemon off;
master_process off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path ${dir}/tmp/body;
    proxy_temp_path ${dir}/tmp/proxy;
    fastcgi_temp_path ${dir}/tmp/fastcgi;
    uwsgi_temp_path ${dir}/tmp/uwsgi;
    scgi_temp_path ${dir}/tmp/scgi;
    upstream latchkey {
${nodePorts.map((p) => `        server 127.0.0.1:${p} max_fails=1 fail_timeout=5s;`).join('\n')}
        keepalive 32;
    }
    server {
        listen 127.0.0.1:${listenPort};
        client_max_body_size 64k;
        location / {
            proxy_pass http://latchkey;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Request-Id $request_id;
            proxy_next_upstream error timeout;
            proxy_connect_timeout 2s;
            proxy_read_timeout 30s;
        }
    }
}
`;
  fs.writeFileSync(path.join(dir, 'nginx.conf'), conf);
  return path.join(dir, 'nginx.conf');
}

async function startSetup(name, ports, idp) {
  const spec = CATALOG[name];
  const dir = path.join(WORK, name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const nodePorts = spec.proxy ? [ports.nodeA, ports.nodeB].slice(0, spec.nodes) : [ports.nodeA];
  const frontPort = spec.proxy ? ports.front : ports.nodeA;
  const target = makeTarget({ port: frontPort });
  let dbUrl = '';
  if (spec.db === 'pg') {
    const db = `lk_bench_${name.replace(/-/g, '_')}`;
    psql('postgres', `DROP DATABASE IF EXISTS ${db}`);
    psql('postgres', `CREATE DATABASE ${db}`);
    const u = new URL(PG_URL); u.pathname = `/${db}`; dbUrl = u.toString();
  }
  const setup = { name, spec, db: spec.db, dbName: dbUrl ? new URL(dbUrl).pathname.slice(1) : '', target, front: target.base, nodes: [], nginx: null };
  for (let i = 0; i < nodePorts.length; i++) {
    const dataDir = path.join(dir, `node${i}`);
    const e = {
      ...target.env,
      LATCHKEY_SERVER_LISTEN: `127.0.0.1:${nodePorts[i]}`,
      LATCHKEY_SERVER_PUBLIC_URL: target.base,
      LATCHKEY_STORAGE_DATA_DIR: dataDir,
      LATCHKEY_PROVIDERS_OAUTH_GOOGLE_ISSUER: idp,
    };
    if (spec.workers) e.LATCHKEY_SERVER_WORKERS = String(spec.workers);
    if (dbUrl) { e.LATCHKEY_STORAGE_DATABASE_URL = dbUrl; e.LATCHKEY_KEYS_ENCRYPTION_KEY = ENC_KEY; }
    const cpu = NODE_CPUS[i % NODE_CPUS.length];
    const child = startProc(`${name}-node${i}`, pin(cpu, [BIN, 'serve']), e);
    child.cpu = cpu;
    setup.nodes.push(child);
    // Nodes one after the other: the first creates the schema and the signing key.
    await waitReady(`http://127.0.0.1:${nodePorts[i]}/readyz`, child);
  }
  if (spec.proxy) {
    const conf = nginxConf(path.join(dir, 'nginx'), frontPort, nodePorts);
    setup.nginx = startProc(`${name}-nginx`, pin(LOAD_CPU, [NGINX, '-p', path.join(dir, 'nginx'), '-c', conf, '-e', path.join(dir, 'nginx', 'error.log')]));
    await waitReady(`${target.base}/healthz`, setup.nginx);
  }
  return setup;
}

// Signed-in browsers: the harness's OAuth flow through the front (c=8).
async function makeSessions(setup, n, prefix) {
  const t = setup.target;
  const out = new Array(n);
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    for (;;) {
      const i = next++;
      if (i >= n) return;
      const jar = new CookieJar();
      const f = await runFlow({
        jar, idpOrigin: setup.idp, start: t.start(`${prefix}-${i}`), stopAfter: t.isCallback,
        verify: { url: t.sessionUrl, ok: t.sessionOk }, firstUrl: t.firstUrl, after: t.after,
      });
      if (!f.ok) throw new Error(`${setup.name}: session setup failed: ${f.error}`);
      out[i] = { cookie: t.sessionCookieNames.map((c) => `${c}=${jar.get(t.base, c)}`).join('; '), sid: t.sessionId(f.final.text) };
    }
  }));
  return out;
}

// Statements per request on PostgreSQL, from the server's own log (log_statement = all, turned on
// with ALTER SYSTEM + reload for this probe only, after the timed phases). Each line is one
// statement the node sent; BEGIN and COMMIT are round trips of their own. The nodes' background
// key reload (every 5 s: BEGIN, SELECT ... FROM signing_keys, COMMIT) is subtracted.
async function probeStatements(setup, sessions) {
  const log = path.join(PG_DIR, 'server.log');
  const t = setup.target;
  const mark = (m) => psql(setup.dbName, `SELECT 'lk-probe-${m}'`);
  const count = async (label, fn) => {
    mark(`${label}-begin`);
    for (let i = 0; i < PROBE_N; i++) await fn(i);
    mark(`${label}-end`);
  };
  psql('postgres', "ALTER SYSTEM SET log_statement = 'all'");
  psql('postgres', 'SELECT pg_reload_conf()');
  await sleep(300);
  const s = sessions[0];
  const origins = t.refresh.origins;
  try {
    await count('check', async () => {
      const r = await httpGet(t.sessionUrl, new CookieJar(), defaultAgent, { cookie: s.cookie });
      if (!t.sessionOk(r.status, r.text)) throw new Error(`probe: session check ${r.status}`);
    });
    const post = async (origin) => {
      const r = await request(t.refresh.url(s.sid), { method: 'POST', dispatcher: defaultAgent, headers: { cookie: s.cookie, origin } });
      const body = await r.body.text();
      if (!t.refresh.ok(r.statusCode, body)) throw new Error(`probe: refresh ${r.statusCode}`);
    };
    await count('reuse', () => post(origins[0]));
    await count('mint', (i) => post(origins[i % 2]));
  } finally {
    psql('postgres', 'ALTER SYSTEM RESET log_statement');
    psql('postgres', 'SELECT pg_reload_conf()');
  }
  await sleep(200);
  const lines = fs.readFileSync(log, 'utf8').split('\n');
  const between = (label) => {
    const a = lines.findLastIndex((l) => l.includes(`lk-probe-${label}-begin`));
    const b = lines.findLastIndex((l) => l.includes(`lk-probe-${label}-end`));
    const seg = lines.slice(a + 1, b).filter((l) => /LOG:\s+(statement|execute [^:]*):/.test(l));
    const reloads = seg.filter((l) => l.includes('signing_keys')).length;
    const writes = seg.filter((l) => /\b(INSERT|UPDATE|DELETE)\b/.test(l)).length;
    const statements = (seg.length - 3 * reloads) / PROBE_N;
    return { statements: +statements.toFixed(2), writes: +(writes / PROBE_N).toFixed(2), keyReloadsSeen: reloads, sample: seg.slice(0, Math.round(statements)).map((l) => l.replace(/^.*LOG:\s+/, '').slice(0, 600)) };
  };
  return { n: PROBE_N, check: between('check'), reuse: between('reuse'), mint: between('mint') };
}

async function runScenario(name, ports, idp) {
  const t0 = performance.now();
  const setup = await startSetup(name, ports, idp);
  setup.idp = idp;
  try {
    const sessions = await makeSessions(setup, REFRESH_SESSIONS, `${name}-${Date.now()}`);
    const t = setup.target;
    // Sanity: the cookie wrk sends is a session, the refresh answers a JWT.
    const check = await httpGet(t.sessionUrl, new CookieJar(), defaultAgent, { cookie: sessions[0].cookie });
    if (!t.sessionOk(check.status, check.text)) throw new Error(`${name}: the wrk cookie is not a session (${check.status})`);
    const sessFile = path.join(OUT, `storage-sessions-${name}.tsv`);
    fs.writeFileSync(sessFile, `${sessions.map((s) => `${s.cookie}\t${new URL(t.refresh.url(s.sid)).pathname}`).join('\n')}\n`);
    const res = { name, label: setup.spec.label, nodes: setup.spec.nodes, db: setup.db, proxy: setup.spec.proxy, workers: setup.spec.workers || 2, nodeCpus: setup.nodes.map((n) => n.cpu) };
    res.session = measure(setup, 'session', () => runWrk(t.sessionUrl, [], {}, ['-H', `Cookie: ${sessions[0].cookie}`]));
    const lua = path.join(HERE, 'bench', 'refresh.lua');
    for (const mode of ['reuse', 'mint']) {
      res[`refresh_${mode}`] = measure(setup, `refresh-${mode}`, () => runWrk(t.base, ['-s', lua], {
        REFRESH_SESSIONS_FILE: sessFile, REFRESH_MODE: mode, ORIGIN_A: t.refresh.origins[0], ORIGIN_B: t.refresh.origins[1],
      }));
    }
    if (setup.spec.probe && setup.db === 'pg') res.probe = await probeStatements(setup, sessions);
    res.rssMiB = setup.nodes.map((n) => { const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${n.pid}/status`, 'utf8')); return m ? +(Number(m[1]) / 1024).toFixed(1) : null; });
    res.wallSeconds = +((performance.now() - t0) / 1000).toFixed(1);
    return res;
  } finally {
    if (setup.nginx) await stopProc(setup.nginx);
    for (const n of setup.nodes) await stopProc(n);
    if (setup.dbName) { try { psql('postgres', `DROP DATABASE IF EXISTS ${setup.dbName}`); } catch { /* best effort */ } }
  }
}

// ---------------------------------------------------------------- main
fs.mkdirSync(OUT, { recursive: true });
fs.mkdirSync(WORK, { recursive: true });
for (const f of fs.readdirSync(OUT)) if (/^storage-.*\.log$/.test(f)) fs.rmSync(path.join(OUT, f));
const ports = { nodeA: await freePort(), nodeB: await freePort(), front: await freePort(), idp: await freePort() };
const idpUrl = `http://127.0.0.1:${ports.idp}`;
const cb = (p) => `http://127.0.0.1:${p}/__clerk/v1/oauth_callback`;
const idp = startProc('idp', pin(LOAD_CPU, ['node', 'idp.mjs']), {
  IDP_PORT: String(ports.idp), IDP_REDIRECT_URIS: [cb(ports.nodeA), cb(ports.front)].join(','),
});
const results = [];
let failed = null;
try {
  await waitReady(`${idpUrl}/.well-known/openid-configuration`, idp);
  for (const name of SCENARIOS) {
    console.error(`\n--> storage scenario ${name} (${CATALOG[name].label})`);
    results.push(await runScenario(name, ports, idpUrl));
  }
} catch (err) {
  failed = err;
} finally {
  await stopAll();
}
if (failed) { console.error(`bench/storage: ${failed.stack || failed}`); process.exit(1); }

let pgVersion = '';
try { pgVersion = psql('postgres', 'SHOW server_version'); } catch { /* no PostgreSQL scenario */ }
const doc = {
  date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  command: env('STORAGE_COMMAND', 'bash bench/storage.sh'),
  config: { WRK_SECS, WRK_CONN, REFRESH_SESSIONS, PEER_CPU, LOAD_CPU, NODE_CPUS: NODE_CPUS.join(','), PROBE_N, SCENARIOS },
  pgVersion,
  nginxVersion: (() => { const r = spawnSync(NGINX, ['-v'], { encoding: 'utf8' }); return `${r.stdout || ''}${r.stderr || ''}`.trim(); })(),
  scenarios: results,
};
fs.writeFileSync(path.join(OUT, 'results-storage.json'), JSON.stringify(doc, null, 2));
const { storageSection } = await import(path.join(HERE, 'bench', 'storage-render.mjs'));
const md = storageSection(doc);
fs.writeFileSync(path.join(OUT, 'results-storage.md'), md);
console.log(md);
const bad = results.flatMap((r) => ['session', 'refresh_reuse', 'refresh_mint'].filter((k) => r[k].non2xx || r[k].errors).map((k) => `${r.name} ${k}: non-2xx ${r[k].non2xx} ${r[k].errors}`));
if (bad.length) { console.error(`bench/storage: errors under load: ${bad.join('; ')}`); process.exit(1); }
