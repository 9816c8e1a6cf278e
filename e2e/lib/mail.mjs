// The mail catcher (examples/mailcatcher) for the end-to-end tests: a real SMTP server on 127.0.0.1 to which
// Latchkey delivers, and a JSON API from which a test reads what was delivered, e.g. the verification code.
//
//   const mail = await startMailCatcher({ group })   // inside startStack({ mail: true }) normally
//   const mark = await mail.latestId()               // before the step that sends a message
//   const { code, message } = await mail.waitForCode('ada@example.com', { after: mark })
//
// The catcher runs as a process of the harness's ProcessGroup (its own process group, stopped with the others);
// it prints {"smtp":P,"http":Q} on stdout once both servers listen, which is read from its log file.
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
// harness.mjs imports this module too (startStack({ mail: true })): only use ProcessGroup inside functions.
import { ProcessGroup } from './harness.mjs'

export const mailCatcherDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../examples/mailcatcher')
const STEP_TIMEOUT = Number(process.env.E2E_STEP_TIMEOUT_MS ?? 20_000)
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

// A 6-digit code, alone (not part of a longer number).
const CODE_RE = /(?<!\d)(\d{6})(?!\d)/

export function mailCatcherMissing() {
  return fs.existsSync(path.join(mailCatcherDir, 'node_modules/smtp-server'))
    ? null
    : `The mail catcher's packages are missing: run \`npm ci\` in ${mailCatcherDir}.`
}

export class MailCatcher {
  constructor(proc, { smtp, http }) {
    this.proc = proc
    this.smtpPort = smtp
    this.httpPort = http
    this.url = `http://127.0.0.1:${http}`
  }

  // What Latchkey needs in its environment to deliver here.
  latchkeyEnv() {
    return { LATCHKEY_SMTP_HOST: '127.0.0.1', LATCHKEY_SMTP_PORT: String(this.smtpPort), LATCHKEY_SMTP_TLS: 'none' }
  }

  // Every message, newest first: {id, to: [addresses], from, subject, text, html, date}.
  async messages() {
    const r = await fetch(`${this.url}/api/messages`, { signal: AbortSignal.timeout(5000) })
    if (!r.ok) throw new Error(`the mail catcher answered GET /api/messages with HTTP ${r.status}`)
    return r.json()
  }

  // The id of the newest message (0 when there is none): pass it as `after` to wait only for later ones.
  async latestId() {
    const list = await this.messages()
    return list.length ? list[0].id : 0
  }

  async clear() {
    const r = await fetch(`${this.url}/api/messages`, { method: 'DELETE', signal: AbortSignal.timeout(5000) })
    if (r.status !== 204) throw new Error(`the mail catcher answered DELETE /api/messages with HTTP ${r.status}`)
  }

  // Messages to `to` (case-insensitive) with an id above `after`, newest first.
  async messagesTo(to, { after = 0 } = {}) {
    const want = to.toLowerCase()
    return (await this.messages()).filter((m) => m.id > after && m.to.some((a) => a.toLowerCase() === want))
  }

  // Waits for the newest message to `to` after `after`. On timeout the error lists what did arrive, and
  // `describe()` (e.g. Latchkey's log tail) if given: a missing message is then explained, not just reported.
  async waitForMessage(to, { after = 0, timeoutMs = STEP_TIMEOUT, describe } = {}) {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = await this.messagesTo(to, { after })
      if (found.length) return found[0]
      if (this.proc?.exited) throw new Error(`the mail catcher stopped: ${this.proc.describeExit()}`)
      if (Date.now() > deadline) {
        const all = await this.messages()
        const seen = all.map((m) => `#${m.id} to ${m.to.join(', ')}: ${JSON.stringify(m.subject)}`).join('\n    ')
        const extra = describe ? `\n${await describe()}` : ''
        throw new Error(`no message to ${to} (after #${after}) reached the mail catcher within ${timeoutMs} ms; ` +
          `it holds ${all.length}:\n    ${seen || '(none)'}${extra}`)
      }
      await sleep(100)
    }
  }

  // The 6-digit code of the newest message to `to` after `after`: looked for in the text part, then the subject,
  // then the HTML part without its tags. A message without one fails at once, showing the message.
  async waitForCode(to, options = {}) {
    const message = await this.waitForMessage(to, options)
    const html = message.html.replace(/<[^>]*>/g, ' ')
    const m = CODE_RE.exec(message.text) ?? CODE_RE.exec(message.subject) ?? CODE_RE.exec(html)
    if (!m) {
      throw new Error(`the newest message to ${to} has no 6-digit code: ${JSON.stringify({ subject: message.subject, text: message.text })}`)
    }
    return { code: m[1], message }
  }

  stop() {
    return this.proc.stop()
  }
}

