// Webhooks as Clerk sends them (docs/backend-api.md "Webhooks"), checked the way an application
// checks them: receivers on 127.0.0.1 port 0 pass every request to @clerk/backend's verifyWebhook
// (Standard Webhooks / Svix signatures). Users are created, updated and deleted through
// createClerkClient; a sign-up and a sign-in go through the Frontend API.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { randomBytes } from 'node:crypto'
import { createClerkClient } from '@clerk/backend'
import { verifyWebhook } from '@clerk/backend/webhooks'
import { dataDir, frontendApi } from '../lib/server.mjs'

const PUBLIC = 'http://localhost:1'
const PASSWORD = 'Vq7!tz-rooftop-Quasar-91'
const SECRET = 'whsec_' + randomBytes(24).toString('base64')
const FLAKY_SECRET = 'whsec_' + randomBytes(24).toString('base64')

// A receiver: keeps every request (headers and raw body) and answers `statusFor(n)` to the n-th
// request of the same svix-id (the n-th attempt of one event).
function receiver(statusFor = () => 200) {
  const attempts = new Map()
  const requests = []
  const waiters = []
  const server = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (c) => (body += c))
    req.on('end', () => {
      requests.push({ headers: req.headers, body, url: req.url })
      const id = req.headers['svix-id']
      attempts.set(id, (attempts.get(id) ?? 0) + 1)
      const status = statusFor(attempts.get(id))
      res.writeHead(status, { 'content-type': 'text/plain' })
      res.end(status === 200 ? 'ok' : 'no')
      for (const w of [...waiters]) w()
    })
  })
  return {
    requests,
    async listen() {
      await new Promise((r) => server.listen(0, '127.0.0.1', r))
      return `http://127.0.0.1:${server.address().port}/hook`
    },
    // Resolves with the requests once `pred(requests)` holds (or rejects after `ms`).
    until(pred, ms = 20000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (pred(requests)) {
            clearTimeout(timer)
            waiters.splice(waiters.indexOf(check), 1)
            resolve(requests)
          }
        }
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(check), 1)
          reject(new Error(`timed out; got ${requests.map((r) => JSON.parse(r.body).type)}`))
        }, ms)
        waiters.push(check)
        check()
      })
    },
    close: () => new Promise((r) => server.close(r)),
  }
}

// What an application's route does: a Fetch Request into verifyWebhook.
function verify(r, signingSecret, body = r.body) {
  const request = new Request('http://app.example/api/webhooks', {
    method: 'POST',
    headers: Object.entries(r.headers).filter(([, v]) => typeof v === 'string'),
    body,
  })
  return verifyWebhook(request, { signingSecret })
}

let instance, apiUrl, clerk, flakyUrl
const main = receiver()
// Every event: 500 twice, then 200.
const flaky = receiver((n) => (n <= 2 ? 500 : 200))

before(async () => {
  const mainUrl = await main.listen()
  flakyUrl = await flaky.listen()
  instance = dataDir({
    publicUrl: PUBLIC,
    env: {
      LATCHKEY_TESTING_ENABLED: 'true',
      LATCHKEY_PASSWORDS_HASH_OPSLIMIT: '1',
      LATCHKEY_PASSWORDS_HASH_MEMLIMIT_KIB: '8192',
      LATCHKEY_WEBHOOK_ENDPOINTS_MAIN_URL: mainUrl,
      LATCHKEY_WEBHOOK_ENDPOINTS_MAIN_SIGNING_SECRET: SECRET,
      LATCHKEY_WEBHOOK_ENDPOINTS_FLAKY_URL: flakyUrl,
      LATCHKEY_WEBHOOK_ENDPOINTS_FLAKY_SIGNING_SECRET: FLAKY_SECRET,
      LATCHKEY_WEBHOOK_ENDPOINTS_FLAKY_EVENTS: 'user.created',
      LATCHKEY_WEBHOOKS_RETRY_SCHEDULE: '300ms,300ms,300ms',
      LATCHKEY_WEBHOOKS_POLL_INTERVAL: '200ms',
    },
  })
  const secretKey = instance.newSecretKey()
  apiUrl = await instance.serve()
  clerk = createClerkClient({ secretKey, apiUrl })
})

