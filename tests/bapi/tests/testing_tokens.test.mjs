// POST /v1/testing_tokens through the pinned @clerk/backend (what @clerk/testing's clerkSetup
// calls): with [testing] enabled the token lets a sign-up through bot protection in place of a
// captcha; with test mode off the route is 404 and no token is minted.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClerkClient } from '@clerk/backend'

const BIN = process.env.LATCHKEY_BIN
if (!BIN) throw new Error('set LATCHKEY_BIN to the latchkey binary')
const PUBLIC = 'http://localhost:1'
const servers = []

// A server on port 0 with its own data dir and a secret key; bot protection on, its siteverify
// on a port nothing listens on (so a captcha can never pass: only a testing token can).
async function start(testing) {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-bapi-tt-'))
  const env = {
    ...process.env,
    LATCHKEY_STORAGE_DATA_DIR: join(dir, 'data'),
    LATCHKEY_SERVER_LISTEN: '127.0.0.1:0',
    LATCHKEY_SERVER_PUBLIC_URL: PUBLIC,
    LATCHKEY_LOGGING_FORMAT: 'text',
    LATCHKEY_TESTING_ENABLED: testing ? 'true' : 'false',
    LATCHKEY_BOT_PROTECTION_ENABLED: 'true',
    LATCHKEY_BOT_PROTECTION_SITE_KEY: '1x00000000000000000000AA',
    LATCHKEY_BOT_PROTECTION_SECRET_KEY: 'siteverify-secret',
    LATCHKEY_BOT_PROTECTION_VERIFY_URL: 'http://127.0.0.1:9/siteverify',
    LATCHKEY_BOT_PROTECTION_TIMEOUT: '1s',
  }
  const secretKey = execFileSync(BIN, ['secret-keys', 'create'], { env, encoding: 'utf8' })
    .split('\n').find((l) => l.startsWith('sk_live_'))
  const server = spawn(BIN, ['serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  servers.push({ server, dir })
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
  const apiUrl = `http://127.0.0.1:${port}`
  return { apiUrl, clerk: createClerkClient({ secretKey, apiUrl }) }
}

after(async () => {
  for (const { server, dir } of servers) {
    if (server.exitCode === null) {
      const exited = new Promise((r) => server.on('exit', r))
      server.kill('SIGTERM')
      await exited
    }
    rmSync(dir, { recursive: true, force: true })
  }
})

async function signUp(apiUrl, query) {
  const res = await fetch(`${apiUrl}/__clerk/v1/client/sign_ups${query}`, {
    method: 'POST',
    headers: { origin: PUBLIC, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ email_address: `tt-${Date.now()}@example.com` }).toString(),
  })
  return { status: res.status, json: await res.json() }
}

test('with test mode on, a Backend API testing token lets a sign-up through bot protection', async () => {
  const { apiUrl, clerk } = await start(true)
  const t = await clerk.testingTokens.createTestingToken()
  assert.match(t.token, /^lktt1\.\d+\.[A-Za-z0-9_-]+$/)
  assert.ok((t.expiresAt ?? t.expires_at) * 1000 > Date.now(), 'expires in the future (seconds)')
  const refused = await signUp(apiUrl, '')
  assert.notEqual(refused.status, 200, 'no captcha and no testing token: refused')
  const [v, exp, mac] = t.token.split('.')
  const altered = [v, String(Number(exp) + 1), mac].join('.')
  const tampered = await signUp(apiUrl, `?__clerk_testing_token=${encodeURIComponent(altered)}`)
  assert.notEqual(tampered.status, 200, 'an altered token is refused')
  const ok = await signUp(apiUrl, `?__clerk_testing_token=${encodeURIComponent(t.token)}`)
  assert.equal(ok.status, 200, JSON.stringify(ok.json))
  assert.equal(ok.json.response.object, 'sign_up')
})

test('with test mode off, POST /v1/testing_tokens is 404 and mints nothing', async () => {
  const { clerk } = await start(false)
  await assert.rejects(clerk.testingTokens.createTestingToken(), (e) => e.status === 404)
})
