-- 0002: rate-limit counters shared through the database (SQLite). Keep in lockstep with
-- ../postgres/0002_rate_counters.sql. One row per (key, fixed window): the sliding-window limiter
-- (src/ratelimit/limiter.hpp) reads the current and the previous window's counts.
-- No index but the primary key: purge_expired() scans the table, which holds only the counters of
-- the last few windows. `key` is built by the limiter ("<rule>|<address or hash of the client
-- cookie>"): never a secret.
CREATE TABLE rate_counters (
  key           TEXT    NOT NULL,
  window_number INTEGER NOT NULL,  -- floor(time_ms / window_ms)
  count         INTEGER NOT NULL,
  expire_at     INTEGER NOT NULL,  -- ms; the row no longer matters to any decision from then on
  PRIMARY KEY (key, window_number)
) STRICT, WITHOUT ROWID;
