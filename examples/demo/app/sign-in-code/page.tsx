'use client'

// Sign-in with a one-time code sent by email, after Clerk's "email/SMS OTP" custom-flow guide (Future API):
// signIn.create({identifier}) -> find the `email_code` factor in supportedFirstFactors ->
// signIn.emailCode.sendCode({emailAddressId}) (FAPI prepare_first_factor) -> the code form ->
// signIn.emailCode.verifyCode({code}) (attempt_first_factor) -> `complete` -> signIn.finalize().
import { useState } from 'react'
import { useAuth, useSignIn } from '@clerk/nextjs'
import { useRouter } from 'next/navigation'
import { Link } from 'react-router-dom'
import { ClerkErrorMessage } from '../../src/components/ClerkErrorMessage'

export default function Page() {
  const { signIn, fetchStatus } = useSignIn()
  const { isSignedIn } = useAuth()
  const router = useRouter()
  const [error, setError] = useState<unknown>(null)
  const [codeSentTo, setCodeSentTo] = useState<string | null>(null)

  const sendCode = async () => {
    const factor = signIn.supportedFirstFactors.find((f) => f.strategy === 'email_code')
    if (!factor || !('emailAddressId' in factor)) {
      setError(new Error('This account cannot sign in with an email code.'))
      return
    }
    const { error } = await signIn.emailCode.sendCode({ emailAddressId: factor.emailAddressId })
    if (error) {
      setError(error)
      return
    }
    setCodeSentTo(factor.safeIdentifier ?? signIn.identifier)
  }

  const handleSubmit = async (formData: FormData) => {
    setError(null)
    setCodeSentTo(null)
    const { error } = await signIn.create({ identifier: formData.get('email') as string })
    if (error) {
      // See https://clerk.com/docs/guides/development/custom-flows/error-handling
      setError(error)
      return
    }
    await sendCode()
  }

  const handleVerification = async (formData: FormData) => {
    setError(null)
    const { error } = await signIn.emailCode.verifyCode({ code: formData.get('code') as string })
    if (error) {
      setError(error)
      return
    }
    if (signIn.status === 'complete') {
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
    } else {
      setError(new Error(`The sign-in needs a further step (${signIn.status}) that the demo does not implement.`))
    }
  }

  if (isSignedIn) {
    return (
      <p data-testid="already-signed-in">
        You are signed in. <Link to="/">Go to the home page</Link>
      </p>
    )
  }

  if (codeSentTo !== null && signIn.status === 'needs_first_factor') {
    return (
      <section data-testid="sign-in-code-verify">
        <h2>Check your email</h2>
        <p>
          We sent a 6-digit code to <strong>{codeSentTo}</strong>. (In the demo, open the mail catcher's page to read
          it.)
        </p>
        <form action={handleVerification}>
          <label htmlFor="code">Enter your verification code</label>
          <input id="code" name="code" type="text" inputMode="numeric" autoComplete="one-time-code" />
          <button type="submit" disabled={fetchStatus === 'fetching'}>
            Verify
          </button>
        </form>
        <ClerkErrorMessage error={error} />
        <button type="button" onClick={() => void signIn.emailCode.sendCode().then(({ error }) => setError(error))}>
          I need a new code
        </button>{' '}
        <button type="button" onClick={() => void signIn.reset().then(() => setCodeSentTo(null))}>
          Start over
        </button>
      </section>
    )
  }

  return (
    <section data-testid="sign-in-code">
      <h2>Sign in with a code sent by email</h2>
      <form action={handleSubmit}>
        <label htmlFor="email">Email address</label>
        <input id="email" name="email" type="email" autoComplete="email" />
        <button type="submit" disabled={fetchStatus === 'fetching'}>
          Send me a code
        </button>
      </form>
      <ClerkErrorMessage error={error} />
      <p>
        <Link to="/sign-in-password">Use your password instead</Link>
      </p>
    </section>
  )
}
