'use client'

// Password reset by email code, after Clerk's "forgot password" custom-flow guide (Future API):
// signIn.create({identifier}) -> signIn.resetPasswordEmailCode.sendCode() (prepare_first_factor with
// strategy reset_password_email_code) -> the code form -> .verifyCode({code}) (attempt_first_factor) ->
// `needs_new_password` -> .submitPassword({password, signOutOfOtherSessions: true}) (reset_password) ->
// `complete` -> signIn.finalize(). Latchkey offers the reset factor only to accounts that have a password.
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
  const [codeSent, setCodeSent] = useState(false)

  // Step 1: send the password reset code to the account's email address
  const sendCode = async (formData: FormData) => {
    setError(null)
    setCodeSent(false)
    const { error: createError } = await signIn.create({ identifier: formData.get('email') as string })
    if (createError) {
      // See https://clerk.com/docs/guides/development/custom-flows/error-handling
      setError(createError)
      return
    }
    const { error: sendCodeError } = await signIn.resetPasswordEmailCode.sendCode()
    if (sendCodeError) {
      setError(sendCodeError)
      return
    }
    setCodeSent(true)
  }

  // Step 2: verify the code the person received
  const verifyCode = async (formData: FormData) => {
    setError(null)
    const { error } = await signIn.resetPasswordEmailCode.verifyCode({ code: formData.get('code') as string })
    if (error) {
      setError(error)
    }
  }

  // Step 3: submit the new password; other sessions of the account are signed out
  const submitNewPassword = async (formData: FormData) => {
    setError(null)
    const { error } = await signIn.resetPasswordEmailCode.submitPassword({
      password: formData.get('password') as string,
      signOutOfOtherSessions: true,
    })
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

  return (
    <section data-testid="forgot-password">
      <h2>Forgot your password?</h2>

      {/* Step 1: the account's email address */}
      {!codeSent && (
        <form action={sendCode} data-testid="forgot-password-email">
          <label htmlFor="email">Your email address</label>
          <input id="email" name="email" type="email" autoComplete="email" />
          <button type="submit" disabled={fetchStatus === 'fetching'}>
            Send password reset code
          </button>
        </form>
      )}

      {/* Step 2: the code from the email */}
      {codeSent && signIn.status === 'needs_first_factor' && (
        <form action={verifyCode} data-testid="forgot-password-code">
          <label htmlFor="code">Enter the password reset code that was sent to your email</label>
          <input id="code" name="code" type="text" inputMode="numeric" autoComplete="one-time-code" />
          <button type="submit" disabled={fetchStatus === 'fetching'}>
            Verify code
          </button>
        </form>
      )}

      {/* Step 3: the new password */}
      {codeSent && signIn.status === 'needs_new_password' && (
        <form action={submitNewPassword} data-testid="forgot-password-new">
          <label htmlFor="password">Enter your new password</label>
          <input id="password" name="password" type="password" autoComplete="new-password" />
          <button type="submit" disabled={fetchStatus === 'fetching'}>
            Set new password
          </button>
        </form>
      )}

      <ClerkErrorMessage error={error} />
      <p>
        <Link to="/sign-in-password">Back to sign-in</Link>
      </p>
    </section>
  )
}
