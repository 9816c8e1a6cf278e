// Chromium (Debian's, driven by playwright-core) and the steps a person takes in the demo.
import { chromium } from 'playwright-core'

// From the machine notes: without the background-networking flags Chromium tries to reach Google's hosts,
// which this closed network refuses. Playwright gives every launch a fresh, empty user-data-dir.
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
]

export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_BIN ?? '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  })
}

// Console errors the guide's own code produces on purpose (fapi README §7); anything else fails a test.
const EXPECTED_CONSOLE_ERRORS = [
  /Sign-in attempt not complete/, // the sign-in page logs it while the redirect to the provider starts
  /Cannot update a component .* while rendering a different component/, // continue page, React dev builds only
]

const STEP_TIMEOUT = Number(process.env.E2E_STEP_TIMEOUT_MS ?? 20_000)

// A fresh browser context (own cookies: a new "person") with a recorder for console errors and FAPI calls.
export async function openPerson(browser, stack, label) {
  const context = await browser.newContext()
  context.setDefaultTimeout(STEP_TIMEOUT)
  const page = await context.newPage()
  const consoleErrors = []
  const fapi = []
  page.on('console', (msg) => {
    if (msg.type() === 'error') consoleErrors.push(`[console] ${msg.text()}`)
  })
  page.on('pageerror', (err) => consoleErrors.push(`[pageerror] ${err.message}`))
  page.on('response', (r) => {
    const u = new URL(r.url())
    if (u.pathname.includes('/__clerk/v1/')) {
      fapi.push(`${r.request().method()} ${u.pathname}${u.searchParams.get('_method') ? `?_method=${u.searchParams.get('_method')}` : ''} -> ${r.status()}`)
    }
  })
  page.on('requestfailed', (r) => {
    const u = new URL(r.url())
    if (u.pathname.includes('/__clerk/')) fapi.push(`${r.method()} ${u.pathname} -> failed (${r.failure()?.errorText})`)
  })
  const person = {
    label,
    context,
    page,
    consoleErrors,
    fapi,
    stack,
    // Text that helps when a step times out: where the page is, what it shows, what FAPI answered.
    async describe() {
      let body = ''
      try { body = (await page.locator('body').innerText({ timeout: 1000 })).slice(0, 600) } catch { /* closed */ }
      return `[${label}] page ${page.url()}\n  shows: ${JSON.stringify(body)}\n  last FAPI calls:\n    ${fapi.slice(-12).join('\n    ') || '(none)'}` +
        (consoleErrors.length ? `\n  console errors:\n    ${consoleErrors.slice(-8).join('\n    ')}` : '')
    },
    unexpectedConsoleErrors() {
      return consoleErrors.filter((e) => !EXPECTED_CONSOLE_ERRORS.some((re) => re.test(e)))
    },
    async close() {
      await context.close()
    },
  }
  return person
}

// Runs `fn`; on failure, rethrows with what the person's page shows, so a failure says which step broke.
export async function step(person, what, fn) {
  try {
    return await fn()
  } catch (err) {
    const e = new Error(`step "${what}" failed: ${err.message.split('\n')[0]}\n${await person.describe()}`)
    e.cause = err
    throw e
  }
}

export async function goToSignIn(person) {
  const { page, stack } = person
  await step(person, 'open /sign-in', async () => {
    await page.goto(`${stack.urls.demo}/sign-in`)
    await page.getByRole('button', { name: 'Sign in with Google' }).waitFor()
  })
}

// Clicks the guide's "Sign in with Google" button and waits for the IdP's login page.
export async function clickSignInWithGoogle(person) {
  const { page, stack } = person
  await step(person, 'click "Sign in with Google" and reach the IdP login page', async () => {
    // The SDK must be loaded before the click does anything (clerk.loaded); wait for the demo's status line.
    await page.getByTestId('auth-status').filter({ hasNotText: 'loading' }).waitFor()
    await page.getByRole('button', { name: 'Sign in with Google' }).click()
    await page.waitForURL((u) => u.href.startsWith(`${stack.urls.idp}/interaction/`))
    await page.locator('#email').waitFor()
  })
}

export async function signInAtIdp(person, { email, firstName = '', lastName = '' }) {
  const { page } = person
  await step(person, `sign in at the IdP as ${email}`, async () => {
    await page.fill('#email', email)
    await page.fill('#given_name', firstName)
    await page.fill('#family_name', lastName)
    await page.click('#sign-in')
    // Back at the demo (sso-callback, then wherever the guide's code navigates).
    await page.waitForURL((u) => u.href.startsWith(person.stack.urls.demo))
  })
}

export async function denyAtIdp(person) {
  const { page } = person
  await step(person, 'press "Deny" at the IdP', async () => {
    await page.click('#deny')
    await page.waitForURL((u) => u.href.startsWith(person.stack.urls.demo))
  })
}

// Waits for the signed-in home page and reads what it shows, including the /api/me result.
export async function readHome(person) {
  const { page, stack } = person
  return step(person, 'see the signed-in home page', async () => {
    await page.waitForURL((u) => u.href === `${stack.urls.demo}/`)
    await page.getByTestId('home-signed-in').waitFor()
    const api = page.locator('[data-testid="api-me"][data-state="done"], [data-testid="api-me"][data-state="error"]')
    await api.waitFor()
    const apiText = await api.innerText()
    const apiStatus = Number(await api.getAttribute('data-status'))
    let apiBody = null
    try { apiBody = JSON.parse(apiText.replace(/^\d+ /, '')) } catch { /* shown as text */ }
    return {
      name: await page.getByTestId('user-name').innerText(),
      email: await page.getByTestId('user-email').innerText(),
      userId: await page.getByTestId('user-id').innerText(),
      sessionId: await page.getByTestId('session-id').innerText(),
      authStatus: await page.getByTestId('auth-status').innerText(),
      api: { status: apiStatus, body: apiBody, text: apiText },
    }
  })
}

// The full path a person takes: /sign-in → Google button → IdP form → back → home (or wherever it ends).
export async function signInThroughIdp(person, profile) {
  await goToSignIn(person)
  await clickSignInWithGoogle(person)
  await signInAtIdp(person, profile)
}

// FAPI's view of this browser's client, fetched by the page itself (its cookies, same origin).
export async function fapiClient(person) {
  return step(person, 'GET /__clerk/v1/client', () => person.page.evaluate(async () => {
    const r = await fetch('/__clerk/v1/client?__clerk_api_version=2026-08-20&_clerk_js_version=6.40.0', { credentials: 'include' })
    return { status: r.status, body: await r.json().catch(() => null) }
  }))
}

export async function demoCookies(person) {
  const cookies = await person.context.cookies(person.stack.urls.demo)
  return Object.fromEntries(cookies.map((c) => [c.name, c]))
}
