-- Invitations (ToolJet): an invited user holds nothing until they accept, by completing an
-- OpenID Connect login through the invitation's link. A link is single use, expires, can
-- be revoked and re-sent (re-sending revokes the previous link). Only SHA-256 of the
-- link's secret is stored.
CREATE TABLE invitations (
    tenant_id    UUID NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           UUID NOT NULL DEFAULT gen_random_uuid(),
    user_id      UUID NOT NULL,
    secret_hash  BYTEA NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at   TIMESTAMPTZ NOT NULL,
    accepted_at  TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT invitations_closed_once CHECK (accepted_at IS NULL OR revoked_at IS NULL)
);
CREATE UNIQUE INDEX invitations_secret_key ON invitations (tenant_id, secret_hash);
-- At most one open link per user.
CREATE UNIQUE INDEX invitations_open_key ON invitations (tenant_id, user_id)
    WHERE accepted_at IS NULL AND revoked_at IS NULL;
CREATE INDEX invitations_user_idx ON invitations (tenant_id, user_id);

-- A login started from an invitation's link accepts that invitation when it completes.
ALTER TABLE oidc_login_attempts ADD COLUMN invitation_id UUID;
ALTER TABLE oidc_login_attempts ADD CONSTRAINT oidc_login_attempts_invitation_fkey
    FOREIGN KEY (tenant_id, invitation_id) REFERENCES invitations (tenant_id, id) ON DELETE CASCADE;
CREATE INDEX oidc_login_attempts_invitation_idx ON oidc_login_attempts (tenant_id, invitation_id);

-- An account linked by accepting an invitation says so.
ALTER TABLE oidc_identities DROP CONSTRAINT oidc_identities_linked_by_check;
ALTER TABLE oidc_identities ADD CONSTRAINT oidc_identities_linked_by_check
    CHECK (linked_by IN ('created', 'external_id', 'verified_email', 'invitation'));
