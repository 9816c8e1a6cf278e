// A local OpenID Provider that stands in for Google in the demo and the end-to-end tests.
//
// It is panva's certified `oidc-provider` with a small login page: a person types any email (and, optionally, a
// first and last name) and presses "Sign in", or presses "Deny", which ends the authorization with
// error=access_denied back at the client (RFC 6749 §4.1.2.1). Like Google's account chooser, the page is shown on
// every authorization request, even when the browser already has an IdP session, so flows are repeatable.
//
// Identity: the account id (`sub`) is the lower-cased email. The id_token carries sub, email,
// email_verified: true, and given_name / family_name / name only when a name was typed — so an email typed
// without names reaches Latchkey's "missing first and last name" path. The "Email" choice on the login page
// (form field `email_status`) makes the account's address one the provider does not vouch for
// (`unverified`: email_verified false, like GitHub's unverified primary) or keeps it to itself (`none`: no
// email claim at all, like an IdP account without email; the typed email is then only the account's name).
//
// Clients must use PKCE (S256). Consent is granted automatically once the login form is submitted. Signing and
// cookie keys are generated at start (nothing is written to disk).
//
// Settings (environment variable, or the same as a --flag=value argument):
//   IDP_PORT            --port            4000
//   IDP_HOST            --host            127.0.0.1 (listen address; loopback only)
//   IDP_ISSUER          --issuer          http://127.0.0.1:<port>
//   IDP_CLIENT_ID       --client-id       latchkey-demo
//   IDP_CLIENT_SECRET   --client-secret   latchkey-demo-secret
//   IDP_REDIRECT_URIS   --redirect-uris   comma list; default: Latchkey on 127.0.0.1:8787 and the demo on
//                                         localhost:5173 / 127.0.0.1:5173, each at /__clerk/v1/oauth_callback
//   IDP_TOKEN_AUTH      --token-auth      client_secret_post (or client_secret_basic)
//   IDP_DEBUG           --debug           log provider errors
import http from 'node:http'
import crypto from 'node:crypto'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import Provider, { interactionPolicy } from 'oidc-provider'

const DEFAULT_REDIRECT_URIS = [
  'http://127.0.0.1:8787/__clerk/v1/oauth_callback',
  'http://localhost:5173/__clerk/v1/oauth_callback',
  'http://127.0.0.1:5173/__clerk/v1/oauth_callback',
]

// RFC 5321 allows much more, but a test IdP only needs "something@something.tld"-shaped input.
const EMAIL_RE = /^[^\s@<>"']{1,64}@[^\s@<>"']{1,190}$/
const MAX_NAME = 100
const MAX_BODY = 16 * 1024

export function settingsFrom(env = process.env, argv = process.argv.slice(2)) {
  const args = {}
  for (const arg of argv) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg)
    if (!m) {
      throw new Error(`unknown argument ${JSON.stringify(arg)} (expected --name=value)`)
    }
    args[m[1]] = m[2] ?? 'true'
  }
  const get = (flag, name, fallback) => args[flag] ?? env[name] ?? fallback
  const port = Number(get('port', 'IDP_PORT', '4000'))
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`IDP_PORT must be a port number 1-65535 (the issuer URL names it), got ${JSON.stringify(get('port', 'IDP_PORT'))}`)
  }
  const redirectUris = String(get('redirect-uris', 'IDP_REDIRECT_URIS', DEFAULT_REDIRECT_URIS.join(',')))
    .split(',').map((s) => s.trim()).filter(Boolean)
  return {
    port,
    host: get('host', 'IDP_HOST', '127.0.0.1'),
    issuer: get('issuer', 'IDP_ISSUER', undefined),
    clientId: get('client-id', 'IDP_CLIENT_ID', 'latchkey-demo'),
    clientSecret: get('client-secret', 'IDP_CLIENT_SECRET', 'latchkey-demo-secret'),
    redirectUris,
    tokenAuthMethod: get('token-auth', 'IDP_TOKEN_AUTH', 'client_secret_post'),
    debug: Boolean(get('debug', 'IDP_DEBUG', '')),
  }
}

function escapeHtml(value) {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c])
}

const EMAIL_STATUSES = {
  verified: 'Verified (email_verified: true)',
  unverified: 'Not verified (email_verified: false)',
  none: 'Not shared (no email claim)',
}

