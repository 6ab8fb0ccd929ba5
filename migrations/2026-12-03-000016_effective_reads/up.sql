-- The two reads behind a user's effective-roles document, as functions so that their
-- plans are made once per connection: planning these joins cost more than running them
-- (one index range of the user's own effective-role rows, plus names).

-- Every path of the user's effective roles, with the names the document shows.
CREATE FUNCTION user_role_paths(p_tenant UUID, p_user UUID, p_environment UUID)
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

-- The union of the privileges the user's roles carry, per environment and application.
CREATE FUNCTION user_privileges(p_tenant UUID, p_user UUID, p_environment UUID)
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
