'use client'

// Email + password sign-up with an email code, after Clerk's "email/password" custom-flow guide (Future API, as
// the OAuth pages of this demo): signUp.password() -> signUp.verifications.sendEmailCode() -> the code form ->
// signUp.verifications.verifyEmailCode() -> signUp.finalize(). The demo's Latchkey requires a first and last name
// at sign-up, so this form asks for them too (otherwise the sign-up would stay `missing_requirements`).
// Errors are shown as Clerk's error-handling guide does: errors[0].longMessage and its code.
import { useState } from 'react'
import { useAuth, useSignUp } from '@clerk/nextjs'
import { useRouter } from 'next/navigation'
import { Link } from 'react-router-dom'
import { ClerkErrorMessage } from '../../src/components/ClerkErrorMessage'

export default function Page() {
  const { signUp, fetchStatus } = useSignUp()
  const { isSignedIn } = useAuth()
  const router = useRouter()
  const [error, setError] = useState<unknown>(null)

  const handleSubmit = async (formData: FormData) => {
    setError(null)
    const { error } = await signUp.password({
      emailAddress: formData.get('email') as string,
      password: formData.get('password') as string,
      firstName: formData.get('firstName') as string,
      lastName: formData.get('lastName') as string,
    })
    if (error) {
      // See https://clerk.com/docs/guides/development/custom-flows/error-handling
      setError(error)
      return
    }
    const { error: sendError } = await signUp.verifications.sendEmailCode()
    if (sendError) {
      setError(sendError)
    }
  }

  const handleVerify = async (formData: FormData) => {
    setError(null)
    const { error } = await signUp.verifications.verifyEmailCode({
      code: formData.get('code') as string,
    })
    if (error) {
      setError(error)
      return
    }
    if (signUp.status === 'complete') {
      await signUp.finalize({
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
      setError(new Error(`The sign-up is not complete yet (status ${signUp.status}).`))
    }
  }

  const resendCode = async () => {
    setError(null)
    const { error } = await signUp.verifications.sendEmailCode()
    if (error) {
      setError(error)
    }
  }

  if (signUp.status === 'complete' || isSignedIn) {
    return (
      <p data-testid="already-signed-in">
        You are signed in. <Link to="/">Go to the home page</Link>
      </p>
    )
  }

  if (
    signUp.status === 'missing_requirements' &&
    signUp.unverifiedFields.includes('email_address') &&
    signUp.missingFields.length === 0
  ) {
    return (
      <section data-testid="sign-up-verify">
        <h2>Verify your email</h2>
        <p>
          We sent a 6-digit code to <strong data-testid="sign-up-email">{signUp.emailAddress}</strong>. (In the demo,
          open the mail catcher's page to read it.)
        </p>
        <form action={handleVerify}>
          <label htmlFor="code">Code</label>
          <input id="code" name="code" type="text" inputMode="numeric" autoComplete="one-time-code" />
          <button type="submit" disabled={fetchStatus === 'fetching'}>
            Verify
          </button>
        </form>
        <ClerkErrorMessage error={error} />
        <button type="button" onClick={() => void resendCode()}>
          I need a new code
        </button>{' '}
        <button type="button" onClick={() => void signUp.reset()}>
          Start over
        </button>
      </section>
    )
  }

  return (
    <section data-testid="sign-up-password">
      <h2>Sign up with email and password</h2>
      <form action={handleSubmit}>
        <label htmlFor="firstName">First name</label>
        <input id="firstName" name="firstName" type="text" autoComplete="given-name" />
        <label htmlFor="lastName">Last name</label>
        <input id="lastName" name="lastName" type="text" autoComplete="family-name" />
        <label htmlFor="email">Email address</label>
        <input id="email" name="email" type="email" autoComplete="email" />
        <label htmlFor="password">Password</label>
        <input id="password" name="password" type="password" autoComplete="new-password" />
        <button type="submit" disabled={fetchStatus === 'fetching'}>
          Continue
        </button>
      </form>
      <ClerkErrorMessage error={error} />
      <p>
        Already have an account? <Link to="/sign-in-password">Sign in with your password</Link>
      </p>
      {/* Required for sign-up flows. Clerk's bot sign-up protection is enabled by default */}
      <div id="clerk-captcha" />
    </section>
  )
}
