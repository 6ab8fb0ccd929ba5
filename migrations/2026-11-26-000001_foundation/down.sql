DROP TABLE audit_log;
DROP FUNCTION audit_log_append_only();
DROP TABLE group_members;
DROP TABLE groups;
DROP TABLE users;
DROP TABLE connector_tokens;
DROP TABLE tenants;
DROP EXTENSION IF EXISTS pg_trgm;
