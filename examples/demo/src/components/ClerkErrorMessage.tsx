import { isClerkAPIResponseError } from '@clerk/react/errors'

// Shows the error a Clerk call returned, the way Clerk's error-handling guide does: for an API error the first
// entry's `longMessage` (falling back to `message`), with its machine-stable `code` beside it, e.g.
// `form_password_incorrect`. Runtime errors of the SDK itself (say `factor_not_found`) carry a code too.
// The e2e tests read `data-code`, and `data-error-id` (a number per error object) to tell a new error from one
// still shown from the previous attempt.
const errorIds = new WeakMap<object, number>()
let lastErrorId = 0
function errorId(error: unknown): number {
  if (typeof error !== 'object' || error === null) {
    return 0
  }
  let id = errorIds.get(error)
  if (id === undefined) {
    id = ++lastErrorId
    errorIds.set(error, id)
  }
  return id
}

export function ClerkErrorMessage({ error }: { error: unknown }) {
  if (!error) {
    return null
  }
  let code = ''
  let text = ''
  if (isClerkAPIResponseError(error) && error.errors.length > 0) {
    const first = error.errors[0]
    code = first.code
    text = first.longMessage || first.message
  } else if (error instanceof Error) {
    code = 'code' in error && typeof error.code === 'string' ? error.code : ''
    text = ('longMessage' in error && typeof error.longMessage === 'string' && error.longMessage) || error.message
  } else {
    text = String(error)
  }
  return (
    <p role="alert" className="alert" data-testid="clerk-error" data-code={code} data-error-id={errorId(error)}>
      <span data-testid="clerk-error-text">{text}</span> {code && <code>({code})</code>}
    </p>
  )
}
