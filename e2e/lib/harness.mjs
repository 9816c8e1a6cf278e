// Starts the three servers the end-to-end tests need — the local IdP, Latchkey and the demo server — on free
// loopback ports, waits until each answers, and stops all of them at the end, also when a test or the start-up
// fails. Every process runs in its own process group so that stopping it also stops anything it spawned, and
// only the groups started here are signalled.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { mailCatcherMissing, startMailCatcher } from './mail.mjs'

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

function tail(file, lines = 30) {
  try {
    const text = fs.readFileSync(file, 'utf8').trimEnd().split('\n')
    return text.slice(-lines).join('\n')
  } catch {
    return '(no output)'
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

// All groups started by any ProcessGroup in this process, for the last-resort exit handler.
const liveGroups = new Set()
let exitHandlerInstalled = false
function installExitHandler() {
  if (exitHandlerInstalled) return
  exitHandlerInstalled = true
  // 'exit' handlers must be synchronous: SIGKILL whatever is still running so nothing outlives the tests.
  process.on('exit', () => {
    for (const pid of liveGroups) {
      try { process.kill(-pid, 'SIGKILL') } catch { /* already gone */ }
    }
  })
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(sig, () => process.exit(128 + os.constants.signals[sig]))
  }
}

// Process groups started here that have not exited yet (pids of their leaders).
export function liveProcessGroups() {
  return [...liveGroups]
}

export class ManagedProcess {
  constructor(name, child, logFile) {
    this.name = name
    this.child = child
    this.logFile = logFile
    this.exited = null // {code, signal} once it has exited
    this.exitPromise = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exited = { code, signal }
        liveGroups.delete(child.pid)
        resolve(this.exited)
      })
      // A process that could not be spawned (ENOENT, EACCES) may never emit 'exit'.
      child.once('error', (error) => {
        fs.appendFileSync(logFile, `\n[harness] could not run ${name}: ${error.message}\n`)
        if (child.pid === undefined && !this.exited) {
          this.exited = { code: null, signal: null, error }
          resolve(this.exited)
        }
      })
    })
  }

  get pid() { return this.child.pid }

  logTail(lines) { return tail(this.logFile, lines) }

  describeExit() {
    if (!this.exited) return `${this.name} is running (pid ${this.pid})`
    const how = this.exited.signal ? `signal ${this.exited.signal}` : `exit code ${this.exited.code}`
    return `${this.name} exited (${how}). Last output (${this.logFile}):\n${this.logTail()}`
  }

  // SIGTERM to the group, then SIGKILL after `graceMs`. Resolves once the process has exited.
  async stop(graceMs = 5000) {
    if (this.exited) return this.exited
    if (this.pid === undefined) return this.exitPromise
    try { process.kill(-this.pid, 'SIGTERM') } catch { /* gone */ }
    const timer = setTimeout(() => {
      try { process.kill(-this.pid, 'SIGKILL') } catch { /* gone */ }
    }, graceMs)
    const result = await this.exitPromise
    clearTimeout(timer)
    // The leader is gone; make sure nothing else of its group lingers.
    try { process.kill(-this.pid, 'SIGKILL') } catch { /* gone */ }
    return result
  }
}

export class ProcessGroup {
  constructor(logDir) {
    this.logDir = logDir
    this.procs = []
    installExitHandler()
  }

  start(name, command, args, { env = {}, cwd } = {}) {
    fs.mkdirSync(this.logDir, { recursive: true })
    const logFile = path.join(this.logDir, `${name}.log`)
    const fd = fs.openSync(logFile, 'a')
    let child
    try {
      child = spawn(command, args, {
        cwd,
        env: { ...process.env, ...env },
        stdio: ['ignore', fd, fd],
        detached: true, // own process group: stop() signals the whole group
      })
    } finally {
      fs.closeSync(fd)
    }
    const proc = new ManagedProcess(name, child, logFile)
    if (child.pid) liveGroups.add(child.pid)
    this.procs.push(proc)
    return proc
  }

