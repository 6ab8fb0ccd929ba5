-- $1 tenant, $2 user, $3 environment, $4 privileges held through the environment role,
-- $5 application (or NULL), $6 privileges held on that application.
SELECT NOT EXISTS (
           SELECT 1 FROM effective_roles er
           JOIN roles r ON r.tenant_id = er.tenant_id AND r.id = er.role_id
           WHERE er.tenant_id = $1 AND er.user_id = $2 AND er.environment_id = $3
             AND er.application_id IS NULL AND r.system_key = 'environment_no_access')
       AND EXISTS (
           SELECT 1 FROM effective_paths er
           JOIN role_privileges rp ON rp.tenant_id = er.tenant_id AND rp.role_id = er.role_id
           WHERE er.tenant_id = $1 AND er.user_id = $2 AND er.environment_id = $3
             AND ((er.application_id IS NULL AND rp.privilege_key = ANY ($4))
                  OR (er.application_id = $5 AND rp.privilege_key = ANY ($6))))
       AS held
