// Second factors (issue 12), run by a person in a real browser with the pinned Clerk SDK against Latchkey: the demo's
// /account/security page (examples/demo/app/account/security, after Clerk's "managing TOTP-based MFA" custom flow:
// user.createTOTP / verifyTOTP / createBackupCode / disableTOTP) and its second-factor sign-in step
// (examples/demo/src/components/SecondFactorStep.tsx, after Clerk's "multi-factor authentication" custom flow:
// signIn.mfa.verifyTOTP / verifyBackupCode), shown on /sign-in-password and under the guide's page on /sign-in.
//
// The person's authenticator app is this file: it reads the secret the page shows and computes RFC 6238 codes
// (HMAC-SHA1, 30 s, 6 digits) with node:crypto. Latchkey accepts a time step once, so every code a test types is
// of a step later than the last one used for that user (the enrolment uses the current step, the next sign-in the
// following one, and so on; when that is more than one step ahead, the test waits).
//
// Needs what first_factors.test.mjs needs (the Latchkey binary, the mail catcher's packages, the IdP).
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { startStack } from '../lib/harness.mjs'
import { withPeople as withPeopleIn, open, expectNext, expectError, submit as submitButton } from '../lib/people.mjs'
import { LatchkeyStore } from '../lib/store.mjs'
import { launchChromium, step, readHome, fapiClient, signInThroughIdp } from '../lib/browser.mjs'
import { AuthenticatorApp, base32Decode, currentStep, hotp } from '../lib/totp.mjs'

let stack
let browser
let store
const runTag = Date.now().toString(36)
const emailFor = (name) => `${name}-${runTag}@example.com`
const passwordFor = (name) => `${name}-${runTag}-Quartz-Lantern-7-Meadow`

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

// ---- the authenticator app ----------------------------------------------------------------------------------

// The RFC 6238 test vector (SHA-1, 8 digits there; its last 6 digits are the 6-digit code): checks this file's
// app before any test relies on it.
test('the test\'s TOTP matches RFC 6238\'s test vector', () => {
  const key = Buffer.from('12345678901234567890')
  assert.equal(hotp(key, Math.floor(59 / 30)), '287082') // 94287082
  assert.equal(hotp(key, Math.floor(1111111109 / 30)), '081804') // 07081804
  assert.equal(base32Decode('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ').toString(), '12345678901234567890')
})

// ---- the browser --------------------------------------------------------------------------------------------

// The people of this file (lib/people.mjs) and their steps.
const withPeople = (labels, fn) => withPeopleIn({ stack, browser }, labels, fn)
const submit = (person, buttonName) => submitButton(person, buttonName, { exact: true })

const latchkeyLog = () => `Latchkey's log (${stack.processes.latchkey.logFile}), last lines:\n${stack.processes.latchkey.logTail(15)}`


function assertApiMe(home) {
  assert.equal(home.api.status, 200, `/api/me answered ${home.api.text}`)
  assert.deepEqual(home.api.body, { sub: home.userId, sid: home.sessionId })
}

function assertActiveSession(sessionId, userId) {
  const s = store.session(sessionId)
  assert.ok(s, `session ${sessionId} is not in the store`)
  assert.equal(s.userId, userId)
  assert.equal(s.status, 'active')
}

// The signed-in home page, its /api/me answer (the session token verified against Latchkey's JWKS by the demo's
// server) and the stored session.
async function expectSignedIn(person, userId) {
  const home = await readHome(person)
  assert.equal(home.authStatus, 'signed in')
  assert.equal(home.userId, userId)
  assertApiMe(home)
  assertActiveSession(home.sessionId, userId)
  return home
}

async function signUpWithPassword(person, { email, password, firstName, lastName }) {
  await open(person, '/sign-up-password', 'sign-up-password')
  const mark = await stack.mail.latestId()
  await step(person, 'fill the sign-up form and continue', async () => {
    await person.page.fill('#firstName', firstName)
    await person.page.fill('#lastName', lastName)
    await person.page.fill('#email', email)
    await person.page.fill('#password', password)
    await submit(person, 'Continue')
  })
  await expectNext(person, 'sign-up-verify', 'see the "verify your email" form')
  const { code } = await stack.mail.waitForCode(email, { after: mark, describe: latchkeyLog })
  await step(person, 'enter the emailed code', async () => {
    await person.page.fill('#code', code)
    await submit(person, 'Verify')
  })
  return readHome(person)
}

