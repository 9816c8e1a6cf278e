import { Link } from 'react-router-dom'

export function NotFoundPage() {
  return (
    <p>
      Nothing here. <Link to="/">Go home</Link>
    </p>
  )
}
