'use client'

// The signed-in user's second factors, after Clerk's "Build a custom flow for managing TOTP-based MFA" guide:
//   - "Set up authenticator app": user.createTOTP() (FAPI POST /v1/me/totp) returns the secret and its otpauth://
//     URI (shown as text: type the secret into the app, or open the URI; the demo draws no QR code), then the
//     first code from the app goes to user.verifyTOTP({code}) (POST /v1/me/totp/attempt_verification), which
//     answers with ten backup codes, shown once;
//   - "Regenerate backup codes": user.createBackupCode() (POST /v1/me/backup_codes), a new set replaces the old;
//   - "Remove authenticator app": user.disableTOTP() (DELETE /v1/me/totp), the backup codes go with it.
// After each change the user is reloaded so user.totpEnabled / backupCodeEnabled / twoFactorEnabled are current.
import { useState } from 'react'
import { useUser } from '@clerk/nextjs'
import type { TOTPResource } from '@clerk/shared/types'
import { Link } from 'react-router-dom'
import { ClerkErrorMessage } from '../../../src/components/ClerkErrorMessage'

function OnOff({ value, testId }: { value: boolean; testId: string }) {
  return (
    <strong data-testid={testId} data-value={String(value)}>
      {value ? 'on' : 'off'}
    </strong>
  )
}

function BackupCodes({ codes }: { codes: string[] }) {
  return (
    <section data-testid="backup-codes" data-count={codes.length}>
      <h3>Your backup codes</h3>
      <p>Keep them somewhere safe: each one signs you in once if you do not have your authenticator app. They are shown only now.</p>
      <ul>
        {codes.map((code) => (
          <li key={code}>
            <code data-testid="backup-code">{code}</code>
          </li>
        ))}
      </ul>
    </section>
  )
}

export default function Page() {
  const { isLoaded, isSignedIn, user } = useUser()
  const [error, setError] = useState<unknown>(null)
  const [busy, setBusy] = useState(false)
  // The enrollment in progress (created, not yet verified): its secret and URI.
  const [pending, setPending] = useState<TOTPResource | null>(null)
  const [backupCodes, setBackupCodes] = useState<string[] | null>(null)
  const [message, setMessage] = useState<string | null>(null)

  if (!isLoaded) {
    return <p data-testid="security-loading">Loading…</p>
  }
  if (!isSignedIn) {
    return (
      <p data-testid="security-signed-out">
        You are signed out. <Link to="/sign-in">Sign in</Link> to manage two-step verification.
      </p>
    )
  }

  // Runs one change: shows its error (a Clerk API error is thrown by these methods), reloads the user after it.
  const run = async (change: () => Promise<void>) => {
    setError(null)
    setMessage(null)
    setBusy(true)
    try {
      await change()
      await user.reload()
    } catch (err) {
      // See https://clerk.com/docs/guides/development/custom-flows/error-handling
      setError(err)
    } finally {
      setBusy(false)
    }
  }

  const createTotp = () =>
    run(async () => {
      setBackupCodes(null)
      setPending(await user.createTOTP())
    })

  const verifyTotp = (formData: FormData) =>
    run(async () => {
      const totp = await user.verifyTOTP({ code: formData.get('totpCode') as string })
      setPending(null)
      setBackupCodes(totp.backupCodes ?? [])
      setMessage('Your authenticator app is set up. From now on, signing in asks for one of its codes.')
    })

  const regenerateBackupCodes = () =>
    run(async () => {
      const backupCode = await user.createBackupCode()
      setBackupCodes(backupCode.codes)
      setMessage('New backup codes: the old ones no longer work.')
    })

  const removeTotp = () =>
    run(async () => {
      await user.disableTOTP()
      setPending(null)
      setBackupCodes(null)
      setMessage('Your authenticator app is removed. Signing in no longer asks for a second factor.')
    })

  return (
    <section data-testid="account-security">
      <h2>Two-step verification</h2>
      <ul data-testid="mfa-status">
        <li>
          Authenticator app: <OnOff value={user.totpEnabled} testId="totp-enabled" />
        </li>
        <li>
          Backup codes: <OnOff value={user.backupCodeEnabled} testId="backup-code-enabled" />
        </li>
        <li>
          Two-step verification: <OnOff value={user.twoFactorEnabled} testId="two-factor-enabled" />
        </li>
      </ul>
      {message && <p data-testid="security-message">{message}</p>}

      {!user.totpEnabled && !pending && (
        <button type="button" onClick={() => void createTotp()} disabled={busy}>
          Set up authenticator app
        </button>
      )}

      {!user.totpEnabled && pending && (
        <section data-testid="totp-setup">
          <h3>Add this account to your authenticator app</h3>
          <p>
            Secret key: <code data-testid="totp-secret">{pending.secret}</code>
          </p>
          <p>
            Or open this URI on the device that has the app: <code data-testid="totp-uri">{pending.uri}</code>
          </p>
          <form action={verifyTotp}>
            <label htmlFor="totpCode">The 6-digit code the app shows</label>
            <input id="totpCode" name="totpCode" type="text" inputMode="numeric" autoComplete="one-time-code" />
            <button type="submit" disabled={busy}>
              Verify code
            </button>
          </form>
          <button type="button" onClick={() => setPending(null)} disabled={busy}>
            Cancel
          </button>
        </section>
      )}

      {backupCodes && <BackupCodes codes={backupCodes} />}

      {user.totpEnabled && (
        <p>
          <button type="button" onClick={() => void regenerateBackupCodes()} disabled={busy}>
            Regenerate backup codes
          </button>{' '}
          <button type="button" onClick={() => void removeTotp()} disabled={busy}>
            Remove authenticator app
          </button>
        </p>
      )}

      <ClerkErrorMessage error={error} />
      <p>
        <Link to="/">Back to the home page</Link>
      </p>
    </section>
  )
}
