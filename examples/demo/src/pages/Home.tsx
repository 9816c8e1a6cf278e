import { useEffect, useState } from 'react'
import { Link } from 'react-router-dom'
import { useAuth, useClerk, useUser } from '@clerk/react'

type ApiResult =
  | { state: 'idle' }
  | { state: 'loading' }
  | { state: 'done'; status: number; body: unknown }
  | { state: 'error'; message: string }

// Calls the demo's own backend with the session token, as a real app would call its API. server.mjs verifies
// the token against Latchkey's JWKS and answers with the claims it trusted.
function useApiMe(sessionId: string | null | undefined): ApiResult {
  const { getToken } = useAuth()
  const [result, setResult] = useState<ApiResult>({ state: 'idle' })
  useEffect(() => {
    if (!sessionId) {
      setResult({ state: 'idle' })
      return
    }
    let cancelled = false
    setResult({ state: 'loading' })
    ;(async () => {
      try {
        const token = await getToken()
        const response = await fetch('/api/me', {
          headers: token ? { Authorization: `Bearer ${token}` } : {},
        })
        const body: unknown = await response.json().catch(() => null)
        if (!cancelled) {
          setResult({ state: 'done', status: response.status, body })
        }
      } catch (err) {
        if (!cancelled) {
          setResult({ state: 'error', message: err instanceof Error ? err.message : String(err) })
        }
      }
    })()
    return () => {
      cancelled = true
    }
  }, [sessionId, getToken])
  return result
}

export function HomePage() {
  const { isLoaded, isSignedIn, user } = useUser()
  const { sessionId } = useAuth()
  const { signOut } = useClerk()
  const api = useApiMe(isSignedIn ? sessionId : null)

  if (!isLoaded) {
    return <p data-testid="home-loading">Loading…</p>
  }
  if (!isSignedIn) {
    return (
      <section data-testid="home-signed-out">
        <p>You are signed out.</p>
        <p>
          <Link to="/sign-in" data-testid="sign-in-link">
            Sign in
          </Link>{' '}
          or <Link to="/sign-up-password">sign up with email and password</Link>.
        </p>
      </section>
    )
  }

  const name = [user.firstName, user.lastName].filter(Boolean).join(' ')
  return (
    <section data-testid="home-signed-in">
      <p>
        Signed in as <strong data-testid="user-name">{name || '(no name)'}</strong>{' '}
        &lt;<span data-testid="user-email">{user.primaryEmailAddress?.emailAddress ?? ''}</span>&gt;
      </p>
      <p>
        User id <code data-testid="user-id">{user.id}</code>, session <code data-testid="session-id">{sessionId}</code>
      </p>
      <h2>GET /api/me</h2>
      <pre data-testid="api-me" data-state={api.state} data-status={api.state === 'done' ? api.status : ''}>
        {api.state === 'done'
          ? `${api.status} ${JSON.stringify(api.body)}`
          : api.state === 'error'
            ? `error: ${api.message}`
            : api.state}
      </pre>
      <p>
        <button type="button" data-testid="sign-out" onClick={() => void signOut()}>
          Sign out
        </button>{' '}
        <Link to="/sign-in" data-testid="sign-in-again">
          Go to the sign-in page
        </Link>{' '}
        · <Link to="/account/security" data-testid="account-security-link">
          Two-step verification
        </Link>
      </p>
    </section>
  )
}
