-- Role suggestions (Workato): deploying a project to another environment proposes, for the
-- target project, the assignments its source has. Each waits here until an admin accepts it
-- (it becomes an assignment) or rejects it. A suggestion names its principal as an
-- assignment does (none of the three: *Everyone else*).
CREATE TABLE role_suggestions (
    tenant_id              UUID NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                     UUID NOT NULL DEFAULT gen_random_uuid(),
    application_id         UUID NOT NULL,
    role_id                UUID NOT NULL,
    user_id                UUID,
    end_user_group_id      UUID,
    collaborator_group_id  UUID,
    created_at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, application_id) REFERENCES applications (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, role_id) REFERENCES roles (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, end_user_group_id) REFERENCES end_user_groups (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, collaborator_group_id)
        REFERENCES collaborator_groups (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT role_suggestions_one_principal
        CHECK (num_nonnulls(user_id, end_user_group_id, collaborator_group_id) <= 1)
);
-- A deployment repeated proposes nothing twice.
CREATE UNIQUE INDEX role_suggestions_principal_role_key
    ON role_suggestions (tenant_id, application_id, user_id, end_user_group_id, collaborator_group_id, role_id)
    NULLS NOT DISTINCT;
CREATE INDEX role_suggestions_role_idx ON role_suggestions (tenant_id, role_id);
CREATE INDEX role_suggestions_user_idx ON role_suggestions (tenant_id, user_id);
CREATE INDEX role_suggestions_end_user_group_idx ON role_suggestions (tenant_id, end_user_group_id);
CREATE INDEX role_suggestions_collaborator_group_idx ON role_suggestions (tenant_id, collaborator_group_id);
