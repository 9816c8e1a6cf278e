-- 0010: second factors (issue 12): authenticator apps (TOTP) and backup codes. Keep in lockstep
-- with ../sqlite/0010_mfa.sql (comments there).
CREATE TABLE user_totp (
  id TEXT NOT NULL PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  secret_enc TEXT NOT NULL,
  verified BOOLEAN NOT NULL DEFAULT FALSE,
  last_used_step BIGINT NOT NULL DEFAULT 0,
  failed_attempts BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  CONSTRAINT user_totp_user_id_key UNIQUE (user_id)
);
CREATE TABLE backup_codes (
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  code_mac TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (user_id, code_mac)
);
