// The OAuth custom flow of Clerk's guide, run by a person in a real browser against Latchkey and a real OIDC
// provider. Each test checks what the person sees AND what Latchkey stored.
//
// Needs: the Latchkey binary (LATCHKEY_BIN, default build/release/src/cli/latchkey), `npm ci && npm run build` in
// examples/demo, `npm ci` in examples/idp and here, and Debian's Chromium (/usr/bin/chromium or CHROMIUM_BIN).
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { startStack } from '../lib/harness.mjs'
import { LatchkeyStore } from '../lib/store.mjs'
import {
  launchChromium, openPerson, step, goToSignIn, clickSignInWithGoogle, signInAtIdp, denyAtIdp,
  signInThroughIdp, readHome, fapiClient, demoCookies,
} from '../lib/browser.mjs'

let stack
let browser
let store
const runTag = Date.now().toString(36)
const emailFor = (name) => `${name}-${runTag}@example.com`

before(async () => {
  stack = await startStack()
  browser = await launchChromium()
  store = new LatchkeyStore(stack.dbPath)
}, { timeout: 120_000 })

after(async () => {
  store?.close()
  await browser?.close()
  await stack?.stop()
})

// Gives a test fresh browser contexts ("people"); closes them and fails on unexpected console errors.
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

function assertApiMe(home) {
  assert.equal(home.api.status, 200, `/api/me answered ${home.api.text}`)
  assert.deepEqual(home.api.body, { sub: home.userId, sid: home.sessionId })
}

function assertOneUser(email, { firstName, lastName } = {}) {
  const users = store.usersByEmail(email)
  assert.equal(users.length, 1, `expected exactly one user with ${email}, store has ${JSON.stringify(users)}`)
  if (firstName !== undefined) assert.equal(users[0].firstName, firstName)
  if (lastName !== undefined) assert.equal(users[0].lastName, lastName)
  return users[0]
}

function assertActiveSession(sessionId, userId) {
  const s = store.session(sessionId)
  assert.ok(s, `session ${sessionId} is not in the store`)
  assert.equal(s.userId, userId)
  assert.equal(s.status, 'active')
  return s
}

test('new user: signs up through the provider, lands home with name and email, /api/me trusts the token', async () => {
  await withPeople(['ada'], async (ada) => {
    const email = emailFor('ada')
    let before = null
    try { before = store.countUsers() } catch { /* the DB may not have been written yet */ }
    await signInThroughIdp(ada, { email, firstName: 'Ada', lastName: 'Lovelace' })
    const home = await readHome(ada)

    assert.equal(home.name, 'Ada Lovelace')
    assert.equal(home.email, email)
    assert.equal(home.authStatus, 'signed in')
    assert.match(home.userId, /^user_/)
    assert.match(home.sessionId, /^sess_/)
    assertApiMe(home)

    const user = assertOneUser(email, { firstName: 'Ada', lastName: 'Lovelace' })
    assert.equal(user.id, home.userId)
    if (before !== null) assert.equal(store.countUsers(), before + 1)
    assert.deepEqual(store.emailAddresses(user.id).map((e) => e.email.toLowerCase()), [email])
    const accounts = store.externalAccounts(user.id)
    assert.equal(accounts.length, 1, 'one linked Google account')
    assert.match(String(accounts[0].provider), /google/)
    assert.equal(accounts[0].providerUserId, email, 'linked by the IdP subject (the IdP uses the email as sub)')
    assertActiveSession(home.sessionId, user.id)
  })
})

