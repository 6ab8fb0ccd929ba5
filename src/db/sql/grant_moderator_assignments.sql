-- The assignments that make moderators hold their environment role in every environment
-- and their project role in every project of a managed workspace.
-- $1 tenant; $2 one moderator (NULL: all); $3 one new environment (NULL: all);
-- $4 one new project (NULL: all; when set, only project roles are granted).
-- An identical assignment already there (the creator's Project admin, an earlier direct
-- grant) becomes the moderator's, so that only the parent can take it away; returns the
-- users granted anything.
INSERT INTO assignments (tenant_id, id, role_id, environment_id, application_id, user_id, moderator)
SELECT m.tenant_id, gen_random_uuid(), m.environment_role_id, e.id, NULL, m.user_id, true
FROM moderators m
JOIN environments e ON e.tenant_id = m.tenant_id
WHERE m.tenant_id = $1
  AND ($2::uuid IS NULL OR m.user_id = $2)
  AND ($3::uuid IS NULL OR e.id = $3)
  AND $4::uuid IS NULL
UNION ALL
SELECT m.tenant_id, gen_random_uuid(), m.project_role_id, a.environment_id, a.id, m.user_id, true
FROM moderators m
JOIN applications a ON a.tenant_id = m.tenant_id
WHERE m.tenant_id = $1
  AND ($2::uuid IS NULL OR m.user_id = $2)
  AND ($3::uuid IS NULL OR a.environment_id = $3)
  AND ($4::uuid IS NULL OR a.id = $4)
ON CONFLICT (tenant_id, application_id, user_id, end_user_group_id, collaborator_group_id,
             role_id, environment_id)
    DO UPDATE SET moderator = true
RETURNING id, user_id, role_id, environment_id, application_id
