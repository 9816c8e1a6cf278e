// The mail catcher as its users drive it: the program prints its ports, an SMTP client delivers a message, the API
// and the page show it, DELETE forgets it, SIGTERM stops the program.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import net from 'node:net'
import path from 'node:path'
import readline from 'node:readline'
import { fileURLToPath } from 'node:url'

const program = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../mailcatcher.mjs')
let child
let ports
let stderr = ''

// A minimal SMTP client: one command at a time, waiting for the final line of each reply.
async function smtpSend(port, { from, to, data, auth }) {
  const socket = net.connect(port, '127.0.0.1')
  socket.setEncoding('utf8')
  let buffer = ''
  const waiters = []
  socket.on('data', (chunk) => {
    buffer += chunk
    for (;;) {
      // A reply ends with a line "NNN text" (a space after the code; "NNN-" lines continue it).
      const m = buffer.match(/^(?:\d{3}-[^\r\n]*\r\n)*(\d{3}) [^\r\n]*\r\n/)
      if (!m || !waiters.length) break
      buffer = buffer.slice(m[0].length)
      waiters.shift()({ code: Number(m[1]), text: m[0] })
    }
  })
  const reply = () => new Promise((resolve) => waiters.push(resolve))
  const command = async (line, expect) => {
    const r = reply()
    socket.write(`${line}\r\n`)
    const got = await r
    assert.equal(got.code, expect, `SMTP "${line.split(' ')[0]}" answered ${got.text}`)
    return got
  }
  try {
    const greeting = await reply()
    assert.equal(greeting.code, 220)
    const ehlo = await command('EHLO client.test', 250)
    assert.doesNotMatch(ehlo.text, /STARTTLS/, 'STARTTLS is not offered')
    if (auth) await command(`AUTH PLAIN ${Buffer.from(`\0${auth.user}\0${auth.pass}`).toString('base64')}`, 235)
    await command(`MAIL FROM:<${from}>`, 250)
    for (const rcpt of to) await command(`RCPT TO:<${rcpt}>`, 250)
    await command('DATA', 354)
    await command(`${data.replace(/\n/g, '\r\n').replace(/^\./gm, '..')}\r\n.`, 250)
    await command('QUIT', 221)
  } finally {
    socket.destroy()
  }
}

before(async () => {
  child = spawn(process.execPath, [program, '--smtp-port', '0', '--http-port=0'], { stdio: ['ignore', 'pipe', 'pipe'] })
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (c) => { stderr += c })
  const lines = readline.createInterface({ input: child.stdout })
  ports = await new Promise((resolve, reject) => {
    lines.once('line', (line) => resolve(JSON.parse(line)))
    child.once('exit', (code) => reject(new Error(`the mail catcher exited (${code}) before listening:\n${stderr}`)))
  })
})

after(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGKILL')
    await new Promise((r) => child.once('exit', r))
  }
})

const api = (p = '/api/messages', init) => fetch(`http://127.0.0.1:${ports.http}${p}`, init)

test('prints one JSON line with the two real ports', () => {
  assert.deepEqual(Object.keys(ports).sort(), ['http', 'smtp'])
  assert.ok(Number.isInteger(ports.smtp) && ports.smtp > 0, `smtp port ${ports.smtp}`)
  assert.ok(Number.isInteger(ports.http) && ports.http > 0 && ports.http !== ports.smtp, `http port ${ports.http}`)
})

test('a delivered message appears in the API with envelope, subject, text, html and date, newest first', async () => {
  assert.equal((await api('/api/messages', { method: 'DELETE' })).status, 204)
  const boundary = 'b0undary'
  await smtpSend(ports.smtp, {
    from: 'noreply@latchkey.test',
    to: ['ada@example.com'],
    auth: { user: 'anyone', pass: 'anything' },
    data: [
      'From: Latchkey <noreply@latchkey.test>',
      'To: ada@example.com',
      'Subject: 123456 is your verification code',
      'MIME-Version: 1.0',
      `Content-Type: multipart/alternative; boundary="${boundary}"`,
      '',
      `--${boundary}`,
      'Content-Type: text/plain; charset=utf-8',
      '',
      'Your code is 123456.',
      '.a line that starts with a dot',
      `--${boundary}`,
      'Content-Type: text/html; charset=utf-8',
      '',
      '<p>Your code is <b>123456</b>.</p><script>alert(1)</script>',
      `--${boundary}--`,
      '',
    ].join('\n'),
  })
  await smtpSend(ports.smtp, {
    from: 'noreply@latchkey.test',
    to: ['grace@example.com', 'alan@example.com'],
    data: 'Subject: second\n\nplain only\n',
  })
  const r = await api()
  assert.equal(r.status, 200)
  assert.match(r.headers.get('content-type'), /^application\/json/)
  const list = await r.json()
  assert.equal(list.length, 2)
  const [second, first] = list
  assert.deepEqual(second.to, ['grace@example.com', 'alan@example.com'])
  assert.equal(second.subject, 'second')
  assert.equal(second.text.trim(), 'plain only')
  assert.equal(second.html, '')
  assert.ok(second.id > first.id)
  assert.deepEqual(first.to, ['ada@example.com'])
  assert.equal(first.from, 'noreply@latchkey.test')
  assert.equal(first.subject, '123456 is your verification code')
  assert.match(first.text, /Your code is 123456\.\n\.a line that starts with a dot/)
  assert.match(first.html, /<b>123456<\/b>/)
  assert.ok(!Number.isNaN(Date.parse(first.date)), `date ${first.date}`)
  assert.match(stderr, /message \d+ from <noreply@latchkey\.test> to <ada@example\.com>/)
})

test('the page lists the messages with the code highlighted and the HTML part sandboxed', async () => {
  const r = await api('/')
  assert.equal(r.status, 200)
  assert.match(r.headers.get('content-type'), /^text\/html/)
  assert.match(r.headers.get('content-security-policy'), /default-src 'none'/)
  const page = await r.text()
  assert.match(page, /<strong class="code">123456<\/strong>/)
  assert.match(page, /To <b>ada@example\.com<\/b>/)
  assert.match(page, /<iframe sandbox [^>]*srcdoc="&lt;p&gt;Your code is/)
  assert.doesNotMatch(page, /<script>alert/, 'message HTML is escaped into srcdoc, never inlined')
})

test('DELETE forgets every message; other methods are refused', async () => {
  assert.equal((await api('/api/messages', { method: 'DELETE' })).status, 204)
  assert.deepEqual(await (await api()).json(), [])
  assert.equal((await api('/api/messages', { method: 'POST' })).status, 405)
  assert.equal((await api('/nothing-here')).status, 404)
  assert.match(await (await api('/')).text(), /No messages yet/)
})

test('a bad port setting is refused with a clear message', async () => {
  const bad = spawn(process.execPath, [program, '--smtp-port', 'lots'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let err = ''
  bad.stderr.setEncoding('utf8')
  bad.stderr.on('data', (c) => { err += c })
  const code = await new Promise((r) => bad.once('exit', r))
  assert.equal(code, 2)
  assert.match(err, /--smtp-port must be a port number/)
})

test('SIGTERM closes both servers and exits 0', async () => {
  const code = new Promise((r) => child.once('exit', r))
  child.kill('SIGTERM')
  assert.equal(await code, 0)
  await assert.rejects(fetch(`http://127.0.0.1:${ports.http}/api/messages`))
})
