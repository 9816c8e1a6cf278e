// Bot protection in the browser without the network (issue 11 item 7): clerk-js loads Cloudflare Turnstile from a
// hard-coded URL (https://challenges.cloudflare.com/turnstile/v0/api.js?render=explicit, read in the pinned
// clerk-js 6.40.0 bundle), renders the widget into #clerk-captcha and waits for its callback's token. Here
// Playwright answers that URL with a stub implementing `window.turnstile` (render, execute, reset, remove,
// getResponse, isExpired) whose callback gets a token made up in the page, and a fake siteverify on 127.0.0.1
// (Latchkey's bot_protection.verify_url) says which tokens are good. Every other request to Cloudflare is aborted.
import http from 'node:http'

export const TURNSTILE_SCRIPT = /^https:\/\/challenges\.cloudflare\.com\/turnstile\/v0\/api\.js/
export const PASS_PREFIX = 'e2e-pass-'
export const FAIL_PREFIX = 'e2e-fail-'

// The stub's source: each render() completes (asynchronously, as the real widget does) with a fresh token that
// starts with `tokenPrefix`; window.__turnstileStub records what clerk-js asked for.
export function turnstileStubSource(tokenPrefix) {
  return `(() => {
  const widgets = new Map()
  let next = 0
  const stub = { renders: [], tokens: [] }
  window.__turnstileStub = stub
  const container = (c) => typeof c === 'string' ? document.querySelector(c) : c
  window.turnstile = {
    render(el, options) {
      const id = 'stub-widget-' + (++next)
      const token = ${JSON.stringify(tokenPrefix)} + Date.now().toString(36) + '-' + next + '-' + Math.random().toString(36).slice(2)
      widgets.set(id, { options, token: undefined })
      stub.renders.push({ container: typeof el === 'string' ? el : (el && el.id ? '#' + el.id : '(element)'),
        found: !!container(el), sitekey: options.sitekey, action: options.action })
      setTimeout(() => {
        const w = widgets.get(id)
        if (!w) return
        w.token = token
        stub.tokens.push(token)
        if (typeof options.callback === 'function') options.callback(token)
      }, 10)
      return id
    },
    execute(el, options) { return this.render(el, options) },
    reset(id) { const w = widgets.get(id); if (w) w.token = undefined },
    remove(id) { widgets.delete(id) },
    getResponse(id) { return widgets.get(id)?.token },
    isExpired() { return false },
    ready(fn) { fn() },
  }
})()
`
}

// Routes the Turnstile script of every page of `context` to the stub; returns a counter of script loads.
export async function stubTurnstile(context, { tokenPrefix = PASS_PREFIX } = {}) {
  const loads = { count: 0 }
  await context.route(/^https:\/\/challenges\.cloudflare\.com\//, (route) => {
    if (TURNSTILE_SCRIPT.test(route.request().url())) {
      loads.count++
      return route.fulfill({ status: 200, contentType: 'application/javascript', body: turnstileStubSource(tokenPrefix) })
    }
    return route.abort()
  })
  return loads
}

// No widget at all: the Turnstile script fails to load (what a blocked network looks like to clerk-js).
export async function blockTurnstile(context) {
  const loads = { count: 0 }
  await context.route(/^https:\/\/challenges\.cloudflare\.com\//, (route) => {
    loads.count++
    return route.abort()
  })
  return loads
}

// A fake Cloudflare siteverify: POST form {secret, response, remoteip}; tokens starting with PASS_PREFIX pass
// (once: a replay is refused, as Cloudflare does) on `hostname` as a sign-up, anything else fails.
export function startFakeSiteverify({ secret, hostname = 'localhost' }) {
  const seen = new Set()
  const calls = []
  const server = http.createServer((req, res) => {
    let body = ''
    req.on('data', (c) => { body += c })
    req.on('end', () => {
      const form = new URLSearchParams(body)
      const token = form.get('response') ?? ''
      calls.push({ path: req.url, token, secretOk: form.get('secret') === secret })
      let answer
      if (form.get('secret') !== secret) answer = { success: false, 'error-codes': ['invalid-input-secret'] }
      else if (!token.startsWith(PASS_PREFIX)) answer = { success: false, 'error-codes': ['invalid-input-response'] }
      else if (seen.has(token)) answer = { success: false, 'error-codes': ['timeout-or-duplicate'] }
      else {
        seen.add(token)
        answer = { success: true, challenge_ts: new Date().toISOString(), hostname, action: 'signup', 'error-codes': [] }
      }
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify(answer))
    })
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      resolve({
        url: `http://127.0.0.1:${port}/siteverify`,
        calls,
        stop: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()) }),
      })
    })
  })
}
