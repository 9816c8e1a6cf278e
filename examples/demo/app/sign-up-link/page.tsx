'use client'

// Sign-up whose email address is verified by an email link, after Clerk's "email links" custom-flow guide (Future
// API): signUp.password() (the demo's Latchkey requires a password and a first and last name) ->
// signUp.verifications.sendEmailLink({verificationUrl}) (FAPI prepare_verification with strategy=email_link and
// the redirect_url) -> signUp.verifications.waitForEmailLinkVerification() (polls the sign-up) -> `complete` ->
// signUp.finalize(). The link lands on ./verify, in this browser or another one.
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
  const [sentTo, setSentTo] = useState<string | null>(null)

  const handleSubmit = async (formData: FormData) => {
    setError(null)
    const emailAddress = formData.get('email') as string
    const { error } = await signUp.password({
      emailAddress,
      password: formData.get('password') as string,
      firstName: formData.get('firstName') as string,
      lastName: formData.get('lastName') as string,
    })
    if (error) {
      // See https://clerk.com/docs/guides/development/custom-flows/error-handling
      setError(error)
      return
    }
    const { error: sendError } = await signUp.verifications.sendEmailLink({
      verificationUrl: '/sign-up-link/verify',
    })
    if (sendError) {
      setError(sendError)
      return
    }
    setSentTo(emailAddress)

    const { error: waitError } = await signUp.verifications.waitForEmailLinkVerification()
    if (waitError) {
      setError(waitError)
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
    } else if (signUp.verifications.emailAddress.status === 'expired') {
      setError(new Error('The link expired. Start over to get a new one.'))
    } else {
      setError(new Error(`The sign-up is not complete yet (status ${signUp.status}).`))
    }
  }

  if (isSignedIn) {
    return (
      <p data-testid="already-signed-in">
        You are signed in. <Link to="/">Go to the home page</Link>
      </p>
    )
  }

  if (sentTo !== null) {
    return (
      <section data-testid="sign-up-link-sent">
        <h2>Check your email</h2>
        <p>
          We sent a verification link to <strong>{sentTo}</strong>. Open it in this browser or on another device.
          (In the demo, open the mail catcher's page to read it.)
        </p>
        <ClerkErrorMessage error={error} />
      </section>
    )
  }

  return (
    <section data-testid="sign-up-link">
      <h2>Sign up with an email link</h2>
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
      {/* Required for sign-up flows. Clerk's bot sign-up protection is enabled by default */}
      <div id="clerk-captcha" />
    </section>
  )
}
