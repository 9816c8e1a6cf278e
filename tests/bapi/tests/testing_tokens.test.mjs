// POST /v1/testing_tokens through the pinned @clerk/backend (what @clerk/testing's clerkSetup
// calls): with [testing] enabled the token lets a sign-up through bot protection in place of a
// captcha; with test mode off the route is 404 and no token is minted.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { createClerkClient } from '@clerk/backend'
import { dataDir } from '../lib/server.mjs'

const PUBLIC = 'http://localhost:1'
const instances = []

// A server with a secret key; bot protection on, its siteverify on a port nothing listens on (so
// a captcha can never pass: only a testing token can).
async function start(testing) {
  const instance = dataDir({
    publicUrl: PUBLIC,
    env: {
      LATCHKEY_TESTING_ENABLED: testing ? 'true' : 'false',
      LATCHKEY_BOT_PROTECTION_ENABLED: 'true',
      LATCHKEY_BOT_PROTECTION_SITE_KEY: '1x00000000000000000000AA',
      LATCHKEY_BOT_PROTECTION_SECRET_KEY: 'siteverify-secret',
      LATCHKEY_BOT_PROTECTION_VERIFY_URL: 'http://127.0.0.1:9/siteverify',
      LATCHKEY_BOT_PROTECTION_TIMEOUT: '1s',
    },
  })
  instances.push(instance)
  const secretKey = instance.newSecretKey()
  const apiUrl = await instance.serve()
  return { apiUrl, clerk: createClerkClient({ secretKey, apiUrl }) }
}

after(async () => {
  for (const instance of instances) await instance.stop()
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
