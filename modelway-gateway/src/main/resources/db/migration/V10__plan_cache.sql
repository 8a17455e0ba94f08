-- What a plan says of the response cache: JSON {"mode", "semantic", "answer_price", "currency"};
-- NULL: nothing (each model's settings apply, hits are free).

ALTER TABLE plans ADD COLUMN cache_policy VARCHAR(1000);
