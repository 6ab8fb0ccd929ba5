-- $1 tenant, $2 users: each privilege the users hold, where (environment, and application
-- or NULL for an environment role), through any role; nothing in an environment where the
-- user is *No access* (as the check answers).
SELECT DISTINCT er.user_id, er.environment_id, er.application_id, rp.privilege_key
FROM effective_paths er
JOIN role_privileges rp ON rp.tenant_id = er.tenant_id AND rp.role_id = er.role_id
WHERE er.tenant_id = $1 AND er.user_id = ANY ($2)
  AND NOT EXISTS (
      SELECT 1 FROM effective_roles na
      JOIN roles r ON r.tenant_id = na.tenant_id AND r.id = na.role_id
      WHERE na.tenant_id = $1 AND na.user_id = er.user_id
        AND na.environment_id = er.environment_id AND na.application_id IS NULL
        AND r.system_key = 'environment_no_access')
