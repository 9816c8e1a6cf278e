// A local mail catcher for the demo and the end-to-end tests: an SMTP server that accepts every message, keeps it
// in memory (nothing is written to disk, nothing is relayed) and shows it on a small web page, so a person who
// signs up in the demo can read the verification code in the browser.
//
// SMTP: plain, no TLS (STARTTLS is not offered), AUTH optional and any credentials are accepted. Latchkey talks to
// it with LATCHKEY_SMTP_HOST=127.0.0.1, LATCHKEY_SMTP_PORT=<smtp port>, LATCHKEY_SMTP_TLS=none.
//
// HTTP:
//   GET    /               the messages, newest first (reloads itself when a new one arrives)
//   GET    /api/messages   JSON array, newest first: {id, to, from, subject, text, html, date}
//                          (`to` and `from` are the SMTP envelope's addresses; `date` is when it arrived, ISO 8601)
//   DELETE /api/messages   forgets every message (204)
//
// Both servers listen on 127.0.0.1 only. Once both listen, one JSON line {"smtp":P,"http":Q} is printed on stdout
// (with the real ports, also when 0 was asked for); everything else goes to stderr.
//
// Settings (environment variable, or the same as a --flag=value / --flag value argument):
//   MAILCATCHER_SMTP_PORT   --smtp-port   1025 (0 = any free port)
//   MAILCATCHER_HTTP_PORT   --http-port   1080 (0 = any free port)
// SIGINT / SIGTERM close both servers and exit.
import http from 'node:http'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { SMTPServer } from 'smtp-server'
import { simpleParser } from 'mailparser'

const HOST = '127.0.0.1'
const MAX_MESSAGES = 200 // the oldest are dropped beyond this
const MAX_MESSAGE_BYTES = 5 * 1024 * 1024

export function createMailCatcher({ log = (line) => process.stderr.write(`${line}\n`) } = {}) {
  const messages = [] // oldest first
  let nextId = 1
  const listeners = new Set()

  const smtp = new SMTPServer({
    name: 'mailcatcher.localhost',
    banner: 'Latchkey demo mail catcher: messages are kept in memory and never relayed',
    secure: false,
    disabledCommands: ['STARTTLS'],
    authOptional: true,
    size: MAX_MESSAGE_BYTES,
    logger: false,
    closeTimeout: 500, // at close, connections still open (a client's kept-alive one) end after this
    onAuth(auth, _session, callback) {
      callback(null, { user: auth.username || 'anonymous' })
    },
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((parsed) => {
          if (stream.sizeExceeded) {
            const err = new Error(`Message exceeds the limit of ${MAX_MESSAGE_BYTES} bytes`)
            err.responseCode = 552
            callback(err)
            return
          }
          const message = {
            id: nextId++,
            to: session.envelope.rcptTo.map((r) => r.address),
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            subject: parsed.subject ?? '',
            text: parsed.text ?? '',
            html: typeof parsed.html === 'string' ? parsed.html : '',
            date: new Date().toISOString(),
          }
          messages.push(message)
          if (messages.length > MAX_MESSAGES) messages.splice(0, messages.length - MAX_MESSAGES)
          log(`mailcatcher: message ${message.id} from <${message.from}> to <${message.to.join('>, <')}>: ${JSON.stringify(message.subject)}`)
          for (const listener of listeners) listener(message)
          callback()
        })
        .catch((err) => {
          log(`mailcatcher: could not parse a message: ${err.message}`)
          err.responseCode = 451
          callback(err)
        })
    },
  })
  smtp.on('error', (err) => log(`mailcatcher: SMTP error: ${err.message}`))

  const web = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://mailcatcher.localhost')
    if (url.pathname === '/api/messages') {
      if (req.method === 'GET' || req.method === 'HEAD') {
        send(res, 200, 'application/json; charset=utf-8', JSON.stringify([...messages].reverse()))
      } else if (req.method === 'DELETE') {
        const n = messages.length
        messages.length = 0
        log(`mailcatcher: deleted ${n} message(s)`)
        res.writeHead(204, { 'cache-control': 'no-store' })
        res.end()
      } else {
        res.writeHead(405, { allow: 'GET, HEAD, DELETE' })
        res.end()
      }
      return
    }
    if (url.pathname === '/' && (req.method === 'GET' || req.method === 'HEAD')) {
      send(res, 200, 'text/html; charset=utf-8', renderPage([...messages].reverse()), {
        // The page's own script only; message HTML is shown in a sandboxed iframe (no scripts, no same origin).
        'content-security-policy': "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; frame-src 'self'; img-src data:",
      })
      return
    }
    if (url.pathname === '/healthz') {
      send(res, 200, 'text/plain; charset=utf-8', 'ok\n')
      return
    }
    send(res, 404, 'text/plain; charset=utf-8', 'not found\n')
  })

  return {
    messages,
    // Calls `fn(message)` for every message that arrives from now on; returns a function that stops it.
    onMessage(fn) {
      listeners.add(fn)
      return () => listeners.delete(fn)
    },
    async listen({ smtpPort = 0, httpPort = 0 } = {}) {
      await new Promise((resolve, reject) => {
        smtp.server.once('error', reject)
        smtp.listen(smtpPort, HOST, () => {
          smtp.server.off('error', reject)
          resolve()
        })
      })
      try {
        await new Promise((resolve, reject) => {
          web.once('error', reject)
          web.listen(httpPort, HOST, () => {
            web.off('error', reject)
            resolve()
          })
        })
      } catch (err) {
        await new Promise((resolve) => smtp.close(resolve))
        throw err
      }
      return { smtp: smtp.server.address().port, http: web.address().port }
    },
    async close() {
      web.closeAllConnections?.()
      await Promise.all([
        new Promise((resolve) => smtp.close(resolve)),
        new Promise((resolve) => (web.listening ? web.close(() => resolve()) : resolve())),
      ])
    },
  }
}

