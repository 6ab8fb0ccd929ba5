-- $1 tenant, $2 user, $3 privileges: environments where an environment role of the user
-- carries one of them.
SELECT DISTINCT er.environment_id AS id
FROM effective_roles er
JOIN role_privileges rp ON rp.tenant_id = er.tenant_id AND rp.role_id = er.role_id
WHERE er.tenant_id = $1 AND er.user_id = $2 AND er.application_id IS NULL
  AND rp.privilege_key = ANY ($3)
