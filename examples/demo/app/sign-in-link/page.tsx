'use client'

// Sign-in with an email link, after Clerk's "email links" custom-flow guide (Future API):
// signIn.emailLink.sendLink({emailAddress, verificationUrl}) (FAPI create, then prepare_first_factor with
// strategy=email_link and the redirect_url) -> "check your email" -> signIn.emailLink.waitForVerification()
// (polls the sign-in until its first factor is verified or expired) -> `complete` -> signIn.finalize().
// The link itself lands on ./verify (the verification page), in this browser or in another one.
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
  const [sentTo, setSentTo] = useState<string | null>(null)
  const [expired, setExpired] = useState(false)

  const handleSubmit = async (formData: FormData) => {
    setError(null)
    setExpired(false)
    const emailAddress = formData.get('email') as string
    const { error } = await signIn.emailLink.sendLink({
      emailAddress,
      verificationUrl: '/sign-in-link/verify',
    })
    if (error) {
      // See https://clerk.com/docs/guides/development/custom-flows/error-handling
      setError(error)
      return
    }
    setSentTo(emailAddress)

    // Wait until the link is opened (here or on another device) or expires.
    const { error: waitError } = await signIn.emailLink.waitForVerification()
    if (waitError) {
      setError(waitError)
      return
    }
    if (signIn.firstFactorVerification.status === 'expired') {
      setExpired(true)
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

  if (expired) {
    return (
      <section data-testid="sign-in-link-expired">
        <p>The link expired. Ask for a new one.</p>
        <button type="button" onClick={() => void signIn.reset().then(() => setExpired(false))}>
          Start over
        </button>
      </section>
    )
  }

  if (sentTo !== null) {
    return (
      <section data-testid="sign-in-link-sent">
        <h2>Check your email</h2>
        <p>
          We sent a sign-in link to <strong>{sentTo}</strong>. Open it in this browser or on another device; this page
          signs you in once it is opened. (In the demo, open the mail catcher's page to read it.)
        </p>
        <ClerkErrorMessage error={error} />
      </section>
    )
  }

  return (
    <section data-testid="sign-in-link">
      <h2>Sign in with a link sent by email</h2>
      <form action={handleSubmit}>
        <label htmlFor="email">Email address</label>
        <input id="email" name="email" type="email" autoComplete="email" />
        <button type="submit" disabled={fetchStatus === 'fetching'}>
          Send me a link
        </button>
      </form>
      <ClerkErrorMessage error={error} />
      <p>
        <Link to="/sign-in-code">Use a code instead</Link>
      </p>
    </section>
  )
}
