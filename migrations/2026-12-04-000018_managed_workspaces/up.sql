-- Managed workspaces (Workato's Automation HQ and Embedded; ToolJet's users across
-- workspaces): a tenant may have a parent. Tenants are never deleted and each lives on its
-- own, so the parent is a plain column: a key across tenants would tie their rows together.
ALTER TABLE tenants ADD COLUMN parent_id UUID;
CREATE INDEX tenants_parent_idx ON tenants (parent_id) WHERE parent_id IS NOT NULL;

-- A parent's inheritable roles appear in each child as read-only copies that follow the
-- parent's edits; `inherited_from` is the parent's role.
ALTER TABLE roles ADD COLUMN inheritable BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE roles ADD COLUMN inherited_from UUID;
CREATE UNIQUE INDEX roles_tenant_inherited_from_key ON roles (tenant_id, inherited_from)
    WHERE inherited_from IS NOT NULL;

-- Moderators: people of the parent with an environment role in every environment and a
-- project role in every project of the child. Their grants are ordinary assignments marked
-- `moderator`, kept by the workspace (new environments and projects get them too) and not
-- changeable through the assignment routes.
ALTER TABLE assignments ADD COLUMN moderator BOOLEAN NOT NULL DEFAULT false;

CREATE TABLE moderators (
    tenant_id            UUID NOT NULL REFERENCES tenants (id),
    user_id              UUID NOT NULL,
    parent_user_id       UUID NOT NULL,
    environment_role_id  UUID NOT NULL,
    project_role_id      UUID NOT NULL,
    created_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    -- A role a moderator holds is not withdrawn from the workspace while it does (the parent
    -- is refused first; this is the last guard).
    FOREIGN KEY (tenant_id, environment_role_id) REFERENCES roles (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, project_role_id) REFERENCES roles (tenant_id, id) ON DELETE RESTRICT
);
CREATE UNIQUE INDEX moderators_parent_user_key ON moderators (tenant_id, parent_user_id);
CREATE INDEX moderators_environment_role_idx ON moderators (tenant_id, environment_role_id);
CREATE INDEX moderators_project_role_idx ON moderators (tenant_id, project_role_id);

-- One user may hold the same environment role in several environments (a moderator holds
-- it in all of them): the key of an assignment includes its environment. It goes last, so
-- lookups by application keep using the index.
DROP INDEX assignments_principal_role_key;
CREATE UNIQUE INDEX assignments_principal_role_key
    ON assignments (tenant_id, application_id, user_id, end_user_group_id, collaborator_group_id,
                    role_id, environment_id)
    NULLS NOT DISTINCT;
