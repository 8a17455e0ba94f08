-- Aliases set at runtime through the admin API (blue-green switches, canary weights). Each row
-- overrides the config file's alias of the same name (or adds an alias) until it is deleted.
-- targets is JSON: [{"model": "qwen@2", "weight": 90}, ...].

CREATE TABLE model_aliases (
  name            VARCHAR(200)  PRIMARY KEY,
  targets         VARCHAR(8000) NOT NULL,
  sticky          VARCHAR(16)   NOT NULL,
  session_header  VARCHAR(128)  NOT NULL,
  revision        BIGINT        NOT NULL,
  updated_at      TIMESTAMP WITH TIME ZONE NOT NULL
);
