// The SSR handshake's nonce form, as @clerk/backend's authenticateRequest runs it: the browser is
// sent to FAPI /v1/client/handshake?format=nonce, comes back to the app with
// __clerk_handshake_nonce, and the app's server redeems it with clients.getHandshakePayload.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createClerkClient, verifyToken } from '@clerk/backend'
import { dataDir } from '../lib/server.mjs'

const PUBLIC = 'http://localhost:1'
const PASSWORD = 'Vq7!tz-rooftop-Quasar-91'
let instance, apiUrl, secretKey, clerk

before(async () => {
  instance = dataDir({ publicUrl: PUBLIC })
  secretKey = instance.newSecretKey()
  apiUrl = await instance.serve()
  clerk = createClerkClient({ secretKey, apiUrl })
})

after(async () => {
  await instance?.stop()
})

async function fapi(method, path, form, cookie) {
  const res = await fetch(`${apiUrl}/__clerk${path}`, {
    method,
    redirect: 'manual',
    headers: {
      origin: PUBLIC,
      ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      ...(cookie ? { cookie } : {}),
    },
    body: form ? new URLSearchParams(form).toString() : undefined,
  })
  const setCookie = res.headers.getSetCookie().map((c) => c.split(';')[0]).find((c) => c.startsWith('__client='))
  return { res, cookie: setCookie ?? cookie }
}

// The browser's navigation to the handshake, as buildRedirectToHandshake writes the URL.
async function handshake(cookie) {
  const q = new URLSearchParams({ redirect_url: `${PUBLIC}/protected?x=1`, suffixed_cookies: 'false', __clerk_hs_reason: 'session-token-expired', format: 'nonce' })
  const { res } = await fapi('GET', `/v1/client/handshake?${q}`, null, cookie)
  assert.equal(res.status, 307)
  const back = new URL(res.headers.get('location'))
  assert.equal(back.origin + back.pathname, `${PUBLIC}/protected`)
  assert.equal(back.searchParams.get('x'), '1')
  const nonce = back.searchParams.get('__clerk_handshake_nonce')
  assert.ok(nonce)
  return nonce
}

const cookieOf = (directives, name) => directives.find((d) => d.startsWith(name + '='))?.split(';')[0].slice(name.length + 1)

test('signed in: the nonce redeems to a fresh __session that verifyToken accepts, and __client_uat', async () => {
  const u = await clerk.users.createUser({ emailAddress: ['hs@example.com'], password: PASSWORD })
  const s = await fapi('POST', '/v1/client/sign_ins', { identifier: 'hs@example.com', password: PASSWORD })
  const { directives } = await clerk.clients.getHandshakePayload({ nonce: await handshake(s.cookie) })
  const token = cookieOf(directives, '__session')
  const claims = await verifyToken(token, { secretKey, apiUrl, authorizedParties: [PUBLIC] })
  assert.equal(claims.sub, u.id)
  assert.ok(Number(cookieOf(directives, '__client_uat')) > 0)
})

test('signed out: the directives clear __session and set __client_uat=0', async () => {
  const { directives } = await clerk.clients.getHandshakePayload({ nonce: await handshake(null) })
  assert.equal(cookieOf(directives, '__session'), '')
  assert.match(directives.find((d) => d.startsWith('__session=')), /Max-Age=0/)
  assert.equal(cookieOf(directives, '__client_uat'), '0')
})

test('a tampered, foreign or missing nonce is refused in the envelope', async () => {
  const nonce = await handshake(null)
  const tampered = nonce.slice(0, -2) + (nonce.endsWith('A') ? 'BB' : 'AA')
  for (const bad of [tampered, 'v1.AAAA', 'not-a-nonce']) {
    await assert.rejects(clerk.clients.getHandshakePayload({ nonce: bad }), (e) => {
      assert.equal(e.status, 422)
      assert.equal(e.errors[0].code, 'form_param_format_invalid')
      assert.equal(e.errors[0].meta.paramName, 'nonce')
      return true
    })
  }
  await assert.rejects(clerk.clients.getHandshakePayload({}), (e) => e.status === 422)
  // Another instance's key does not open it.
  const other = dataDir({ publicUrl: PUBLIC })
  const otherUrl = await other.serve()
  try {
    const c = createClerkClient({ secretKey: other.newSecretKey(), apiUrl: otherUrl })
    await assert.rejects(c.clients.getHandshakePayload({ nonce }), (e) => e.status === 422)
  } finally {
    await other.stop()
  }
})
