-- The usage ledger: one row per request that reached a model (or was refused on its way there).
-- Rows arrive from each gateway's local spool, possibly more than once after a crash: the id
-- (made by the gateway, never the client's request id) makes the insert idempotent.

CREATE TABLE usage_records (
  id                 VARCHAR(40)   PRIMARY KEY,
  at                 TIMESTAMP WITH TIME ZONE NOT NULL,
  request_id         VARCHAR(128)  NOT NULL,
  tenant_id          VARCHAR(64)   NOT NULL,
  project            VARCHAR(200),
  key_id             VARCHAR(32)   NOT NULL,
  endpoint           VARCHAR(32)   NOT NULL,
  model              VARCHAR(200)  NOT NULL,
  backend            VARCHAR(200),
  status             INT           NOT NULL,
  outcome            VARCHAR(16)   NOT NULL,
  prompt_tokens      BIGINT        NOT NULL,
  completion_tokens  BIGINT        NOT NULL,
  cached_tokens      BIGINT        NOT NULL,
  usage_reported     BOOLEAN       NOT NULL,
  latency_ms         BIGINT        NOT NULL,
  ttft_ms            BIGINT,
  cache_hit          BOOLEAN       NOT NULL,
  trace_id           VARCHAR(64)
);

CREATE INDEX usage_records_tenant_at ON usage_records (tenant_id, at);
CREATE INDEX usage_records_request ON usage_records (request_id);