test('returning user: same email in a fresh browser gets the same user and a new session, no new user', async () => {
  const email = emailFor('grace')
  let first
  await withPeople(['grace-laptop'], async (p) => {
    await signInThroughIdp(p, { email, firstName: 'Grace', lastName: 'Hopper' })
    first = await readHome(p)
  })
  const usersAfterSignUp = store.countUsers()
  await withPeople(['grace-phone'], async (p) => {
    await signInThroughIdp(p, { email, firstName: 'Grace', lastName: 'Hopper' })
    const again = await readHome(p)
    assert.equal(again.userId, first.userId, 'same user')
    assert.notEqual(again.sessionId, first.sessionId, 'a new session')
    assert.equal(again.name, 'Grace Hopper')
    assertApiMe(again)
    assert.equal(store.countUsers(), usersAfterSignUp, 'no new user row')
    const user = assertOneUser(email)
    assert.equal(store.externalAccounts(user.id).length, 1, 'still one linked account')
    const sessions = store.sessionsOfUser(user.id).map((s) => s.id)
    assert.ok(sessions.includes(first.sessionId) && sessions.includes(again.sessionId), `sessions: ${sessions}`)
    assertActiveSession(again.sessionId, user.id)
  })
})

test('missing first and last name: the continue page asks for them, then the person is signed in', async () => {
  await withPeople(['nameless'], async (p) => {
    const email = emailFor('hopper')
    await signInThroughIdp(p, { email }) // the IdP sends no names
    await step(p, 'land on /sign-in/continue', async () => {
      await p.page.waitForURL((u) => u.pathname === '/sign-in/continue')
      await p.page.getByRole('heading', { name: 'Continue sign-up' }).waitFor()
    })
    assert.equal(store.usersByEmail(email).length, 0, 'no user before the sign-up is complete')
    await step(p, 'fill first and last name and submit', async () => {
      await p.page.fill('#firstName', 'Grace')
      await p.page.fill('#lastName', 'Hopper')
      await p.page.getByRole('button', { name: 'Submit' }).click()
    })
    const home = await readHome(p)
    assert.equal(home.name, 'Grace Hopper')
    assert.equal(home.email, email)
    assertApiMe(home)
    const user = assertOneUser(email, { firstName: 'Grace', lastName: 'Hopper' })
    assert.equal(user.id, home.userId)
    assertActiveSession(home.sessionId, user.id)
  })
})

test('already signed in: signing in again activates the existing session (setActive) and lands home', async () => {
  await withPeople(['alan'], async (p) => {
    const email = emailFor('alan')
    await signInThroughIdp(p, { email, firstName: 'Alan', lastName: 'Turing' })
    const first = await readHome(p)
    const usersBefore = store.countUsers()

    await step(p, 'go to the sign-in page while signed in', async () => {
      await p.page.getByTestId('sign-in-again').click()
      await p.page.waitForURL((u) => u.pathname === '/sign-in')
    })
    await clickSignInWithGoogle(p)
    await signInAtIdp(p, { email, firstName: 'Alan', lastName: 'Turing' })
    const again = await readHome(p)

    assert.equal(again.userId, first.userId)
    assert.equal(again.sessionId, first.sessionId, 'the existing session was activated, not a new one')
    assertApiMe(again)
    assert.equal(store.countUsers(), usersBefore, 'no new user')
    assertOneUser(email)
    assert.ok(p.fapi.some((c) => /\/client\/sessions\/[^/]+\/touch -> 200/.test(c)), `setActive touched the session:\n${p.fapi.join('\n')}`)
  })
})

test('provider denies access: the error is shown, nobody is signed in, nothing is created', async () => {
  await withPeople(['denied'], async (p) => {
    await goToSignIn(p)
    await clickSignInWithGoogle(p)
    const users = store.countUsers()
    const sessions = store.countSessions()
    await denyAtIdp(p)
    const alert = await step(p, 'see the provider error', async () => {
      const a = p.page.getByTestId('provider-error')
      await a.waitFor()
      return { text: await a.innerText(), code: await a.getAttribute('data-code') }
    })
    assert.match(`${alert.code} ${alert.text}`, /denied/i)
    assert.equal(await p.page.getByTestId('auth-status').innerText(), 'signed out')
    assert.equal(store.countUsers(), users, 'no user created')
    assert.equal(store.countSessions(), sessions, 'no session created')
    const client = await fapiClient(p)
    assert.equal(client.status, 200)
    assert.deepEqual(client.body?.response?.sessions ?? [], [], 'the client has no session')
  })
})

