-- $1 tenant, $2 users (NULL: every user): End-users (ToolJet's default group) who hold, in
-- the same environment, an application role carrying `application.content.build` become
-- Builders there — ToolJet moves a user whose custom group lets them build into Builder.
-- A managed workspace's moderators keep the environment role their parent gave them.
UPDATE assignments a SET role_id = builder.id
FROM roles end_user, roles builder
WHERE end_user.tenant_id = $1 AND end_user.system_key = 'workspace_end_user'
  AND builder.tenant_id = $1 AND builder.system_key = 'workspace_builder'
  AND a.tenant_id = $1 AND a.role_id = end_user.id
  AND a.user_id IS NOT NULL AND a.application_id IS NULL AND NOT a.moderator
  AND ($2::uuid[] IS NULL OR a.user_id = ANY ($2))
  AND EXISTS (
      SELECT 1 FROM effective_paths er
      JOIN role_privileges rp ON rp.tenant_id = er.tenant_id AND rp.role_id = er.role_id
      WHERE er.tenant_id = $1 AND er.user_id = a.user_id
        AND er.environment_id = a.environment_id AND er.application_id IS NOT NULL
        AND rp.privilege_key = 'application.content.build')
RETURNING a.id, a.user_id, a.environment_id, end_user.id AS from_role_id, builder.id AS to_role_id
