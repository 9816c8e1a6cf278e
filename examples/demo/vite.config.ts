import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'
import react from '@vitejs/plugin-react'

// Clerk's guide pages are written for Next.js; these two aliases (and the mirror in tsconfig.json `paths`) let
// them run unmodified. Exact-match regexes so `@clerk/nextjs/...` subpaths are not silently remapped.
export default defineConfig({
  plugins: [react()],
  resolve: {
    alias: [
      { find: /^@clerk\/nextjs$/, replacement: '@clerk/react' },
      {
        find: /^next\/navigation$/,
        replacement: fileURLToPath(new URL('./src/shims/next-navigation.ts', import.meta.url)),
      },
    ],
  },
  build: { outDir: 'dist', sourcemap: true },
  server: {
    host: '127.0.0.1',
    // `vite dev` (for editing the app) forwards all of /__clerk to Latchkey, including the clerk-js files, which
    // Latchkey serves only when [frontend] static_dir is set. The supported way to run the demo is
    // `npm run build && node server.mjs`, which serves clerk-js itself.
    proxy: {
      '/__clerk': { target: process.env.LATCHKEY_URL ?? 'http://127.0.0.1:8787', changeOrigin: false },
    },
  },
})
