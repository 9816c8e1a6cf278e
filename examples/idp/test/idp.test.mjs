// The login page, the deny button, PKCE enforcement and the id_token claims, driven over HTTP like a browser.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import net from 'node:net'
import { createIdp } from '../idp.mjs'

const REDIRECT = 'http://127.0.0.1:8787/__clerk/v1/oauth_callback'
let idp
let base

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)) })
  })
}

before(async () => {
  const port = await freePort()
  idp = createIdp({
    port, clientId: 'latchkey-demo', clientSecret: 'latchkey-demo-secret', redirectUris: [REDIRECT],
    tokenAuthMethod: 'client_secret_post',
  })
  await new Promise((r) => idp.server.listen(port, '127.0.0.1', r))
  base = `http://127.0.0.1:${port}`
})

after(async () => {
  idp.server.closeAllConnections()
  await new Promise((r) => idp.server.close(r))
})

// A browser-ish client: keeps cookies, never follows redirects on its own.
function browser() {
  const jar = new Map()
  return async function go(url, init = {}) {
    const headers = { ...(init.headers ?? {}) }
    if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ')
    const r = await fetch(url, { ...init, headers, redirect: 'manual' })
    for (const c of r.headers.getSetCookie()) {
      const [pair] = c.split(';')
      const eq = pair.indexOf('=')
      jar.set(pair.slice(0, eq), pair.slice(eq + 1))
    }
    return r
  }
}

function pkce() {
  const verifier = crypto.randomBytes(32).toString('base64url')
  return { verifier, challenge: crypto.createHash('sha256').update(verifier).digest('base64url') }
}

function authorizeUrl({ challenge, state = 'st', extra = {} }) {
  const q = new URLSearchParams({
    client_id: 'latchkey-demo', response_type: 'code', scope: 'openid email profile', redirect_uri: REDIRECT,
    state, nonce: 'nonce-1', ...(challenge ? { code_challenge: challenge, code_challenge_method: 'S256' } : {}), ...extra,
  })
  return `${base}/auth?${q}`
}

async function toLoginForm(go, url) {
  const r = await go(url)
  assert.equal(r.status, 303)
  const interaction = new URL(r.headers.get('location'), base).href
  assert.match(interaction, /\/interaction\/[A-Za-z0-9_-]+$/)
  const page = await go(interaction)
  assert.equal(page.status, 200)
  const html = await page.text()
  assert.match(html, /name="email"/)
  assert.match(html, /value="deny"/)
  return interaction
}

async function submit(go, interaction, fields) {
  const r = await go(interaction, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  })
  if (r.status !== 303) return r
  // /auth/:uid resumes the authorization and redirects to the client.
  return go(new URL(r.headers.get('location'), base).href)
}

