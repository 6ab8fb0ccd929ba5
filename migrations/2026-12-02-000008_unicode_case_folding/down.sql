-- Names distinct under the folding may be equal under the old lower-casing (which follows
-- the database's locale): name them rather than fail with a bare unique violation.
DO $check$
DECLARE
    clash TEXT;
BEGIN
    SELECT string_agg(format('tenant %s: %s', tenant_id, names), '; ') INTO clash
    FROM (SELECT tenant_id, string_agg(user_name, ', ') AS names
          FROM users GROUP BY tenant_id, lower(user_name) COLLATE "C" HAVING count(*) > 1) c;
    IF clash IS NOT NULL THEN
        RAISE EXCEPTION 'userNames equal under lower() (rename all but one, then revert again): %', clash;
    END IF;
END
$check$;

DROP INDEX users_emails_idx;
CREATE OR REPLACE FUNCTION user_emails(attributes JSONB) RETURNS TEXT[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT coalesce(array_agg(lower(e->>'value')) FILTER (WHERE e->>'value' IS NOT NULL), '{}')
    FROM jsonb_array_elements(CASE WHEN jsonb_typeof(attributes->'emails') = 'array'
                                   THEN attributes->'emails' ELSE '[]'::jsonb END) AS e
$$;
CREATE INDEX users_emails_idx ON users USING gin (user_emails(attributes));

DROP INDEX users_tenant_user_name_key;
CREATE UNIQUE INDEX users_tenant_user_name_key ON users (tenant_id, (lower(user_name) COLLATE "C"));
DROP INDEX users_user_name_trgm_idx;
CREATE INDEX users_user_name_trgm_idx ON users USING gin ((lower(user_name) COLLATE "C") gin_trgm_ops);
DROP INDEX users_tenant_display_name_idx;
CREATE INDEX users_tenant_display_name_idx ON users (tenant_id, (lower(display_name) COLLATE "C"));
DROP INDEX users_attributes_trgm_idx;
CREATE INDEX users_attributes_trgm_idx ON users USING gin ((lower(attributes::text) COLLATE "C") gin_trgm_ops);
DROP INDEX groups_tenant_display_name_idx;
CREATE INDEX groups_tenant_display_name_idx ON groups (tenant_id, (lower(display_name) COLLATE "C"));
DROP INDEX groups_display_name_trgm_idx;
CREATE INDEX groups_display_name_trgm_idx ON groups USING gin ((lower(display_name) COLLATE "C") gin_trgm_ops);
DROP INDEX environments_tenant_name_key;
CREATE UNIQUE INDEX environments_tenant_name_key ON environments (tenant_id, (lower(name) COLLATE "C"));
DROP INDEX end_user_groups_environment_name_key;
CREATE UNIQUE INDEX end_user_groups_environment_name_key
    ON end_user_groups (tenant_id, environment_id, (lower(name) COLLATE "C"));
DROP INDEX roles_tenant_scope_name_key;
CREATE UNIQUE INDEX roles_tenant_scope_name_key ON roles (tenant_id, scope, (lower(name) COLLATE "C"));
DROP INDEX applications_environment_name_key;
CREATE UNIQUE INDEX applications_environment_name_key
    ON applications (tenant_id, environment_id, (lower(name) COLLATE "C"));
DROP INDEX collaborator_groups_tenant_name_key;
CREATE UNIQUE INDEX collaborator_groups_tenant_name_key
    ON collaborator_groups (tenant_id, (lower(name) COLLATE "C"));
DROP INDEX oidc_providers_tenant_name_key;
CREATE UNIQUE INDEX oidc_providers_tenant_name_key ON oidc_providers (tenant_id, (lower(name) COLLATE "C"));

DROP FUNCTION rolegate_fold(TEXT);
