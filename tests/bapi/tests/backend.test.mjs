// The Backend API driven through the pinned @clerk/backend (createClerkClient) against the real
// binary: a fresh data directory, a secret key made with `latchkey secret-keys create`, the
// server on port 0. Users made here are signed in through the Frontend API (plain fetch).
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { createClerkClient, verifyToken } from '@clerk/backend'
import { dataDir, frontendApi } from '../lib/server.mjs'

const PUBLIC = 'http://localhost:1' // the origin the FAPI calls below claim to come from
const PASSWORD = 'Vq7!tz-rooftop-Quasar-91'
let instance, apiUrl, secretKey, revokedKey, clerk

before(async () => {
  instance = dataDir({ publicUrl: PUBLIC })
  secretKey = instance.newSecretKey()
  revokedKey = instance.newSecretKey()
  const id = instance.cli('secret-keys', 'list').split('\n').find((l) => l.includes('...' + revokedKey.slice(-4))).split('\t')[0]
  instance.cli('secret-keys', 'revoke', id)
  apiUrl = await instance.serve()
  clerk = createClerkClient({ secretKey, apiUrl })
})

after(async () => {
  await instance?.stop()
})

const fapi = (...args) => frontendApi(apiUrl, PUBLIC)(...args)

async function signIn(email, password) {
  return fapi('POST', '/v1/client/sign_ins', { identifier: email, password })
}

async function rejects(promise, status, code) {
  await assert.rejects(promise, (e) => {
    assert.equal(e.status, status, JSON.stringify(e.errors))
    if (code) assert.equal(e.errors[0].code, code)
    return true
  })
}

test('a missing, wrong or revoked secret key is 401 in the envelope, and tells nothing', async () => {
  const bodies = []
  for (const key of ['sk_live_wrong', revokedKey, 'not-a-key']) {
    const c = createClerkClient({ secretKey: key, apiUrl })
    await assert.rejects(c.users.getUserList(), (e) => {
      assert.equal(e.status, 401)
      assert.equal(e.errors[0].code, 'authentication_invalid')
      bodies.push(JSON.stringify(e.errors))
      return true
    })
  }
  assert.equal(new Set(bodies).size, 1, 'every refusal reads the same')
  const res = await fetch(`${apiUrl}/v1/users`)
  assert.equal(res.status, 401)
  assert.equal(res.headers.get('content-type'), 'application/json')
})

test('users: create, get, list with filters and order, count, update, metadata', async () => {
  const ada = await clerk.users.createUser({
    emailAddress: ['ada@example.com'],
    password: PASSWORD,
    firstName: 'Ada',
    lastName: 'Lovelace',
    publicMetadata: { role: 'admin', nested: { a: 1, b: 2 } },
    privateMetadata: { plan: 'pro' },
  })
  assert.match(ada.id, /^user_/)
  assert.equal(ada.firstName, 'Ada')
  assert.equal(ada.primaryEmailAddress.emailAddress, 'ada@example.com')
  assert.equal(ada.primaryEmailAddress.verification.status, 'verified')
  assert.equal(ada.passwordEnabled, true)
  assert.deepEqual(ada.privateMetadata, { plan: 'pro' })
  assert.equal(ada.banned, false)

  const grace = await clerk.users.createUser({ emailAddress: ['grace@example.com'], password: PASSWORD, firstName: 'Grace' })
  await rejects(clerk.users.createUser({ emailAddress: ['ada@example.com'], password: PASSWORD }), 422, 'form_identifier_exists')
  await rejects(clerk.users.createUser({ emailAddress: ['weak@example.com'], password: 'password' }), 422)

  const got = await clerk.users.getUser(ada.id)
  assert.equal(got.lastName, 'Lovelace')
  await rejects(clerk.users.getUser('user_missing'), 404, 'resource_not_found')

  const all = await clerk.users.getUserList()
  assert.equal(all.totalCount, 2)
  assert.deepEqual(all.data.map((u) => u.id), [grace.id, ada.id]) // newest first
  const oldest = await clerk.users.getUserList({ orderBy: '+created_at', limit: 1 })
  assert.deepEqual(oldest.data.map((u) => u.id), [ada.id])
  assert.equal(oldest.totalCount, 2)
  const page2 = await clerk.users.getUserList({ limit: 1, offset: 1 })
  assert.deepEqual(page2.data.map((u) => u.id), [ada.id])
  const byEmail = await clerk.users.getUserList({ emailAddress: ['GRACE@example.com'] })
  assert.deepEqual(byEmail.data.map((u) => u.id), [grace.id])
  assert.equal(byEmail.totalCount, 1)
  const byQuery = await clerk.users.getUserList({ query: 'lovel' })
  assert.deepEqual(byQuery.data.map((u) => u.id), [ada.id])
  const byId = await clerk.users.getUserList({ userId: [grace.id] })
  assert.deepEqual(byId.data.map((u) => u.id), [grace.id])
  const byPhone = await clerk.users.getUserList({ phoneNumber: ['+15555550100'] })
  assert.equal(byPhone.totalCount, 0)
  await rejects(clerk.users.getUserList({ orderBy: '-shoe_size' }), 422)
  assert.equal(await clerk.users.getCount(), 2)
  assert.equal(await clerk.users.getCount({ query: 'grace' }), 1)

  const renamed = await clerk.users.updateUser(ada.id, { firstName: 'Augusta' })
  assert.equal(renamed.firstName, 'Augusta')
  assert.equal(renamed.lastName, 'Lovelace')

  const merged = await clerk.users.updateUserMetadata(ada.id, {
    publicMetadata: { nested: { b: null, c: 3 }, added: true },
    unsafeMetadata: { theme: 'dark' },
  })
  assert.deepEqual(merged.publicMetadata, { role: 'admin', nested: { a: 1, c: 3 }, added: true })
  assert.deepEqual(merged.privateMetadata, { plan: 'pro' })
  assert.deepEqual(merged.unsafeMetadata, { theme: 'dark' })
  const replaced = await clerk.users.replaceUserMetadata(ada.id, { publicMetadata: { only: 1 } })
  assert.deepEqual(replaced.publicMetadata, { only: 1 })
  assert.deepEqual(replaced.privateMetadata, { plan: 'pro' })
})

