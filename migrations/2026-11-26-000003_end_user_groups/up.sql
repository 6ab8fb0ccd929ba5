-- End-user groups belong to exactly one environment, chosen at creation and never changed.
CREATE TABLE end_user_groups (
    tenant_id       UUID NOT NULL,
    id              UUID NOT NULL,
    environment_id  UUID NOT NULL,
    name            TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, environment_id) REFERENCES environments (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX end_user_groups_environment_name_key
    ON end_user_groups (tenant_id, environment_id, (lower(name) COLLATE "C"));

-- Direct members, one row per membership.
CREATE TABLE end_user_group_members (
    tenant_id          UUID NOT NULL,
    end_user_group_id  UUID NOT NULL,
    user_id            UUID NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, end_user_group_id, user_id),
    FOREIGN KEY (tenant_id, end_user_group_id) REFERENCES end_user_groups (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX end_user_group_members_user_idx ON end_user_group_members (tenant_id, user_id);
