-- Plans: the limits a tenant (all its calls together) or one key is held to. A plan's limits
-- are NULL where it sets none. model_limits is JSON: {"MODEL": {"requests_per_minute": N, ...}}.
-- revision grows with each change, so that gateways replace the buckets they built from it.

CREATE TABLE plans (
  id                   VARCHAR(64)   PRIMARY KEY,
  requests_per_minute  BIGINT,
  tokens_per_minute    BIGINT,
  max_concurrent       INT,
  allowed_models       VARCHAR(4000),
  model_limits         VARCHAR(8000),
  revision             BIGINT        NOT NULL,
  created_at           TIMESTAMP WITH TIME ZONE NOT NULL,
  updated_at           TIMESTAMP WITH TIME ZONE NOT NULL
);

ALTER TABLE tenants ADD COLUMN plan_id VARCHAR(64) REFERENCES plans (id);
ALTER TABLE api_keys ADD COLUMN plan_id VARCHAR(64) REFERENCES plans (id);
