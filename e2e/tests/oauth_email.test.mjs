// OAuth sign-ups whose provider does not vouch for the address, or gives none (issue 11 item 8), run by a person in
// Chromium with the pinned Clerk SDK against Latchkey and the local IdP (examples/idp, its "Email given to the
// application" choice), with Latchkey's email delivered over SMTP to the mail catcher (lib/mail.mjs).
//
// The seed's sso-callback transfers the new account to a sign-up and, as it is not complete, navigates to
// /sign-in/continue. The seed's continue page there asks only for names (Clerk's guide code, unchanged); under it the
// demo's own continue-email page (examples/demo/app/sign-in/continue-email, after Clerk's email OTP guide, Future
// API) sends the code (and first asks for an address when the provider gave none), takes the code, and finalizes.
//
// Needs what first_factors.test.mjs needs.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { startStack } from '../lib/harness.mjs'
import { LatchkeyStore } from '../lib/store.mjs'
import { launchChromium, openPerson, step, goToSignIn, clickSignInWithGoogle, readHome } from '../lib/browser.mjs'

let stack
let browser
let store
const runTag = Date.now().toString(36)
const emailFor = (name) => `${name}-${runTag}@example.com`
const REFUSED_REQUEST = /Failed to load resource: the server responded with a status of (400|422)/

before(async () => {
  stack = await startStack({ mail: true })
  browser = await launchChromium()
  store = new LatchkeyStore(stack.dbPath)
}, { timeout: 120_000 })

after(async () => {
  store?.close()
  await browser?.close()
  await stack?.stop()
})

async function withPerson(label, fn) {
  if (!stack) throw new Error('the end-to-end stack did not start (see the before hook error)')
  const p = await openPerson(browser, stack, label)
  try {
    await fn(p)
    const unexpected = p.unexpectedConsoleErrors().filter((e) => !REFUSED_REQUEST.test(e))
    assert.deepEqual(unexpected, [], `unexpected console errors in ${p.label}'s browser`)
  } finally {
    await p.close().catch(() => {})
  }
}

const latchkeyLog = () => `Latchkey's log (${stack.processes.latchkey.logFile}), last lines:\n${stack.processes.latchkey.logTail(15)}`

// /sign-in → Google → the IdP form with the given email status → back at the demo's /sign-in/continue.
async function signUpAtIdp(p, { email, emailStatus }) {
  await goToSignIn(p)
  await clickSignInWithGoogle(p)
  await step(p, `sign in at the IdP as ${email} (email ${emailStatus})`, async () => {
    await p.page.fill('#email', email)
    await p.page.fill('#given_name', 'Ada')
    await p.page.fill('#family_name', 'Lovelace')
    await p.page.selectOption('#email_status', emailStatus)
    await p.page.click('#sign-in')
    await p.page.waitForURL((u) => u.href.startsWith(`${stack.urls.demo}/sign-in/continue`))
    await p.page.getByRole('heading', { name: 'Continue sign-up' }).waitFor()
  })
}

async function enterMailedCode(p, email, mark) {
  const { code } = await stack.mail.waitForCode(email, { after: mark, describe: latchkeyLog })
  assert.match(code, /^\d{6}$/)
  await step(p, 'enter the mailed code', async () => {
    await p.page.getByTestId('continue-email-verify').waitFor()
    await p.page.fill('#code', code)
    await p.page.getByRole('button', { name: 'Verify' }).click()
  })
}

function assertVerifiedUser(email, home) {
  const users = store.usersByEmail(email)
  assert.equal(users.length, 1, `one user with ${email}`)
  assert.equal(users[0].id, home.userId)
  const addresses = store.emailAddresses(users[0].id)
  assert.deepEqual(addresses.map((e) => [e.email, Boolean(e.verified), e.verificationStrategy]), [[email, true, 'email_code']])
  assert.equal(store.externalAccounts(users[0].id).length, 1, 'the Google account is linked')
}

test('an address the provider does not vouch for: the continue page sends a code, then the person is signed in', async () => {
  await withPerson('unverified', async (p) => {
    const email = emailFor('unverified')
    await signUpAtIdp(p, { email, emailStatus: 'unverified' })
    assert.equal(store.usersByEmail(email).length, 0, 'no user before the address is verified')
    await step(p, 'see the address to verify', async () => {
      await p.page.getByTestId('continue-email-send').waitFor()
      assert.equal(await p.page.getByTestId('continue-email-address').innerText(), email)
    })
    const mark = await stack.mail.latestId()
    await step(p, 'ask for the code', async () => {
      await p.page.getByRole('button', { name: 'Send the code' }).click()
    })
    await enterMailedCode(p, email, mark)
    const home = await readHome(p)
    assert.equal(home.email, email)
    assert.equal(home.name, 'Ada Lovelace')
    assertVerifiedUser(email, home)
  })
})

test('a provider account without an address: the person adds one on the continue page, verifies it, is signed in', async () => {
  await withPerson('no-email', async (p) => {
    const idpAccount = emailFor('idp-only')
    const email = emailFor('added')
    await signUpAtIdp(p, { email: idpAccount, emailStatus: 'none' })
    await step(p, 'see the email form', async () => {
      await p.page.getByTestId('continue-email').waitFor()
    })
    const mark = await stack.mail.latestId()
    await step(p, 'type an address and send the code', async () => {
      await p.page.fill('#emailAddress', `  ${email.toUpperCase()} `)
      await p.page.getByRole('button', { name: 'Send a code' }).click()
    })
    await enterMailedCode(p, email, mark)
    const home = await readHome(p)
    assert.equal(home.email, email, 'the canonical form of the typed address')
    assertVerifiedUser(email, home)
    assert.equal(store.usersByEmail(idpAccount).length, 0, 'the IdP account name is not an address of the user')
  })
})