// Starts the catcher on free ports (in `group`, or in a group of its own logging to `logDir`) and waits for its
// ports line. Fails with its output if it exits or does not report in time.
export async function startMailCatcher({ group, logDir, timeoutMs = 30_000 } = {}) {
  const missing = mailCatcherMissing()
  if (missing) throw new Error(`cannot start the mail catcher: ${missing}`)
  const g = group ?? new ProcessGroup(logDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-mail-')))
  const proc = g.start('mailcatcher', process.execPath, [path.join(mailCatcherDir, 'mailcatcher.mjs')], {
    cwd: mailCatcherDir,
    env: { MAILCATCHER_SMTP_PORT: '0', MAILCATCHER_HTTP_PORT: '0' },
  })
  const deadline = Date.now() + timeoutMs
  for (;;) {
    let log = ''
    try { log = fs.readFileSync(proc.logFile, 'utf8') } catch { /* not written yet */ }
    const m = /^\{"smtp":(\d+),"http":(\d+)\}$/m.exec(log)
    if (m) return new MailCatcher(proc, { smtp: Number(m[1]), http: Number(m[2]) })
    if (proc.exited) throw new Error(`the mail catcher did not start: ${proc.describeExit()}`)
    if (Date.now() > deadline) {
      await proc.stop()
      throw new Error(`the mail catcher printed no ports line within ${timeoutMs} ms. Output (${proc.logFile}):\n${proc.logTail()}`)
    }
    await sleep(50)
  }
}

// A minimal SMTP client (no TLS, no AUTH) for the harness's own tests and the mock Latchkey: delivers one message
// with a text part and, if given, an HTML part to 127.0.0.1:`port`. Rejects on any unexpected reply.
export async function sendMail({ port, from, to, subject, text, html }) {
  const socket = net.connect(port, '127.0.0.1')
  socket.setEncoding('utf8')
  socket.setTimeout(10_000, () => socket.destroy(new Error('SMTP timeout')))
  let buffer = ''
  let failure = null
  const waiters = []
  socket.on('error', (err) => {
    failure = err
    while (waiters.length) waiters.shift().reject(err)
  })
  socket.on('data', (chunk) => {
    buffer += chunk
    for (;;) {
      const m = /^(?:\d{3}-[^\r\n]*\r\n)*(\d{3}) [^\r\n]*\r\n/.exec(buffer)
      if (!m || !waiters.length) break
      buffer = buffer.slice(m[0].length)
      waiters.shift().resolve({ code: Number(m[1]), text: m[0].trim() })
    }
  })
  const reply = () => new Promise((resolve, reject) => (failure ? reject(failure) : waiters.push({ resolve, reject })))
  const expect = async (line, code) => {
    const r = reply()
    if (line !== null) socket.write(`${line}\r\n`)
    const got = await r
    if (got.code !== code) throw new Error(`SMTP ${line === null ? 'greeting' : line.split(' ')[0]}: expected ${code}, got ${got.text}`)
  }
  const boundary = `b_${Date.now().toString(36)}`
  const headers = [`From: <${from}>`, `To: <${to}>`, `Subject: ${subject}`, 'MIME-Version: 1.0', `Date: ${new Date().toUTCString()}`]
  const body = html
    ? [...headers, `Content-Type: multipart/alternative; boundary="${boundary}"`, '',
        `--${boundary}`, 'Content-Type: text/plain; charset=utf-8', '', text,
        `--${boundary}`, 'Content-Type: text/html; charset=utf-8', '', html, `--${boundary}--`]
    : [...headers, 'Content-Type: text/plain; charset=utf-8', '', text]
  try {
    await expect(null, 220)
    await expect('EHLO localhost', 250)
    await expect(`MAIL FROM:<${from}>`, 250)
    await expect(`RCPT TO:<${to}>`, 250)
    await expect('DATA', 354)
    await expect(`${body.join('\r\n').replace(/\r?\n/g, '\r\n').replace(/^\./gm, '..')}\r\n.`, 250)
    await expect('QUIT', 221)
  } finally {
    socket.destroy()
  }
}
