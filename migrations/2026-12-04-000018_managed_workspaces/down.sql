DROP INDEX assignments_principal_role_key;
CREATE UNIQUE INDEX assignments_principal_role_key
    ON assignments (tenant_id, application_id, user_id, end_user_group_id, collaborator_group_id, role_id)
    NULLS NOT DISTINCT;
DROP TABLE moderators;
ALTER TABLE assignments DROP COLUMN moderator;
DROP INDEX roles_tenant_inherited_from_key;
ALTER TABLE roles DROP COLUMN inherited_from;
ALTER TABLE roles DROP COLUMN inheritable;
DROP INDEX tenants_parent_idx;
ALTER TABLE tenants DROP COLUMN parent_id;