async function exchange(code, verifier) {
  const r = await fetch(`${base}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier,
      client_id: 'latchkey-demo', client_secret: 'latchkey-demo-secret',
    }).toString(),
  })
  return { status: r.status, body: await r.json() }
}

const idTokenClaims = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString())

test('sign in with email and names: code redirect, id_token with names, account id is the lower-cased email', async () => {
  const go = browser()
  const { verifier, challenge } = pkce()
  const interaction = await toLoginForm(go, authorizeUrl({ challenge, state: 's1' }))
  const back = await submit(go, interaction, { email: 'Ada@Example.COM', given_name: 'Ada', family_name: 'Lovelace', action: 'login' })
  assert.equal(back.status, 303)
  const cb = new URL(back.headers.get('location'))
  assert.equal(cb.origin + cb.pathname, REDIRECT)
  assert.equal(cb.searchParams.get('state'), 's1')
  assert.equal(cb.searchParams.get('iss'), base)
  const tok = await exchange(cb.searchParams.get('code'), verifier)
  assert.equal(tok.status, 200)
  const claims = idTokenClaims(tok.body.id_token)
  assert.equal(claims.sub, 'ada@example.com')
  assert.equal(claims.email, 'ada@example.com')
  assert.equal(claims.email_verified, true)
  assert.equal(claims.given_name, 'Ada')
  assert.equal(claims.family_name, 'Lovelace')
  assert.equal(claims.name, 'Ada Lovelace')
  assert.equal(claims.nonce, 'nonce-1')
})

test('an email without names gives an id_token without given_name, family_name or name', async () => {
  const go = browser()
  const { verifier, challenge } = pkce()
  const interaction = await toLoginForm(go, authorizeUrl({ challenge }))
  const back = await submit(go, interaction, { email: 'nameless@example.com', given_name: '', family_name: '', action: 'login' })
  const code = new URL(back.headers.get('location')).searchParams.get('code')
  const claims = idTokenClaims((await exchange(code, verifier)).body.id_token)
  assert.equal(claims.sub, 'nameless@example.com')
  assert.equal(claims.email_verified, true)
  assert.equal('given_name' in claims, false)
  assert.equal('family_name' in claims, false)
  assert.equal('name' in claims, false)
})

test('email_status unverified gives email_verified false; none gives no email claim; anything else is refused', async () => {
  for (const [status, expect] of [['unverified', { email: 'grace@example.com', email_verified: false }], ['none', {}]]) {
    const go = browser()
    const { verifier, challenge } = pkce()
    const interaction = await toLoginForm(go, authorizeUrl({ challenge }))
    const back = await submit(go, interaction, { email: 'Grace@Example.com', email_status: status, action: 'login' })
    assert.equal(back.status, 303)
    const code = new URL(back.headers.get('location')).searchParams.get('code')
    const claims = idTokenClaims((await exchange(code, verifier)).body.id_token)
    assert.equal(claims.sub, 'grace@example.com')
    assert.equal(claims.email, expect.email)
    assert.equal(claims.email_verified, expect.email_verified)
    assert.equal('email' in claims, status !== 'none')
    assert.equal('email_verified' in claims, status !== 'none')
  }
  const go = browser()
  const { challenge } = pkce()
  const interaction = await toLoginForm(go, authorizeUrl({ challenge }))
  const back = await submit(go, interaction, { email: 'grace@example.com', email_status: 'maybe', action: 'login' })
  assert.equal(back.status, 400)
})

test('Deny ends the authorization with error=access_denied and the state', async () => {
  const go = browser()
  const { challenge } = pkce()
  const interaction = await toLoginForm(go, authorizeUrl({ challenge, state: 'deny-state' }))
  const back = await submit(go, interaction, { email: '', action: 'deny' })
  assert.equal(back.status, 303)
  const cb = new URL(back.headers.get('location'))
  assert.equal(cb.origin + cb.pathname, REDIRECT)
  assert.equal(cb.searchParams.get('error'), 'access_denied')
  assert.equal(cb.searchParams.get('state'), 'deny-state')
  assert.equal(cb.searchParams.get('code'), null)
})

test('the login page is shown again even when the browser has an IdP session', async () => {
  const go = browser()
  const first = pkce()
  const interaction = await toLoginForm(go, authorizeUrl({ challenge: first.challenge }))
  await submit(go, interaction, { email: 'again@example.com', action: 'login' })
  const second = pkce()
  await toLoginForm(go, authorizeUrl({ challenge: second.challenge }))
})

test('PKCE is required, and a wrong verifier is refused', async () => {
  const r = await fetch(authorizeUrl({}), { redirect: 'manual' })
  assert.equal(r.status, 303)
  const cb = new URL(r.headers.get('location'))
  assert.equal(cb.searchParams.get('error'), 'invalid_request')

  const go = browser()
  const { challenge } = pkce()
  const interaction = await toLoginForm(go, authorizeUrl({ challenge }))
  const back = await submit(go, interaction, { email: 'pkce@example.com', action: 'login' })
  const code = new URL(back.headers.get('location')).searchParams.get('code')
  const tok = await exchange(code, pkce().verifier)
  assert.equal(tok.status, 400)
  assert.equal(tok.body.error, 'invalid_grant')
})

test('an unregistered redirect_uri is refused without redirecting', async () => {
  const url = authorizeUrl({ challenge: pkce().challenge, extra: { redirect_uri: 'http://evil.test/cb' } })
  const r = await fetch(url, { redirect: 'manual' })
  assert.equal(r.status, 400)
  assert.match(await r.text(), /invalid_redirect_uri/)
})

test('an invalid email re-renders the form with an escaped error', async () => {
  const go = browser()
  const interaction = await toLoginForm(go, authorizeUrl({ challenge: pkce().challenge }))
  const r = await go(interaction, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ email: '"><script>x</script>', action: 'login' }).toString(),
  })
  assert.equal(r.status, 400)
  const html = await r.text()
  assert.match(html, /role="alert"/)
  assert.equal(html.includes('<script>x'), false)
})
