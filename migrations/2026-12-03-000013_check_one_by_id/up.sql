-- The most common check — one user by id — without the batch function's unnesting and its
-- lookup of users by any of three keys. Same rule as `check_privileges`: the user holds a
-- role carrying the privilege on the application (or, for an environment, an
-- environment-wide role carrying it) and no *No access* role in that environment. A user
-- of another tenant, or none, has no rows here and is not allowed.
CREATE FUNCTION check_privilege(p_tenant UUID, p_user UUID, p_privilege TEXT,
                                p_environment UUID, p_application UUID)
    RETURNS BOOLEAN
    LANGUAGE plpgsql STABLE AS $check$
DECLARE
    v_environment UUID := p_environment;
BEGIN
    IF v_environment IS NULL THEN
        SELECT a.environment_id INTO v_environment
          FROM applications a WHERE a.tenant_id = p_tenant AND a.id = p_application;
        IF v_environment IS NULL THEN
            RETURN false;
        END IF;
    END IF;
    RETURN NOT EXISTS (
               SELECT 1 FROM effective_roles er
               JOIN roles r ON r.tenant_id = er.tenant_id AND r.id = er.role_id
               WHERE er.tenant_id = p_tenant AND er.user_id = p_user
                 AND er.environment_id = v_environment
                 AND er.application_id IS NULL AND r.system_key = 'environment_no_access')
       AND EXISTS (
               SELECT 1 FROM effective_roles er
               JOIN role_privileges rp ON rp.tenant_id = er.tenant_id AND rp.role_id = er.role_id
               WHERE er.tenant_id = p_tenant AND er.user_id = p_user
                 AND er.environment_id = v_environment
                 AND (er.application_id IS NULL OR er.application_id = p_application)
                 AND rp.privilege_key = p_privilege);
END
$check$;
