// The demo's server: what a real app's server does next to Latchkey.
//
//   /                     the built SPA (dist/), with index.html for the app's client-side routes
//   /__clerk/npm/@clerk/clerk-js@6/dist/*
//                         clerk-js from node_modules, so the SDK's hot-loading fetches nothing from outside
//                         (fapi README §1.3)
//   /__clerk/*            reverse proxy to Latchkey (FAPI), bodies streamed, status/Set-Cookie/Location unchanged;
//                         the page and FAPI share one origin, so cookies are first-party (fapi README §1.2)
//   GET /api/me           a protected backend route: verifies the session token (Authorization: Bearer, or the
//                         __session cookie) against Latchkey's JWKS and answers {sub, sid}, or 401
//   GET /healthz          "ok"
//
// Env: DEMO_PORT (5173), LATCHKEY_URL (http://127.0.0.1:8787), DEMO_ORIGIN (the origin people open, default
// http://localhost:<port>; the token's `azp` must equal it), LATCHKEY_ISSUER (optional: also require this `iss`).
// Binds 127.0.0.1 only.
import http from 'node:http'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { createRemoteJWKSet, jwtVerify, errors as joseErrors } from 'jose'

const here = path.dirname(fileURLToPath(import.meta.url))

const CLERK_JS_PREFIX = '/__clerk/npm/@clerk/clerk-js@6/dist/'
const FAPI_PREFIX = '/__clerk/'
// The app's client-side routes (src/App.tsx); a full page load on any of them gets index.html.
const SPA_ROUTES = new Set([
  '/', '/sign-in', '/sso-callback', '/sign-in/continue', '/sign-in/tasks',
  '/sign-up-password', '/sign-in-password', '/sign-in-code', '/forgot-password',
])

const CONTENT_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
}

// RFC 9110 §7.6.1: connection-specific fields are not forwarded by a proxy.
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade',
  'proxy-authenticate', 'proxy-authorization',
])

function sendJson(res, status, body, extraHeaders = {}) {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...extraHeaders,
  })
  res.end(text)
}

function sendText(res, status, text) {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

// Resolves `relative` inside `root`; null when it would escape it (../, absolute paths, NUL bytes).
function safeJoin(root, relative) {
  let decoded
  try {
    decoded = decodeURIComponent(relative)
  } catch {
    return null
  }
  if (decoded.includes('\0')) {
    return null
  }
  const full = path.resolve(root, '.' + path.posix.sep + decoded)
  if (full !== root && !full.startsWith(root + path.sep)) {
    return null
  }
  return full
}

function serveFile(req, res, file, cacheControl) {
  fs.stat(file, (err, stat) => {
    if (err || !stat.isFile()) {
      sendText(res, 404, 'not found\n')
      return
    }
    const type = CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream'
    res.writeHead(200, {
      'content-type': type,
      'content-length': stat.size,
      'cache-control': cacheControl,
      'x-content-type-options': 'nosniff',
    })
    if (req.method === 'HEAD') {
      res.end()
      return
    }
    fs.createReadStream(file).on('error', () => res.destroy()).pipe(res)
  })
}

function parseCookies(header) {
  const out = {}
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0) {
      out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim()
    }
  }
  return out
}

