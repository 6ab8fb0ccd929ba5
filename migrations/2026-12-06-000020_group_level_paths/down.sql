DROP INDEX users_ineligible_idx;
DROP INDEX group_members_user_group_idx;
CREATE INDEX group_members_tenant_user_idx ON group_members (tenant_id, user_id);

-- The functions as they were, reading the table alone.
CREATE OR REPLACE FUNCTION user_role_paths(p_tenant UUID, p_user UUID, p_environment UUID)
    RETURNS TABLE (environment_id UUID, application_id UUID, application_name TEXT,
                   role_id UUID, role_name TEXT, assignment_id UUID,
                   end_user_group_id UUID, end_user_group_name TEXT,
                   collaborator_group_id UUID, collaborator_group_name TEXT,
                   user_principal UUID, idp_group_id UUID, idp_group_name TEXT)
    LANGUAGE plpgsql STABLE AS $paths$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT er.environment_id, er.application_id, app.name, er.role_id, r.name, er.assignment_id,
           a.end_user_group_id, eug.name, a.collaborator_group_id, cg.name, a.user_id,
           g.id, g.display_name
    FROM effective_roles er
    JOIN assignments a ON a.tenant_id = er.tenant_id AND a.id = er.assignment_id
    JOIN roles r ON r.tenant_id = er.tenant_id AND r.id = er.role_id
    LEFT JOIN applications app ON app.tenant_id = er.tenant_id AND app.id = er.application_id
    LEFT JOIN end_user_groups eug ON eug.tenant_id = er.tenant_id AND eug.id = a.end_user_group_id
    LEFT JOIN collaborator_groups cg ON cg.tenant_id = er.tenant_id AND cg.id = a.collaborator_group_id
    LEFT JOIN groups g ON g.tenant_id = er.tenant_id AND g.id = er.via_group_id
    WHERE er.tenant_id = p_tenant AND er.user_id = p_user
      AND (p_environment IS NULL OR er.environment_id = p_environment)
    ORDER BY app.name NULLS FIRST, r.position, r.name, er.assignment_id, g.display_name NULLS FIRST;
END
$paths$;

CREATE OR REPLACE FUNCTION user_privileges(p_tenant UUID, p_user UUID, p_environment UUID)
    RETURNS TABLE (environment_id UUID, application_id UUID, privilege_key TEXT)
    LANGUAGE plpgsql STABLE AS $privileges$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT held.environment_id, held.application_id, held.privilege_key
    FROM (SELECT DISTINCT er.environment_id, er.application_id, rp.privilege_key, p.position
          FROM effective_roles er
          JOIN role_privileges rp ON rp.tenant_id = er.tenant_id AND rp.role_id = er.role_id
          JOIN privileges p ON p.key = rp.privilege_key
          WHERE er.tenant_id = p_tenant AND er.user_id = p_user
            AND (p_environment IS NULL OR er.environment_id = p_environment)) held
    ORDER BY held.position, held.privilege_key;
END
$privileges$;

CREATE OR REPLACE FUNCTION check_privilege(p_tenant UUID, p_user UUID, p_privilege TEXT,
                                p_environment UUID, p_application UUID)
    RETURNS BOOLEAN
    LANGUAGE plpgsql STABLE AS $check$
DECLARE
    v_environment UUID := p_environment;
BEGIN
    IF v_environment IS NULL THEN
        SELECT a.environment_id INTO v_environment
          FROM applications a WHERE a.tenant_id = p_tenant AND a.id = p_application;
        IF v_environment IS NULL THEN
            RETURN false;
        END IF;
    END IF;
    RETURN NOT EXISTS (
               SELECT 1 FROM effective_roles er
               JOIN roles r ON r.tenant_id = er.tenant_id AND r.id = er.role_id
               WHERE er.tenant_id = p_tenant AND er.user_id = p_user
                 AND er.environment_id = v_environment
                 AND er.application_id IS NULL AND r.system_key = 'environment_no_access')
       AND EXISTS (
               SELECT 1 FROM effective_roles er
               JOIN role_privileges rp ON rp.tenant_id = er.tenant_id AND rp.role_id = er.role_id
               WHERE er.tenant_id = p_tenant AND er.user_id = p_user
                 AND er.environment_id = v_environment
                 AND (er.application_id IS NULL OR er.application_id = p_application)
                 AND rp.privilege_key = p_privilege);
END
$check$;

CREATE OR REPLACE FUNCTION check_privileges(p_tenant UUID, p_user_ids UUID[], p_user_names TEXT[],
                                 p_external_ids TEXT[], p_privileges TEXT[],
                                 p_environment_ids UUID[], p_application_ids UUID[])
    RETURNS TABLE (check_ord BIGINT, check_allowed BOOLEAN)
    LANGUAGE plpgsql STABLE
    SET plan_cache_mode = force_generic_plan AS $check$
BEGIN
    RETURN QUERY
WITH asked AS MATERIALIZED (
    SELECT q.ord, q.privilege, q.application_id,
           coalesce(q.environment_id, a.environment_id) AS environment_id,
           -- externalId is not unique: a check names a user only when exactly one matches.
           (SELECT CASE WHEN count(*) = 1 THEN (array_agg(m.id))[1] END
              FROM (SELECT u.id FROM users u
                     WHERE u.tenant_id = p_tenant
                       AND ((q.user_id IS NOT NULL AND u.id = q.user_id)
                         OR (q.user_name IS NOT NULL
                             AND rolegate_fold(u.user_name) COLLATE "C" = rolegate_fold(q.user_name) COLLATE "C")
                         OR (q.external_id IS NOT NULL AND u.external_id COLLATE "C" = q.external_id))
                     LIMIT 2) m) AS user_id
    FROM unnest(p_user_ids, p_user_names, p_external_ids, p_privileges, p_environment_ids, p_application_ids)
         WITH ORDINALITY AS q(user_id, user_name, external_id, privilege, environment_id, application_id, ord)
    LEFT JOIN applications a ON a.tenant_id = p_tenant AND a.id = q.application_id
)
SELECT asked.ord,
       coalesce(asked.user_id IS NOT NULL AND asked.environment_id IS NOT NULL
           AND NOT EXISTS (
               SELECT 1 FROM effective_roles er
               JOIN roles r ON r.tenant_id = er.tenant_id AND r.id = er.role_id
               WHERE er.tenant_id = p_tenant AND er.user_id = asked.user_id
                 AND er.environment_id = asked.environment_id
                 AND er.application_id IS NULL AND r.system_key = 'environment_no_access')
           AND EXISTS (
               SELECT 1 FROM effective_roles er
               JOIN role_privileges rp ON rp.tenant_id = er.tenant_id AND rp.role_id = er.role_id
               WHERE er.tenant_id = p_tenant AND er.user_id = asked.user_id
                 AND er.environment_id = asked.environment_id
                 AND (er.application_id IS NULL OR er.application_id = asked.application_id)
                 AND rp.privilege_key = asked.privilege), false) AS allowed
FROM asked
ORDER BY asked.ord;
END
$check$;

-- Stored again, one row per user and path.
INSERT INTO effective_roles
    (tenant_id, user_id, assignment_id, via_group_id, environment_id, application_id, role_id)
SELECT tenant_id, user_id, assignment_id, via_group_id, environment_id, application_id, role_id
FROM group_role_paths
ON CONFLICT DO NOTHING;

DROP VIEW effective_paths;
DROP VIEW group_role_paths;
