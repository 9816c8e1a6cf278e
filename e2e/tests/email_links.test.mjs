// Email links (issue 11 item 3) in a real browser with the pinned Clerk SDK against Latchkey, which mails the link
// over SMTP to the mail catcher (lib/mail.mjs). The pages are the demo's own (examples/demo/app/{sign-in-link,
// sign-up-link} and their verify pages), written after Clerk's "email links" custom-flow guide with the Future API:
// the tab that asked polls its attempt (signIn.emailLink.waitForVerification / signUp.verifications.
// waitForEmailLinkVerification) while the link is opened in a new tab of the same browser or in another browser;
// either way the tab that asked ends up signed in, and a used link is refused.
//
// Needs what first_factors.test.mjs needs.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { startStack } from '../lib/harness.mjs'
import { LatchkeyStore } from '../lib/store.mjs'
import { launchChromium, openPerson, step, readHome } from '../lib/browser.mjs'

let stack
let browser
let store
const runTag = Date.now().toString(36)
const emailFor = (name) => `${name}-${runTag}@example.com`
const passwordFor = (name) => `${name}-${runTag}-Quartz-Lantern-7-Meadow`
const LINK_RE = /https?:\/\/[^\s"<>]+\/v1\/verify\?token=[A-Za-z0-9_.-]+/

before(async () => {
  stack = await startStack({ mail: true, latchkeyEnv: { LATCHKEY_IDENTIFIERS_EMAIL_LINK: 'true' } })
  browser = await launchChromium()
  store = new LatchkeyStore(stack.dbPath)
}, { timeout: 120_000 })

after(async () => {
  store?.close()
  await browser?.close()
  await stack?.stop()
})

async function withPeople(labels, fn) {
  if (!stack) throw new Error('the end-to-end stack did not start (see the before hook error)')
  const people = []
  try {
    for (const label of labels) people.push(await openPerson(browser, stack, label))
    await fn(...people)
    for (const p of people) {
      assert.deepEqual(p.unexpectedConsoleErrors(), [], `unexpected console errors in ${p.label}'s browser`)
    }
  } finally {
    await Promise.all(people.map((p) => p.close().catch(() => {})))
  }
}

const latchkeyLog = () => `Latchkey's log (${stack.processes.latchkey.logFile}), last lines:\n${stack.processes.latchkey.logTail(15)}`

async function open(person, path, readyTestId) {
  await step(person, `open ${path}`, async () => {
    await person.page.goto(`${stack.urls.demo}${path}`)
    await person.page.getByTestId('auth-status').filter({ hasNotText: 'loading' }).waitFor()
    await person.page.getByTestId(readyTestId).waitFor()
  })
}

// The link of the newest message to `email` after `mark`, checked: it points at Latchkey's FAPI verify endpoint on
// the demo's origin (the FAPI proxy), and the text and HTML parts carry the same one.
async function mailedLink(person, email, mark) {
  return step(person, `read the link mailed to ${email}`, async () => {
    const message = await stack.mail.waitForMessage(email, { after: mark, describe: latchkeyLog })
    const m = LINK_RE.exec(message.text)
    assert.ok(m, `the text part carries a link: ${JSON.stringify(message.text)}`)
    assert.ok(m[0].startsWith(`${stack.urls.demo}/__clerk/v1/verify?token=`), m[0])
    assert.ok(message.html.includes(m[0]), 'the HTML part carries the same link')
    assert.ok(!stack.processes.latchkey.logTail(400).includes(m[0].split('token=')[1]), 'the token is in no log line')
    return m[0]
  })
}

async function signUpWithLink(person, { email, first, last }) {
  await open(person, '/sign-up-link', 'sign-up-link')
  const mark = await stack.mail.latestId()
  await step(person, 'fill the sign-up form and continue', async () => {
    await person.page.fill('#firstName', first)
    await person.page.fill('#lastName', last)
    await person.page.fill('#email', email)
    await person.page.fill('#password', passwordFor(first))
    await person.page.getByRole('button', { name: 'Continue' }).click()
    await person.page.getByTestId('sign-up-link-sent').waitFor()
  })
  return mailedLink(person, email, mark)
}

async function askForSignInLink(person, email) {
  await open(person, '/sign-in-link', 'sign-in-link')
  const mark = await stack.mail.latestId()
  await step(person, `ask for a sign-in link for ${email}`, async () => {
    await person.page.fill('#email', email)
    await person.page.getByRole('button', { name: 'Send me a link' }).click()
    await person.page.getByTestId('sign-in-link-sent').waitFor()
  })
  return mailedLink(person, email, mark)
}

function assertSignedIn(home, email) {
  assert.equal(home.email, email)
  assert.equal(home.api.status, 200, `/api/me answered ${home.api.text}`)
  assert.deepEqual(home.api.body, { sub: home.userId, sid: home.sessionId })
  const s = store.session(home.sessionId)
  assert.ok(s, `session ${home.sessionId} is not in the store`)
  assert.equal(s.status, 'active')
}

test('sign-up verified by a link opened in a new tab: both tabs end up signed in', async () => {
  await withPeople(['ada'], async (ada) => {
    const email = emailFor('ada')
    const link = await signUpWithLink(ada, { email, first: 'Ada', last: 'Lovelace' })
    const tab = await ada.context.newPage()
    await step(ada, 'open the link in a new tab', async () => {
      await tab.goto(link)
      await tab.waitForURL((u) => u.pathname === '/' || u.pathname === '/sign-up-link/verify')
    })
    const home = await readHome(ada) // the tab that asked, polling, finalizes and goes home
    assertSignedIn(home, email)
    assert.equal(home.name, 'Ada Lovelace')
    await step(ada, 'the new tab is signed in too', async () => {
      await tab.waitForURL((u) => u.pathname === '/')
      await tab.getByTestId('home-signed-in').waitFor()
    })
    await tab.close()
  })
})

test('sign-in link opened in another browser: the tab that asked signs in, the other browser does not', async () => {
  await withPeople(['ada-laptop', 'ada-phone'], async (laptop, phone) => {
    const email = emailFor('ada')
    const link = await askForSignInLink(laptop, email)
    await step(phone, 'open the link on another device', async () => {
      await phone.page.goto(link)
      await phone.page.locator('[data-testid="email-link-status"][data-status="verified-elsewhere"]').waitFor()
      await phone.page.getByTestId('auth-status').filter({ hasText: 'signed out' }).waitFor()
    })
    const home = await readHome(laptop)
    assertSignedIn(home, email)

    // The link worked once: opening it again is refused (Latchkey redirects with __clerk_status=failed).
    await step(phone, 'open the same link again', async () => {
      await phone.page.goto(link)
      await phone.page.locator('[data-testid="email-link-status"][data-status="failed"]').waitFor()
      assert.match(phone.page.url(), /__clerk_status=failed/)
    })
  })
})

test('sign-in link opened in a new tab of the same browser: the first tab is signed in', async () => {
  await withPeople(['ada-again'], async (ada) => {
    const email = emailFor('ada')
    const link = await askForSignInLink(ada, email)
    const tab = await ada.context.newPage()
    await step(ada, 'open the link in a new tab', async () => {
      await tab.goto(link)
      await tab.waitForURL((u) => u.pathname === '/' || u.pathname === '/sign-in-link/verify')
    })
    const home = await readHome(ada)
    assertSignedIn(home, email)
    await step(ada, 'the new tab is signed in with the same session', async () => {
      await tab.waitForURL((u) => u.pathname === '/')
      await tab.getByTestId('home-signed-in').waitFor()
      assert.equal(await tab.getByTestId('session-id').innerText(), home.sessionId)
    })
    await tab.close()
  })
})
