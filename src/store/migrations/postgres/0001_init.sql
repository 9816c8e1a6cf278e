-- 0001: the initial schema (PostgreSQL). Keep in lockstep with ../sqlite/0001_init.sql.
-- Timestamps are int64 milliseconds since the epoch (BIGINT), not timestamptz, so both backends
-- hand the same values to the same code. Unique constraints carry the names src/store/store.hpp
-- exposes as k*Key constants (PostgreSQL reports them in the error's constraint_name field).

CREATE TABLE signing_keys (
  kid             TEXT    NOT NULL,
  algorithm       TEXT    NOT NULL,
  public_jwk      TEXT    NOT NULL,
  private_key_enc BYTEA   NOT NULL,
  created_at      BIGINT  NOT NULL,
  active          BOOLEAN NOT NULL DEFAULT FALSE,
  retired_at      BIGINT,
  CONSTRAINT signing_keys_pkey PRIMARY KEY (kid)
);

CREATE TABLE users (
  id                       TEXT   NOT NULL,
  first_name               TEXT,
  last_name                TEXT,
  username                 TEXT,
  image_url                TEXT,
  primary_email_address_id TEXT,
  public_metadata          TEXT   NOT NULL DEFAULT '{}',
  unsafe_metadata          TEXT   NOT NULL DEFAULT '{}',
  legal_accepted_at        BIGINT,
  last_sign_in_at          BIGINT,
  created_at               BIGINT NOT NULL,
  updated_at               BIGINT NOT NULL,
  CONSTRAINT users_pkey PRIMARY KEY (id)
);
-- Usernames are unique regardless of (ASCII) case; lookups use the same expression. The "C"
-- collation makes lower() fold ASCII only, whatever the database's locale, as SQLite's lower().
CREATE UNIQUE INDEX users_username_key ON users (lower(username COLLATE "C"));

CREATE TABLE email_addresses (
  id                    TEXT    NOT NULL,
  user_id               TEXT    NOT NULL,
  email                 TEXT    NOT NULL,  -- lower-cased by the store
  verified              BOOLEAN NOT NULL DEFAULT FALSE,
  verification_strategy TEXT,
  created_at            BIGINT  NOT NULL,
  updated_at            BIGINT  NOT NULL,
  CONSTRAINT email_addresses_pkey PRIMARY KEY (id),
  CONSTRAINT email_addresses_user_id_fkey FOREIGN KEY (user_id)
    REFERENCES users (id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX email_addresses_email_key ON email_addresses (email);
CREATE INDEX email_addresses_user_id_idx ON email_addresses (user_id);

CREATE TABLE external_accounts (
  id                         TEXT    NOT NULL,
  user_id                    TEXT    NOT NULL,
  provider                   TEXT    NOT NULL,
  provider_user_id           TEXT    NOT NULL,
  email                      TEXT,
  email_verified             BOOLEAN NOT NULL DEFAULT FALSE,
  first_name                 TEXT,
  last_name                  TEXT,
  image_url                  TEXT,
  username                   TEXT,
  approved_scopes            TEXT    NOT NULL DEFAULT '',
  access_token_enc           BYTEA,
  refresh_token_enc          BYTEA,
  access_token_expires_at    BIGINT,
  created_at                 BIGINT  NOT NULL,
  updated_at                 BIGINT  NOT NULL,
  CONSTRAINT external_accounts_pkey PRIMARY KEY (id),
  CONSTRAINT external_accounts_user_id_fkey FOREIGN KEY (user_id)
    REFERENCES users (id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX external_accounts_provider_key
  ON external_accounts (provider, provider_user_id);
CREATE INDEX external_accounts_user_id_idx ON external_accounts (user_id);

CREATE TABLE clients (
  id                           TEXT   NOT NULL,
  cookie_token_hash            TEXT   NOT NULL,
  sign_in_id                   TEXT,
  sign_up_id                   TEXT,
  last_active_session_id       TEXT,
  last_authentication_strategy TEXT,
  expire_at                    BIGINT NOT NULL,
  created_at                   BIGINT NOT NULL,
  updated_at                   BIGINT NOT NULL,
  CONSTRAINT clients_pkey PRIMARY KEY (id)
);
CREATE UNIQUE INDEX clients_cookie_token_hash_key ON clients (cookie_token_hash);
CREATE INDEX clients_sign_in_id_idx ON clients (sign_in_id);
CREATE INDEX clients_sign_up_id_idx ON clients (sign_up_id);
CREATE INDEX clients_last_active_session_id_idx ON clients (last_active_session_id);
CREATE INDEX clients_expire_at_idx ON clients (expire_at);

CREATE TABLE sign_ins (
  id         TEXT   NOT NULL,
  client_id  TEXT   NOT NULL,
  status     TEXT   NOT NULL,
  data       TEXT   NOT NULL DEFAULT '{}',
  abandon_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  CONSTRAINT sign_ins_pkey PRIMARY KEY (id),
  CONSTRAINT sign_ins_client_id_fkey FOREIGN KEY (client_id)
    REFERENCES clients (id) ON DELETE CASCADE
);
CREATE INDEX sign_ins_client_id_idx ON sign_ins (client_id);
CREATE INDEX sign_ins_abandon_at_idx ON sign_ins (abandon_at);

CREATE TABLE sign_ups (
  id         TEXT   NOT NULL,
  client_id  TEXT   NOT NULL,
  status     TEXT   NOT NULL,
  data       TEXT   NOT NULL DEFAULT '{}',
  abandon_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  CONSTRAINT sign_ups_pkey PRIMARY KEY (id),
  CONSTRAINT sign_ups_client_id_fkey FOREIGN KEY (client_id)
    REFERENCES clients (id) ON DELETE CASCADE
);
CREATE INDEX sign_ups_client_id_idx ON sign_ups (client_id);
CREATE INDEX sign_ups_abandon_at_idx ON sign_ups (abandon_at);

CREATE TABLE sessions (
  id             TEXT   NOT NULL,
  client_id      TEXT   NOT NULL,
  user_id        TEXT   NOT NULL,
  status         TEXT   NOT NULL,
  tasks          TEXT,
  expire_at      BIGINT NOT NULL,
  abandon_at     BIGINT NOT NULL,
  last_active_at BIGINT NOT NULL,
  created_at     BIGINT NOT NULL,
  updated_at     BIGINT NOT NULL,
  CONSTRAINT sessions_pkey PRIMARY KEY (id),
  CONSTRAINT sessions_client_id_fkey FOREIGN KEY (client_id)
    REFERENCES clients (id) ON DELETE CASCADE,
  CONSTRAINT sessions_user_id_fkey FOREIGN KEY (user_id)
    REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX sessions_client_id_idx ON sessions (client_id, created_at, id);
CREATE INDEX sessions_user_id_idx ON sessions (user_id, created_at, id);
CREATE INDEX sessions_expire_at_idx ON sessions (expire_at);
CREATE INDEX sessions_abandon_at_idx ON sessions (abandon_at);

-- clients <-> attempts/sessions reference each other; the back-pointers are added once both exist.
ALTER TABLE clients
  ADD CONSTRAINT clients_sign_in_id_fkey FOREIGN KEY (sign_in_id)
    REFERENCES sign_ins (id) ON DELETE SET NULL,
  ADD CONSTRAINT clients_sign_up_id_fkey FOREIGN KEY (sign_up_id)
    REFERENCES sign_ups (id) ON DELETE SET NULL,
  ADD CONSTRAINT clients_last_active_session_id_fkey FOREIGN KEY (last_active_session_id)
    REFERENCES sessions (id) ON DELETE SET NULL;

CREATE TABLE oauth_states (
  state_hash   TEXT   NOT NULL,
  client_id    TEXT   NOT NULL,
  attempt_type TEXT   NOT NULL,
  attempt_id   TEXT   NOT NULL,
  strategy     TEXT   NOT NULL,
  data         TEXT   NOT NULL DEFAULT '{}',
  expire_at    BIGINT NOT NULL,
  created_at   BIGINT NOT NULL,
  CONSTRAINT oauth_states_pkey PRIMARY KEY (state_hash),
  CONSTRAINT oauth_states_client_id_fkey FOREIGN KEY (client_id)
    REFERENCES clients (id) ON DELETE CASCADE,
  CONSTRAINT oauth_states_attempt_type_check CHECK (attempt_type IN ('sign_in', 'sign_up'))
);
CREATE INDEX oauth_states_client_id_idx ON oauth_states (client_id);
CREATE INDEX oauth_states_expire_at_idx ON oauth_states (expire_at);