test('createUser writes addresses in the Frontend API\'s canonical form', async () => {
  // The Frontend API's canonical form: trimmed, ASCII lower-cased; invisible characters refused.
  const mixed = await clerk.users.createUser({ emailAddress: ['  Mixed.Case@Example.COM '], password: PASSWORD })
  assert.equal(mixed.emailAddresses[0].emailAddress, 'mixed.case@example.com')
  assert.equal((await signIn('MIXED.case@example.com', PASSWORD)).status, 200)
  await rejects(clerk.users.createUser({ emailAddress: ['zero\u200bwidth@example.com'], password: PASSWORD }), 422, 'form_param_format_invalid')
})

test('verifyPassword, lock/unlock, disableUserMFA', async () => {
  const u = await clerk.users.createUser({ emailAddress: ['pw@example.com'], password: PASSWORD })
  assert.deepEqual(await clerk.users.verifyPassword({ userId: u.id, password: PASSWORD }), { verified: true })
  await rejects(clerk.users.verifyPassword({ userId: u.id, password: 'not it at all' }), 422, 'form_password_incorrect')

  const locked = await clerk.users.lockUser(u.id)
  assert.equal(locked.locked, true)
  const refused = await signIn('pw@example.com', PASSWORD)
  assert.equal(refused.status, 403)
  assert.equal(refused.json.errors[0].code, 'user_locked')
  const unlocked = await clerk.users.unlockUser(u.id)
  assert.equal(unlocked.locked, false)
  assert.equal((await signIn('pw@example.com', PASSWORD)).status, 200)

  // An authenticator app enrolled through /v1/me (the test plays the app): the sign-in then stops at
  // needs_second_factor; disableUserMFA (account recovery) removes it and the next sign-in completes.
  const first = await signIn('pw@example.com', PASSWORD)
  const sid = first.json.response.created_session_id
  const made = await fapi('POST', `/v1/me/totp?_clerk_session_id=${sid}`, {}, first.cookie)
  assert.equal(made.status, 200, JSON.stringify(made.json))
  const code = totp(made.json.response.secret, Math.floor(Date.now() / 30000))
  const verified = await fapi('POST', `/v1/me/totp/attempt_verification?_clerk_session_id=${sid}`, { code }, made.cookie)
  assert.equal(verified.status, 200, JSON.stringify(verified.json))
  const withMfa = await clerk.users.getUser(u.id)
  assert.equal(withMfa.twoFactorEnabled, true)
  assert.equal(withMfa.totpEnabled, true)
  assert.equal(withMfa.backupCodeEnabled, true)
  assert.equal((await signIn('pw@example.com', PASSWORD)).json.response.status, 'needs_second_factor')

  const disabled = await clerk.users.disableUserMFA(u.id)
  assert.equal(disabled.user_id, u.id)
  const without = await clerk.users.getUser(u.id)
  assert.equal(without.twoFactorEnabled, false)
  assert.equal(without.backupCodeEnabled, false)
  assert.equal((await signIn('pw@example.com', PASSWORD)).json.response.status, 'complete')
})

