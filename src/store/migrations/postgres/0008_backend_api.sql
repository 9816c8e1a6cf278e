-- 0008: the Backend API (issue 13): the instance's secret keys, and the user columns only the
-- Backend API writes. Keep in lockstep with ../sqlite/0008_backend_api.sql (comments there).
CREATE TABLE secret_keys (
  id TEXT NOT NULL PRIMARY KEY,
  key_hash TEXT NOT NULL,
  hint TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  revoked_at BIGINT,
  CONSTRAINT secret_keys_key_hash_key UNIQUE (key_hash)
);
ALTER TABLE users ADD COLUMN banned BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN private_metadata TEXT NOT NULL DEFAULT '{}';
