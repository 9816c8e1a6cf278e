// Session tasks (issue 12 item 4) in a real browser with the pinned Clerk SDK: an instance that requires a second
// factor ([mfa] required, LATCHKEY_MFA_REQUIRED). A new user signs up with a password; the session is `pending`
// with the setup-mfa task, so the demo's sign-up page sends them to /sign-in/tasks (`session.currentTask`), where
// they are not signed in yet. They set up an authenticator app there (user.createTOTP / verifyTOTP on the pending
// session), see their backup codes, and `clerk.setActive()` activates the session: home, signed in, the session
// token verified by the demo's server. Their next sign-in asks for the app's code and has no task. A user whose
// password the Backend API flagged (users.setPasswordCompromised) signs in with an emailed code and meets both
// tasks in turn: reset-password (user.updatePassword), then setup-mfa.
//
// Needs what first_factors.test.mjs needs (the Latchkey binary, the mail catcher's packages, the IdP).
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { startStack, latchkeyBinary } from '../lib/harness.mjs'
import { LatchkeyStore } from '../lib/store.mjs'
import { launchChromium, openPerson, step, readHome } from '../lib/browser.mjs'
import { AuthenticatorApp } from '../lib/totp.mjs'

let stack
let browser
let store
const runTag = Date.now().toString(36)

before(async () => {
  stack = await startStack({ mail: true, latchkeyEnv: { LATCHKEY_MFA_REQUIRED: 'true' } })
  browser = await launchChromium()
  store = new LatchkeyStore(stack.dbPath)
}, { timeout: 120_000 })

after(async () => {
  store?.close()
  await browser?.close()
  await stack?.stop()
})

async function click(person, name) {
  await person.page.getByRole('button', { name, exact: true }).click()
}

test('an instance that requires MFA: sign-up → setup-mfa task → app set up → active; the next sign-in asks for it', async () => {
  const email = `tasks-${runTag}@example.com`
  const password = `tasks-${runTag}-Quartz-Lantern-7-Meadow`
  const p = await openPerson(browser, stack, 'ines')
  try {
    const { page } = p
    await step(p, 'sign up with email and password', async () => {
      await page.goto(`${stack.urls.demo}/sign-up-password`)
      await page.getByTestId('sign-up-password').waitFor()
      const mark = await stack.mail.latestId()
      await page.fill('#firstName', 'Ines')
      await page.fill('#lastName', 'Task')
      await page.fill('#email', email)
      await page.fill('#password', password)
      await click(p, 'Continue')
      await page.getByTestId('sign-up-verify').waitFor()
      const { code } = await stack.mail.waitForCode(email, { after: mark })
      await page.fill('#code', code)
      await click(p, 'Verify')
    })
    const sessionId = await step(p, 'land on /sign-in/tasks with the setup-mfa task, not signed in', async () => {
      await page.waitForURL((u) => u.pathname === '/sign-in/tasks')
      await page.getByTestId('task-setup-mfa').waitFor()
      assert.equal(await page.getByTestId('current-task').getAttribute('data-task'), 'setup-mfa')
      await page.getByTestId('auth-status').filter({ hasText: 'signed out' }).waitFor()
      const users = store.usersByEmail(email)
      assert.equal(users.length, 1, 'the user exists')
      const sessions = store.sessionsOfUser(users[0].id)
      assert.equal(sessions.length, 1)
      assert.equal(sessions[0].status, 'pending')
      return sessions[0].id
    })
    const app = await step(p, 'set up an authenticator app on the task page', async () => {
      await click(p, 'Set up authenticator app')
      const secret = await page.getByTestId('totp-secret').innerText()
      const a = new AuthenticatorApp(secret)
      await page.fill('#totpCode', await a.nextCode())
      await click(p, 'Verify code')
      await page.getByTestId('backup-codes').waitFor()
      assert.equal((await page.getByTestId('backup-code').allInnerTexts()).length, 10)
      return a
    })
    await step(p, 'continue: the session becomes active', async () => {
      await click(p, 'Continue')
    })
    const home = await readHome(p)
    assert.equal(home.authStatus, 'signed in')
    assert.equal(home.sessionId, sessionId)
    assert.equal(home.api.status, 200, `/api/me answered ${home.api.text}`)
    assert.equal(store.session(sessionId).status, 'active')

    await step(p, 'sign out, sign in with the password: the app is asked for, then no task', async () => {
      await page.getByTestId('sign-out').click()
      await page.getByTestId('home-signed-out').waitFor()
      await page.goto(`${stack.urls.demo}/sign-in-password`)
      await page.getByTestId('sign-in-password').waitFor()
      await page.fill('#identifier', email)
      await page.fill('#password', password)
      await click(p, 'Sign in')
      await page.getByTestId('second-factor').waitFor()
      await page.getByTestId('second-factor-code').fill(await app.nextCode())
      await click(p, 'Verify')
    })
    const again = await readHome(p)
    assert.equal(again.authStatus, 'signed in')
    assert.equal(store.session(again.sessionId).status, 'active')
    assert.deepEqual(p.unexpectedConsoleErrors(), [])
  } finally {
    await p.close()
  }
})