function send(res, status, type, body, headers = {}) {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  })
  res.end(body)
}

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c])
}

// The text body, escaped, with every 6-digit code made bold so a person finds it at a glance.
function renderText(text) {
  return escapeHtml(text).replace(/\b(\d{6})\b/g, '<strong class="code">$1</strong>')
}

function renderPage(list) {
  const items = list.length
    ? list.map((m) => `
    <article data-id="${m.id}">
      <h2>${escapeHtml(m.subject || '(no subject)')}</h2>
      <p class="meta">To <b>${escapeHtml(m.to.join(', '))}</b> from ${escapeHtml(m.from || '(none)')} · ${escapeHtml(m.date)}</p>
      ${m.text ? `<pre>${renderText(m.text)}</pre>` : ''}
      ${m.html ? `<details${m.text ? '' : ' open'}><summary>HTML version</summary><iframe sandbox title="HTML version of message ${m.id}" srcdoc="${escapeHtml(m.html)}"></iframe></details>` : ''}
    </article>`).join('\n')
    : '<p class="empty">No messages yet. Sign up in the demo and the verification email shows up here.</p>'
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Mail catcher (${list.length})</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 52rem; padding: 1rem; color: #222; }
  header { display: flex; align-items: baseline; justify-content: space-between; gap: 1rem; }
  article { border: 1px solid #ccc; border-radius: 6px; padding: 0.5rem 1rem; margin: 1rem 0; }
  article h2 { font-size: 1.1rem; margin: 0.3rem 0; }
  .meta { color: #555; margin: 0.2rem 0 0.6rem; }
  pre { white-space: pre-wrap; background: #f6f6f6; padding: 0.6rem; border-radius: 4px; }
  .code { font-size: 1.3em; letter-spacing: 0.1em; background: #ffeb8a; padding: 0 0.2em; }
  iframe { width: 100%; min-height: 18rem; border: 1px solid #ddd; background: #fff; }
  .empty { color: #555; }
</style>
</head>
<body>
<header>
  <h1>Mail catcher</h1>
  <button type="button" id="delete-all"${list.length ? '' : ' disabled'}>Delete all</button>
</header>
<p class="meta">Every message sent to this SMTP server stays here, in memory, newest first. Nothing is delivered anywhere.</p>
${items}
<script>
  // Reload when the set of messages changes (a new one arrived, or they were deleted elsewhere).
  const shown = ${JSON.stringify(list.length ? list[0].id : 0)} + ':' + ${list.length}
  setInterval(async () => {
    try {
      const list = await (await fetch('/api/messages', { cache: 'no-store' })).json()
      if ((list.length ? list[0].id : 0) + ':' + list.length !== shown) location.reload()
    } catch { /* the catcher is stopping */ }
  }, 2000)
  document.getElementById('delete-all').addEventListener('click', async () => {
    await fetch('/api/messages', { method: 'DELETE' })
    location.reload()
  })
</script>
</body>
</html>
`
}

function setting(name, flag, fallback) {
  const args = process.argv.slice(2)
  for (let i = 0; i < args.length; i++) {
    if (args[i] === `--${flag}` && i + 1 < args.length) return args[i + 1]
    if (args[i].startsWith(`--${flag}=`)) return args[i].slice(flag.length + 3)
  }
  return process.env[name] ?? fallback
}

function port(name, flag, fallback) {
  const raw = setting(name, flag, fallback)
  const n = Number(raw)
  if (!/^\d+$/.test(String(raw)) || n > 65535) {
    process.stderr.write(`mailcatcher: ${name} / --${flag} must be a port number (0 = any), got ${JSON.stringify(raw)}\n`)
    process.exit(2)
  }
  return n
}

async function main() {
  const smtpPort = port('MAILCATCHER_SMTP_PORT', 'smtp-port', '1025')
  const httpPort = port('MAILCATCHER_HTTP_PORT', 'http-port', '1080')
  const catcher = createMailCatcher()
  let ports
  try {
    ports = await catcher.listen({ smtpPort, httpPort })
  } catch (err) {
    process.stderr.write(`mailcatcher: cannot listen on ${HOST} (SMTP ${smtpPort}, HTTP ${httpPort}): ${err.message}\n`)
    process.exit(1)
  }
  process.stdout.write(`${JSON.stringify(ports)}\n`)
  process.stderr.write(`mailcatcher: SMTP on ${HOST}:${ports.smtp}, messages at http://${HOST}:${ports.http}/\n`)
  let stopping = false
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, () => {
      if (stopping) return
      stopping = true
      catcher.close().then(() => process.exit(0))
    })
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  await main()
}
