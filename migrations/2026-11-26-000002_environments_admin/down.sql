ALTER TABLE connector_tokens DROP COLUMN kind;
DROP TABLE environments;