// The Backend API as the application's server calls it, with a secret key made by the CLI on the same data.
async function backendApi(method, path, body) {
  if (!backendApi.key) {
    const out = execFileSync(latchkeyBinary(), ['secret-keys', 'create', '--config', stack.configFile], { encoding: 'utf8' })
    backendApi.key = out.split('\n').find((l) => l.startsWith('sk_live_'))
  }
  const res = await fetch(`${stack.urls.latchkey}${path}`, {
    method,
    headers: { authorization: `Bearer ${backendApi.key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body ?? {}),
  })
  const json = await res.json()
  assert.ok(res.ok, `${method} ${path} answered ${res.status} ${JSON.stringify(json)}`)
  return json
}

test('a flagged password: an email-code sign-in meets reset-password, then setup-mfa, then is signed in', async () => {
  const email = `flagged-${runTag}@example.com`
  const user = await backendApi('POST', '/v1/users', { email_address: [email], password: `old-${runTag}-Quartz-Lantern-7` })
  await backendApi('POST', `/v1/users/${user.id}/password/set_compromised`, { revoke_all_sessions: true })
  const p = await openPerson(browser, stack, 'flagged')
  try {
    const { page } = p
    await step(p, 'sign in with a code sent by email', async () => {
      await page.goto(`${stack.urls.demo}/sign-in-code`)
      await page.getByTestId('sign-in-code').waitFor()
      const mark = await stack.mail.latestId()
      await page.fill('#email', email)
      await click(p, 'Send me a code')
      await page.getByTestId('sign-in-code-verify').waitFor()
      const { code } = await stack.mail.waitForCode(email, { after: mark })
      await page.fill('#code', code)
      await click(p, 'Verify')
    })
    await step(p, 'the reset-password task first: a new password', async () => {
      await page.waitForURL((u) => u.pathname === '/sign-in/tasks')
      await page.getByTestId('task-reset-password').waitFor()
      assert.deepEqual(store.sessionsOfUser(user.id).map((s) => s.status), ['pending'])
      await page.fill('#newPassword', `new-${runTag}-Quartz-Lantern-7-Meadow`)
      await click(p, 'Set new password')
    })
    await step(p, 'then the setup-mfa task, still not signed in', async () => {
      await page.getByTestId('task-setup-mfa').waitFor()
      await page.getByTestId('auth-status').filter({ hasText: 'signed out' }).waitFor()
      await click(p, 'Set up authenticator app')
      const app = new AuthenticatorApp(await page.getByTestId('totp-secret').innerText())
      await page.fill('#totpCode', await app.nextCode())
      await click(p, 'Verify code')
      await page.getByTestId('backup-codes').waitFor()
      await click(p, 'Continue')
    })
    const home = await readHome(p)
    assert.equal(home.authStatus, 'signed in')
    assert.equal(home.userId, user.id)
    assert.equal(home.api.status, 200, `/api/me answered ${home.api.text}`)
    assert.equal(store.session(home.sessionId).status, 'active')
    assert.deepEqual(p.unexpectedConsoleErrors(), [])
  } finally {
    await p.close()
  }
})
