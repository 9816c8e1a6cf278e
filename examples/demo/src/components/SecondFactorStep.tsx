'use client'

// The second step of a sign-in whose user has an authenticator app (`needs_second_factor`), after Clerk's
// "Build a custom flow for authenticating with multi-factor authentication" guide (Future API):
// signIn.mfa.verifyTOTP({code}) or signIn.mfa.verifyBackupCode({code}) (FAPI attempt_second_factor) ->
// `complete` -> signIn.finalize(). Used in two places: under the guide's sign-in page on /sign-in (where the
// guide's sso-callback page sends an OAuth sign-in that needs a second factor) and on /sign-in-password.
// It renders nothing unless the client's sign-in is at `needs_second_factor`.
import { useState } from 'react'
import { useSignIn } from '@clerk/nextjs'
import { useRouter } from 'next/navigation'
import { ClerkErrorMessage } from './ClerkErrorMessage'

export function SecondFactorStep({ onStartOver }: { onStartOver?: () => void }) {
  const { signIn, fetchStatus } = useSignIn()
  const router = useRouter()
  const [useBackupCode, setUseBackupCode] = useState(false)
  const [error, setError] = useState<unknown>(null)

  if (signIn.status !== 'needs_second_factor') {
    return null
  }
  const strategies = signIn.supportedSecondFactors.map((f) => f.strategy)
  const canUseTotp = strategies.includes('totp')
  const canUseBackupCode = strategies.includes('backup_code')
  const backup = useBackupCode || !canUseTotp

  const handleSubmit = async (formData: FormData) => {
    setError(null)
    const code = formData.get('code') as string
    const { error } = backup ? await signIn.mfa.verifyBackupCode({ code }) : await signIn.mfa.verifyTOTP({ code })
    if (error) {
      // See https://clerk.com/docs/guides/development/custom-flows/error-handling
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

  const switchTo = (toBackup: boolean) => {
    setError(null)
    setUseBackupCode(toBackup)
  }

  return (
    <section data-testid="second-factor" data-strategy={backup ? 'backup_code' : 'totp'}>
      <h2>Two-step verification</h2>
      <p data-testid="supported-second-factors" data-strategies={strategies.join(' ')}>
        {backup
          ? 'Enter one of the backup codes you saved when you set up your authenticator app.'
          : 'Enter the 6-digit code your authenticator app shows.'}
      </p>
      {/* The key makes React render a fresh, empty field when the person switches between the two kinds. */}
      <form action={handleSubmit} key={backup ? 'backup' : 'totp'}>
        <label htmlFor="code">{backup ? 'Backup code' : 'Authenticator code'}</label>
        <input
          id="code"
          name="code"
          type="text"
          autoComplete="one-time-code"
          inputMode={backup ? 'text' : 'numeric'}
          data-testid="second-factor-code"
        />
        <button type="submit" disabled={fetchStatus === 'fetching'}>
          Verify
        </button>
      </form>
      <ClerkErrorMessage error={error} />
      <p>
        {canUseTotp && canUseBackupCode && !backup && (
          <button type="button" data-testid="use-backup-code" onClick={() => switchTo(true)}>
            Use a backup code instead
          </button>
        )}
        {canUseTotp && backup && (
          <button type="button" data-testid="use-totp" onClick={() => switchTo(false)}>
            Use your authenticator app instead
          </button>
        )}{' '}
        <button
          type="button"
          data-testid="second-factor-start-over"
          onClick={() => void signIn.reset().then(() => onStartOver?.())}
        >
          Start over
        </button>
      </p>
    </section>
  )
}