  async stopAll() {
    // Reverse start order: the demo first, then Latchkey, then the IdP.
    await Promise.all([...this.procs].reverse().map((p) => p.stop()))
  }

  running() {
    return this.procs.filter((p) => !p.exited)
  }
}

// Polls `url` until it answers 2xx. Fails early, with the process's output, if `proc` exits first.
export async function waitForHttp(url, { proc, timeoutMs = 30_000, what = url } = {}) {
  const deadline = Date.now() + timeoutMs
  let lastError = 'no answer'
  while (Date.now() < deadline) {
    if (proc?.exited) {
      throw new Error(`${what} did not become ready: ${proc.describeExit()}`)
    }
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) })
      if (r.ok) return
      lastError = `HTTP ${r.status}`
    } catch (err) {
      lastError = err.cause?.code ?? err.message
    }
    await sleep(150)
  }
  const detail = proc ? `\nLast output of ${proc.name} (${proc.logFile}):\n${proc.logTail()}` : ''
  throw new Error(`${what} did not become ready within ${timeoutMs} ms at ${url} (${lastError}).${detail}`)
}

export function latchkeyBinary() {
  const fromEnv = process.env.LATCHKEY_BIN
  return fromEnv ? path.resolve(fromEnv) : path.join(repoRoot, 'build/release/src/cli/latchkey')
}

function tomlString(s) {
  return JSON.stringify(String(s)) // a TOML basic string is a JSON string for these (ASCII) values
}

export function latchkeyConfig({ latchkeyPort, demoOrigin, dataDir, idpIssuer, clientId, clientSecret, extraConfig = '' }) {
  return `# Written by e2e/lib/harness.mjs for one test run.
[server]
listen = ${tomlString(`127.0.0.1:${latchkeyPort}`)}
# The browser reaches FAPI through the demo server's /__clerk proxy, so Latchkey's public URL is the demo's
# origin: cookies are first-party and the OAuth redirect_uri is <demo>/__clerk/v1/oauth_callback.
public_url = ${tomlString(demoOrigin)}

[storage]
data_dir = ${tomlString(dataDir)}

[logging]
level = "debug"
format = "text"

[frontend]
path_prefix = "/__clerk"
application_name = "Latchkey e2e"
sign_in_url = "/sign-in"
allowed_origins = [${tomlString(demoOrigin)}]
required_fields = ["first_name", "last_name"]

[providers.oauth_google]
client_id = ${tomlString(clientId)}
client_secret = ${tomlString(clientSecret)}
issuer = ${tomlString(idpIssuer)}
token_auth_method = "client_secret_post"
${extraConfig}`
}

