ALTER TABLE oidc_identities DROP CONSTRAINT oidc_identities_linked_by_check;
UPDATE oidc_identities SET linked_by = 'verified_email' WHERE linked_by = 'invitation';
ALTER TABLE oidc_identities ADD CONSTRAINT oidc_identities_linked_by_check
    CHECK (linked_by IN ('created', 'external_id', 'verified_email'));
ALTER TABLE oidc_login_attempts DROP COLUMN invitation_id;
DROP TABLE invitations;
