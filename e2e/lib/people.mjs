// People in the end-to-end tests: fresh browser contexts that record every refused Frontend API answer, and the
// steps every page test takes with them (open a demo page, submit a form, expect the next screen or the error the
// page shows, checked against what FAPI answered).
import assert from 'node:assert/strict'
import { openPerson, step } from './browser.mjs'

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
// A refused FAPI request is logged by Chromium itself as a failed resource load; only these are expected.
export const REFUSED_REQUEST = /Failed to load resource: the server responded with a status of (400|422)/

// Opens one person per label (each records its FAPI error answers in `fapiErrors`), runs `fn(...people)`, then
// fails on console errors other than `refused` ones and closes them all.
export async function withPeople({ stack, browser, refused = REFUSED_REQUEST }, labels, fn) {
  if (!stack) throw new Error('the end-to-end stack did not start (see the before hook error)')
  const people = []
  try {
    for (const label of labels) {
      const p = await openPerson(browser, stack, label)
      p.fapiErrors = []
      p.page.on('response', async (r) => {
        if (r.status() < 400 || !new URL(r.url()).pathname.includes('/__clerk/v1/')) return
        let body = null
        try { body = await r.json() } catch { /* not JSON */ }
        p.fapiErrors.push({ status: r.status(), path: new URL(r.url()).pathname, errors: body?.errors ?? [] })
      })
      people.push(p)
    }
    await fn(...people)
    for (const p of people) {
      const unexpected = p.unexpectedConsoleErrors().filter((e) => !refused.test(e))
      assert.deepEqual(unexpected, [], `unexpected console errors in ${p.label}'s browser`)
    }
  } finally {
    await Promise.all(people.map((p) => p.close().catch(() => {})))
  }
}

// Opens a demo page once the SDK has loaded (the status line leaves "loading").
export async function open(person, path, readyTestId) {
  await step(person, `open ${path}`, async () => {
    await person.page.goto(`${person.stack.urls.demo}${path}`)
    await person.page.getByTestId('auth-status').filter({ hasNotText: 'loading' }).waitFor()
    await person.page.getByTestId(readyTestId).waitFor()
  })
}

// The error the page shows after the last submit(): one shown from an earlier attempt does not count.
export function newError(person) {
  const seen = person.lastErrorId
  return person.page.locator(seen ? `[data-testid="clerk-error"]:not([data-error-id="${seen}"])` : '[data-testid="clerk-error"]')
}

// Waits for `target` (a test id or a locator) to appear. If the page shows a new Clerk error instead, fails at once
// naming it and what FAPI answered.
export async function expectNext(person, target, what) {
  const { page } = person
  await step(person, what, async () => {
    const next = typeof target === 'string' ? page.getByTestId(target) : target
    const error = newError(person)
    await next.or(error).first().waitFor()
    if (!(await next.first().isVisible()) && (await error.isVisible())) {
      const code = await error.getAttribute('data-code')
      const text = await error.getByTestId('clerk-error-text').innerText()
      const last = person.fapiErrors.at(-1)
      throw new Error(`the page shows Clerk error ${code || '(no code)'}: ${JSON.stringify(text)}` +
        (last ? ` (FAPI ${last.path} -> ${last.status} ${JSON.stringify(last.errors)})` : ''))
    }
  })
}

// Waits for the page's new error and checks that it is `code` and shows exactly what FAPI said (long_message, else
// message), as the pages promise. Playwright reports the refused response asynchronously, so its body may be
// recorded a moment after the page shows the error: wait (bounded) for it.
export async function expectError(person, code, what) {
  return step(person, what, async () => {
    const error = newError(person)
    await error.waitFor()
    const deadline = Date.now() + 5000
    while (person.fapiErrors.length <= person.fapiErrorsBefore && Date.now() < deadline) await sleep(50)
    assert.ok(person.fapiErrors.length > person.fapiErrorsBefore, 'a FAPI request of this step was refused')
    const answer = person.fapiErrors.at(-1)
    assert.equal(await error.getAttribute('data-code'), code, `the error code the page shows (FAPI answered ${JSON.stringify(answer)})`)
    const shown = await error.getByTestId('clerk-error-text').innerText()
    assert.equal(answer.errors[0]?.code, code, `FAPI answered ${JSON.stringify(answer)}`)
    const e = answer.errors[0]
    assert.equal(shown, e.long_message || e.message, 'the page shows the long message FAPI sent')
    assert.notEqual(shown.trim(), '')
    return { shown, answer }
  })
}

// Clicks a button, remembering which error (if any) the page showed before. `exact`: the name matches whole
// (a page with both "Verify" and "Verify code").
export async function submit(person, buttonName, { exact = false } = {}) {
  const shown = person.page.getByTestId('clerk-error')
  person.lastErrorId = (await shown.count()) ? await shown.first().getAttribute('data-error-id') : null
  person.fapiErrorsBefore = person.fapiErrors.length
  await person.page.getByRole('button', { name: buttonName, exact }).click()
}
