// Session tasks (issue 12 item 4) in a real browser with the pinned Clerk SDK: an instance that requires a second
// factor ([mfa] required, LATCHKEY_MFA_REQUIRED). A new user signs up with a password; the session is `pending`
// with the setup-mfa task, so the demo's sign-up page sends them to /sign-in/tasks (`session.currentTask`), where
// they are not signed in yet. They set up an authenticator app there (user.createTOTP / verifyTOTP on the pending
// session), see their backup codes, and `clerk.setActive()` activates the session: home, signed in, the session
// token verified by the demo's server. Their next sign-in asks for the app's code and has no task.
//
// Needs what first_factors.test.mjs needs (the Latchkey binary, the mail catcher's packages, the IdP).
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { startStack } from '../lib/harness.mjs'
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
