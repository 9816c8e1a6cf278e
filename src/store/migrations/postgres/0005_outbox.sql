-- 0005: the outbox of messages to deliver (issue 11 item 4: delivery that loses nothing). Keep in
-- lockstep with ../sqlite/0005_outbox.sql. A message is written in the same transaction as the
-- code it carries, so it commits or rolls back with it; a worker on any node claims due messages
-- with a lease, sends them and marks them sent, or reschedules them with backoff. The code or link
-- is sealed (payload_enc, crypto::Sealer) and cleared once the message is sent or given up.
-- Rows stay a while after sending: the sending limits count them (per recipient, IP, country).
CREATE TABLE outbox (
  id TEXT PRIMARY KEY,                        -- msg_...
  channel TEXT NOT NULL,                      -- email | sms
  purpose TEXT NOT NULL,                      -- verification_code | sign_in_code | ...
  recipient TEXT NOT NULL,                    -- email address or E.164 number
  country TEXT NOT NULL DEFAULT '',           -- calling code of an SMS recipient, '' for email
  remote_ip TEXT NOT NULL DEFAULT '',         -- the requester, for the per-IP limit
  payload_enc TEXT NOT NULL DEFAULT '',       -- sealed JSON; '' once sent or given up
  status TEXT NOT NULL DEFAULT 'pending',     -- pending | sent | failed
  attempts BIGINT NOT NULL DEFAULT 0,         -- claims so far
  next_attempt_at BIGINT NOT NULL,            -- ms
  lease_until BIGINT NOT NULL DEFAULT 0,      -- ms; a claimed row is invisible to others until
  last_error TEXT,
  sent_at BIGINT,                             -- ms
  created_at BIGINT NOT NULL                  -- ms
);
CREATE INDEX outbox_due_idx ON outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_recipient_idx ON outbox (recipient, created_at);
CREATE INDEX outbox_remote_ip_idx ON outbox (remote_ip, created_at);
CREATE INDEX outbox_country_idx ON outbox (country, created_at);
