-- One page of a managed workspace's users in userName order (the tenant's unique index),
-- after $2 (a folded userName; NULL: from the start), whose folded userName contains $3
-- (NULL: all; a LIKE pattern the caller escaped), at most $4 of them; each says whether the
-- user is a builder (as in workspace_totals.sql).
SELECT u.id, u.user_name, u.display_name, u.status,
       rolegate_fold(u.user_name) AS sort_key,
       EXISTS (SELECT 1 FROM effective_paths er
                 JOIN roles r ON r.tenant_id = er.tenant_id AND r.id = er.role_id
                WHERE er.tenant_id = u.tenant_id AND er.user_id = u.id
                  AND (r.system_key IN ('workspace_admin', 'workspace_builder')
                       OR EXISTS (SELECT 1 FROM role_privileges rp
                                  WHERE rp.tenant_id = r.tenant_id AND rp.role_id = r.id
                                    AND rp.privilege_key = 'application.content.build'))) AS builder
FROM users u
WHERE u.tenant_id = $1
  AND ($2::text IS NULL OR rolegate_fold(u.user_name) COLLATE "C" > $2::text COLLATE "C")
  AND ($3::text IS NULL OR rolegate_fold(u.user_name) COLLATE "C" LIKE $3::text)
ORDER BY rolegate_fold(u.user_name) COLLATE "C"
LIMIT $4
