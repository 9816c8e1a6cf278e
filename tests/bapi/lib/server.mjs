// The real binary for the Backend API tests: a fresh data directory, the CLI run against it, the
// server on 127.0.0.1 port 0 (the port read back from its log), and a stop that waits for exit
// and removes the directory.
import { spawn, execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const BIN = process.env.LATCHKEY_BIN
if (!BIN) throw new Error('set LATCHKEY_BIN to the latchkey binary')

// `publicUrl`: the origin Frontend API calls claim to come from; `env`: more LATCHKEY_* variables.
export function dataDir({ publicUrl, env = {} }) {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-bapi-'))
  const fullEnv = {
    ...process.env,
    LATCHKEY_STORAGE_DATA_DIR: join(dir, 'data'),
    LATCHKEY_SERVER_LISTEN: '127.0.0.1:0',
    LATCHKEY_SERVER_PUBLIC_URL: publicUrl,
    LATCHKEY_LOGGING_FORMAT: 'text',
    LATCHKEY_KEYS_ACTIVATION_DELAY: '0s',
    ...env,
  }
  const cli = (...args) => execFileSync(BIN, args, { env: fullEnv, encoding: 'utf8' })
  // stdout also carries the log (the first run applies the migrations): the key is its own line.
  const newSecretKey = () => cli('secret-keys', 'create').split('\n').find((l) => l.startsWith('sk_live_'))
  let server = null
  return {
    cli,
    newSecretKey,
    // Starts `latchkey serve`; resolves with its http://127.0.0.1:PORT.
    async serve() {
      server = spawn(BIN, ['serve'], { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] })
      const port = await new Promise((resolve, reject) => {
        let log = ''
        const onData = (b) => {
          log += b.toString()
          const m = log.match(/listening on [0-9.]+:(\d+)/)
          if (m) resolve(Number(m[1]))
        }
        server.stdout.on('data', onData)
        server.stderr.on('data', onData)
        server.on('exit', (code) => reject(new Error(`latchkey exited ${code}: ${log}`)))
      })
      return `http://127.0.0.1:${port}`
    },
    async stop() {
      if (server && server.exitCode === null) {
        const exited = new Promise((r) => server.on('exit', r))
        server.kill('SIGTERM')
        await exited
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

// The Frontend API as a browser page on `origin` would call it (form bodies, the __client cookie
// carried along by hand): fapi(method, path, form, cookie) -> {status, json, cookie}. `headers`: more
// request headers (a user agent).
export function frontendApi(apiUrl, origin, headers = {}) {
  return async function fapi(method, path, form, cookie) {
    const res = await fetch(`${apiUrl}/__clerk${path}`, {
      method,
      headers: {
        origin,
        ...headers,
        ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        ...(cookie ? { cookie } : {}),
      },
      body: form ? new URLSearchParams(form).toString() : undefined,
    })
    const setCookie = res.headers.getSetCookie().map((c) => c.split(';')[0]).find((c) => c.startsWith('__client='))
    return { status: res.status, json: await res.json(), cookie: setCookie ?? cookie }
  }
}
