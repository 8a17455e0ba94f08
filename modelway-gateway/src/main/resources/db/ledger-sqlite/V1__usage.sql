-- The usage ledger in the embedded store (SQLite, data dir db/usage.sqlite): the columns of
-- usage_records in the shared store (db/migration V2, V4, V5, V9), with the time as
-- microseconds since the epoch (UTC). The id makes a replayed insert do nothing.

CREATE TABLE usage_records (
  id                 TEXT    PRIMARY KEY,
  at                 INTEGER NOT NULL,
  request_id         TEXT    NOT NULL,
  tenant_id          TEXT    NOT NULL,
  project            TEXT,
  key_id             TEXT    NOT NULL,
  endpoint           TEXT    NOT NULL,
  model              TEXT    NOT NULL,
  backend            TEXT,
  status             INTEGER NOT NULL,
  outcome            TEXT    NOT NULL,
  prompt_tokens      INTEGER NOT NULL,
  completion_tokens  INTEGER NOT NULL,
  cached_tokens      INTEGER NOT NULL,
  usage_reported     INTEGER NOT NULL,
  latency_ms         INTEGER NOT NULL,
  ttft_ms            INTEGER,
  cache_hit          INTEGER NOT NULL,
  trace_id           TEXT,
  cost_nanos         INTEGER,
  currency           TEXT,
  served_model       TEXT
);

CREATE INDEX usage_records_tenant_at ON usage_records (tenant_id, at);
CREATE INDEX usage_records_key_at ON usage_records (key_id, at);
CREATE INDEX usage_records_request ON usage_records (request_id);
