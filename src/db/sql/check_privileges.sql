-- Permission checks, in the order asked. $1 tenant; per check (arrays of equal length):
-- $2 user id, $3 userName, $4 externalId (one of the three set), $5 privilege key,
-- $6 environment, $7 application (one of the two set).
-- Allowed: the user holds a role carrying the privilege on the application (or, for an
-- environment, an environment-wide role carrying it), and has no *No access* role in that
-- environment. Every step is an index probe of the user's own rows.
WITH asked AS (
    SELECT q.ord, q.privilege, q.application_id,
           coalesce(q.environment_id, a.environment_id) AS environment_id,
           (SELECT u.id FROM users u
             WHERE u.tenant_id = $1
               AND ((q.user_id IS NOT NULL AND u.id = q.user_id)
                 OR (q.user_name IS NOT NULL
                     AND rolegate_fold(u.user_name) COLLATE "C" = rolegate_fold(q.user_name) COLLATE "C")
                 OR (q.external_id IS NOT NULL AND u.external_id COLLATE "C" = q.external_id))
             LIMIT 1) AS user_id
    FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::uuid[], $7::uuid[])
         WITH ORDINALITY AS q(user_id, user_name, external_id, privilege, environment_id, application_id, ord)
    LEFT JOIN applications a ON a.tenant_id = $1 AND a.id = q.application_id
)
SELECT asked.ord AS position,
       coalesce(asked.user_id IS NOT NULL AND asked.environment_id IS NOT NULL
           AND NOT EXISTS (
               SELECT 1 FROM effective_roles er
               JOIN roles r ON r.tenant_id = er.tenant_id AND r.id = er.role_id
               WHERE er.tenant_id = $1 AND er.user_id = asked.user_id
                 AND er.environment_id = asked.environment_id
                 AND er.application_id IS NULL AND r.system_key = 'environment_no_access')
           AND EXISTS (
               SELECT 1 FROM effective_roles er
               JOIN role_privileges rp ON rp.tenant_id = er.tenant_id AND rp.role_id = er.role_id
               WHERE er.tenant_id = $1 AND er.user_id = asked.user_id
                 AND er.environment_id = asked.environment_id
                 AND (er.application_id IS NULL OR er.application_id = asked.application_id)
                 AND rp.privilege_key = asked.privilege), false) AS allowed
FROM asked
ORDER BY asked.ord
