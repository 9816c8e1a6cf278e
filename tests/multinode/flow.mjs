// Drives the seed's OAuth custom flow (Clerk's guide, FAPI README §2) as the Clerk SDK sends it, over
// plain HTTP, through the load balancer in front of several Latchkey nodes, against the local
// OpenID provider (examples/idp). Used by scripts/multinode-test.sh; no npm packages needed.
//
//   node flow.mjs <phase> <count> [label]   phase: "cross" (callback must land on the other node)
//                                           or "load" (flows back to back; a failed flow is retried
//                                           whole, with the same email); label names the emails
// Environment: LB (balancer origin = Latchkey's public_url), RESULTS (file: one "email user_id" line
// per completed flow is appended), TAG (unique per run).
import fs from 'node:fs'

const LB = process.env.LB
const RESULTS = process.env.RESULTS
const TAG = process.env.TAG ?? Date.now().toString(36)
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

class Jar {
  constructor() { this.cookies = new Map() }
  take(res) {
    for (const c of res.headers.getSetCookie?.() ?? []) {
      const [pair] = c.split(';')
      const i = pair.indexOf('=')
      const name = pair.slice(0, i).trim()
      const value = pair.slice(i + 1).trim()
      if (/max-age=0|expires=thu, 01 jan 1970/i.test(c) || value === '') this.cookies.delete(name)
      else this.cookies.set(name, value)
    }
  }
  header() { return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') }
}

async function request(jar, url, { method = 'GET', form, origin } = {}) {
  const headers = { cookie: jar.header() }
  if (origin) headers.origin = origin
  let body
  if (form) {
    body = new URLSearchParams(form).toString()
    headers['content-type'] = 'application/x-www-form-urlencoded'
  }
  const res = await fetch(url, { method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(15000) })
  jar.take(res)
  const text = await res.text()
  return { status: res.status, location: res.headers.get('location'), upstream: res.headers.get('x-upstream'), text }
}

const fapi = (path) => `${LB}/__clerk/v1${path}?__clerk_api_version=2025-11-10&_clerk_js_version=5.0.0`

function fail(what, r) {
  throw new Error(`${what}: HTTP ${r.status} ${r.text.slice(0, 300)}`)
}

// Which node the balancer will send the next request to is the other one than the last answered.
async function upstreamOfProbe() {
  const r = await fetch(`${LB}/healthz`, { signal: AbortSignal.timeout(5000) })
  await r.text()
  return r.headers.get('x-upstream')
}

// One person: sign in with the provider (a new user), transfer to a sign-up, complete.
async function oneFlow(email, { cross }) {
  const browser = new Jar()
  const idp = new Jar()
  const started = await request(browser, fapi('/client/sign_ins'), {
    method: 'POST', origin: LB,
    form: { strategy: 'oauth_google', redirect_url: `${LB}/sso-callback`, action_complete_redirect_url: `${LB}/sign-in/tasks` },
  })
  if (started.status !== 200) fail('create sign-in', started)
  const authUrl = JSON.parse(started.text).response.first_factor_verification.external_verification_redirect_url

  // The provider: authorize → login page → submit → redirects back to Latchkey's callback.
  let r = await request(idp, authUrl)
  let url = authUrl
  for (let i = 0; i < 10 && r.status >= 300 && r.status < 400; i++) {
    url = new URL(r.location, url).toString()
    r = await request(idp, url)
  }
  const action = /action="([^"]+)"/.exec(r.text)?.[1]
  if (!action) fail('idp login page', r)
  url = new URL(action.replaceAll('&amp;', '&'), url).toString()
  r = await request(idp, url, { method: 'POST', form: { action: 'login', email, given_name: 'Multi', family_name: 'Node' } })
  let callback = null
  for (let i = 0; i < 10 && r.status >= 300 && r.status < 400; i++) {
    const next = new URL(r.location, url).toString()
    if (next.startsWith(`${LB}/__clerk/v1/oauth_callback`)) { callback = next; break }
    url = next
    r = await request(idp, url)
  }
  if (!callback) fail('idp did not redirect to the callback', r)

  if (cross) {
    // Round robin alternates: make the request before the callback land on the sign-in's node,
    // so that the callback lands on the other one.
    for (let i = 0; i < 4 && (await upstreamOfProbe()) !== started.upstream; i++) { /* shift */ }
  }
  const cb = await request(browser, callback)
  if (cb.status !== 303) fail('oauth callback', cb)
  if (cross && cb.upstream === started.upstream) {
    throw new Error(`callback landed on the sign-in's node ${cb.upstream}; expected the other node`)
  }
  // A new person is transferred to a sign-up; one whose earlier attempt created the user (and then
  // failed later) is signed in directly.
  const client = await request(browser, fapi('/client'))
  if (client.status !== 200) fail('client', client)
  const signIn = JSON.parse(client.text).response?.sign_in
  let userId
  let sessionId
  if (signIn?.status === 'complete') {
    sessionId = signIn.created_session_id
    userId = JSON.parse(client.text).response.sessions.find((s) => s.id === sessionId)?.user?.id
  } else {
    const su = await request(browser, fapi('/client/sign_ups'), { method: 'POST', origin: LB, form: { transfer: 'true' } })
    if (su.status !== 200) fail('sign-up transfer', su)
    const body = JSON.parse(su.text)
    if (body.response.status !== 'complete') fail('sign-up not complete', su)
    userId = body.response.created_user_id
    sessionId = body.response.created_session_id
  }
  // A session token from whichever node answers next.
  const tok = await request(browser, fapi(`/client/sessions/${sessionId}/tokens`), { method: 'POST', origin: LB })
  if (tok.status !== 200 || !JSON.parse(tok.text).jwt) fail('session token', tok)
  return { userId, signInNode: started.upstream, callbackNode: cb.upstream }
}

const [phase = 'cross', countArg = '4', label = phase] = process.argv.slice(2)
const count = Number(countArg)
let done = 0
let retries = 0
for (let i = 0; i < count; i++) {
  const email = `${label}-${TAG}-${i}@example.com`
  for (let attempt = 0; ; attempt++) {
    try {
      const out = await oneFlow(email, { cross: phase === 'cross' })
      fs.appendFileSync(RESULTS, `${email} ${out.userId}\n`)
      console.log(`${phase} ${i}: ${email} → ${out.userId} (sign-in on ${out.signInNode}, callback on ${out.callbackNode})`)
      done++
      break
    } catch (err) {
      // Load phase: a node killed or PostgreSQL restarting mid-flow fails that flow (502/503);
      // the person starts over with the same email, which must never make a second user.
      if (phase !== 'load' || attempt >= 60) throw err
      retries++
      console.log(`${phase} ${i}: attempt ${attempt + 1} failed (${err.message.slice(0, 120)}); retrying`)
      await sleep(500)
    }
  }
}
console.log(`${phase}: ${done} flows completed, ${retries} retried`)
