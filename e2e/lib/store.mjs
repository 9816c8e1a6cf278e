// What Latchkey stored, read straight from its SQLite file (<data_dir>/latchkey.db), read-only.
//
// All knowledge of the schema used by the end-to-end tests is in this one module. Column names are looked up
// among a few candidates (PRAGMA table_info), so a renamed column fails with a message that lists the real
// columns instead of a bare SQL error. Adjust the candidate lists here when the store's migrations change.
import fs from 'node:fs'
import Database from 'better-sqlite3'

const COLUMNS = {
  users: {
    id: ['id', 'user_id'],
    firstName: ['first_name', 'given_name'],
    lastName: ['last_name', 'family_name'],
  },
  email_addresses: {
    id: ['id'],
    userId: ['user_id'],
    email: ['email_address', 'email', 'address'],
  },
  external_accounts: {
    id: ['id'],
    userId: ['user_id'],
    provider: ['provider', 'strategy'],
    providerUserId: ['provider_user_id', 'subject', 'sub', 'external_id'],
    email: ['email_address', 'email'],
  },
  sessions: {
    id: ['id'],
    userId: ['user_id'],
    clientId: ['client_id'],
    status: ['status', 'state'],
  },
  clients: {
    id: ['id'],
  },
}

export class LatchkeyStore {
  constructor(dbPath) {
    this.dbPath = dbPath
    this.db = null
    this.columns = new Map()
  }

  open() {
    if (this.db) return this.db
    if (!fs.existsSync(this.dbPath)) {
      throw new Error(`Latchkey's database is not at ${this.dbPath} (expected <data_dir>/latchkey.db)`)
    }
    // Read-only: the tests observe, Latchkey alone writes. WAL lets this reader see each committed write.
    this.db = new Database(this.dbPath, { readonly: true, fileMustExist: true })
    this.db.pragma('busy_timeout = 5000')
    return this.db
  }

  close() {
    this.db?.close()
    this.db = null
  }

  // The SQL name of logical column `key` of `table`.
  col(table, key) {
    const cacheKey = `${table}.${key}`
    if (this.columns.has(cacheKey)) return this.columns.get(cacheKey)
    const actual = this.open().prepare(`PRAGMA table_info(${JSON.stringify(table)})`).all().map((r) => r.name)
    if (actual.length === 0) {
      const tables = this.open().prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all().map((r) => r.name)
      throw new Error(`store schema: no table "${table}" in ${this.dbPath}; tables are: ${tables.join(', ')} (adjust e2e/lib/store.mjs)`)
    }
    const found = COLUMNS[table][key].find((c) => actual.includes(c))
    if (!found) {
      throw new Error(`store schema: table "${table}" has none of [${COLUMNS[table][key].join(', ')}] for ${key}; its columns are: ${actual.join(', ')} (adjust e2e/lib/store.mjs)`)
    }
    this.columns.set(cacheKey, found)
    return found
  }

  countUsers() {
    return this.open().prepare('SELECT COUNT(*) AS n FROM users').get().n
  }

  countSessions() {
    return this.open().prepare('SELECT COUNT(*) AS n FROM sessions').get().n
  }

  // Users owning `email` (compared case-insensitively). More than one would be a bug the tests catch.
  usersByEmail(email) {
    const u = (k) => this.col('users', k)
    const e = (k) => this.col('email_addresses', k)
    return this.open().prepare(
      `SELECT DISTINCT u.${u('id')} AS id, u.${u('firstName')} AS firstName, u.${u('lastName')} AS lastName
         FROM users u JOIN email_addresses e ON e.${e('userId')} = u.${u('id')}
        WHERE lower(e.${e('email')}) = lower(?)`,
    ).all(email)
  }

  user(id) {
    const u = (k) => this.col('users', k)
    return this.open().prepare(
      `SELECT ${u('id')} AS id, ${u('firstName')} AS firstName, ${u('lastName')} AS lastName FROM users WHERE ${u('id')} = ?`,
    ).get(id)
  }

  emailAddresses(userId) {
    const e = (k) => this.col('email_addresses', k)
    return this.open().prepare(
      `SELECT ${e('id')} AS id, ${e('email')} AS email FROM email_addresses WHERE ${e('userId')} = ?`,
    ).all(userId)
  }

  externalAccounts(userId) {
    const x = (k) => this.col('external_accounts', k)
    return this.open().prepare(
      `SELECT ${x('id')} AS id, ${x('provider')} AS provider, ${x('providerUserId')} AS providerUserId
         FROM external_accounts WHERE ${x('userId')} = ?`,
    ).all(userId)
  }

  sessionsOfUser(userId) {
    const s = (k) => this.col('sessions', k)
    return this.open().prepare(
      `SELECT ${s('id')} AS id, ${s('clientId')} AS clientId, ${s('status')} AS status
         FROM sessions WHERE ${s('userId')} = ?`,
    ).all(userId)
  }

  sessionsOfClient(clientId) {
    const s = (k) => this.col('sessions', k)
    return this.open().prepare(
      `SELECT ${s('id')} AS id, ${s('userId')} AS userId, ${s('status')} AS status
         FROM sessions WHERE ${s('clientId')} = ?`,
    ).all(clientId)
  }

  session(id) {
    const s = (k) => this.col('sessions', k)
    return this.open().prepare(
      `SELECT ${s('id')} AS id, ${s('userId')} AS userId, ${s('clientId')} AS clientId, ${s('status')} AS status
         FROM sessions WHERE ${s('id')} = ?`,
    ).get(id)
  }

  client(id) {
    const c = (k) => this.col('clients', k)
    return this.open().prepare(`SELECT ${c('id')} AS id FROM clients WHERE ${c('id')} = ?`).get(id)
  }
}