async function signInWithPassword(person, { email, password }) {
  await open(person, '/sign-in-password', 'sign-in-password')
  await step(person, `sign in with ${email} and a password`, async () => {
    await person.page.fill('#identifier', email)
    await person.page.fill('#password', password)
    await submit(person, 'Sign in')
  })
}

async function signOut(person) {
  await step(person, 'sign out on the home page', async () => {
    if (new URL(person.page.url()).pathname !== '/') await person.page.goto(`${stack.urls.demo}/`)
    await person.page.getByTestId('sign-out').click()
    await person.page.getByTestId('home-signed-out').waitFor()
  })
}

// The flags /account/security shows (user.totpEnabled, backupCodeEnabled, twoFactorEnabled).
async function readSecurityStatus(person) {
  const { page } = person
  const flag = async (id) => (await page.getByTestId(id).getAttribute('data-value')) === 'true'
  return { totp: await flag('totp-enabled'), backupCodes: await flag('backup-code-enabled'), twoFactor: await flag('two-factor-enabled') }
}

// From the signed-in home page: /account/security → set up the app with the secret the page shows → the ten
// backup codes. Returns the app and the codes.
async function enrollAuthenticatorApp(person) {
  await step(person, 'follow the home page\'s link to /account/security', async () => {
    await person.page.getByTestId('account-security-link').click()
    await person.page.waitForURL((u) => u.pathname === '/account/security')
    await person.page.getByTestId('account-security').waitFor()
  })
  assert.deepEqual(await readSecurityStatus(person), { totp: false, backupCodes: false, twoFactor: false }, 'nothing enrolled yet')
  await submit(person, 'Set up authenticator app')
  await expectNext(person, 'totp-setup', 'see the secret and the otpauth URI')
  const secret = await person.page.getByTestId('totp-secret').innerText()
  const uri = await person.page.getByTestId('totp-uri').innerText()
  assert.match(secret, /^[A-Z2-7]+=*$/, 'the secret is base32')
  const parsed = new URL(uri)
  assert.equal(parsed.protocol, 'otpauth:')
  assert.equal(parsed.host, 'totp')
  assert.equal(parsed.searchParams.get('secret'), secret, 'the URI carries the same secret')
  for (const [k, v] of [['algorithm', 'SHA1'], ['digits', '6'], ['period', '30']]) {
    const got = parsed.searchParams.get(k)
    if (got !== null) assert.equal(got.toUpperCase(), v, `otpauth ${k}`)
  }

  const app = new AuthenticatorApp(secret)
  await step(person, 'type a code the app never showed', async () => {
    await person.page.fill('#totpCode', app.staleCode())
    await submit(person, 'Verify code')
  })
  await expectError(person, 'form_code_incorrect', 'see the wrong code refused')
  assert.ok(await person.page.getByTestId('totp-setup').isVisible(), 'still on the set-up form')
  await step(person, 'type the app\'s current code', async () => {
    await person.page.fill('#totpCode', await app.nextCode())
    await submit(person, 'Verify code')
  })
  await expectNext(person, 'backup-codes', 'see the backup codes')
  const codes = await person.page.getByTestId('backup-code').allInnerTexts()
  assert.equal(codes.length, 10, `ten backup codes: ${JSON.stringify(codes)}`)
  for (const c of codes) assert.match(c, /^[a-z0-9]{8}$/, 'a backup code is 8 characters of [a-z0-9]')
  assert.equal(new Set(codes).size, 10, 'all different')
  await step(person, 'see the app and the backup codes on', async () => {
    await person.page.locator('[data-testid="two-factor-enabled"][data-value="true"]').waitFor()
  })
  assert.deepEqual(await readSecurityStatus(person), { totp: true, backupCodes: true, twoFactor: true })
  return { app, codes }
}

