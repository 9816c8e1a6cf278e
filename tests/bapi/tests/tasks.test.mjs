// Session tasks through @clerk/backend and the Frontend API (part2 §5): users.setPasswordCompromised
// flags a password; a password sign-in then needs a new password, any other sign-in (an email code
// here, in test mode: +clerk_test addresses take 424242) gets a pending session with the
// reset-password task, whose token @clerk/backend treats as signed out; user.updatePassword
// (POST /v1/me/change_password) and the touch of setActive() make it active.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createClerkClient, verifyToken } from '@clerk/backend'
import { dataDir, frontendApi } from '../lib/server.mjs'

const PUBLIC = 'http://localhost:1'
const PASSWORD = 'Vq7!tz-rooftop-Quasar-91'
const NEW_PASSWORD = 'Lantern-quiver-Otter-2048!'
let instance, apiUrl, secretKey, clerk

before(async () => {
  instance = dataDir({ publicUrl: PUBLIC, env: { LATCHKEY_TESTING_ENABLED: 'true' } })
  secretKey = instance.newSecretKey()
  apiUrl = await instance.serve()
  clerk = createClerkClient({ secretKey, apiUrl })
})

after(async () => {
  await instance?.stop()
})

const fapi = (...args) => frontendApi(apiUrl, PUBLIC)(...args)

// signIn.emailCode: create, prepare (the address's id from supported_first_factors), attempt.
async function codeSignIn(email) {
  const created = await fapi('POST', '/v1/client/sign_ins', { identifier: email })
  assert.equal(created.status, 200, JSON.stringify(created.json))
  const si = created.json.response
  const factor = si.supported_first_factors.find((f) => f.strategy === 'email_code')
  const prep = await fapi('POST', `/v1/client/sign_ins/${si.id}/prepare_first_factor`,
    { strategy: 'email_code', email_address_id: factor.email_address_id }, created.cookie)
  assert.equal(prep.status, 200, JSON.stringify(prep.json))
  return fapi('POST', `/v1/client/sign_ins/${si.id}/attempt_first_factor`,
    { strategy: 'email_code', code: '424242' }, prep.cookie)
}

test('a compromised password: a pending session with reset-password until the password is changed', async () => {
  const email = 'ada+clerk_test@example.com'
  const user = await clerk.users.createUser({ emailAddress: [email], password: PASSWORD })
  const flagged = await clerk.users.setPasswordCompromised(user.id, { revokeAllSessions: true })
  assert.equal(flagged.id, user.id)

  // The password still proves who it is, but must be replaced first.
  const byPassword = await fapi('POST', '/v1/client/sign_ins', { identifier: email, password: PASSWORD })
  assert.equal(byPassword.json.response.status, 'needs_new_password')

  const done = await codeSignIn(email)
  assert.equal(done.status, 200, JSON.stringify(done.json))
  assert.equal(done.json.response.status, 'complete')
  const sid = done.json.response.created_session_id
  const session = done.json.client.sessions.find((s) => s.id === sid)
  assert.equal(session.status, 'pending')
  assert.deepEqual(session.tasks, [{ key: 'reset-password' }])
  const claims = await verifyToken(session.last_active_token.jwt, { secretKey, apiUrl })
  assert.equal(claims.sts, 'pending')
  // A backend route called with that token: signed out by default, the user only when pending sessions are
  // accepted (authenticateRequest's toAuth({treatPendingAsSignedOut: false})).
  const publishableKey = 'pk_live_' + Buffer.from(`${new URL(apiUrl).host}$`).toString('base64').replace(/=+$/, '')
  const request = new Request(`${PUBLIC}/api/me`, { headers: { authorization: `Bearer ${session.last_active_token.jwt}` } })
  const state = await clerk.authenticateRequest(request, { publishableKey, secretKey, apiUrl })
  assert.equal(state.toAuth().userId, null, 'a pending session is signed out by default')
  assert.equal(state.toAuth({ treatPendingAsSignedOut: false }).userId, user.id)

  // A touch before the work keeps it pending.
  const early = await fapi('POST', `/v1/client/sessions/${sid}/touch`, { intent: 'select_session' }, done.cookie)
  assert.equal(early.json.response.status, 'pending')

  // user.updatePassword({newPassword, signOutOfOtherSessions}) from the task page: the flag stands in for
  // the current password; a weak one is refused by the policy and changes nothing.
  const me = `/v1/me/change_password?_clerk_session_id=${sid}`
  const weak = await fapi('POST', me, { new_password: 'short', sign_out_of_other_sessions: 'true' }, early.cookie)
  assert.equal(weak.status, 422)
  assert.equal(weak.json.errors[0].code, 'form_password_length_too_short')
  const changed = await fapi('POST', me, { new_password: NEW_PASSWORD, sign_out_of_other_sessions: 'true' }, early.cookie)
  assert.equal(changed.status, 200, JSON.stringify(changed.json))
  assert.equal(changed.json.response.object, 'user')

  const active = await fapi('POST', `/v1/client/sessions/${sid}/touch`, { intent: 'select_session' }, changed.cookie)
  assert.equal(active.json.response.status, 'active')
  assert.equal(active.json.response.tasks, null)

  // The new password signs in directly; the old one no longer does.
  const fresh = await fapi('POST', '/v1/client/sign_ins', { identifier: email, password: NEW_PASSWORD })
  assert.equal(fresh.json.response.status, 'complete')
  const old = await fapi('POST', '/v1/client/sign_ins', { identifier: email, password: PASSWORD })
  assert.equal(old.status, 422)

  // Now a change needs the current password.
  const noCurrent = await fapi('POST', me, { new_password: PASSWORD }, active.cookie)
  assert.equal(noCurrent.status, 422)
  assert.equal(noCurrent.json.errors[0].meta.param_name, 'current_password')
  const wrong = await fapi('POST', me, { new_password: PASSWORD, current_password: 'nope-nope-nope' }, active.cookie)
  assert.equal(wrong.json.errors[0].code, 'form_password_incorrect')

  // unsetPasswordCompromised lifts the flag; a user without a password cannot be flagged.
  await clerk.users.setPasswordCompromised(user.id)
  await clerk.users.unsetPasswordCompromised(user.id)
  const plain = await fapi('POST', '/v1/client/sign_ins', { identifier: email, password: NEW_PASSWORD })
  assert.equal(plain.json.response.status, 'complete')
  const nopw = await clerk.users.createUser({ emailAddress: ['nopw+clerk_test@example.com'], skipPasswordRequirement: true })
  await assert.rejects(clerk.users.setPasswordCompromised(nopw.id), (e) => e.status === 422)
})
