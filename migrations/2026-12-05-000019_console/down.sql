DROP TABLE console_sessions;
ALTER TABLE oidc_login_attempts DROP COLUMN for_console;
DROP INDEX users_tenant_source_idx;
ALTER TABLE users DROP COLUMN source;
