import { Link } from 'react-router-dom'
import { useSession } from '@clerk/react'

// The guide's sign-in page sends people here (`redirectUrl: '/sign-in/tasks'`) when a sign-in completes at the
// provider without further requirements; a session may then still have a pending task (e.g. choose-organization).
// useSession() returns pending sessions too (with isSignedIn false), which is what this page is for.
export function TasksPage() {
  const { isLoaded, session } = useSession()
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
  return (
    <section>
      <h2>Session tasks</h2>
      {task ? (
        <p data-testid="current-task" data-task={task.key}>
          Your session has a pending task: <code>{task.key}</code>. Latchkey's demo does not implement it.
        </p>
      ) : (
        <p data-testid="tasks-none">
          No pending task for session <code>{session.id}</code>. <Link to="/">Continue to the home page</Link>
        </p>
      )}
    </section>
  )
}
