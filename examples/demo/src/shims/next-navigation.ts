// A minimal stand-in for Next.js's `next/navigation`, so Clerk's guide pages (written for Next.js App Router)
// run unmodified in this Vite + React Router app. vite.config.ts and tsconfig.json map `next/navigation` here.
// Only what the seed pages use is provided: `useRouter()` with the App Router's method names, on top of
// React Router's `useNavigate`.
import { useMemo } from 'react'
import { useNavigate } from 'react-router-dom'

export interface AppRouterInstance {
  push(href: string): void
  replace(href: string): void
  back(): void
  forward(): void
  refresh(): void
  prefetch(href: string): void
}

export function useRouter(): AppRouterInstance {
  const navigate = useNavigate()
  return useMemo(
    () => ({
      push: (href: string) => void navigate(href),
      replace: (href: string) => void navigate(href, { replace: true }),
      back: () => void navigate(-1),
      forward: () => void navigate(1),
      // There is no server component tree to re-fetch in a SPA; a refresh is a no-op.
      refresh: () => {},
      prefetch: () => {},
    }),
    [navigate],
  )
}
