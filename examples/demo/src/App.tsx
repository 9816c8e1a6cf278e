import { Link, Route, Routes } from 'react-router-dom'
import { useAuth, useSignIn } from '@clerk/react'
// The three pages below are Clerk's guide code, byte for byte (see e2e/tests/seed.test.mjs). They import
// `@clerk/nextjs` and `next/navigation`, which vite.config.ts and tsconfig.json alias to `@clerk/react` and
// ./shims/next-navigation.ts.
import SignInPage from '../app/sign-in/page'
import SsoCallbackPage from '../app/sso-callback/page'
import ContinuePage from '../app/sign-in/continue/page'
import { HomePage } from './pages/Home'
import { TasksPage } from './pages/Tasks'
import { NotFoundPage } from './pages/NotFound'

// The guide's pages have no branch for a failed OAuth verification (e.g. the person pressed "Deny" at the
// identity provider): the sign-in's first factor verification then carries an error and the callback page stays
// blank. Show it here, outside the seed files, so a person sees what happened (fapi README §4, §7).
// Only a *failed* verification is shown: a "transferable" one also carries an error (external_account_not_found)
// that merely means "new user, continue as a sign-up", and identifier_already_signed_in is handled by the
// callback page (setActive); neither is a failure a person should see.
function ProviderError() {
  const { signIn } = useSignIn()
  const verification = signIn?.firstFactorVerification
  const error = verification?.error
  if (!error || verification.status !== 'failed' || error.code === 'identifier_already_signed_in') {
    return null
  }
  return (
    <div role="alert" className="alert" data-testid="provider-error" data-code={error.code}>
      <strong>Sign-in failed:</strong> {error.longMessage || error.message}{' '}
      <code>({error.code})</code> <Link to="/sign-in">Try again</Link>
    </div>
  )
}

function Nav() {
  const { isLoaded, isSignedIn } = useAuth()
  return (
    <nav>
      <Link to="/">Home</Link>
      <Link to="/sign-in">Sign in</Link>
      <span className="status" data-testid="auth-status">
        {!isLoaded ? 'loading…' : isSignedIn ? 'signed in' : 'signed out'}
      </span>
    </nav>
  )
}

export function App() {
  return (
    <div className="layout">
      <header>
        <h1>Latchkey demo</h1>
        <Nav />
      </header>
      <ProviderError />
      <main>
        <Routes>
          <Route path="/" element={<HomePage />} />
          <Route path="/sign-in" element={<SignInPage />} />
          <Route path="/sign-in/continue" element={<ContinuePage />} />
          <Route path="/sign-in/tasks" element={<TasksPage />} />
          <Route path="/sso-callback" element={<SsoCallbackPage />} />
          <Route path="*" element={<NotFoundPage />} />
        </Routes>
      </main>
    </div>
  )
}
