-- Prices per model, in a currency, per million tokens; the cost of each call in the ledger; and
-- the monthly quotas and budgets of plans.

CREATE TABLE prices (
  model                      VARCHAR(200)   PRIMARY KEY,
  currency                   CHAR(3)        NOT NULL,
  input_per_million          NUMERIC(20, 6) NOT NULL,
  cached_input_per_million   NUMERIC(20, 6) NOT NULL,
  output_per_million         NUMERIC(20, 6) NOT NULL,
  updated_at                 TIMESTAMP WITH TIME ZONE NOT NULL
);

-- The cost in billionths of the currency (exact: prices have at most 6 decimals, and a call's
-- cost is rounded up to the next billionth); NULL when the model has no price.
ALTER TABLE usage_records ADD COLUMN cost_nanos BIGINT;
ALTER TABLE usage_records ADD COLUMN currency CHAR(3);
CREATE INDEX usage_records_key_at ON usage_records (key_id, at);

ALTER TABLE plans ADD COLUMN monthly_tokens BIGINT;
ALTER TABLE plans ADD COLUMN monthly_budget NUMERIC(20, 6);
ALTER TABLE plans ADD COLUMN budget_currency CHAR(3);
ALTER TABLE plans ADD COLUMN budget_hard BOOLEAN;
