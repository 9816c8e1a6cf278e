import { Link, Route, Routes } from 'react-router-dom'
import { useAuth, useSignIn } from '@clerk/react'
// The three pages below are Clerk's guide code, byte for byte (see e2e/tests/seed.test.mjs). They import
// `@clerk/nextjs` and `next/navigation`, which vite.config.ts and tsconfig.json alias to `@clerk/react` and
// ./shims/next-navigation.ts.
import SignInPage from '../app/sign-in/page'
import SsoCallbackPage from '../app/sso-callback/page'
import ContinuePage from '../app/sign-in/continue/page'
// The first-factor pages are the demo's own, written after Clerk's email/password, email OTP and forgot-password
// custom-flow guides in the same style (Future API); they are not seed files.
import SignUpPasswordPage from '../app/sign-up-password/page'
import SignInPasswordPage from '../app/sign-in-password/page'
import SignInCodePage from '../app/sign-in-code/page'
import ForgotPasswordPage from '../app/forgot-password/page'
// Under the seed's continue page (which asks only for names): the email of an OAuth sign-up, added when the
// provider gave none and verified by a code when the provider did not vouch for it (demo page, not a seed file).
import ContinueEmailPage from '../app/sign-in/continue-email/page'
import SignInLinkPage from '../app/sign-in-link/page'
import SignInLinkVerifyPage from '../app/sign-in-link/verify/page'
import SignUpLinkPage from '../app/sign-up-link/page'
import SignUpLinkVerifyPage from '../app/sign-up-link/verify/page'
// Second factors, after Clerk's MFA custom-flow guides (demo pages, not seed files): the signed-in user's
// authenticator app and backup codes, and the sign-in step that asks for them (on /sign-in, where the guide's
// sso-callback page sends an OAuth sign-in at needs_second_factor, and on /sign-in-password).
import AccountSecurityPage from '../app/account/security/page'
import { SecondFactorStep } from './components/SecondFactorStep'
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

// Shown under the guide's sign-in page (which has only the Google button) and on the signed-out home page.
export function OtherWaysToSignIn() {
  return (
    <section data-testid="other-ways">
      <h2>Or use your email</h2>
      <ul>
        <li>
          <Link to="/sign-up-password">Sign up with email and password</Link>
        </li>
        <li>
          <Link to="/sign-in-password">Sign in with email and password</Link>
        </li>
        <li>
          <Link to="/sign-in-code">Sign in with a code sent by email</Link>
        </li>
        <li>
          <Link to="/sign-in-link">Sign in with a link sent by email</Link>
        </li>
        <li>
          <Link to="/sign-up-link">Sign up with an email link</Link>
        </li>
        <li>
          <Link to="/forgot-password">Forgot your password?</Link>
        </li>
      </ul>
    </section>
  )
}

function Nav() {
  const { isLoaded, isSignedIn } = useAuth()
  return (
    <nav>
      <Link to="/">Home</Link>
      <Link to="/sign-in">Sign in</Link>
      <Link to="/sign-up-password">Sign up</Link>
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
          <Route
            path="/sign-in"
            element={
              <>
                <SignInPage />
                <SecondFactorStep />
                <OtherWaysToSignIn />
              </>
            }
          />
          <Route path="/sign-up-password" element={<SignUpPasswordPage />} />
          <Route path="/sign-in-password" element={<SignInPasswordPage />} />
          <Route path="/sign-in-code" element={<SignInCodePage />} />
          <Route path="/forgot-password" element={<ForgotPasswordPage />} />
          <Route path="/sign-in-link" element={<SignInLinkPage />} />
          <Route path="/sign-in-link/verify" element={<SignInLinkVerifyPage />} />
          <Route path="/sign-up-link" element={<SignUpLinkPage />} />
          <Route path="/sign-up-link/verify" element={<SignUpLinkVerifyPage />} />
          <Route
            path="/sign-in/continue"
            element={
              <>
                <ContinuePage />
                <ContinueEmailPage />
              </>
            }
          />
          <Route path="/sign-in/tasks" element={<TasksPage />} />
          <Route path="/account/security" element={<AccountSecurityPage />} />
          <Route path="/sso-callback" element={<SsoCallbackPage />} />
          <Route path="*" element={<NotFoundPage />} />
        </Routes>
      </main>
    </div>
  )
}