// After a first factor: the second-factor step is shown and the person is not signed in yet; FAPI's client has the
// sign-in at needs_second_factor offering totp and backup_code, and no new session was stored.
async function expectSecondFactorStep(person, userId, sessionsBefore) {
  await expectNext(person, 'second-factor', 'see the second-factor step')
  assert.equal(await person.page.getByTestId('auth-status').innerText(), 'signed out', 'not signed in yet')
  assert.equal(await person.page.getByTestId('second-factor').getAttribute('data-strategy'), 'totp', 'the app is asked for first')
  const client = await fapiClient(person)
  const signIn = client.body?.response?.sign_in
  assert.equal(signIn?.status, 'needs_second_factor', `FAPI's sign-in: ${JSON.stringify(signIn)}`)
  assert.deepEqual(signIn.supported_second_factors.map((f) => f.strategy), ['totp', 'backup_code'])
  assert.deepEqual(client.body.response.sessions, [], 'no session on the client')
  assert.equal(store.sessionsOfUser(userId).length, sessionsBefore, 'no session stored before the second factor')
}

async function typeSecondFactor(person, code, what) {
  await step(person, what, async () => {
    await person.page.getByTestId('second-factor-code').fill(code)
    await submit(person, 'Verify')
  })
}

// ---- the tests ------------------------------------------------------------------------------------------------

// Shared by the password tests below (they run in order): the person, their user id, their app, their codes.
const ada = { email: emailFor('ada'), password: passwordFor('ada'), firstName: 'Ada', lastName: 'Lovelace' }

test('password user: sets up an authenticator app on /account/security; the next password sign-in asks for its code', async () => {
  await withPeople(['ada-laptop'], async (p) => {
    const home = await signUpWithPassword(p, ada)
    ada.userId = home.userId
    assertApiMe(home)

    const { app, codes } = await enrollAuthenticatorApp(p)
    ada.app = app

    await submit(p, 'Regenerate backup codes')
    await step(p, 'see a new set of backup codes', async () => {
      await p.page.getByTestId('security-message').filter({ hasText: 'New backup codes' }).waitFor()
    })
    const fresh = await p.page.getByTestId('backup-code').allInnerTexts()
    assert.equal(fresh.length, 10)
    assert.equal(fresh.filter((c) => codes.includes(c)).length, 0, 'the new set shares no code with the old one')
    ada.oldCodes = codes
    ada.codes = fresh

    const client = await fapiClient(p)
    const user = client.body?.response?.sessions?.[0]?.user
    assert.equal(user?.totp_enabled, true, 'FAPI says the user has an app')
    assert.equal(user?.backup_code_enabled, true)
    assert.equal(user?.two_factor_enabled, true)

    await signOut(p)
    const sessionsBefore = store.sessionsOfUser(ada.userId).length
    await signInWithPassword(p, ada)
    await expectSecondFactorStep(p, ada.userId, sessionsBefore)
    await typeSecondFactor(p, ada.app.staleCode(), 'type a code the app does not show now')
    await expectError(p, 'form_code_incorrect', 'see the wrong code refused')
    assert.equal(await p.page.getByTestId('auth-status').innerText(), 'signed out')
    await typeSecondFactor(p, await ada.app.nextCode(), 'type the app\'s code of the next time step')
    await expectSignedIn(p, ada.userId)
  })
})

test('password user: a backup code signs in once; the same code again is refused and the person stays signed out', async () => {
  assert.ok(ada.codes, 'the previous test enrolled the app')
  await withPeople(['ada-phone'], async (p) => {
    const sessionsBefore = store.sessionsOfUser(ada.userId).length
    await signInWithPassword(p, ada)
    await expectSecondFactorStep(p, ada.userId, sessionsBefore)
    await step(p, 'choose "use a backup code instead"', async () => {
      await p.page.getByTestId('use-backup-code').click()
      await p.page.locator('[data-testid="second-factor"][data-strategy="backup_code"]').waitFor()
    })
    await typeSecondFactor(p, ada.oldCodes[0], 'type a backup code of the set that was replaced')
    await expectError(p, 'form_code_incorrect', 'see the replaced code refused')
    await typeSecondFactor(p, ada.codes[0], 'type a current backup code')
    await expectSignedIn(p, ada.userId)

    await signOut(p)
    const sessionsAfter = store.sessionsOfUser(ada.userId).length
    await signInWithPassword(p, ada)
    await expectSecondFactorStep(p, ada.userId, sessionsAfter)
    await p.page.getByTestId('use-backup-code').click()
    await typeSecondFactor(p, ada.codes[0], 'type the same backup code again')
    await expectError(p, 'form_code_incorrect', 'see the used code refused')
    assert.ok(await p.page.getByTestId('second-factor').isVisible(), 'still on the second-factor step')
    assert.equal(await p.page.getByTestId('auth-status').innerText(), 'signed out')
    assert.equal(store.sessionsOfUser(ada.userId).length, sessionsAfter, 'no session stored')
    await p.page.goto(`${stack.urls.demo}/`)
    await p.page.getByTestId('home-signed-out').waitFor()
  })
})

