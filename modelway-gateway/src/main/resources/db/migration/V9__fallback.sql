-- The model that answered a call in place of the one the client named, when a fallback did
-- (models[].fallbacks); null when the named model answered.

ALTER TABLE usage_records ADD COLUMN served_model VARCHAR(200);
