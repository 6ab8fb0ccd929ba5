-- Trigram indexes answer `co`/`sw`/`ew` filters without scanning a tenant's users.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Tenants are the isolation boundary: every other table carries tenant_id and every
-- primary and unique key starts with it, so the schema can be distributed by tenant.
CREATE TABLE tenants (
    id          UUID PRIMARY KEY,
    name        TEXT NOT NULL,
    -- Signs this tenant's pagination cursors; shared by every node through the database.
    cursor_secret BYTEA NOT NULL DEFAULT (uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid())),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- SCIM connector tokens. Only a SHA-256 of the secret is kept; the token carries its
-- tenant and id so a lookup is a primary-key read.
CREATE TABLE connector_tokens (
    tenant_id    UUID NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           UUID NOT NULL,
    name         TEXT NOT NULL,
    secret_hash  BYTEA NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    revoked_at   TIMESTAMPTZ,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE users (
    tenant_id     UUID NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id            UUID NOT NULL,
    user_name     TEXT NOT NULL,
    external_id   TEXT,
    display_name  TEXT,
    -- NULL when the client never stated it; such a user counts as active.
    active        BOOLEAN,
    -- Every other SCIM attribute (name, emails, enterprise extension, ...), canonical form.
    attributes    JSONB NOT NULL DEFAULT '{}'::jsonb,
    version       BIGINT NOT NULL DEFAULT 1,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
-- userName is unique per tenant, compared case-insensitively (RFC 7643 caseExact=false).
-- Text is compared and ordered in the C collation everywhere, so these indexes serve
-- filters and sorting whatever the database's locale.
CREATE UNIQUE INDEX users_tenant_user_name_key ON users (tenant_id, (lower(user_name) COLLATE "C"));
CREATE INDEX users_user_name_trgm_idx ON users USING gin ((lower(user_name) COLLATE "C") gin_trgm_ops);
CREATE INDEX users_tenant_external_id_idx ON users (tenant_id, (external_id COLLATE "C"));
CREATE INDEX users_tenant_display_name_idx ON users (tenant_id, (lower(display_name) COLLATE "C"));
CREATE INDEX users_tenant_created_idx ON users (tenant_id, created_at, id);
-- Prefilter for string comparisons on document attributes (emails, name, extension …).
CREATE INDEX users_attributes_trgm_idx ON users USING gin ((lower(attributes::text) COLLATE "C") gin_trgm_ops);

CREATE TABLE groups (
    tenant_id     UUID NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id            UUID NOT NULL,
    display_name  TEXT NOT NULL,
    external_id   TEXT,
    attributes    JSONB NOT NULL DEFAULT '{}'::jsonb,
    version       BIGINT NOT NULL DEFAULT 1,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX groups_tenant_display_name_idx ON groups (tenant_id, (lower(display_name) COLLATE "C"));
CREATE INDEX groups_display_name_trgm_idx ON groups USING gin ((lower(display_name) COLLATE "C") gin_trgm_ops);
CREATE INDEX groups_tenant_external_id_idx ON groups (tenant_id, (external_id COLLATE "C"));
CREATE INDEX groups_tenant_created_idx ON groups (tenant_id, created_at, id);

-- One row per membership: adding or removing a member touches only that row.
CREATE TABLE group_members (
    tenant_id   UUID NOT NULL,
    group_id    UUID NOT NULL,
    user_id     UUID NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, group_id, user_id),
    FOREIGN KEY (tenant_id, group_id) REFERENCES groups (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX group_members_tenant_user_idx ON group_members (tenant_id, user_id);

-- Append-only record of every mutation.
CREATE TABLE audit_log (
    tenant_id      UUID NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id             BIGINT GENERATED ALWAYS AS IDENTITY,
    actor          TEXT NOT NULL,
    resource_type  TEXT NOT NULL,
    resource_id    TEXT NOT NULL,
    operation      TEXT NOT NULL,
    before         JSONB,
    after          JSONB,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX audit_log_tenant_resource_idx ON audit_log (tenant_id, resource_type, resource_id);

-- History is never rewritten: updating or deleting audit rows is refused, except the
-- cascade that removes a whole tenant.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND NOT EXISTS (SELECT 1 FROM tenants WHERE id = OLD.tenant_id) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