after(async () => {
  await instance?.stop()
  await main.close()
  await flaky.close()
})

const fapi = (...args) => frontendApi(apiUrl, PUBLIC, { 'user-agent': 'webhooks-test/1.0' })(...args)

// The verified events main got so far for `objectId` (user or session id), in arrival order.
async function eventsFor(objectId) {
  const out = []
  for (const r of main.requests) {
    const evt = await verify(r, SECRET)
    if (evt.data.id === objectId) out.push(evt)
  }
  return out
}

test('createUser, updateUser and deleteUser each deliver one signed event, in order', async () => {
  const user = await clerk.users.createUser({ emailAddress: ['wh-ada@example.com'], password: PASSWORD })
  await main.until(() => main.requests.some((r) => r.body.includes(user.id)))
  await clerk.users.updateUser(user.id, { firstName: 'Ada' })
  await clerk.users.deleteUser(user.id)
  await main.until(() => main.requests.filter((r) => r.body.includes(user.id)).length >= 3)
  const evts = await eventsFor(user.id)
  assert.deepEqual(evts.map((e) => e.type), ['user.created', 'user.updated', 'user.deleted'])
  const [created, updated, deleted] = evts
  assert.equal(created.object, 'event')
  assert.match(created.instance_id, /^ins_/)
  assert.equal(typeof created.timestamp, 'number')
  assert.ok(Math.abs(created.timestamp - Date.now()) < 60_000)
  assert.equal(created.data.object, 'user')
  assert.equal(created.data.email_addresses[0].email_address, 'wh-ada@example.com')
  assert.equal(created.data.first_name, null)
  assert.equal(updated.data.first_name, 'Ada')  // what was true at the event
  assert.deepEqual(deleted.data, { deleted: true, id: user.id, object: 'user' })
  assert.equal(typeof created.event_attributes.http_request.client_ip, 'string')
  // One svix-id per event (msg_...), a seconds timestamp, a v1 signature.
  const raw = main.requests.filter((r) => r.body.includes(user.id))
  assert.equal(new Set(raw.map((r) => r.headers['svix-id'])).size, 3)
  for (const r of raw) {
    assert.match(r.headers['svix-id'], /^msg_/)
    assert.match(r.headers['svix-timestamp'], /^\d{10}$/)
    assert.match(r.headers['svix-signature'], /^v1,[A-Za-z0-9+/]+=*$/)
  }
})

test('a tampered secret or body fails verification', async () => {
  await main.until(() => main.requests.length > 0)
  const r = main.requests[0]
  await verify(r, SECRET) // the right secret verifies
  await assert.rejects(verify(r, 'whsec_' + randomBytes(24).toString('base64')), /verify/i)
  await assert.rejects(verify(r, SECRET, r.body.replace('"object":"event"', '"object":"evil"')), /verify/i)
})

test('an endpoint answering 500 twice gets the event again until it takes it, attempts counted', async () => {
  const user = await clerk.users.createUser({ emailAddress: ['wh-flaky@example.com'], password: PASSWORD })
  const mine = (rs) => rs.filter((r) => r.body.includes(`"id":"${user.id}"`))
  await flaky.until((rs) => mine(rs).length >= 3)
  const got = mine(flaky.requests)
  assert.equal(new Set(got.map((r) => r.headers['svix-id'])).size, 1, 'three attempts of one event')
  for (const r of flaky.requests) {
    const evt = await verify(r, FLAKY_SECRET)
    assert.equal(evt.type, 'user.created') // its events filter: only user.created
  }
  // Accepted on the third attempt: delivered once, nothing more comes.
  await new Promise((r) => setTimeout(r, 1000))
  assert.equal(mine(flaky.requests).length, 3)
  const rows = instance
    .cli('webhooks', 'list')
    .split('\n')
    .filter((l) => l.startsWith('whd_'))
    .map((l) => l.split('\t'))
  const row = rows.find((c) => c[2] === flakyUrl && c[1] === 'user.created' && c[3] === 'delivered' && c[4] === '3')
  assert.ok(row, rows.map((c) => c.join(' ')).join('\n'))
  assert.deepEqual(instance.cli('webhooks', 'list', '--failed').split('\n').filter((l) => l.startsWith('whd_')), [])
})

