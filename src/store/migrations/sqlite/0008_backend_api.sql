-- 0008: the Backend API (issue 13): the instance's secret keys, and the user columns only the
-- Backend API writes. Keep in lockstep with ../postgres/0008_backend_api.sql.
-- secret_keys: sk_live_... keys, stored as the hex SHA-256 of the whole key (they are 256-bit
-- random, so a fast hash is enough); `hint` is the key's last four characters, for `list`.
-- revoked_at (ms; NULL = valid): a revoked key is kept so that `list` shows it.
CREATE TABLE secret_keys (
  id TEXT NOT NULL PRIMARY KEY,
  key_hash TEXT NOT NULL,
  hint TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER,
  CONSTRAINT secret_keys_key_hash_key UNIQUE (key_hash)
);
-- banned: users.ban(); a banned user cannot sign in and has no live session.
-- private_metadata: JSON object text the Frontend API never shows.
ALTER TABLE users ADD COLUMN banned INTEGER NOT NULL DEFAULT 0 CHECK (banned IN (0, 1));
ALTER TABLE users ADD COLUMN private_metadata TEXT NOT NULL DEFAULT '{}';
