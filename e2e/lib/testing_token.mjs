// @clerk/testing's setupClerkTestingToken (2.2.36, pinned in package.json) against Latchkey. Its route pattern is
// hard-coded to https://<frontendApiUrl>/v1/... while the e2e stack serves FAPI over plain http
// (http://localhost:<port>/__clerk): this shim hands it a context whose route() gets the same pattern with http,
// so @clerk/testing's own handler runs (it adds __clerk_testing_token to every FAPI request and flips the client's
// captcha_bypass to true, so clerk-js skips the widget). Only the scheme of its pattern is adapted.
import { setupClerkTestingToken } from '@clerk/testing/playwright'

export async function setupTestingTokenOverHttp(context, { frontendApiUrl, testingToken }) {
  process.env.CLERK_TESTING_TOKEN = testingToken
  const shim = {
    route: (pattern, handler) =>
      context.route(new RegExp(pattern.source.replace(/^\^https:/, '^http:'), pattern.flags), handler),
  }
  await setupClerkTestingToken({ context: shim, options: { frontendApiUrl } })
}
