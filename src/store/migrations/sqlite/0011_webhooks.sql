-- 0011: webhooks (issue 13 item 6). Keep in lockstep with ../postgres/0011_webhooks.sql. One row per
-- (event, endpoint), written in the same transaction as the change the event describes, so an event
-- exists exactly when its change does. A worker on any node claims due rows with a lease, POSTs the
-- payload signed for its endpoint (the secret is in the configuration, never here) and marks it
-- delivered, or reschedules it on the Svix schedule until it is failed. Rows of one object to one
-- endpoint go in order: a row is not claimed while an earlier (lower seq) one of the same object
-- and endpoint is pending.
CREATE TABLE webhook_deliveries (
  seq INTEGER PRIMARY KEY,                     -- insertion order (rowid)
  id TEXT NOT NULL UNIQUE,                    -- whd_... (what `latchkey webhooks replay` names)
  event_id TEXT NOT NULL,                     -- msg_... (svix-id; the same for every endpoint)
  event_type TEXT NOT NULL,                   -- user.created | session.ended | ...
  object_id TEXT NOT NULL,                    -- user_... | sess_... (the order key)
  endpoint TEXT NOT NULL,                     -- the endpoint's URL as configured
  payload TEXT NOT NULL,                      -- the event JSON, rendered when it happened
  status TEXT NOT NULL DEFAULT 'pending',     -- pending | delivered | failed
  attempts INTEGER NOT NULL DEFAULT 0,         -- claims so far
  next_attempt_at INTEGER NOT NULL,            -- ms
  lease_until INTEGER NOT NULL DEFAULT 0,      -- ms; a claimed row is invisible to others until
  last_error TEXT,
  delivered_at INTEGER,                        -- ms
  created_at INTEGER NOT NULL                  -- ms
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_order_idx ON webhook_deliveries (endpoint, object_id, seq)
  WHERE status = 'pending';
CREATE INDEX webhook_deliveries_created_idx ON webhook_deliveries (created_at);
