// lib/store.mjs reads the schema Latchkey's SQLite migrations create, and fails loudly on drift: a renamed or
// missing column or table throws, naming it, instead of a query that silently reads something else.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { LatchkeyStore } from '../lib/store.mjs'

const here = path.dirname(fileURLToPath(import.meta.url))
const migrations = path.resolve(here, '../../src/store/migrations/sqlite')

// A database file with every SQLite migration applied, then `change` (SQL) on top.
function migratedDb(change = '') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-e2e-store-'))
  const file = path.join(dir, 'latchkey.db')
  const db = new Database(file)
  for (const name of fs.readdirSync(migrations).filter((n) => n.endsWith('.sql')).sort()) {
    db.exec(fs.readFileSync(path.join(migrations, name), 'utf8'))
  }
  if (change) db.exec(change)
  db.close()
  return { file, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) }
}

test('the reader matches the schema of src/store/migrations/sqlite', () => {
  const { file, cleanup } = migratedDb()
  const store = new LatchkeyStore(file)
  try {
    assert.equal(store.countUsers(), 0)
    assert.deepEqual(store.usersByEmail('ada@example.com'), [])
    assert.deepEqual(store.sessionsOfClient('client_x'), [])
  } finally {
    store.close()
    cleanup()
  }
})

test('a renamed column fails naming the table and the column', () => {
  const { file, cleanup } = migratedDb('ALTER TABLE email_addresses RENAME COLUMN email TO email_address')
  const store = new LatchkeyStore(file)
  try {
    assert.throws(() => store.countUsers(), /table "email_addresses" has no column "email".*its columns are: .*email_address/)
  } finally {
    store.close()
    cleanup()
  }
})

test('a missing table fails naming it', () => {
  const { file, cleanup } = migratedDb('ALTER TABLE sessions RENAME TO user_sessions')
  const store = new LatchkeyStore(file)
  try {
    assert.throws(() => store.countSessions(), /no table "sessions".*user_sessions/)
  } finally {
    store.close()
    cleanup()
  }
})
