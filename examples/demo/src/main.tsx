import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { BrowserRouter } from 'react-router-dom'
import { ClerkProvider } from '@clerk/react'
import { App } from './App'
import { publishableKey, proxyUrl } from './config'

const root = document.getElementById('root')
if (!root) {
  throw new Error('index.html has no #root element')
}

createRoot(root).render(
  <StrictMode>
    {/* prefetchUI={false} is required: the prebuilt UI bundle is not served (fapi README §7); the demo uses the
        custom-flow pages only. telemetry={false}: nothing leaves this machine. */}
    <ClerkProvider publishableKey={publishableKey} proxyUrl={proxyUrl} prefetchUI={false} telemetry={false}>
      <BrowserRouter>
        <App />
      </BrowserRouter>
    </ClerkProvider>
  </StrictMode>,
)