// Starts IdP, Latchkey and the demo server; with `mail`, also the mail catcher (lib/mail.mjs) before Latchkey,
// whose SMTP port Latchkey gets in its environment (LATCHKEY_SMTP_HOST/PORT/TLS). On any failure everything
// started so far is stopped before the error is thrown. Returns { urls, dataDir, dbPath, processes, mail, stop() }
// (`mail` is the MailCatcher, or null).
// `extraConfig` (TOML text) is appended to Latchkey's config: more sections, e.g. [bot_protection].
// `latchkeyEnv`: extra LATCHKEY_* variables (e.g. a first factor to enable).
export async function startStack({ keep = process.env.E2E_KEEP === '1', bin = latchkeyBinary(), mail = false, extraConfig = '', latchkeyEnv = {} } = {}) {
  const demoDir = path.join(repoRoot, 'examples/demo')
  const idpDir = path.join(repoRoot, 'examples/idp')

  // Check the cheap preconditions first, so a missing build says so instead of timing out.
  const missing = []
  if (!fs.existsSync(bin)) {
    missing.push(`Latchkey binary not found at ${bin}. Build it (cmake --preset release && cmake --build --preset release --target latchkey) or set LATCHKEY_BIN.`)
  }
  if (!fs.existsSync(path.join(demoDir, 'dist/index.html'))) {
    missing.push(`The demo app is not built: run \`npm ci && npm run build\` in ${demoDir}.`)
  }
  if (!fs.existsSync(path.join(demoDir, 'node_modules/@clerk/clerk-js/dist/clerk.browser.js'))) {
    missing.push(`The demo's packages are missing: run \`npm ci\` in ${demoDir}.`)
  }
  if (!fs.existsSync(path.join(idpDir, 'node_modules/oidc-provider'))) {
    missing.push(`The IdP's packages are missing: run \`npm ci\` in ${idpDir}.`)
  }
  if (mail && mailCatcherMissing()) {
    missing.push(mailCatcherMissing())
  }
  if (missing.length) {
    throw new Error(`cannot start the end-to-end stack:\n  - ${missing.join('\n  - ')}`)
  }

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-e2e-'))
  const dataDir = path.join(work, 'data')
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const group = new ProcessGroup(path.join(work, 'logs'))

  const [idpPort, latchkeyPort, demoPort] = await Promise.all([freePort(), freePort(), freePort()])
  // `localhost`, not 127.0.0.1, is what a person types; Latchkey's public_url and the token's azp use it.
  const demoOrigin = `http://localhost:${demoPort}`
  const idpIssuer = `http://127.0.0.1:${idpPort}`
  const clientId = 'latchkey-e2e'
  const clientSecret = `e2e-secret-${process.pid}-${Date.now()}`
  const urls = {
    idp: idpIssuer,
    latchkey: `http://127.0.0.1:${latchkeyPort}`,
    demo: demoOrigin,
    mail: null,
  }
  let mailCatcher = null

  const stop = async () => {
    await group.stopAll()
    if (!keep) fs.rmSync(work, { recursive: true, force: true })
  }

  try {
    const idp = group.start('idp', process.execPath, [path.join(idpDir, 'idp.mjs')], {
      cwd: idpDir,
      env: {
        IDP_PORT: String(idpPort),
        IDP_CLIENT_ID: clientId,
        IDP_CLIENT_SECRET: clientSecret,
        IDP_REDIRECT_URIS: `${demoOrigin}/__clerk/v1/oauth_callback`,
        IDP_TOKEN_AUTH: 'client_secret_post',
        IDP_DEBUG: '1',
      },
    })
    const configFile = path.join(work, 'latchkey.toml')
    fs.writeFileSync(configFile, latchkeyConfig({ latchkeyPort, demoOrigin, dataDir, idpIssuer, clientId, clientSecret, extraConfig }), { mode: 0o600 })
    await waitForHttp(`${idpIssuer}/.well-known/openid-configuration`, { proc: idp, what: 'the IdP' })

    if (mail) {
      mailCatcher = await startMailCatcher({ group })
      urls.mail = mailCatcher.url
    }
    const latchkey = group.start('latchkey', bin, ['serve', '--config', configFile], {
      cwd: work,
      env: { ...(mailCatcher ? mailCatcher.latchkeyEnv() : {}), ...latchkeyEnv },
    })
    await waitForHttp(`${urls.latchkey}/healthz`, { proc: latchkey, what: `Latchkey (${bin})` })

    const demo = group.start('demo', process.execPath, [path.join(demoDir, 'server.mjs')], {
      cwd: demoDir,
      env: { DEMO_PORT: String(demoPort), LATCHKEY_URL: urls.latchkey, DEMO_ORIGIN: demoOrigin },
    })
    await waitForHttp(`http://127.0.0.1:${demoPort}/healthz`, { proc: demo, what: 'the demo server' })

    return {
      urls,
      work,
      dataDir,
      dbPath: path.join(dataDir, 'latchkey.db'),
      configFile,
      processes: { idp, latchkey, demo, ...(mailCatcher ? { mailcatcher: mailCatcher.proc } : {}) },
      mail: mailCatcher,
      group,
      stop,
    }
  } catch (err) {
    await stop()
    throw err
  }
}