export function createDemoServer(options = {}) {
  const distDir = path.resolve(options.distDir ?? path.join(here, 'dist'))
  const clerkJsDir = path.resolve(options.clerkJsDir ?? path.join(here, 'node_modules/@clerk/clerk-js/dist'))
  const latchkeyUrl = new URL(options.latchkeyUrl ?? 'http://127.0.0.1:8787')
  const origin = options.origin // resolved at listen time when absent (needs the port)
  const issuer = options.issuer || undefined
  const jwks = createRemoteJWKSet(new URL('/.well-known/jwks.json', latchkeyUrl), {
    timeoutDuration: 5000,
    cooldownDuration: 5000,
  })
  const log = options.log ?? ((...args) => console.log(...args))

  let expectedAzp = origin

  async function apiMe(req, res) {
    const auth = req.headers.authorization ?? ''
    let token = null
    const m = /^Bearer\s+(\S+)$/i.exec(auth)
    if (m) {
      token = m[1]
    } else {
      token = parseCookies(req.headers.cookie).__session ?? null
    }
    if (!token) {
      sendJson(res, 401, { error: 'unauthenticated', reason: 'no session token (Authorization: Bearer or __session cookie)' })
      return
    }
    try {
      // jose checks the signature against the JWKS (refetched on an unknown kid), `exp` and `nbf` (RFC 7519
      // §4.1.4/§4.1.5, with a small leeway for clock skew), and that the header alg is in the list.
      const { payload } = await jwtVerify(token, jwks, {
        algorithms: ['RS256'],
        clockTolerance: 5,
        ...(issuer ? { issuer } : {}),
      })
      // `azp` (authorized party) is the origin the token was minted for (fapi README §3.7): a token minted for
      // another app's origin must not work here.
      if (payload.azp !== expectedAzp) {
        sendJson(res, 401, { error: 'unauthenticated', reason: 'azp does not match this app\'s origin' })
        return
      }
      if (typeof payload.exp !== 'number') {
        sendJson(res, 401, { error: 'unauthenticated', reason: 'token has no exp' })
        return
      }
      if (typeof payload.sub !== 'string' || typeof payload.sid !== 'string') {
        sendJson(res, 401, { error: 'unauthenticated', reason: 'token lacks sub or sid' })
        return
      }
      sendJson(res, 200, { sub: payload.sub, sid: payload.sid })
    } catch (err) {
      // Never echo the token. The error code says which check failed.
      let reason = 'invalid token'
      if (err instanceof joseErrors.JWTExpired) reason = 'token expired'
      else if (err instanceof joseErrors.JWTClaimValidationFailed) reason = `claim check failed: ${err.claim}`
      else if (err instanceof joseErrors.JOSEAlgNotAllowed) reason = 'algorithm not allowed'
      else if (err instanceof joseErrors.JWSSignatureVerificationFailed) reason = 'bad signature'
      else if (err instanceof joseErrors.JWKSNoMatchingKey) reason = 'no matching key in JWKS'
      else if (err instanceof joseErrors.JWKSTimeout || err?.code === 'ECONNREFUSED') reason = 'JWKS unreachable'
      else if (err?.code) reason = `invalid token (${err.code})`
      sendJson(res, 401, { error: 'unauthenticated', reason })
    }
  }

  function proxy(req, res) {
    const headers = {}
    for (const [name, value] of Object.entries(req.headers)) {
      if (!HOP_BY_HOP.has(name)) {
        headers[name] = value
      }
    }
    // Host stays as the browser sent it: Latchkey's public_url is this server's origin.
    const remote = req.socket.remoteAddress ?? ''
    headers['x-forwarded-for'] = headers['x-forwarded-for'] ? `${headers['x-forwarded-for']}, ${remote}` : remote
    headers['x-forwarded-proto'] = 'http'
    headers['x-forwarded-host'] = req.headers.host ?? ''

    const upstream = http.request(
      {
        protocol: latchkeyUrl.protocol,
        hostname: latchkeyUrl.hostname,
        port: latchkeyUrl.port,
        method: req.method,
        path: req.url,
        headers,
      },
      (up) => {
        // Raw header pairs keep every Set-Cookie line and the Location exactly as Latchkey wrote them.
        const raw = []
        for (let i = 0; i < up.rawHeaders.length; i += 2) {
          if (!HOP_BY_HOP.has(up.rawHeaders[i].toLowerCase())) {
            raw.push(up.rawHeaders[i], up.rawHeaders[i + 1])
          }
        }
        res.writeHead(up.statusCode ?? 502, up.statusMessage, raw)
        up.pipe(res)
        up.on('error', () => res.destroy())
      },
    )
    upstream.on('error', (err) => {
      if (res.headersSent) {
        res.destroy()
        return
      }
      log(`proxy: ${req.method} ${req.url.split('?')[0]} -> ${latchkeyUrl.origin}: ${err.code ?? err.message}`)
      sendJson(res, 502, {
        errors: [{
          code: 'latchkey_unreachable',
          message: 'Latchkey is not reachable',
          long_message: `The demo server could not reach Latchkey at ${latchkeyUrl.origin} (${err.code ?? 'error'}).`,
          meta: {},
        }],
      })
    })
    req.pipe(upstream)
    req.on('aborted', () => upstream.destroy())
  }

  function handle(req, res) {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const p = url.pathname

    if (p.startsWith(CLERK_JS_PREFIX)) {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        sendText(res, 405, 'method not allowed\n')
        return
      }
      const file = safeJoin(clerkJsDir, p.slice(CLERK_JS_PREFIX.length))
      if (!file) {
        sendText(res, 400, 'bad path\n')
        return
      }
      serveFile(req, res, file, 'public, max-age=300')
      return
    }
    if (p.startsWith(FAPI_PREFIX) || p === '/__clerk') {
      proxy(req, res)
      return
    }
    if (p === '/api/me') {
      if (req.method !== 'GET') {
        sendJson(res, 405, { error: 'method_not_allowed' })
        return
      }
      void apiMe(req, res)
      return
    }
    if (p === '/healthz') {
      sendText(res, 200, 'ok\n')
      return
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendText(res, 405, 'method not allowed\n')
      return
    }
    const normalized = p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p
    if (SPA_ROUTES.has(normalized)) {
      serveFile(req, res, path.join(distDir, 'index.html'), 'no-cache')
      return
    }
    const file = safeJoin(distDir, p.slice(1))
    if (!file) {
      sendText(res, 400, 'bad path\n')
      return
    }
    fs.stat(file, (err, stat) => {
      if (!err && stat.isFile()) {
        // Vite puts content hashes in asset names, so they never change under the same URL.
        const cache = p.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache'
        serveFile(req, res, file, cache)
      } else if (!path.extname(p)) {
        // Unknown app route: let the SPA render its "not found" page.
        serveFile(req, res, path.join(distDir, 'index.html'), 'no-cache')
      } else {
        sendText(res, 404, 'not found\n')
      }
    })
  }

  const server = http.createServer((req, res) => {
    try {
      handle(req, res)
    } catch (err) {
      log(`demo server: ${err?.stack ?? err}`)
      if (!res.headersSent) {
        sendText(res, 500, 'internal error\n')
      } else {
        res.destroy()
      }
    }
  })
  server.on('listening', () => {
    if (!expectedAzp) {
      expectedAzp = `http://localhost:${server.address().port}`
    }
  })
  return server
}

async function main() {
  const port = Number(process.env.DEMO_PORT ?? 5173)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`DEMO_PORT must be a port number, got ${JSON.stringify(process.env.DEMO_PORT)}`)
    process.exit(2)
  }
  const distDir = path.join(here, 'dist')
  if (!fs.existsSync(path.join(distDir, 'index.html'))) {
    console.error(`${distDir}/index.html is missing: run \`npm run build\` in ${here} first`)
    process.exit(2)
  }
  const latchkeyUrl = process.env.LATCHKEY_URL ?? 'http://127.0.0.1:8787'
  const server = createDemoServer({
    distDir,
    latchkeyUrl,
    origin: process.env.DEMO_ORIGIN || undefined,
    issuer: process.env.LATCHKEY_ISSUER || undefined,
  })
  server.listen(port, '127.0.0.1', () => {
    const actual = server.address().port
    console.log(`demo listening on http://127.0.0.1:${actual} (open http://localhost:${actual}/sign-in), FAPI -> ${latchkeyUrl}`)
  })
  const stop = () => {
    server.close(() => process.exit(0))
    server.closeAllConnections()
    setTimeout(() => process.exit(0), 2000).unref()
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  await main()
}
