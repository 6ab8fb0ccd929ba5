-- OpenID Connect providers a tenant's end-users log in with.
CREATE TABLE oidc_providers (
    tenant_id               UUID NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                      UUID NOT NULL,
    -- Short name used in login URLs: /oidc/{tenant}/{name}/login.
    name                    TEXT NOT NULL,
    issuer                  TEXT NOT NULL,
    client_id               TEXT NOT NULL,
    -- AES-256-GCM (nonce || ciphertext) under the server's secret key; NULL for a public
    -- client that authenticates with PKCE alone.
    client_secret_encrypted BYTEA,
    -- Space-separated, as in the OAuth scope parameter; always includes openid.
    scopes                  TEXT NOT NULL,
    claim_mapping           JSONB NOT NULL,
    -- Create users at their first login when no existing user matches.
    jit_provisioning        BOOLEAN NOT NULL DEFAULT true,
    -- Where an application may ask the session token to be delivered after login.
    redirect_uris           JSONB NOT NULL DEFAULT '[]'::jsonb,
    enabled                 BOOLEAN NOT NULL DEFAULT true,
    created_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX oidc_providers_tenant_name_key ON oidc_providers (tenant_id, (lower(name) COLLATE "C"));

-- The environments a provider's logins may ask a session for.
CREATE TABLE oidc_provider_environments (
    tenant_id       UUID NOT NULL,
    provider_id     UUID NOT NULL,
    environment_id  UUID NOT NULL,
    PRIMARY KEY (tenant_id, provider_id, environment_id),
    FOREIGN KEY (tenant_id, provider_id) REFERENCES oidc_providers (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, environment_id) REFERENCES environments (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX oidc_provider_environments_environment_idx ON oidc_provider_environments (tenant_id, environment_id);

-- Which user a provider's subject is: the first and strongest account link.
CREATE TABLE oidc_identities (
    tenant_id       UUID NOT NULL,
    provider_id     UUID NOT NULL,
    subject         TEXT NOT NULL,
    user_id         UUID NOT NULL,
    -- The user was created by this login (its attributes follow the claims at every login);
    -- false when the login linked to a user provisioned otherwise (SCIM stays in charge).
    created_by_login BOOLEAN NOT NULL,
    linked_by       TEXT NOT NULL CHECK (linked_by IN ('created', 'external_id', 'verified_email')),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_login_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, provider_id, subject),
    FOREIGN KEY (tenant_id, provider_id) REFERENCES oidc_providers (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
-- One identity per user and provider; also the index for the user foreign key.
CREATE UNIQUE INDEX oidc_identities_user_provider_key ON oidc_identities (tenant_id, user_id, provider_id);

-- Logins in flight: state, nonce and PKCE verifier, kept in the database so any node can
-- finish a login another node started. Consumed (deleted) by the first callback.
CREATE TABLE oidc_login_attempts (
    tenant_id       UUID NOT NULL,
    state           TEXT NOT NULL,
    provider_id     UUID NOT NULL,
    environment_id  UUID NOT NULL,
    nonce           TEXT NOT NULL,
    pkce_verifier   TEXT NOT NULL,
    redirect_uri    TEXT NOT NULL,
    return_to       TEXT,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, state),
    FOREIGN KEY (tenant_id, provider_id) REFERENCES oidc_providers (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, environment_id) REFERENCES environments (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX oidc_login_attempts_provider_idx ON oidc_login_attempts (tenant_id, provider_id);
CREATE INDEX oidc_login_attempts_environment_idx ON oidc_login_attempts (tenant_id, environment_id);
CREATE INDEX oidc_login_attempts_expires_idx ON oidc_login_attempts (expires_at);

-- Keys Rolegate signs session tokens with, per tenant. The newest unretired key signs;
-- retired keys stay published until the tokens they signed have expired.
CREATE TABLE signing_keys (
    tenant_id               UUID NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kid                     TEXT NOT NULL,
    algorithm               TEXT NOT NULL,
    private_key_encrypted   BYTEA NOT NULL,
    public_jwk              JSONB NOT NULL,
    created_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    retired_at              TIMESTAMPTZ,
    PRIMARY KEY (tenant_id, kid)
);
CREATE UNIQUE INDEX signing_keys_one_active_key ON signing_keys (tenant_id) WHERE retired_at IS NULL;

-- IdP groups seen in a provider's groups claim live beside SCIM groups, keyed by the claim
-- value (kept in external_id), so group mappings and effective roles treat both alike.
-- SCIM clients never see them.
ALTER TABLE groups ADD COLUMN oidc_provider_id UUID;
ALTER TABLE groups ADD CONSTRAINT groups_oidc_provider_fkey
    FOREIGN KEY (tenant_id, oidc_provider_id) REFERENCES oidc_providers (tenant_id, id) ON DELETE CASCADE;
CREATE UNIQUE INDEX groups_oidc_claim_value_key ON groups (tenant_id, oidc_provider_id, (external_id COLLATE "C"))
    WHERE oidc_provider_id IS NOT NULL;

-- Account linking looks users up by e-mail address: the lower-cased values of `emails`,
-- indexed so that the lookup is one index probe however many users a tenant has.
CREATE FUNCTION user_emails(attributes JSONB) RETURNS TEXT[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT coalesce(array_agg(lower(e->>'value')) FILTER (WHERE e->>'value' IS NOT NULL), '{}')
    FROM jsonb_array_elements(CASE WHEN jsonb_typeof(attributes->'emails') = 'array'
                                   THEN attributes->'emails' ELSE '[]'::jsonb END) AS e
$$;
CREATE INDEX users_emails_idx ON users USING gin (user_emails(attributes));
