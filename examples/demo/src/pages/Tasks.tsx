import { useState } from 'react'
import { Link, useNavigate } from 'react-router-dom'
import { useClerk, useSession } from '@clerk/react'
import type { TOTPResource } from '@clerk/shared/types'
import { ClerkErrorMessage } from '../components/ClerkErrorMessage'

// The guide's pages send people here (`redirectUrl: '/sign-in/tasks'`, and every `navigate` callback when
// `session.currentTask` is set): the session exists but is `pending` until its tasks are done (isSignedIn is false
// meanwhile). useSession() returns pending sessions too, which is what this page is for. After Clerk's session-tasks
// custom-flow guide: each task is done with ordinary user methods, then `clerk.setActive({session})` asks the server
// to re-evaluate; with no task left the session becomes active.
//   - setup-mfa (the instance requires a second factor): user.createTOTP() → user.verifyTOTP({code}) → backup codes;
//   - reset-password (the password was flagged as compromised): user.updatePassword({newPassword,
//     signOutOfOtherSessions}).
export function TasksPage() {
  const { isLoaded, session } = useSession()
  const clerk = useClerk()
  const navigate = useNavigate()
  const [error, setError] = useState<unknown>(null)
  const [busy, setBusy] = useState(false)
  const [totp, setTotp] = useState<TOTPResource | null>(null)
  const [backupCodes, setBackupCodes] = useState<string[] | null>(null)

  if (!isLoaded) {
    return <p>Loading…</p>
  }
  if (!session) {
    return (
      <p data-testid="tasks-none">
        No session. <Link to="/sign-in">Sign in</Link>
      </p>
    )
  }
  const task = session.currentTask
  const user = session.user

  const run = async (work: () => Promise<void>) => {
    setError(null)
    setBusy(true)
    try {
      await work()
    } catch (err) {
      // See https://clerk.com/docs/guides/development/custom-flows/error-handling
      setError(err)
    } finally {
      setBusy(false)
    }
  }

  // The task's work is done: the server re-evaluates the session's tasks and activates it when none is left.
  // A task done: the server re-evaluates; the next task (if any) is shown here, else the session is active.
  const activate = async () => {
    await clerk.setActive({ session: session.id })
    setTotp(null)
    setBackupCodes(null)
    if (!clerk.session?.currentTask) {
      navigate('/')
    }
  }
  const finish = () => run(activate)

  const createTotp = () => run(async () => setTotp(await user!.createTOTP()))
  const verifyTotp = (formData: FormData) =>
    run(async () => {
      const verified = await user!.verifyTOTP({ code: formData.get('totpCode') as string })
      setTotp(null)
      setBackupCodes(verified.backupCodes ?? [])
    })
  const resetPassword = (formData: FormData) =>
    run(async () => {
      await user!.updatePassword({
        newPassword: formData.get('newPassword') as string,
        signOutOfOtherSessions: true,
      })
      await activate()
    })

  return (
    <section data-testid="tasks">
      <h2>Session tasks</h2>
      {!task && (
        <p data-testid="tasks-none">
          No pending task for session <code>{session.id}</code>. <Link to="/">Continue to the home page</Link>
        </p>
      )}
      {task && (
        <p data-testid="current-task" data-task={task.key}>
          Before you continue: <code>{task.key}</code>
        </p>
      )}

      {task?.key === 'setup-mfa' && (
        <section data-testid="task-setup-mfa">
          <p>This application requires two-step verification. Set up an authenticator app.</p>
          {!totp && !backupCodes && (
            <button type="button" onClick={() => void createTotp()} disabled={busy}>
              Set up authenticator app
            </button>
          )}
          {totp && (
            <form action={verifyTotp}>
              <p>
                Secret key: <code data-testid="totp-secret">{totp.secret}</code>
              </p>
              <p>
                Or open: <code data-testid="totp-uri">{totp.uri}</code>
              </p>
              <label htmlFor="totpCode">The 6-digit code the app shows</label>
              <input id="totpCode" name="totpCode" type="text" inputMode="numeric" autoComplete="one-time-code" />
              <button type="submit" disabled={busy}>
                Verify code
              </button>
            </form>
          )}
          {backupCodes && (
            <section data-testid="backup-codes" data-count={backupCodes.length}>
              <p>Your backup codes (shown once; each signs you in once without the app):</p>
              <ul>
                {backupCodes.map((c) => (
                  <li key={c}>
                    <code data-testid="backup-code">{c}</code>
                  </li>
                ))}
              </ul>
              <button type="button" onClick={() => void finish()} disabled={busy}>
                Continue
              </button>
            </section>
          )}
        </section>
      )}

      {task?.key === 'reset-password' && (
        <form data-testid="task-reset-password" action={resetPassword}>
          <p>Your password must be replaced before you continue.</p>
          <label htmlFor="newPassword">New password</label>
          <input id="newPassword" name="newPassword" type="password" autoComplete="new-password" />
          <button type="submit" disabled={busy}>
            Set new password
          </button>
        </form>
      )}

      {task && task.key !== 'setup-mfa' && task.key !== 'reset-password' && (
        <p data-testid="task-unsupported">Latchkey's demo does not implement this task yet.</p>
      )}
      <ClerkErrorMessage error={error} />
    </section>
  )
}