// RFC 6238 (HMAC-SHA1, 6 digits) of a base32 secret at time step `step`: the authenticator app.
function totp(base32, step) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  let bits = ''
  for (const c of base32.replace(/=+$/, '')) bits += alphabet.indexOf(c).toString(2).padStart(5, '0')
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)))
  const counter = Buffer.alloc(8)
  counter.writeBigUInt64BE(BigInt(step))
  const mac = createHmac('sha1', key).update(counter).digest()
  const offset = mac[mac.length - 1] & 0xf
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1000000
  return String(value).padStart(6, '0')
}

test('ban: sessions revoked, the Frontend API refuses the sign-in with user_banned; unban', async () => {
  const u = await clerk.users.createUser({ emailAddress: ['ban@example.com'], password: PASSWORD })
  const first = await signIn('ban@example.com', PASSWORD)
  assert.equal(first.status, 200)
  assert.equal(first.json.response.status, 'complete')
  const sessionId = first.json.response.created_session_id

  const banned = await clerk.users.banUser(u.id)
  assert.equal(banned.banned, true)
  assert.equal((await clerk.sessions.getSession(sessionId)).status, 'revoked')
  const client = await fapi('GET', '/v1/client', null, first.cookie)
  assert.equal(client.json.response?.sessions?.length ?? 0, 0, 'the browser is signed out')

  const again = await signIn('ban@example.com', PASSWORD)
  assert.equal(again.status, 403, JSON.stringify(again.json))
  assert.equal(again.json.errors[0].code, 'user_banned')

  assert.equal((await clerk.users.unbanUser(u.id)).banned, false)
  assert.equal((await signIn('ban@example.com', PASSWORD)).status, 200)
})

test('sessions: list, get, getToken (the FAPI token, verified by verifyToken over /v1/jwks), revoke', async () => {
  const u = await clerk.users.createUser({ emailAddress: ['sess@example.com'], password: PASSWORD })
  const s = await signIn('sess@example.com', PASSWORD)
  const sessionId = s.json.response.created_session_id

  const list = await clerk.sessions.getSessionList({ userId: u.id })
  assert.equal(list.totalCount, 1)
  assert.equal(list.data[0].id, sessionId)
  assert.equal(list.data[0].status, 'active')
  assert.equal((await clerk.sessions.getSessionList({ userId: u.id, status: 'revoked' })).totalCount, 0)

  const session = await clerk.sessions.getSession(sessionId)
  assert.equal(session.userId, u.id)
  assert.equal(session.clientId, list.data[0].clientId)

  const { jwt } = await clerk.sessions.getToken(sessionId)
  const claims = await verifyToken(jwt, { secretKey, apiUrl })
  assert.equal(claims.sub, u.id)
  assert.equal(claims.sid, sessionId)

  const revoked = await clerk.sessions.revokeSession(sessionId)
  assert.equal(revoked.status, 'revoked')
  await rejects(clerk.sessions.getToken(sessionId), 401)
  const client = await fapi('GET', '/v1/client', null, s.cookie)
  assert.equal(client.json.response?.sessions?.length ?? 0, 0, 'the browser is signed out')
  await rejects(clerk.sessions.getSession('sess_missing'), 404)
})

test('deleteUser: gone for both APIs', async () => {
  const u = await clerk.users.createUser({ emailAddress: ['gone@example.com'], password: PASSWORD })
  const deleted = await clerk.users.deleteUser(u.id)
  assert.equal(deleted.id, u.id)
  assert.equal(deleted.deleted, true)
  await rejects(clerk.users.getUser(u.id), 404)
  const s = await signIn('gone@example.com', PASSWORD)
  assert.equal(s.status, 422)
  assert.equal(s.json.errors[0].code, 'form_identifier_not_found')
})

