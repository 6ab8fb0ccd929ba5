-- Environments (stages) of a tenant, ordered; a tenant always keeps at least one.
CREATE TABLE environments (
    tenant_id   UUID NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          UUID NOT NULL,
    name        TEXT NOT NULL,
    position    INTEGER NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX environments_tenant_name_key ON environments (tenant_id, (lower(name) COLLATE "C"));
CREATE INDEX environments_tenant_position_idx ON environments (tenant_id, position, id);

INSERT INTO environments (tenant_id, id, name, position)
SELECT id, gen_random_uuid(), 'Production', 1 FROM tenants;

-- Tokens are for the SCIM connector or for the admin API, never both.
ALTER TABLE connector_tokens
    ADD COLUMN kind TEXT NOT NULL DEFAULT 'scim' CHECK (kind IN ('scim', 'admin'));
