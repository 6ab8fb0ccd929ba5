-- $1 tenant, $2 source application, $3 target application, $4 target environment.
-- Proposes for the target the source's assignments: users, collaborator groups and
-- *Everyone else* as they are; an end-user group's as the same-name group of the target
-- environment (none there: nothing proposed). What the target already has, or already
-- proposes, is left out.
INSERT INTO role_suggestions
    (tenant_id, application_id, role_id, user_id, end_user_group_id, collaborator_group_id)
SELECT $1, $3, a.role_id, a.user_id, target_group.id, a.collaborator_group_id
FROM assignments a
LEFT JOIN end_user_groups source_group
       ON source_group.tenant_id = $1 AND source_group.id = a.end_user_group_id
LEFT JOIN end_user_groups target_group
       ON target_group.tenant_id = $1 AND target_group.environment_id = $4
      AND rolegate_fold(target_group.name) COLLATE "C" = rolegate_fold(source_group.name) COLLATE "C"
WHERE a.tenant_id = $1 AND a.application_id = $2
  AND (a.end_user_group_id IS NULL OR target_group.id IS NOT NULL)
  AND NOT EXISTS (
      SELECT 1 FROM assignments t
      WHERE t.tenant_id = $1 AND t.application_id = $3 AND t.role_id = a.role_id
        AND t.user_id IS NOT DISTINCT FROM a.user_id
        AND t.end_user_group_id IS NOT DISTINCT FROM target_group.id
        AND t.collaborator_group_id IS NOT DISTINCT FROM a.collaborator_group_id)
ON CONFLICT DO NOTHING
