// The publishable key only has to parse (fapi README §1.1): `pk_live_` + base64('clerk.example.test$') without '='.
// `pk_live_` selects the production wire protocol: no dev browser, cookie-based clients. With `proxyUrl` set,
// the host inside the key is never contacted.
export const publishableKey = 'pk_live_' + btoa('clerk.example.test$').replace(/=+$/, '')

// Relative, so FAPI is same-origin with the page (server.mjs proxies it to Latchkey) and clerk-js is hot-loaded
// from <origin>/__clerk/npm/@clerk/clerk-js@6/dist/clerk.browser.js, which server.mjs serves from node_modules.
export const proxyUrl = '/__clerk'
