-- A page of the tenant's IdP groups (SCIM-pushed and login-claim groups) by folded display
-- name after a key, each with the end-user groups it is mapped into (of the environments
-- $5 lists; all when null) and its member count.
-- $1 tenant, $2 folded search with LIKE's characters escaped, $3 and $6 the previous page's
-- last folded name and id, $4 page size, $5 visible environments.
SELECT g.id, g.display_name, g.external_id, g.oidc_provider_id, p.name AS provider_name,
       (SELECT count(*) FROM group_members m
         WHERE m.tenant_id = g.tenant_id AND m.group_id = g.id) AS member_count,
       coalesce((SELECT jsonb_agg(jsonb_build_object('id', e.id, 'name', e.name,
                                                     'environment_id', e.environment_id)
                                  ORDER BY e.name)
                 FROM group_mappings gm
                 JOIN end_user_groups e ON e.tenant_id = gm.tenant_id AND e.id = gm.end_user_group_id
                 WHERE gm.tenant_id = g.tenant_id AND gm.idp_group_id = g.id
                   AND ($5::uuid[] IS NULL OR e.environment_id = ANY ($5))), '[]') AS mapped_to,
       (rolegate_fold(g.display_name) COLLATE "C") AS sort_name
FROM groups g
LEFT JOIN oidc_providers p ON p.tenant_id = g.tenant_id AND p.id = g.oidc_provider_id
WHERE g.tenant_id = $1
  AND ($2::text IS NULL OR (rolegate_fold(g.display_name) COLLATE "C") LIKE '%' || $2 || '%')
  AND ($3::text IS NULL
       OR ((rolegate_fold(g.display_name) COLLATE "C"), g.id) > ($3 COLLATE "C", $6::uuid))
ORDER BY (rolegate_fold(g.display_name) COLLATE "C"), g.id
LIMIT $4
