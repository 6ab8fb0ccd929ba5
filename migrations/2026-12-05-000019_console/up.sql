-- Where each user came from, for the console's user list: SCIM, a login that created the
-- user (just-in-time provisioning), an invitation, a CSV import, or a managed workspace's
-- moderator account.
ALTER TABLE users ADD COLUMN source text NOT NULL DEFAULT 'scim'
    CHECK (source IN ('scim', 'login', 'invitation', 'import', 'moderator'));
UPDATE users u SET source = 'invitation'
    WHERE EXISTS (SELECT 1 FROM invitations i WHERE i.tenant_id = u.tenant_id AND i.user_id = u.id);
UPDATE users u SET source = 'moderator'
    WHERE EXISTS (SELECT 1 FROM moderators m WHERE m.tenant_id = u.tenant_id AND m.user_id = u.id);
CREATE INDEX users_tenant_source_idx ON users (tenant_id, source);

-- A login started from the console's sign-in page ends in a console session.
ALTER TABLE oidc_login_attempts ADD COLUMN for_console boolean NOT NULL DEFAULT false;

-- Console sessions. The cookie holds a random secret; only its SHA-256 is stored. A
-- session acts as the admin token it signed in with, or as the person who signed in with
-- the tenant's OpenID Connect provider; both are checked live at every request, so a
-- revoked token or a deactivated or archived user ends the session at once.
CREATE TABLE console_sessions (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id uuid NOT NULL,
    secret_hash bytea NOT NULL,
    user_id uuid,
    token_id uuid,
    csrf_token text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, token_id) REFERENCES connector_tokens (tenant_id, id) ON DELETE CASCADE,
    CHECK (user_id IS NOT NULL OR token_id IS NOT NULL)
);
CREATE INDEX console_sessions_user_idx ON console_sessions (tenant_id, user_id);
CREATE INDEX console_sessions_token_idx ON console_sessions (tenant_id, token_id);
CREATE INDEX console_sessions_expires_idx ON console_sessions (expires_at);
