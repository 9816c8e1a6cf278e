-- 0004: first factors other than OAuth (passwords; the codes live, hashed, in the attempt's data).
-- Keep in lockstep with ../sqlite/0004_first_factors.sql.
-- password_digest: an argon2id PHC string, or an imported bcrypt hash ($2a$/$2b$/$2y$) that is
-- replaced by argon2id at the next successful sign-in; NULL = the user has no password.
-- password_reset_required: the next correct password leads to needs_new_password (an operator's
-- flag, or a password found compromised).
-- failed_password_attempts / locked_until: the temporary lockout after consecutive wrong
-- passwords (ms; NULL = not locked). A correct password or a reset clears both.
ALTER TABLE users ADD COLUMN password_digest TEXT;
ALTER TABLE users ADD COLUMN password_reset_required BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN failed_password_attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN locked_until BIGINT;