test('sign out, then sign in again: the old session ends, a new one starts for the same user', async () => {
  await withPeople(['barbara'], async (p) => {
    const email = emailFor('barbara')
    await signInThroughIdp(p, { email, firstName: 'Barbara', lastName: 'Liskov' })
    const first = await readHome(p)

    await step(p, 'press "Sign out" and see the signed-out home page', async () => {
      await p.page.getByTestId('sign-out').click()
      await p.page.getByTestId('home-signed-out').waitFor()
      await p.page.getByTestId('auth-status').filter({ hasText: 'signed out' }).waitFor()
    })
    const ended = store.session(first.sessionId)
    assert.ok(ended, 'the ended session is still recorded')
    assert.notEqual(ended.status, 'active', 'the old session is no longer active')
    const afterOut = await fapiClient(p)
    assert.equal((afterOut.body?.response?.sessions ?? []).filter((s) => s.status === 'active').length, 0)

    await step(p, 'follow the "Sign in" link', async () => {
      await p.page.getByTestId('sign-in-link').click()
      await p.page.waitForURL((u) => u.pathname === '/sign-in')
    })
    await clickSignInWithGoogle(p)
    await signInAtIdp(p, { email, firstName: 'Barbara', lastName: 'Liskov' })
    const again = await readHome(p)
    assert.equal(again.userId, first.userId)
    assert.notEqual(again.sessionId, first.sessionId)
    assertApiMe(again)
    assertOneUser(email)
    assertActiveSession(again.sessionId, first.userId)
  })
})

test('two browsers never share a client: different __client cookies and client ids', async () => {
  await withPeople(['alice', 'bob'], async (alice, bob) => {
    await signInThroughIdp(alice, { email: emailFor('alice'), firstName: 'Alice', lastName: 'A' })
    const aliceHome = await readHome(alice)
    // Bob only starts a sign-in: his first FAPI mutation creates his client.
    await goToSignIn(bob)
    await clickSignInWithGoogle(bob)
    await step(bob, 'come back to the demo', () => bob.page.goto(`${stack.urls.demo}/`))

    const [ca, cb] = [await demoCookies(alice), await demoCookies(bob)]
    assert.ok(ca.__client, `alice has a __client cookie (cookies: ${Object.keys(ca)})`)
    assert.ok(cb.__client, `bob has a __client cookie (cookies: ${Object.keys(cb)})`)
    assert.notEqual(ca.__client.value, cb.__client.value)
    assert.equal(ca.__client.httpOnly, true, '__client is HttpOnly')

    const [a, b] = [await fapiClient(alice), await fapiClient(bob)]
    assert.equal(a.status, 200)
    assert.equal(b.status, 200)
    const idA = a.body?.response?.id
    const idB = b.body?.response?.id
    assert.ok(idA && idB, `both have a client: ${idA} ${idB}`)
    assert.notEqual(idA, idB)
    assert.deepEqual(a.body.response.sessions.map((s) => s.id), [aliceHome.sessionId])
    assert.deepEqual(b.body.response.sessions, [], 'bob does not see alice\'s session')

    assert.ok(store.client(idA) && store.client(idB), 'both clients are stored')
    assert.deepEqual(store.sessionsOfClient(idB), [])
    assert.deepEqual(store.sessionsOfClient(idA).map((s) => s.id), [aliceHome.sessionId])
  })
})

