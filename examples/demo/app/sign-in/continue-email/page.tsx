'use client'

// The email part of the "handle missing requirements" step for OAuth sign-ups, shown on /sign-in/continue under
// the seed's continue page (which collects only first and last name, and must stay Clerk's guide code byte for
// byte). Clerk's OAuth guide says: "If the missing fields are identifiers, see the appropriate custom flow guide";
// this follows the email OTP guide's sign-up flow with the Future API, as the other demo pages do:
// - the provider gave no address (missingFields has email_address): ask for one, signUp.update({ emailAddress }),
//   then send the code;
// - the provider did not vouch for its address (unverifiedFields has email_address, e.g. GitHub's unverified
//   primary): send the code;
// then the code form: signUp.verifications.verifyEmailCode() -> signUp.finalize().
import { useState } from 'react'
import { useSignUp } from '@clerk/nextjs'
import { useRouter } from 'next/navigation'
import { ClerkErrorMessage } from '../../../src/components/ClerkErrorMessage'

export default function Page() {
  const { signUp, fetchStatus } = useSignUp()
  const router = useRouter()
  const [error, setError] = useState<unknown>(null)
  const [sent, setSent] = useState(false)

  const sendCode = async () => {
    setError(null)
    const { error } = await signUp.verifications.sendEmailCode()
    if (error) {
      setError(error)
      return
    }
    setSent(true)
  }

  const handleEmail = async (formData: FormData) => {
    setError(null)
    const { error } = await signUp.update({ emailAddress: formData.get('emailAddress') as string })
    if (error) {
      // See https://clerk.com/docs/guides/development/custom-flows/error-handling
      setError(error)
      return
    }
    await sendCode()
  }

  const handleVerify = async (formData: FormData) => {
    setError(null)
    const { error } = await signUp.verifications.verifyEmailCode({ code: formData.get('code') as string })
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

  if (signUp.status !== 'missing_requirements') {
    return null
  }

  if (signUp.missingFields.includes('email_address')) {
    return (
      <section data-testid="continue-email">
        <h2>Add your email address</h2>
        <p>Your account at the identity provider has no email address. Which one should we use?</p>
        <form action={handleEmail}>
          <label htmlFor="emailAddress">Email address</label>
          <input id="emailAddress" name="emailAddress" type="email" autoComplete="email" />
          <button type="submit" disabled={fetchStatus === 'fetching'}>
            Send a code
          </button>
        </form>
        <ClerkErrorMessage error={error} />
      </section>
    )
  }

  if (!signUp.unverifiedFields.includes('email_address')) {
    return null
  }

  if (!sent) {
    // No code sent from this page yet (needs_prepare).
    return (
      <section data-testid="continue-email-send">
        <h2>Verify your email</h2>
        <p>
          Your identity provider did not confirm <strong data-testid="continue-email-address">{signUp.emailAddress}</strong>.
          We will send a 6-digit code to it.
        </p>
        <button type="button" onClick={() => void sendCode()} disabled={fetchStatus === 'fetching'}>
          Send the code
        </button>
        <ClerkErrorMessage error={error} />
      </section>
    )
  }

  return (
    <section data-testid="continue-email-verify">
      <h2>Enter the code</h2>
      <p>
        We sent a 6-digit code to <strong data-testid="continue-email-address">{signUp.emailAddress}</strong>. (In
        the demo, open the mail catcher's page to read it.)
      </p>
      <form action={handleVerify}>
        <label htmlFor="code">Code</label>
        <input id="code" name="code" type="text" inputMode="numeric" autoComplete="one-time-code" />
        <button type="submit" disabled={fetchStatus === 'fetching'}>
          Verify
        </button>
      </form>
      <ClerkErrorMessage error={error} />
      <button type="button" onClick={() => void sendCode()}>
        I need a new code
      </button>
    </section>
  )
}
