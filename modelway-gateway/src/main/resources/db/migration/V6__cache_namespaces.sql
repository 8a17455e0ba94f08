-- Cache namespaces an admin shared between tenants. A tenant without a row has its own
-- namespace (its id); tenants with the same shared namespace read each other's cached answers.

CREATE TABLE cache_namespaces (
  tenant_id   VARCHAR(64)  PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
  shared      VARCHAR(64)  NOT NULL,
  updated_at  TIMESTAMP WITH TIME ZONE NOT NULL
);