test('clients: list (newest first, paginated), get, verifyClient by the __client cookie; sign-out and deletion show', async () => {
  await clerk.users.createUser({ emailAddress: ['clients@example.com'], password: PASSWORD })
  const s = await signIn('clients@example.com', PASSWORD)
  assert.equal(s.status, 200)
  const sessionId = s.json.response.created_session_id
  // setActive's touch makes it the client's active session.
  const touched = await fapi('POST', `/v1/client/sessions/${sessionId}/touch`, {}, s.cookie)
  assert.equal(touched.status, 200)
  const token = touched.cookie.slice('__client='.length)

  const verified = await clerk.clients.verifyClient(token)
  assert.equal(verified.lastActiveSessionId, sessionId)
  assert.deepEqual(verified.sessionIds, [sessionId])
  assert.equal(verified.sessions[0].status, 'active')
  assert.equal(verified.sessions[0].userId, s.json.client.sessions[0].user.id)

  const list = await clerk.clients.getClientList({ limit: 500 })
  assert.ok(list.totalCount >= 1)
  assert.equal(list.data.length, list.totalCount)
  assert.equal(list.data[0].id, verified.id, 'the newest client first')
  for (let i = 1; i < list.data.length; i++) assert.ok(list.data[i - 1].createdAt >= list.data[i].createdAt)
  const second = await clerk.clients.getClientList({ limit: 1, offset: 1 })
  assert.equal(second.data.length, list.totalCount > 1 ? 1 : 0)
  if (list.totalCount > 1) assert.equal(second.data[0].id, list.data[1].id)

  const got = await clerk.clients.getClient(verified.id)
  assert.deepEqual(got, verified)

  await rejects(clerk.clients.verifyClient('not-a-client-token'), 404, 'client_not_found')
  await rejects(clerk.clients.getClient('client_missing'), 404, 'client_not_found')
  await rejects(clerk.clients.getClientList({ limit: 501 }), 422)

  // The browser signs out: the client stays, its session is no longer live.
  const out = await fapi('POST', `/v1/client/sessions/${sessionId}/remove`, {}, touched.cookie)
  assert.equal(out.status, 200)
  const after = await clerk.clients.getClient(verified.id)
  assert.deepEqual(after.sessionIds, [sessionId])
  assert.equal(after.sessions[0].status, 'removed')
  assert.equal(after.lastActiveSessionId, null)
  assert.equal((await clerk.clients.verifyClient(out.cookie.slice('__client='.length))).id, verified.id)

  // The browser deletes its client: gone for the Backend API too.
  const del = await fapi('DELETE', '/v1/client', null, out.cookie)
  assert.equal(del.status, 200)
  await rejects(clerk.clients.getClient(verified.id), 404, 'client_not_found')
  await rejects(clerk.clients.verifyClient(token), 404, 'client_not_found')
  await rejects(clerk.clients.verifyClient(del.cookie.slice('__client='.length)), 404, 'client_not_found')
})

test('emailAddresses: create (canonical, unverified by default), get, verify, make primary, delete; the Frontend API follows', async () => {
  const u = await clerk.users.createUser({ emailAddress: ['first@example.com'], password: PASSWORD })
  const firstId = u.emailAddresses[0].id

  const added = await clerk.emailAddresses.createEmailAddress({ userId: u.id, emailAddress: ' Second@Example.com ' })
  assert.equal(added.emailAddress, 'second@example.com')
  assert.equal(added.verification.status, 'unverified')
  assert.deepEqual(added.linkedTo, [])
  assert.equal((await clerk.users.getUser(u.id)).primaryEmailAddressId, firstId, 'not primary unless asked')
  assert.deepEqual(await clerk.emailAddresses.getEmailAddress(added.id), added)

  await rejects(clerk.emailAddresses.createEmailAddress({ userId: u.id, emailAddress: 'FIRST@example.com' }), 422, 'form_identifier_exists')
  await rejects(clerk.emailAddresses.createEmailAddress({ userId: 'user_missing', emailAddress: 'x@example.com' }), 404)
  await rejects(clerk.emailAddresses.createEmailAddress({ userId: u.id, emailAddress: 'not an address' }), 422)
  await rejects(clerk.emailAddresses.getEmailAddress('idn_missing'), 404)

  const verified = await clerk.emailAddresses.updateEmailAddress(added.id, { verified: true, primary: true })
  assert.equal(verified.verification.status, 'verified')
  assert.equal(verified.verification.strategy, 'admin')
  const user = await clerk.users.getUser(u.id)
  assert.equal(user.primaryEmailAddressId, added.id)
  assert.equal(user.primaryEmailAddress.emailAddress, 'second@example.com')
  assert.equal((await signIn('second@example.com', PASSWORD)).status, 200, 'the Frontend API signs in with it')

  await rejects(clerk.emailAddresses.updateEmailAddress(added.id, { primary: false }), 422)
  await rejects(clerk.emailAddresses.deleteEmailAddress(added.id), 422, 'form_param_format_invalid')
  const deleted = await clerk.emailAddresses.deleteEmailAddress(firstId)
  assert.equal(deleted.id, firstId)
  assert.equal(deleted.deleted, true)
  assert.deepEqual((await clerk.users.getUser(u.id)).emailAddresses.map((e) => e.id), [added.id])
  assert.equal((await signIn('first@example.com', PASSWORD)).status, 422)

  // The address is free again, for anyone; the user's only (primary) address can go.
  const other = await clerk.users.createUser({ emailAddress: ['other@example.com'], password: PASSWORD })
  const reused = await clerk.emailAddresses.createEmailAddress({ userId: other.id, emailAddress: 'first@example.com', verified: true })
  assert.equal(reused.verification.status, 'verified')
  await clerk.emailAddresses.deleteEmailAddress(added.id)
  const bare = await clerk.users.getUser(u.id)
  assert.deepEqual(bare.emailAddresses, [])
  assert.equal(bare.primaryEmailAddressId, null)
})
