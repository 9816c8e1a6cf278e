-- 0003: the client credential rotates whenever who is signed in changes (session fixation, OWASP
-- ASVS 7.2.4; docs/security.md "Client credential"). Keep in lockstep with
-- ../postgres/0003_client_rotation.sql. The hash of the credential a client had before its last
-- rotation is kept for a short grace so that a request of the same browser that raced the
-- rotation is recognised as a stale copy (answered 401, never with a new client or cookie) instead
-- of an unknown one. It never authenticates anything.
ALTER TABLE clients ADD COLUMN previous_cookie_token_hash TEXT;
ALTER TABLE clients ADD COLUMN previous_cookie_valid_until INTEGER NOT NULL DEFAULT 0;  -- ms
CREATE INDEX clients_previous_cookie_token_hash_idx ON clients (previous_cookie_token_hash)
  WHERE previous_cookie_token_hash IS NOT NULL;
