DELETE FROM groups WHERE oidc_provider_id IS NOT NULL;
DROP INDEX groups_oidc_claim_value_key;
ALTER TABLE groups DROP CONSTRAINT groups_oidc_provider_fkey;
ALTER TABLE groups DROP COLUMN oidc_provider_id;
DROP TABLE signing_keys;
DROP TABLE oidc_login_attempts;
DROP TABLE oidc_identities;
DROP TABLE oidc_provider_environments;
DROP TABLE oidc_providers;
