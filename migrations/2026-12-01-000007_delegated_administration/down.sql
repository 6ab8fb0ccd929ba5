ALTER TABLE connector_tokens DROP COLUMN last_used_at;
ALTER TABLE connector_tokens DROP COLUMN expires_at;
ALTER TABLE connector_tokens DROP CONSTRAINT connector_tokens_owner_unbound;
ALTER TABLE connector_tokens DROP COLUMN owner;
