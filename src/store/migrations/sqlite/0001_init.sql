-- 0001: the initial schema (SQLite). Keep in lockstep with ../postgres/0001_init.sql.
-- Timestamps are int64 milliseconds since the epoch. Ids are Clerk-style prefixed strings.
-- Unique indexes carry the names src/store/store.hpp exposes as k*Key constants.

CREATE TABLE signing_keys (
  kid             TEXT    NOT NULL PRIMARY KEY,
  algorithm       TEXT    NOT NULL,
  public_jwk      TEXT    NOT NULL,
  private_key_enc BLOB    NOT NULL,
  created_at      INTEGER NOT NULL,
  active          INTEGER NOT NULL DEFAULT 0 CHECK (active IN (0, 1)),
  retired_at      INTEGER
) STRICT;

CREATE TABLE users (
  id                       TEXT    NOT NULL PRIMARY KEY,
  first_name               TEXT,
  last_name                TEXT,
  username                 TEXT,
  image_url                TEXT,
  primary_email_address_id TEXT,
  public_metadata          TEXT    NOT NULL DEFAULT '{}',
  unsafe_metadata          TEXT    NOT NULL DEFAULT '{}',
  legal_accepted_at        INTEGER,
  last_sign_in_at          INTEGER,
  created_at               INTEGER NOT NULL,
  updated_at               INTEGER NOT NULL
) STRICT;
-- Usernames are unique regardless of (ASCII) case; lookups use the same expression.
CREATE UNIQUE INDEX users_username_key ON users (lower(username));

CREATE TABLE email_addresses (
  id                    TEXT    NOT NULL PRIMARY KEY,
  user_id               TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  email                 TEXT    NOT NULL,  -- lower-cased by the store
  verified              INTEGER NOT NULL DEFAULT 0 CHECK (verified IN (0, 1)),
  verification_strategy TEXT,
  created_at            INTEGER NOT NULL,
  updated_at            INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX email_addresses_email_key ON email_addresses (email);
CREATE INDEX email_addresses_user_id_idx ON email_addresses (user_id);

CREATE TABLE external_accounts (
  id                         TEXT    NOT NULL PRIMARY KEY,
  user_id                    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  provider                   TEXT    NOT NULL,
  provider_user_id           TEXT    NOT NULL,
  email                      TEXT,
  email_verified             INTEGER NOT NULL DEFAULT 0 CHECK (email_verified IN (0, 1)),
  first_name                 TEXT,
  last_name                  TEXT,
  image_url                  TEXT,
  username                   TEXT,
  approved_scopes            TEXT    NOT NULL DEFAULT '',
  access_token_enc           BLOB,
  refresh_token_enc          BLOB,
  access_token_expires_at    INTEGER,
  created_at                 INTEGER NOT NULL,
  updated_at                 INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX external_accounts_provider_key
  ON external_accounts (provider, provider_user_id);
CREATE INDEX external_accounts_user_id_idx ON external_accounts (user_id);

CREATE TABLE clients (
  id                           TEXT    NOT NULL PRIMARY KEY,
  cookie_token_hash            TEXT    NOT NULL,
  sign_in_id                   TEXT    REFERENCES sign_ins (id) ON DELETE SET NULL,
  sign_up_id                   TEXT    REFERENCES sign_ups (id) ON DELETE SET NULL,
  last_active_session_id       TEXT    REFERENCES sessions (id) ON DELETE SET NULL,
  last_authentication_strategy TEXT,
  expire_at                    INTEGER NOT NULL,
  created_at                   INTEGER NOT NULL,
  updated_at                   INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX clients_cookie_token_hash_key ON clients (cookie_token_hash);
-- Indexes on the ON DELETE SET NULL columns keep deleting an attempt or session cheap.
CREATE INDEX clients_sign_in_id_idx ON clients (sign_in_id);
CREATE INDEX clients_sign_up_id_idx ON clients (sign_up_id);
CREATE INDEX clients_last_active_session_id_idx ON clients (last_active_session_id);
CREATE INDEX clients_expire_at_idx ON clients (expire_at);

CREATE TABLE sign_ins (
  id         TEXT    NOT NULL PRIMARY KEY,
  client_id  TEXT    NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
  status     TEXT    NOT NULL,
  data       TEXT    NOT NULL DEFAULT '{}',
  abandon_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX sign_ins_client_id_idx ON sign_ins (client_id);
CREATE INDEX sign_ins_abandon_at_idx ON sign_ins (abandon_at);

CREATE TABLE sign_ups (
  id         TEXT    NOT NULL PRIMARY KEY,
  client_id  TEXT    NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
  status     TEXT    NOT NULL,
  data       TEXT    NOT NULL DEFAULT '{}',
  abandon_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX sign_ups_client_id_idx ON sign_ups (client_id);
CREATE INDEX sign_ups_abandon_at_idx ON sign_ups (abandon_at);

CREATE TABLE sessions (
  id             TEXT    NOT NULL PRIMARY KEY,
  client_id      TEXT    NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
  user_id        TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  status         TEXT    NOT NULL,
  tasks          TEXT,
  expire_at      INTEGER NOT NULL,
  abandon_at     INTEGER NOT NULL,
  last_active_at INTEGER NOT NULL,
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX sessions_client_id_idx ON sessions (client_id, created_at, id);
CREATE INDEX sessions_user_id_idx ON sessions (user_id, created_at, id);
CREATE INDEX sessions_expire_at_idx ON sessions (expire_at);
CREATE INDEX sessions_abandon_at_idx ON sessions (abandon_at);

CREATE TABLE oauth_states (
  state_hash   TEXT    NOT NULL PRIMARY KEY,
  client_id    TEXT    NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
  attempt_type TEXT    NOT NULL CHECK (attempt_type IN ('sign_in', 'sign_up')),
  attempt_id   TEXT    NOT NULL,
  strategy     TEXT    NOT NULL,
  data         TEXT    NOT NULL DEFAULT '{}',
  expire_at    INTEGER NOT NULL,
  created_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX oauth_states_client_id_idx ON oauth_states (client_id);
CREATE INDEX oauth_states_expire_at_idx ON oauth_states (expire_at);
