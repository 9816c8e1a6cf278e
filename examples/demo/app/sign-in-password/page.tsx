'use client'

// Email (or any identifier) + password sign-in, after Clerk's "email/password" custom-flow guide (Future API):
// signIn.password() -> `complete` -> signIn.finalize(). A sign-in can also stop at:
//   - `needs_new_password`: the password was right but must be replaced (e.g. flagged as compromised); the form
//     below submits a new one with signIn.resetPasswordEmailCode.submitPassword() (FAPI `reset_password`);
//   - `needs_first_factor`: this account cannot use a password (it signs in another way); the page says which;
//   - `needs_second_factor`: the user has an authenticator app; SecondFactorStep asks for its code or a backup
//     code (signIn.mfa.verifyTOTP / verifyBackupCode), then finalizes;
//   - `needs_client_trust`: not handled by this demo, the page says so.
import { useState } from 'react'
import { useAuth, useSignIn } from '@clerk/nextjs'
import { useRouter } from 'next/navigation'
import { Link } from 'react-router-dom'
import { ClerkErrorMessage } from '../../src/components/ClerkErrorMessage'
import { SecondFactorStep } from '../../src/components/SecondFactorStep'

export default function Page() {
  const { signIn, fetchStatus } = useSignIn()
  const { isSignedIn } = useAuth()
  const router = useRouter()
  const [error, setError] = useState<unknown>(null)
  // The sign-in attempt lives on the client and outlives this page (another page may have started it); only
  // steps of an attempt started here are rendered as such.
  const [started, setStarted] = useState(false)

  const finalize = async () => {
    await signIn.finalize({
      navigate: async ({ session, decorateUrl }) => {
        // Handle session tasks
        // See https://clerk.com/docs/guides/development/custom-flows/authentication/session-tasks
        if (session?.currentTask) {
          router.push('/sign-in/tasks')
          return
        }
        // If no session tasks, navigate the signed-in user to the home page
        const url = decorateUrl('/')
        if (url.startsWith('http')) {
          window.location.href = url
        } else {
          router.push(url)
        }
      },
    })
  }

  const handleSubmit = async (formData: FormData) => {
    setError(null)
    setStarted(true)
    const { error } = await signIn.password({
      identifier: formData.get('identifier') as string,
      password: formData.get('password') as string,
    })
    if (error) {
      // See https://clerk.com/docs/guides/development/custom-flows/error-handling
      setError(error)
      return
    }
    if (signIn.status === 'complete') {
      await finalize()
    }
    // Every other status is rendered below.
  }

  const handleNewPassword = async (formData: FormData) => {
    setError(null)
    const { error } = await signIn.resetPasswordEmailCode.submitPassword({
      password: formData.get('newPassword') as string,
      signOutOfOtherSessions: true,
    })
    if (error) {
      setError(error)
      return
    }
    if (signIn.status === 'complete') {
      await finalize()
    }
  }

  if (isSignedIn) {
    return (
      <p data-testid="already-signed-in">
        You are signed in. <Link to="/">Go to the home page</Link>
      </p>
    )
  }

  if (started && signIn.status === 'needs_new_password') {
    return (
      <section data-testid="sign-in-new-password">
        <h2>Choose a new password</h2>
        <p>Your password was correct, but it has to be replaced before you can continue.</p>
        <form action={handleNewPassword}>
          <label htmlFor="newPassword">New password</label>
          <input id="newPassword" name="newPassword" type="password" autoComplete="new-password" />
          <button type="submit" disabled={fetchStatus === 'fetching'}>
            Set new password
          </button>
        </form>
        <ClerkErrorMessage error={error} />
        <button type="button" onClick={() => void signIn.reset().then(() => setStarted(false))}>
          Start over
        </button>
      </section>
    )
  }

  if (started && signIn.status === 'needs_first_factor') {
    const strategies = signIn.supportedFirstFactors.map((f) => f.strategy)
    return (
      <section data-testid="sign-in-other-factor">
        <h2>Sign in another way</h2>
        <p>
          This account cannot sign in with a password here. It can use:{' '}
          <code data-testid="supported-first-factors">{strategies.join(', ') || '(nothing)'}</code>.
        </p>
        <ul>
          {strategies.includes('email_code') && (
            <li>
              <Link to="/sign-in-code">Sign in with a code sent by email</Link>
            </li>
          )}
          {strategies.some((s) => s.startsWith('oauth_')) && (
            <li>
              <Link to="/sign-in">Sign in with Google</Link>
            </li>
          )}
        </ul>
        <button type="button" onClick={() => void signIn.reset().then(() => setStarted(false))}>
          Start over
        </button>
      </section>
    )
  }

  if (started && signIn.status === 'needs_second_factor') {
    return <SecondFactorStep onStartOver={() => setStarted(false)} />
  }

  if (started && signIn.status === 'needs_client_trust') {
    return (
      <section data-testid="sign-in-unsupported-step">
        <p>
          This sign-in needs a further step (<code>{signIn.status}</code>) that the demo does not implement yet.
        </p>
        <button type="button" onClick={() => void signIn.reset().then(() => setStarted(false))}>
          Start over
        </button>
      </section>
    )
  }

  return (
    <section data-testid="sign-in-password">
      <h2>Sign in with email and password</h2>
      <form action={handleSubmit}>
        <label htmlFor="identifier">Email address</label>
        <input id="identifier" name="identifier" type="email" autoComplete="username" />
        <label htmlFor="password">Password</label>
        <input id="password" name="password" type="password" autoComplete="current-password" />
        <button type="submit" disabled={fetchStatus === 'fetching'}>
          Sign in
        </button>
      </form>
      <ClerkErrorMessage error={error} />
      <p>
        <Link to="/forgot-password">Forgot your password?</Link> · <Link to="/sign-in-code">Email me a code instead</Link>{' '}
        · <Link to="/sign-up-password">Create an account</Link>
      </p>
    </section>
  )
}
