-- The old key allowed one environment role per user only once in the tenant: the
-- moderators' grants go (with their paths: the path table has no foreign keys), and of
-- a role a user holds in several environments only the oldest assignment stays.
DELETE FROM effective_roles er USING assignments a
    WHERE a.tenant_id = er.tenant_id AND a.id = er.assignment_id AND a.moderator;
DELETE FROM assignments WHERE moderator;
WITH repeated AS (
    SELECT tenant_id, id FROM (
        SELECT tenant_id, id, row_number() OVER (
                   PARTITION BY tenant_id, user_id, role_id ORDER BY created_at, id) AS n
        FROM assignments WHERE application_id IS NULL) x
    WHERE n > 1)
DELETE FROM effective_roles er USING repeated r
    WHERE er.tenant_id = r.tenant_id AND er.assignment_id = r.id;
DELETE FROM assignments a USING (
    SELECT tenant_id, id FROM (
        SELECT tenant_id, id, row_number() OVER (
                   PARTITION BY tenant_id, user_id, role_id ORDER BY created_at, id) AS n
        FROM assignments WHERE application_id IS NULL) x
    WHERE n > 1) r
    WHERE a.tenant_id = r.tenant_id AND a.id = r.id;
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
