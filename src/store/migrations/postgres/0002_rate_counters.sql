-- 0002: rate-limit counters shared by every node (PostgreSQL). Keep in lockstep with
-- ../sqlite/0002_rate_counters.sql. One row per (key, fixed window): the sliding-window limiter
-- (src/ratelimit/limiter.hpp) reads the current and the previous window's counts.
--
-- UNLOGGED: counters are worth less than a WAL record and an fsync per request. After a crash the
-- table comes back empty (every client starts with a fresh budget, as after a restart of an
-- in-memory limiter) and it is not copied to replicas. An insert or update of an unlogged table
-- writes no WAL, so its autocommit does not wait for a flush.
-- No index but the primary key: an increment changes `count` only, so it is a HOT update (no index
-- write; fillfactor leaves room on the page for it). purge_expired() scans the table, which holds
-- only the counters of the last few windows.
-- `key` is built by the limiter ("<rule>|<address or hash of the client cookie>"): never a secret.
CREATE UNLOGGED TABLE rate_counters (
  key           TEXT   NOT NULL,
  window_number BIGINT NOT NULL,  -- floor(time_ms / window_ms)
  count         BIGINT NOT NULL,
  expire_at     BIGINT NOT NULL,  -- ms; the row no longer matters to any decision from then on
  CONSTRAINT rate_counters_pkey PRIMARY KEY (key, window_number)
) WITH (fillfactor = 70);