// The OAuth user of the two tests below: signs up through the provider in one browser and sets up an app there.
const grace = { email: emailFor('grace'), firstName: 'Grace', lastName: 'Hopper' }

// The sign-in through the provider of a user with an app: the guide's sso-callback page finds the sign-in at
// needs_second_factor and navigates to /sign-in, where the step is shown under the guide's page.
async function signInThroughIdpToSecondFactor(p, who) {
  const sessionsBefore = store.sessionsOfUser(who.userId).length
  await signInThroughIdp(p, who)
  await step(p, 'sso-callback sends the browser to /sign-in', async () => {
    await p.page.waitForURL((u) => u.pathname === '/sign-in')
  })
  await expectSecondFactorStep(p, who.userId, sessionsBefore)
  assert.ok(await p.page.getByRole('button', { name: 'Sign in with Google' }).isVisible(), 'under the guide\'s page')
  await typeSecondFactor(p, await who.app.nextCode(), 'type the app\'s code of the next time step')
  await expectSignedIn(p, who.userId)
}

test('OAuth user: sets up an app; signing in with the provider goes through sso-callback to the step on /sign-in', async () => {
  await withPeople(['grace-laptop'], async (p) => {
    await signInThroughIdp(p, grace)
    const home = await readHome(p)
    assertApiMe(home)
    grace.userId = home.userId
    grace.app = (await enrollAuthenticatorApp(p)).app
    await signOut(p)
  })
  // In another browser too.
  await withPeople(['grace-phone'], async (p) => {
    await signInThroughIdpToSecondFactor(p, grace)
  })
})

// The browser that signed up through the provider signs out and signs in again there: sign-out leaves no
// completed sign-up on the client (else the guide's sso-callback page, which tests `signUp.status === 'complete'`
// before `needs_second_factor`, would finalize the ended session instead of going to the step).
test('OAuth user: the same browser that signed up, signed out, signs in with the provider and reaches the step', async () => {
  assert.ok(grace.app, 'the previous test enrolled the app')
  await withPeople(['grace-tablet'], async (p) => {
    await signInThroughIdp(p, { email: emailFor('grace-2'), firstName: 'Grace', lastName: 'Two' })
    const home = await readHome(p)
    const who = { email: emailFor('grace-2'), firstName: 'Grace', lastName: 'Two', userId: home.userId }
    who.app = (await enrollAuthenticatorApp(p)).app
    await signOut(p)
    await signInThroughIdpToSecondFactor(p, who)
  })
})

test('password user: removes the app on /account/security; the next sign-in needs no second factor', async () => {
  assert.ok(ada.app, 'the first test enrolled the app')
  await withPeople(['ada-desktop'], async (p) => {
    const sessionsBefore = store.sessionsOfUser(ada.userId).length
    await signInWithPassword(p, ada)
    await expectSecondFactorStep(p, ada.userId, sessionsBefore)
    await typeSecondFactor(p, await ada.app.nextCode(), 'type the app\'s code')
    await expectSignedIn(p, ada.userId)

    await open(p, '/account/security', 'account-security')
    assert.deepEqual(await readSecurityStatus(p), { totp: true, backupCodes: true, twoFactor: true })
    await submit(p, 'Remove authenticator app')
    await step(p, 'see the app and the backup codes off', async () => {
      await p.page.getByTestId('security-message').filter({ hasText: 'removed' }).waitFor()
      await p.page.locator('[data-testid="two-factor-enabled"][data-value="false"]').waitFor()
    })
    assert.deepEqual(await readSecurityStatus(p), { totp: false, backupCodes: false, twoFactor: false })
    assert.ok(await p.page.getByRole('button', { name: 'Set up authenticator app' }).isVisible(), 'it can be set up again')

    await signOut(p)
    await signInWithPassword(p, ada)
    await expectSignedIn(p, ada.userId)
  })
})
