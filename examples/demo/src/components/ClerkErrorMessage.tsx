import { isClerkAPIResponseError } from '@clerk/react/errors'

// Shows the error a Clerk call returned, the way Clerk's error-handling guide does: for an API error the first
// entry's `longMessage` (falling back to `message`), with its machine-stable `code` beside it, e.g.
// `form_password_incorrect`. Runtime errors of the SDK itself (say `factor_not_found`) carry a code too.
// The e2e tests read `data-code`.
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
    <p role="alert" className="alert" data-testid="clerk-error" data-code={code}>
      <span data-testid="clerk-error-text">{text}</span> {code && <code>({code})</code>}
    </p>
  )
}