function loginPage({ uid, clientId, email = '', firstName = '', lastName = '', emailStatus = 'verified', error = '' }) {
  const options = Object.entries(EMAIL_STATUSES)
    .map(([value, label]) => `<option value="${value}"${value === emailStatus ? ' selected' : ''}>${escapeHtml(label)}</option>`)
    .join('')
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Local identity provider — sign in</title>
<link rel="icon" href="data:,">
<style>
  body { font-family: system-ui, sans-serif; max-width: 26rem; margin: 3rem auto; padding: 0 1rem; }
  label { display: block; margin-top: 0.75rem; }
  input { width: 100%; padding: 0.4rem; box-sizing: border-box; }
  .buttons { display: flex; gap: 0.75rem; margin-top: 1.25rem; }
  .error { color: #b00; }
  .note { color: #555; font-size: 0.9rem; }
</style>
</head>
<body>
<h1>Local identity provider</h1>
<p class="note">This stands in for Google. <strong>${escapeHtml(clientId)}</strong> asks who you are. Type any email;
names are optional.</p>
${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}" autocomplete="off">
  <label for="email">Email</label>
  <input id="email" name="email" type="email" value="${escapeHtml(email)}" autofocus>
  <label for="given_name">First name (optional)</label>
  <input id="given_name" name="given_name" type="text" value="${escapeHtml(firstName)}" maxlength="${MAX_NAME}">
  <label for="family_name">Last name (optional)</label>
  <input id="family_name" name="family_name" type="text" value="${escapeHtml(lastName)}" maxlength="${MAX_NAME}">
  <label for="email_status">Email given to the application</label>
  <select id="email_status" name="email_status">${options}</select>
  <div class="buttons">
    <button type="submit" name="action" value="login" id="sign-in">Sign in</button>
    <button type="submit" name="action" value="deny" id="deny" formnovalidate>Deny</button>
  </div>
</form>
</body>
</html>
`
}

function readForm(req) {
  return new Promise((resolve, reject) => {
    const chunks = []
    let size = 0
    req.on('data', (chunk) => {
      size += chunk.length
      if (size > MAX_BODY) {
        reject(Object.assign(new Error('request body too large'), { status: 413 }))
        req.destroy()
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => resolve(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))))
    req.on('error', reject)
  })
}

export function createIdp(settings) {
  const { port } = settings
  // Profiles typed on the login page, by account id. In memory: the IdP forgets them on restart, and then
  // answers with the email only (the account id is the email).
  const profiles = new Map()

  function claimsFor(accountId) {
    const profile = profiles.get(accountId) ?? { email: accountId }
    const status = profile.emailStatus ?? 'verified'
    const claims = { sub: accountId }
    if (status !== 'none') {
      claims.email = profile.email
      claims.email_verified = status === 'verified'
    }
    if (profile.givenName) claims.given_name = profile.givenName
    if (profile.familyName) claims.family_name = profile.familyName
    const name = [profile.givenName, profile.familyName].filter(Boolean).join(' ')
    if (name) claims.name = name
    return claims
  }

  // Always ask, like an account chooser: the login prompt is requested unless this very interaction just
  // produced a login. Without this an existing IdP session would skip the page silently.
  const policy = interactionPolicy.base()
  policy.get('login').checks.add(new interactionPolicy.Check(
    'always_choose_account',
    'the person picks the account on every authorization request',
    (ctx) => (ctx.oidc.result?.login ? interactionPolicy.Check.NO_NEED_TO_PROMPT : interactionPolicy.Check.REQUEST_PROMPT),
  ))

  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: `idp-${crypto.randomBytes(4).toString('hex')}`, use: 'sig', alg: 'RS256' }

  const configuration = {
    clients: [{
      client_id: settings.clientId,
      client_secret: settings.clientSecret,
      redirect_uris: settings.redirectUris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: settings.tokenAuthMethod,
    }],
    jwks: { keys: [jwk] },
    cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'given_name', 'family_name'],
    },
    // Put the scope claims into the id_token as Google does, so a relying party needs no userinfo call.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: true },
      revocation: { enabled: false },
    },
    interactions: {
      policy,
      url: (ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    async findAccount(ctx, sub) {
      if (typeof sub !== 'string' || !EMAIL_RE.test(sub)) {
        return undefined
      }
      return { accountId: sub, async claims() { return claimsFor(sub) } }
    },
    ttl: { AccessToken: 3600, AuthorizationCode: 120, IdToken: 3600, Interaction: 900, Session: 3600, Grant: 3600 },
    renderError(ctx, out) {
      ctx.type = 'html'
      ctx.body = `<!doctype html><title>IdP error</title><h1>Identity provider error</h1>
<p><code>${escapeHtml(out.error)}</code>: ${escapeHtml(out.error_description)}</p>`
    },
  }

  const issuer = settings.issuer ?? `http://127.0.0.1:${port}`
  const provider = new Provider(issuer, configuration)
  if (settings.debug) {
    for (const event of ['server_error', 'authorization.error', 'grant.error', 'introspection.error']) {
      provider.on(event, (ctx, err) => console.error(`idp ${event}: ${err.message} ${err.error_description ?? ''}`))
    }
  }

  function sendHtml(res, status, html) {
    res.writeHead(status, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'x-frame-options': 'DENY',
      // No form-action: Chromium applies it to the redirects that follow the POST (to the client's
      // redirect_uri), which would block the very flow this page exists for.
      'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'",
    })
    res.end(html)
  }

  async function interaction(req, res, uid) {
    let details
    try {
      details = await provider.interactionDetails(req, res)
    } catch (err) {
      sendHtml(res, 400, `<!doctype html><title>IdP</title><h1>This sign-in request has expired or is unknown</h1>
<p>${escapeHtml(err.message)}. Start again from the application.</p>`)
      return
    }
    if (details.uid !== uid) {
      sendHtml(res, 400, '<!doctype html><title>IdP</title><h1>Interaction mismatch</h1>')
      return
    }
    const clientId = details.params.client_id
    if (req.method === 'GET') {
      const hint = typeof details.params.login_hint === 'string' ? details.params.login_hint : ''
      sendHtml(res, 200, loginPage({ uid, clientId, email: hint || details.session?.accountId || '' }))
      return
    }
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'GET, POST' }).end()
      return
    }
    let form
    try {
      form = await readForm(req)
    } catch (err) {
      sendHtml(res, err.status ?? 400, `<!doctype html><title>IdP</title><p>${escapeHtml(err.message)}</p>`)
      return
    }
    if (form.get('action') === 'deny') {
      // Ends the authorization with error=access_denied at the client's redirect_uri.
      await provider.interactionFinished(req, res, {
        error: 'access_denied',
        error_description: 'The person denied the request at the identity provider.',
      }, { mergeWithLastSubmission: false })
      return
    }
    const email = (form.get('email') ?? '').trim()
    const givenName = (form.get('given_name') ?? '').trim().slice(0, MAX_NAME)
    const familyName = (form.get('family_name') ?? '').trim().slice(0, MAX_NAME)
    const emailStatus = form.get('email_status') ?? 'verified'
    if (!EMAIL_RE.test(email) || !Object.hasOwn(EMAIL_STATUSES, emailStatus)) {
      const error = EMAIL_RE.test(email) ? 'Choose how the email is given.' : 'Enter an email address like ada@example.com.'
      sendHtml(res, 400, loginPage({ uid, clientId, email, firstName: givenName, lastName: familyName, error }))
      return
    }
    const accountId = email.toLowerCase()
    profiles.set(accountId, { email: accountId, givenName, familyName, emailStatus })

    // Consent: grant what was asked (scopes and claims), as a person clicking "Allow" would.
    const grant = new provider.Grant({ accountId, clientId })
    if (details.params.scope) grant.addOIDCScope(String(details.params.scope))
    const missing = details.prompt.details ?? {}
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims)
    if (missing.missingResourceScopes) {
      for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes)) {
        grant.addResourceScope(indicator, scopes.join(' '))
      }
    }
    const grantId = await grant.save()
    await provider.interactionFinished(req, res, {
      login: { accountId, remember: false },
      consent: { grantId },
    }, { mergeWithLastSubmission: false })
  }

  const oidc = provider.callback()
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://idp.invalid')
    const m = /^\/interaction\/([A-Za-z0-9_-]{1,64})$/.exec(url.pathname)
    if (m) {
      interaction(req, res, m[1]).catch((err) => {
        if (settings.debug) console.error('idp interaction error', err)
        if (!res.headersSent) sendHtml(res, 500, '<!doctype html><title>IdP</title><h1>Internal error</h1>')
        else res.destroy()
      })
      return
    }
    if (url.pathname === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n')
      return
    }
    oidc(req, res)
  })
  return { server, provider, issuer, claimsFor }
}

async function main() {
  let settings
  try {
    settings = settingsFrom()
  } catch (err) {
    console.error(`idp: ${err.message}`)
    process.exit(2)
  }
  const { server, issuer } = createIdp(settings)
  server.listen(settings.port, settings.host, () => {
    const port = server.address().port
    const shownIssuer = settings.issuer ?? `http://127.0.0.1:${port}`
    console.log(`idp listening on ${shownIssuer} (issuer ${issuer}) client_id=${settings.clientId} redirect_uris=${settings.redirectUris.join(',')}`)
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
