-- The managed workspaces of $1 with their user totals (ToolJet's "All users": users not
-- archived, and builders — those holding the Admin or Builder default group, or any role
-- that lets them build an application).
SELECT t.id, t.name, t.created_at,
       (SELECT count(*) FROM users u
         WHERE u.tenant_id = t.id AND u.status <> 'archived') AS users,
       (SELECT count(DISTINCT er.user_id) FROM effective_paths er
          JOIN roles r ON r.tenant_id = er.tenant_id AND r.id = er.role_id
         WHERE er.tenant_id = t.id
           AND (r.system_key IN ('workspace_admin', 'workspace_builder')
                OR EXISTS (SELECT 1 FROM role_privileges rp
                           WHERE rp.tenant_id = r.tenant_id AND rp.role_id = r.id
                             AND rp.privilege_key = 'application.content.build'))) AS builders
FROM tenants t
WHERE t.parent_id = $1
ORDER BY t.name, t.id
