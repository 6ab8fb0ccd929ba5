-- Tokens of kind `check`: applications asking "may this user do this?" and nothing else.
ALTER TABLE connector_tokens DROP CONSTRAINT connector_tokens_kind_check;
ALTER TABLE connector_tokens ADD CONSTRAINT connector_tokens_kind_check
    CHECK (kind IN ('scim', 'admin', 'check'));

-- The permission check, as a function so that its plan is made once per connection and
-- reused (plpgsql caches it): planning this statement costs more than running it.
-- Arguments are arrays of equal length, one element per check: a user by id, userName or
-- externalId (one set), a privilege key, an environment or an application (one set).
-- Allowed: the user holds a role carrying the privilege on the application (or, for an
-- environment, an environment-wide role carrying it), and has no *No access* role in that
-- environment. Every step is an index probe of the user's own rows.
CREATE FUNCTION check_privileges(p_tenant UUID, p_user_ids UUID[], p_user_names TEXT[],
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

-- A user's direct SCIM group memberships as `[[group id, display name], …]`, for reading a
-- user in one statement (a function, so its plan is reused).
CREATE FUNCTION user_scim_groups(p_tenant UUID, p_user UUID) RETURNS JSONB
    LANGUAGE plpgsql STABLE AS $groups$
BEGIN
    RETURN coalesce((
        SELECT jsonb_agg(jsonb_build_array(g.id, g.display_name) ORDER BY g.display_name, g.id)
        FROM group_members m JOIN groups g ON g.tenant_id = m.tenant_id AND g.id = m.group_id
        WHERE m.tenant_id = p_tenant AND m.user_id = p_user AND g.oidc_provider_id IS NULL
    ), '[]'::jsonb);
END
$groups$;
