// The harness itself: it starts the IdP, a Latchkey and the demo server, reports start failures clearly, and
// leaves no process behind. Uses a stand-in for Latchkey (fixtures/fake-latchkey.mjs), so it runs before
// Latchkey's FAPI exists; the demo must be built and the IdP's packages installed.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { startStack, liveProcessGroups } from '../lib/harness.mjs'
import { launchChromium } from '../lib/browser.mjs'
import { sendMail } from '../lib/mail.mjs'

const fake = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/fake-latchkey.mjs')

function alive(pid) {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

after(() => {
  delete process.env.FAKE_LATCHKEY_MODE
})

test('a missing Latchkey binary is reported by path, with the build command, and nothing is started', async () => {
  await assert.rejects(startStack({ bin: '/nonexistent/latchkey' }), (err) => {
    assert.match(err.message, /Latchkey binary not found at \/nonexistent\/latchkey/)
    assert.match(err.message, /cmake --build --preset release --target latchkey/)
    assert.match(err.message, /LATCHKEY_BIN/)
    return true
  })
  assert.deepEqual(liveProcessGroups(), [])
})

test('a Latchkey that exits at start is reported with its output, and the IdP is stopped again', async () => {
  process.env.FAKE_LATCHKEY_MODE = 'exit'
  try {
    await assert.rejects(startStack({ bin: fake }), (err) => {
      assert.match(err.message, /did not become ready: latchkey exited \(exit code 2\)/)
      assert.match(err.message, /simulated failure/)
      return true
    })
  } finally {
    delete process.env.FAKE_LATCHKEY_MODE
  }
  assert.deepEqual(liveProcessGroups(), [])
})

test('the stack starts on loopback, the demo serves the app and clerk-js and proxies FAPI; stop leaves nothing', async () => {
  const stack = await startStack({ bin: fake })
  const pids = Object.values(stack.processes).map((p) => p.pid)
  try {
    assert.equal(pids.every(alive), true)
    const discovery = await (await fetch(`${stack.urls.idp}/.well-known/openid-configuration`)).json()
    assert.equal(discovery.issuer, stack.urls.idp)
    const config = fs.readFileSync(stack.configFile, 'utf8')
    assert.match(config, new RegExp(`public_url = "${stack.urls.demo}"`))
    assert.match(config, /\[providers\.oauth_google\]/)

    const demo = stack.urls.demo.replace('localhost', '127.0.0.1')
    const page = await fetch(`${demo}/sso-callback`)
    assert.equal(page.status, 200)
    assert.match(await page.text(), /<div id="root">/)
    const clerkJs = await fetch(`${demo}/__clerk/npm/@clerk/clerk-js@6/dist/clerk.browser.js`)
    assert.equal(clerkJs.status, 200)
    const env = await fetch(`${demo}/__clerk/v1/environment`)
    assert.equal(env.status, 404)
    assert.match((await env.json()).errors[0].message, /fake latchkey: GET \/__clerk\/v1\/environment/)
    assert.equal((await fetch(`${demo}/api/me`)).status, 401)

    // The real app in the real browser: the guide's sign-in page renders and clerk-js is hot-loaded from the
    // demo server, nothing from outside.
    const browser = await launchChromium()
    try {
      const pageInBrowser = await browser.newPage()
      const outside = []
      pageInBrowser.on('request', (r) => {
        const u = new URL(r.url())
        if (/^(https?|wss?):$/.test(u.protocol) && !['localhost', '127.0.0.1'].includes(u.hostname)) outside.push(r.url())
      })
      const loaded = pageInBrowser.waitForResponse((r) => r.url().endsWith('/dist/clerk.browser.js') && r.status() === 200)
      await pageInBrowser.goto(`${stack.urls.demo}/sign-in`)
      await pageInBrowser.getByRole('button', { name: 'Sign in with Google' }).waitFor({ timeout: 15_000 })
      await loaded
      assert.deepEqual(outside, [])
    } finally {
      await browser.close()
    }
  } finally {
    await stack.stop()
  }
  assert.equal(pids.some(alive), false, 'every started process has exited')
  assert.deepEqual(liveProcessGroups(), [])
  assert.equal(fs.existsSync(stack.work), false, 'the temp folder is removed')
})

test('with mail: the mail catcher starts first, Latchkey gets its SMTP port, codes are read back, stop ends it', async () => {
  const stack = await startStack({ bin: fake, mail: true })
  const { mail } = stack
  const catcherPid = stack.processes.mailcatcher.pid
  try {
    assert.ok(alive(catcherPid))
    assert.equal(stack.urls.mail, `http://127.0.0.1:${mail.httpPort}`)
    assert.deepEqual(mail.latchkeyEnv(), { LATCHKEY_SMTP_HOST: '127.0.0.1', LATCHKEY_SMTP_PORT: String(mail.smtpPort), LATCHKEY_SMTP_TLS: 'none' })
    const log = fs.readFileSync(stack.processes.latchkey.logFile, 'utf8')
    assert.match(log, new RegExp(`fake-latchkey: smtp 127\\.0\\.0\\.1:${mail.smtpPort} tls=none`))
    assert.equal(await mail.latestId(), 0)

    await sendMail({ port: mail.smtpPort, from: 'noreply@latchkey.test', to: 'Ada@Example.com', subject: 'Your code', text: 'Use 123456 within 10 minutes (not 1234567).' })
    const mark = await mail.latestId()
    assert.ok(mark > 0)
    assert.equal((await mail.waitForCode('ada@example.com')).code, '123456', 'addresses compare case-insensitively')
    await sendMail({ port: mail.smtpPort, from: 'noreply@latchkey.test', to: 'ada@example.com', subject: 'Reset', text: 'plain', html: '<p>Code <b>654321</b></p>' })
    await sendMail({ port: mail.smtpPort, from: 'noreply@latchkey.test', to: 'grace@example.com', subject: 'Other', text: 'Code 111111' })
    const { code, message } = await mail.waitForCode('ada@example.com', { after: mark })
    assert.equal(code, '654321', 'the newest message after the mark, from its HTML part')
    assert.deepEqual(message.to, ['ada@example.com'])
    await assert.rejects(mail.waitForCode('nobody@example.com', { timeoutMs: 300 }), /no message to nobody@example\.com .*it holds 3/s)
    await sendMail({ port: mail.smtpPort, from: 'noreply@latchkey.test', to: 'alan@example.com', subject: 'No code', text: 'hello' })
    await assert.rejects(mail.waitForCode('alan@example.com'), /has no 6-digit code/)
    await mail.clear()
    assert.deepEqual(await mail.messages(), [])
  } finally {
    await stack.stop()
  }
  assert.equal(alive(catcherPid), false)
  assert.deepEqual(liveProcessGroups(), [])
})

test('a process that ignores SIGTERM is killed with its children after the grace period', async () => {
  process.env.FAKE_LATCHKEY_MODE = 'ignore-term'
  let stack
  try {
    stack = await startStack({ bin: fake, keep: true })
  } finally {
    delete process.env.FAKE_LATCHKEY_MODE
  }
  const log = fs.readFileSync(stack.processes.latchkey.logFile, 'utf8')
  const grandchild = Number(/child pid (\d+)/.exec(log)?.[1])
  assert.ok(alive(grandchild))
  const started = Date.now()
  await stack.stop()
  assert.ok(Date.now() - started >= 4000, 'waited for the grace period before SIGKILL')
  assert.equal(alive(stack.processes.latchkey.pid), false)
  assert.equal(alive(grandchild), false, 'the child of the stopped process is gone too')
  assert.deepEqual(liveProcessGroups(), [])
  fs.rmSync(stack.work, { recursive: true, force: true })
})
