-- 0010: second factors (issue 12): authenticator apps (TOTP) and backup codes. Keep in lockstep
-- with ../postgres/0010_mfa.sql.
-- user_totp: at most one per user. secret_enc is the 20-byte RFC 6238 secret sealed under the
-- instance key (crypto::Sealer, aad "totp:<id>"); an unverified row is an enrollment in progress
-- (POST /v1/me/totp), replaced by the next one. last_used_step: the highest time step accepted,
-- so a code (and any older one) is used once. failed_attempts: wrong codes (app or backup) since
-- the last right one, across sign-ins; past the password lockout's threshold the user is locked.
CREATE TABLE user_totp (
  id TEXT NOT NULL PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  secret_enc TEXT NOT NULL,
  verified INTEGER NOT NULL DEFAULT 0 CHECK (verified IN (0, 1)),
  last_used_step INTEGER NOT NULL DEFAULT 0,
  failed_attempts INTEGER NOT NULL DEFAULT 0,  -- wrong second-factor codes in a row (lockout)
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  CONSTRAINT user_totp_user_id_key UNIQUE (user_id)
);
-- backup_codes: the user's unused codes, each as its keyed MAC (crypto::Sealer::mac), never the
-- code. Using one deletes its row; regenerating replaces them all.
CREATE TABLE backup_codes (
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  code_mac TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, code_mac)
);
