'use client'

// The page a sign-up's email link lands on, after Clerk's "email links" custom-flow guide (Future API):
// signUp.verifications.emailLinkVerification reads __clerk_status and __clerk_created_session. In the browser that
// signed up, the session is this client's and is finalized here; elsewhere the original tab completes.
import { useEffect, useState } from 'react'
import { useSignUp } from '@clerk/nextjs'
import { useRouter } from 'next/navigation'
import { Link } from 'react-router-dom'

export default function Page() {
  const { signUp } = useSignUp()
  const router = useRouter()
  const [finalized, setFinalized] = useState(false)
  const verification = signUp.verifications.emailLinkVerification

  useEffect(() => {
    if (!verification || verification.status !== 'verified' || !verification.verifiedFromTheSameClient) {
      return
    }
    if (finalized) {
      return
    }
    setFinalized(true)
    void signUp.finalize({
      navigate: async ({ decorateUrl }) => {
        const url = decorateUrl('/')
        if (url.startsWith('http')) {
          window.location.href = url
        } else {
          router.push(url)
        }
      },
    })
  }, [verification, finalized, signUp, router])

  if (!verification || verification.status === 'failed') {
    return (
      <section data-testid="email-link-status" data-status="failed">
        <p>The email link verification failed.</p>
        <Link to="/sign-up-link">Sign up</Link>
      </section>
    )
  }
  if (verification.status === 'expired') {
    return (
      <section data-testid="email-link-status" data-status="expired">
        <p>The email link has expired.</p>
        <Link to="/sign-up-link">Sign up</Link>
      </section>
    )
  }
  if (verification.status === 'client_mismatch') {
    return (
      <section data-testid="email-link-status" data-status="client_mismatch">
        <p>You must complete the email link sign-up on the same device and browser that you started it on.</p>
      </section>
    )
  }
  if (!verification.verifiedFromTheSameClient) {
    return (
      <section data-testid="email-link-status" data-status="verified-elsewhere">
        <p>Your email address is verified. Return to the original tab to continue.</p>
      </section>
    )
  }
  return (
    <section data-testid="email-link-status" data-status="verified">
      <p>Signed up. Taking you to the home page…</p>
    </section>
  )
}
