-- Calls authenticated by a JWT are attributed to "jwt:" and the token's subject, which can be
-- longer than a key id.
ALTER TABLE usage_records ALTER COLUMN key_id SET DATA TYPE VARCHAR(200);
ALTER TABLE audit_log ALTER COLUMN actor_key_id SET DATA TYPE VARCHAR(200);
