-- $1 tenant, $2 user: applications where the user holds a role other than No access, in
-- environments where the user's environment role is not No access.
SELECT DISTINCT er.application_id AS id
FROM effective_paths er
JOIN roles r ON r.tenant_id = er.tenant_id AND r.id = er.role_id
WHERE er.tenant_id = $1 AND er.user_id = $2 AND er.application_id IS NOT NULL
  AND r.system_key IS DISTINCT FROM 'application_no_access'
  AND NOT EXISTS (
      SELECT 1 FROM effective_roles ner
      JOIN roles nr ON nr.tenant_id = ner.tenant_id AND nr.id = ner.role_id
      WHERE ner.tenant_id = $1 AND ner.user_id = $2 AND ner.environment_id = er.environment_id
        AND ner.application_id IS NULL AND nr.system_key = 'environment_no_access')