test('a sign-up through the Frontend API emits user.created and session.created; sign-out session.ended', async () => {
  const email = 'wh-jane+clerk_test@example.com'
  const su = await fapi('POST', '/v1/client/sign_ups', { email_address: email, password: PASSWORD })
  assert.equal(su.status, 200, JSON.stringify(su.json))
  const id = su.json.response.id
  const prep = await fapi('POST', `/v1/client/sign_ups/${id}/prepare_verification`, { strategy: 'email_code' }, su.cookie)
  assert.equal(prep.status, 200, JSON.stringify(prep.json))
  const done = await fapi('POST', `/v1/client/sign_ups/${id}/attempt_verification`, { strategy: 'email_code', code: '424242' }, prep.cookie)
  assert.equal(done.status, 200, JSON.stringify(done.json))
  const userId = done.json.response.created_user_id
  const sessionId = done.json.response.created_session_id
  assert.ok(userId && sessionId)
  await main.until(() => main.requests.some((r) => r.body.includes(`"id":"${sessionId}"`)))
  const [created] = await eventsFor(userId)
  assert.equal(created.type, 'user.created')
  assert.equal(created.data.email_addresses[0].email_address, email)
  assert.equal(created.event_attributes.http_request.user_agent, 'webhooks-test/1.0')
  assert.equal(created.event_attributes.http_request.client_ip, '127.0.0.1')
  const [session] = await eventsFor(sessionId)
  assert.equal(session.type, 'session.created')
  assert.equal(session.data.object, 'session')
  assert.equal(session.data.user_id, userId)
  assert.equal(session.data.status, 'active')
  // clerk.signOut(): session.ended.
  const out = await fapi('DELETE', '/v1/client/sessions', null, done.cookie)
  assert.equal(out.status, 200, JSON.stringify(out.json))
  await main.until(() => main.requests.filter((r) => r.body.includes(`"id":"${sessionId}"`)).length >= 2)
  const evts = await eventsFor(sessionId)
  assert.deepEqual(evts.map((e) => e.type), ['session.created', 'session.ended'])
})

test('revoking a session through the Backend API emits session.revoked', async () => {
  await clerk.users.createUser({ emailAddress: ['wh-rev@example.com'], password: PASSWORD })
  const si = await fapi('POST', '/v1/client/sign_ins', { identifier: 'wh-rev@example.com', password: PASSWORD })
  assert.equal(si.status, 200, JSON.stringify(si.json))
  const sessionId = si.json.response.created_session_id
  await clerk.sessions.revokeSession(sessionId)
  await main.until(() => main.requests.filter((r) => r.body.includes(`"id":"${sessionId}"`)).length >= 2)
  const evts = await eventsFor(sessionId)
  assert.deepEqual(evts.map((e) => e.type), ['session.created', 'session.revoked'])
  assert.equal(evts[1].data.status, 'revoked')
})

test('session.remove() through the Frontend API emits session.removed', async () => {
  await clerk.users.createUser({ emailAddress: ['wh-rm@example.com'], password: PASSWORD })
  const si = await fapi('POST', '/v1/client/sign_ins', { identifier: 'wh-rm@example.com', password: PASSWORD })
  assert.equal(si.status, 200, JSON.stringify(si.json))
  const sessionId = si.json.response.created_session_id
  const rm = await fapi('POST', `/v1/client/sessions/${sessionId}/remove`, {}, si.cookie)
  assert.equal(rm.status, 200, JSON.stringify(rm.json))
  await main.until(() => main.requests.filter((r) => r.body.includes(`"id":"${sessionId}"`)).length >= 2)
  const evts = await eventsFor(sessionId)
  assert.deepEqual(evts.map((e) => e.type), ['session.created', 'session.removed'])
  assert.equal(evts[1].data.status, 'removed')
})