// The __client credential rotates whenever who is signed in changes (docs/security.md "Client credential"). The
// SDK never reads the cookie (HttpOnly), so it must keep working across every rotation: token refresh, a second
// tab, a request that raced the rotation, sign-out, sign-in again.
test('the client credential rotates at sign-in and sign-out; the SDK keeps working in two tabs and across a race', async () => {
  await withPeople(['rotator'], async (p) => {
    const email = emailFor('rotator')
    await goToSignIn(p)
    await clickSignInWithGoogle(p)
    const anonymous = (await demoCookies(p)).__client?.value
    assert.ok(anonymous, 'starting the sign-in created a client')
    await signInAtIdp(p, { email, firstName: 'Rosa', lastName: 'Tor' })
    const home = await readHome(p)
    assertApiMe(home)
    const signedIn = (await demoCookies(p)).__client?.value
    assert.ok(signedIn)
    assert.notEqual(signedIn, anonymous, 'the sign-in issued a new credential')

    // A second tab of the same browser shares the jar: signed in, and its token refresh works.
    const tab = await p.context.newPage()
    tab.on('console', (msg) => { if (msg.type() === 'error') p.consoleErrors.push(`[tab console] ${msg.text()}`) })
    await step(p, 'open the home page in a second tab', async () => {
      await tab.goto(`${stack.urls.demo}/`)
      await tab.getByTestId('home-signed-in').waitFor()
    })
    const refreshed = await step(p, 'refresh the token in the second tab', () =>
      tab.evaluate(() => window.Clerk.session.getToken({ skipCache: true })))
    assert.match(refreshed, /^ey/)

    // A refresh that left with the pre-sign-in value and whose answer arrives after the rotation: it is refused
    // (401, no Set-Cookie); the SDK re-reads the client with the cookie the jar holds now and stays signed in.
    let raced = null
    await tab.route('**/__clerk/v1/client/sessions/*/tokens*', async (route) => {
      const req = route.request()
      const res = await fetch(req.url(), {
        method: 'POST',
        headers: { cookie: `__client=${anonymous}`, origin: stack.urls.demo, 'content-type': 'application/x-www-form-urlencoded' },
        body: req.postData() ?? '',
      })
      raced = { status: res.status, setCookie: res.headers.get('set-cookie') }
      await route.fulfill({ status: res.status, contentType: 'application/json', body: await res.text() })
    }, { times: 1 })
    const afterRace = await step(p, 'a token refresh races the rotation', () => tab.evaluate(async () => {
      let error = null
      try { await window.Clerk.session.getToken({ skipCache: true }) } catch (e) { error = String(e?.message ?? e) }
      // handleUnauthenticated re-reads the client; wait for it to settle.
      for (let i = 0; i < 50 && !window.Clerk.loaded; i++) await new Promise((r) => setTimeout(r, 50))
      await new Promise((r) => setTimeout(r, 500))
      return { error, userId: window.Clerk.user?.id ?? null, token: await window.Clerk.session?.getToken({ skipCache: true }) }
    }))
    assert.deepEqual(raced, { status: 401, setCookie: null }, 'the stale value was refused without a cookie')
    assert.equal(afterRace.userId, home.userId, `still signed in after the race (${afterRace.error})`)
    assert.match(afterRace.token ?? '', /^ey/, 'and the next refresh works')
    assert.equal((await demoCookies(p)).__client?.value, signedIn, 'the jar kept the current credential')
    // The 401 of the raced request is the one console error this test expects.
    for (let i = p.consoleErrors.length - 1; i >= 0; i--) {
      if (/status of 401/.test(p.consoleErrors[i])) p.consoleErrors.splice(i, 1)
    }
    await tab.close()

    await step(p, 'press "Sign out"', async () => {
      await p.page.getByTestId('sign-out').click()
      await p.page.getByTestId('home-signed-out').waitFor()
    })
    const signedOut = (await demoCookies(p)).__client?.value
    assert.ok(signedOut)
    assert.notEqual(signedOut, signedIn, 'the sign-out issued a new credential')

    await step(p, 'follow the "Sign in" link', async () => {
      await p.page.getByTestId('sign-in-link').click()
      await p.page.waitForURL((u) => u.pathname === '/sign-in')
    })
    await clickSignInWithGoogle(p)
    await signInAtIdp(p, { email, firstName: 'Rosa', lastName: 'Tor' })
    const again = await readHome(p)
    assert.equal(again.userId, home.userId)
    assertApiMe(again)
    const final = (await demoCookies(p)).__client?.value
    assert.ok(![anonymous, signedIn, signedOut].includes(final), 'the second sign-in rotated again')
    assertActiveSession(again.sessionId, home.userId)
  })
})
