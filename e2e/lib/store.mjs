// What Latchkey stored, read straight from its SQLite file (<data_dir>/latchkey.db), read-only.
//
// All knowledge of the schema used by the end-to-end tests is in this one module. SCHEMA names, per table, the
// columns the queries below read, exactly as src/store/migrations/sqlite creates them. The real schema is read
// (PRAGMA table_info) when the database is opened, and a missing table or column throws at once, naming it and
// listing what is there: a migration that renames or drops one fails here, loudly, instead of being guessed
// around. Change SCHEMA and the queries together with the migration.
import fs from 'node:fs'
import Database from 'better-sqlite3'

export const SCHEMA = {
  users: ['id', 'first_name', 'last_name'],
  email_addresses: ['id', 'user_id', 'email', 'verified', 'verification_strategy'],
  external_accounts: ['id', 'user_id', 'provider', 'provider_user_id'],
  sessions: ['id', 'user_id', 'client_id', 'status'],
  clients: ['id'],
}

// Throws when `db` lacks a table or column of `schema`; the message names the first one missing.
export function checkSchema(db, schema = SCHEMA, where = 'the database') {
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all().map((r) => r.name)
  for (const [table, expected] of Object.entries(schema)) {
    if (!tables.includes(table)) {
      throw new Error(`store schema drift: no table "${table}" in ${where}; its tables are: ${tables.join(', ')} (update e2e/lib/store.mjs with the migration)`)
    }
    const actual = db.prepare(`PRAGMA table_info(${JSON.stringify(table)})`).all().map((r) => r.name)
    const missing = expected.filter((c) => !actual.includes(c))
    if (missing.length > 0) {
      throw new Error(`store schema drift: table "${table}" has no column "${missing[0]}"${missing.length > 1 ? ` (nor ${missing.slice(1).map((c) => `"${c}"`).join(', ')})` : ''} in ${where}; its columns are: ${actual.join(', ')} (update e2e/lib/store.mjs with the migration)`)
    }
  }
}

export class LatchkeyStore {
  constructor(dbPath) {
    this.dbPath = dbPath
    this.db = null
  }

  open() {
    if (this.db) return this.db
    if (!fs.existsSync(this.dbPath)) {
      throw new Error(`Latchkey's database is not at ${this.dbPath} (expected <data_dir>/latchkey.db)`)
    }
    // Read-only: the tests observe, Latchkey alone writes. WAL lets this reader see each committed write.
    const db = new Database(this.dbPath, { readonly: true, fileMustExist: true })
    db.pragma('busy_timeout = 5000')
    try {
      checkSchema(db, SCHEMA, this.dbPath)
    } catch (e) {
      db.close()
      throw e
    }
    this.db = db
    return this.db
  }

  close() {
    this.db?.close()
    this.db = null
  }

  countUsers() {
    return this.open().prepare('SELECT COUNT(*) AS n FROM users').get().n
  }

  countSessions() {
    return this.open().prepare('SELECT COUNT(*) AS n FROM sessions').get().n
  }

  // Users owning `email` (compared case-insensitively). More than one would be a bug the tests catch.
  usersByEmail(email) {
    return this.open().prepare(
      `SELECT DISTINCT u.id AS id, u.first_name AS firstName, u.last_name AS lastName
         FROM users u JOIN email_addresses e ON e.user_id = u.id
        WHERE lower(e.email) = lower(?)`,
    ).all(email)
  }

  user(id) {
    return this.open().prepare('SELECT id, first_name AS firstName, last_name AS lastName FROM users WHERE id = ?').get(id)
  }

  emailAddresses(userId) {
    return this.open().prepare(
      'SELECT id, email, verified, verification_strategy AS verificationStrategy FROM email_addresses WHERE user_id = ?',
    ).all(userId)
  }

  externalAccounts(userId) {
    return this.open().prepare(
      'SELECT id, provider, provider_user_id AS providerUserId FROM external_accounts WHERE user_id = ?',
    ).all(userId)
  }

  sessionsOfUser(userId) {
    return this.open().prepare('SELECT id, client_id AS clientId, status FROM sessions WHERE user_id = ?').all(userId)
  }

  sessionsOfClient(clientId) {
    return this.open().prepare('SELECT id, user_id AS userId, status FROM sessions WHERE client_id = ?').all(clientId)
  }

  session(id) {
    return this.open().prepare(
      'SELECT id, user_id AS userId, client_id AS clientId, status FROM sessions WHERE id = ?',
    ).get(id)
  }

  client(id) {
    return this.open().prepare('SELECT id FROM clients WHERE id = ?').get(id)
  }
}
