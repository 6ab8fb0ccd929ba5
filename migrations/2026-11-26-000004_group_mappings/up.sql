-- IdP group (a SCIM group, by its stable id) → end-user group. The same IdP group may map
-- into groups of several environments; renames on either side keep the mapping.
CREATE TABLE group_mappings (
    tenant_id          UUID NOT NULL,
    idp_group_id       UUID NOT NULL,
    end_user_group_id  UUID NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, idp_group_id, end_user_group_id),
    FOREIGN KEY (tenant_id, idp_group_id) REFERENCES groups (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, end_user_group_id) REFERENCES end_user_groups (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX group_mappings_end_user_group_idx ON group_mappings (tenant_id, end_user_group_id);
