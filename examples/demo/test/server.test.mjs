// Tests server.mjs against a stand-in for Latchkey (a local HTTP server with a JWKS and a FAPI-like echo).
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { SignJWT, exportJWK, generateKeyPair } from 'jose'
import { createDemoServer } from '../server.mjs'

let upstream
let demo
let demoUrl
let distDir
let signingKey
let otherKey
const seen = []

function listen(server) {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)))
}

before(async () => {
  distDir = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-dist-'))
  fs.writeFileSync(path.join(distDir, 'index.html'), '<!doctype html><div id="root"></div>')
  fs.mkdirSync(path.join(distDir, 'assets'))
  fs.writeFileSync(path.join(distDir, 'assets', 'index-abc.js'), 'console.log(1)')

  signingKey = await generateKeyPair('RS256')
  otherKey = await generateKeyPair('RS256')
  const jwk = { ...(await exportJWK(signingKey.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }

  upstream = http.createServer((req, res) => {
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() })
      if (req.url === '/.well-known/jwks.json') {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ keys: [jwk] }))
        return
      }
      if (req.url.startsWith('/__clerk/v1/oauth_callback')) {
        res.writeHead(303, [
          'Location', 'http://localhost:5173/sso-callback',
          'Set-Cookie', '__client=abc; HttpOnly; SameSite=Lax; Path=/',
          'Set-Cookie', '__client_uat=1; SameSite=Lax; Path=/',
        ])
        res.end()
        return
      }
      res.writeHead(201, { 'content-type': 'application/json', 'x-test': 'yes' })
      res.end(JSON.stringify({ echo: Buffer.concat(chunks).toString(), url: req.url }))
    })
  })
  const upstreamPort = await listen(upstream)

  demo = createDemoServer({
    distDir,
    clerkJsDir: path.join(import.meta.dirname, '../node_modules/@clerk/clerk-js/dist'),
    latchkeyUrl: `http://127.0.0.1:${upstreamPort}`,
    origin: 'http://localhost:5173',
    log: () => {},
  })
  const port = await listen(demo)
  demoUrl = `http://127.0.0.1:${port}`
})

after(async () => {
  demo.closeAllConnections()
  upstream.closeAllConnections()
  await Promise.all([new Promise((r) => demo.close(r)), new Promise((r) => upstream.close(r))])
  fs.rmSync(distDir, { recursive: true, force: true })
})

function token({ key = signingKey.privateKey, alg = 'RS256', azp = 'http://localhost:5173', exp = '1m', claims = {} } = {}) {
  return new SignJWT({ sid: 'sess_1', ...(azp === null ? {} : { azp }), ...claims })
    .setProtectedHeader({ alg, kid: 'k1', typ: 'JWT' })
    .setSubject('user_1')
    .setIssuedAt()
    .setNotBefore('0s')
    .setExpirationTime(exp)
    .sign(key)
}

test('SPA routes get index.html', async () => {
  for (const route of ['/', '/sign-in', '/sso-callback', '/sign-in/continue', '/sign-in/tasks', '/sign-in/',
    '/sign-up-password', '/sign-in-password', '/sign-in-code', '/forgot-password']) {
    const r = await fetch(demoUrl + route)
    assert.equal(r.status, 200, route)
    assert.match(r.headers.get('content-type'), /text\/html/)
    assert.match(await r.text(), /id="root"/)
  }
})

test('built assets are served; unknown files are 404', async () => {
  const r = await fetch(`${demoUrl}/assets/index-abc.js`)
  assert.equal(r.status, 200)
  assert.match(r.headers.get('content-type'), /javascript/)
  assert.match(r.headers.get('cache-control'), /immutable/)
  assert.equal((await fetch(`${demoUrl}/assets/nope.js`)).status, 404)
})

