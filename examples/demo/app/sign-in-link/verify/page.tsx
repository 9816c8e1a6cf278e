'use client'

// The page an email link lands on (the verificationUrl of ../page.tsx), after Clerk's "email links" custom-flow
// guide (Future API): Latchkey's GET /v1/verify redirected here with __clerk_status (verified | expired | failed |
// client_mismatch) and __clerk_created_session, which signIn.emailLink.verification reads. Opened in the browser
// that asked, the new session is this client's: finalize it here too. Opened elsewhere, the original tab (which
// polls) signs in; this one only says so.
import { useEffect, useState } from 'react'
import { useSignIn } from '@clerk/nextjs'
import { useRouter } from 'next/navigation'
import { Link } from 'react-router-dom'

export default function Page() {
  const { signIn } = useSignIn()
  const router = useRouter()
  const [finalized, setFinalized] = useState(false)
  const verification = signIn.emailLink.verification

  useEffect(() => {
    if (!verification || verification.status !== 'verified' || !verification.verifiedFromTheSameClient) {
      return
    }
    if (finalized) {
      return
    }
    setFinalized(true)
    void signIn.finalize({
      navigate: async ({ decorateUrl }) => {
        const url = decorateUrl('/')
        if (url.startsWith('http')) {
          window.location.href = url
        } else {
          router.push(url)
        }
      },
    })
  }, [verification, finalized, signIn, router])

  if (!verification) {
    return (
      <section data-testid="email-link-status" data-status="failed">
        <p>This link could not be verified.</p>
        <Link to="/sign-in-link">Sign in</Link>
      </section>
    )
  }
  if (verification.status === 'failed') {
    return (
      <section data-testid="email-link-status" data-status="failed">
        <p>The email link verification failed.</p>
        <Link to="/sign-in-link">Sign in</Link>
      </section>
    )
  }
  if (verification.status === 'expired') {
    return (
      <section data-testid="email-link-status" data-status="expired">
        <p>The email link has expired.</p>
        <Link to="/sign-in-link">Sign in</Link>
      </section>
    )
  }
  if (verification.status === 'client_mismatch') {
    return (
      <section data-testid="email-link-status" data-status="client_mismatch">
        <p>You must complete the email link sign-in on the same device and browser that you started it on.</p>
        <Link to="/sign-in-link">Sign in</Link>
      </section>
    )
  }
  if (!verification.verifiedFromTheSameClient) {
    return (
      <section data-testid="email-link-status" data-status="verified-elsewhere">
        <p>Signed in on another device or browser. Return to the original tab to continue.</p>
      </section>
    )
  }
  return (
    <section data-testid="email-link-status" data-status="verified">
      <p>Signed in. Taking you to the home page…</p>
    </section>
  )
}