test('clerk-js dist is served from node_modules, with no path escape', async () => {
  const r = await fetch(`${demoUrl}/__clerk/npm/@clerk/clerk-js@6/dist/clerk.browser.js`)
  assert.equal(r.status, 200)
  assert.match(r.headers.get('content-type'), /javascript/)
  assert.ok((await r.text()).length > 100_000)
  const esc = await fetch(`${demoUrl}/__clerk/npm/@clerk/clerk-js@6/dist/%2e%2e%2f%2e%2e%2fpackage.json`)
  assert.notEqual(esc.status, 200)
  assert.equal(seen.filter((s) => s.url.includes('npm/')).length, 0, 'clerk-js requests must not reach Latchkey')
})

test('FAPI requests are proxied with method, query, body and Host intact', async () => {
  const r = await fetch(`${demoUrl}/__clerk/v1/client/sign_ins?__clerk_api_version=2026-08-20`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://localhost:5173' },
    body: 'strategy=oauth_google&redirect_url=%2Fsso-callback',
  })
  assert.equal(r.status, 201)
  assert.equal(r.headers.get('x-test'), 'yes')
  const body = await r.json()
  assert.equal(body.echo, 'strategy=oauth_google&redirect_url=%2Fsso-callback')
  assert.equal(body.url, '/__clerk/v1/client/sign_ins?__clerk_api_version=2026-08-20')
  const last = seen.at(-1)
  assert.equal(last.headers.host, new URL(demoUrl).host)
  assert.equal(last.headers.origin, 'http://localhost:5173')
  assert.equal(last.headers['x-forwarded-host'], new URL(demoUrl).host)
})

test('redirects and every Set-Cookie pass through unchanged', async () => {
  const r = await fetch(`${demoUrl}/__clerk/v1/oauth_callback?code=c&state=s`, { redirect: 'manual' })
  assert.equal(r.status, 303)
  assert.equal(r.headers.get('location'), 'http://localhost:5173/sso-callback')
  assert.deepEqual(r.headers.getSetCookie(), [
    '__client=abc; HttpOnly; SameSite=Lax; Path=/',
    '__client_uat=1; SameSite=Lax; Path=/',
  ])
})

test('/api/me accepts a valid token from the header or the __session cookie', async () => {
  const jwt = await token()
  let r = await fetch(`${demoUrl}/api/me`, { headers: { authorization: `Bearer ${jwt}` } })
  assert.equal(r.status, 200)
  assert.deepEqual(await r.json(), { sub: 'user_1', sid: 'sess_1' })
  r = await fetch(`${demoUrl}/api/me`, { headers: { cookie: `a=b; __session=${jwt}` } })
  assert.equal(r.status, 200)
})

test('/api/me rejects missing, foreign, expired, mis-signed and non-RS256 tokens', async () => {
  const cases = {
    none: undefined,
    garbage: 'not.a.jwt',
    wrongAzp: await token({ azp: 'http://evil.example' }),
    noAzp: await token({ azp: null }),
    expired: await token({ exp: Math.floor(Date.now() / 1000) - 60 }),
    otherKey: await token({ key: otherKey.privateKey }),
    hs256: await token({ key: new TextEncoder().encode('x'.repeat(32)), alg: 'HS256' }),
  }
  for (const [name, jwt] of Object.entries(cases)) {
    const r = await fetch(`${demoUrl}/api/me`, { headers: jwt ? { authorization: `Bearer ${jwt}` } : {} })
    assert.equal(r.status, 401, name)
    const body = await r.json()
    assert.equal(body.error, 'unauthenticated', name)
    if (jwt) assert.ok(!JSON.stringify(body).includes(jwt), `${name}: token echoed`)
  }
})

test('an unreachable Latchkey gives a clear 502 in the FAPI error shape', async () => {
  const dead = createDemoServer({ distDir, latchkeyUrl: 'http://127.0.0.1:1', origin: 'http://localhost:5173', log: () => {} })
  const port = await listen(dead)
  try {
    const r = await fetch(`http://127.0.0.1:${port}/__clerk/v1/environment`)
    assert.equal(r.status, 502)
    const body = await r.json()
    assert.equal(body.errors[0].code, 'latchkey_unreachable')
  } finally {
    dead.closeAllConnections()
    await new Promise((r) => dead.close(r))
  }
})
