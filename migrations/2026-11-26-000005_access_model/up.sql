-- The privilege catalogue and the system-role templates are reference data, the same for
-- every tenant (a reference table when distributed). Everything else carries tenant_id.
CREATE TABLE privileges (
    key                 TEXT PRIMARY KEY,
    scope               TEXT NOT NULL CHECK (scope IN ('environment', 'application')),
    category            TEXT NOT NULL,
    resource            TEXT NOT NULL,
    action              TEXT NOT NULL,
    -- Holding it is "admin access": managing who may do what in the tenant.
    administers_access  BOOLEAN NOT NULL DEFAULT false,
    position            INTEGER NOT NULL
);

WITH actions (action, label) AS (
    VALUES ('full_access', 'Full access'), ('view', 'View'), ('edit', 'Edit'),
           ('create', 'Create'), ('delete', 'Delete'), ('view_history', 'View history'),
           ('access_control', 'Access control'), ('modify_structure', 'Modify structure')
),
matrix (position, category_key, category, resource_key, resource, actions) AS (
    VALUES
    (1,  'project_management', 'Project management', 'manage_projects', 'Manage projects', ARRAY['full_access', 'create', 'access_control']),
    (2,  'tools', 'Tools', 'common_data_models', 'Common data models', ARRAY['full_access', 'view', 'edit', 'create', 'delete']),
    (3,  'tools', 'Tools', 'custom_oauth_profiles', 'Custom OAuth profiles', ARRAY['full_access', 'view', 'edit', 'create', 'delete']),
    (4,  'tools', 'Tools', 'message_templates', 'Message templates', ARRAY['full_access', 'view', 'edit', 'create', 'delete']),
    (5,  'tools', 'Tools', 'people_task', 'People task', ARRAY['full_access']),
    (6,  'tools', 'Tools', 'event_streams', 'Event streams', ARRAY['full_access', 'view', 'edit', 'create', 'delete', 'view_history']),
    (7,  'tools', 'Tools', 'recipe_lifecycle_management', 'Recipe lifecycle management', ARRAY['full_access']),
    (8,  'tools', 'Tools', 'workbot', 'Workbot', ARRAY['full_access', 'view', 'edit', 'create', 'delete']),
    (9,  'tools', 'Tools', 'enterprise_workbot', 'Enterprise Workbot', ARRAY['full_access', 'view', 'edit', 'create', 'delete']),
    (10, 'tools', 'Tools', 'runtime_user_connections', 'Runtime user connections', ARRAY['full_access', 'view', 'edit', 'create']),
    (11, 'tools', 'Tools', 'logs', 'Logs', ARRAY['full_access']),
    (12, 'tools', 'Tools', 'file_storage', 'File Storage', ARRAY['full_access', 'view', 'edit', 'create', 'delete']),
    (13, 'on_premise', 'On-premise', 'groups_and_agents', 'On-prem groups & agents', ARRAY['full_access', 'view', 'edit', 'create', 'delete']),
    (14, 'on_premise', 'On-premise', 'connection_files', 'Connection - on-prem files', ARRAY['full_access']),
    (15, 'on_premise', 'On-premise', 'connection_command_line_scripts', 'Connection - command line scripts', ARRAY['full_access']),
    (16, 'apps_portal', 'Apps portal', 'settings', 'Settings', ARRAY['full_access']),
    (17, 'apps_portal', 'Apps portal', 'users_and_groups', 'Users and groups', ARRAY['full_access']),
    (18, 'data_storage', 'Data storage', 'lookup_tables', 'Lookup tables', ARRAY['full_access', 'view', 'edit', 'create', 'delete', 'modify_structure']),
    (19, 'data_storage', 'Data storage', 'environment_properties', 'Environment properties', ARRAY['full_access', 'view', 'edit', 'create', 'delete']),
    (20, 'api_platform', 'API platform', 'dashboard_and_logs', 'Dashboard & logs', ARRAY['full_access']),
    (21, 'api_platform', 'API platform', 'collections_and_endpoints', 'Collections & endpoints', ARRAY['full_access', 'view', 'edit', 'create', 'delete']),
    (22, 'api_platform', 'API platform', 'client_and_access_profiles', 'Client & access profiles', ARRAY['full_access', 'view', 'edit', 'create', 'delete']),
    (23, 'api_platform', 'API platform', 'policies', 'Policies', ARRAY['full_access', 'view', 'edit', 'create', 'delete']),
    (24, 'api_platform', 'API platform', 'settings', 'Settings', ARRAY['full_access']),
    (25, 'connector_sdk', 'Connector SDK', 'connector_sdk', 'Connector SDK', ARRAY['full_access']),
    (26, 'connector_sdk', 'Connector SDK', 'use_in_recipes', 'Use in recipes', ARRAY['full_access']),
    (27, 'insights', 'Insights', 'insights', 'Insights', ARRAY['full_access', 'view', 'edit', 'create', 'delete']),
    (28, 'workspace_access', 'Workspace access', 'collaborators', 'Collaborators', ARRAY['full_access']),
    (29, 'workspace_access', 'Workspace access', 'collaborator_roles', 'Collaborator roles (non-system)', ARRAY['full_access']),
    (30, 'workspace_access', 'Workspace access', 'collaborator_saml_sso_auth', 'Collaborator SAML SSO auth', ARRAY['full_access']),
    (31, 'workspace_access', 'Workspace access', 'developer_api', 'Developer API', ARRAY['full_access']),
    (32, 'workspace_access', 'Workspace access', 'scim_provisioning', 'SCIM provisioning', ARRAY['full_access']),
    (33, 'workspace_access', 'Workspace access', 'workspace_settings', 'Workspace settings', ARRAY['full_access']),
    (34, 'environment_settings', 'Environment settings', 'activity_audit', 'Activity audit', ARRAY['full_access']),
    (35, 'environment_settings', 'Environment settings', 'debug_log_and_security', 'Debug, Log and Security', ARRAY['full_access']),
    (36, 'automation_hq', 'Automation HQ', 'automation_hq', 'Automation HQ', ARRAY['full_access']),
    (37, 'solutions_access', 'Solutions access', 'authentication_settings_and_sso', 'Authentication settings and SSO', ARRAY['full_access']),
    (38, 'solutions_access', 'Solutions access', 'end_users_and_groups', 'End users and groups', ARRAY['full_access'])
)
INSERT INTO privileges (key, scope, category, resource, action, administers_access, position)
SELECT m.category_key || '.' || m.resource_key || '.' || a.action, 'environment', m.category,
       m.resource, a.label, m.resource_key = 'collaborators', m.position * 10 + u.n
FROM matrix m
CROSS JOIN LATERAL unnest(m.actions) WITH ORDINALITY AS u (action, n)
JOIN actions a ON a.action = u.action;

-- Workspace-level privileges of ToolJet's default roles (environment scope).
INSERT INTO privileges (key, scope, category, resource, action, administers_access, position) VALUES
    ('workspace.apps.create', 'environment', 'Workspace', 'Apps', 'Create', false, 1000),
    ('workspace.apps.delete', 'environment', 'Workspace', 'Apps', 'Delete', false, 1001),
    ('workspace.apps.edit', 'environment', 'Workspace', 'Apps', 'Edit', false, 1002),
    ('workspace.apps.view', 'environment', 'Workspace', 'Apps', 'View', false, 1003),
    ('workspace.folders.manage', 'environment', 'Workspace', 'Folders', 'Create, update and delete', false, 1010),
    ('workspace.constants.manage', 'environment', 'Workspace', 'Workspace constants', 'Create, update and delete', false, 1020),
    ('workspace.data_sources.manage', 'environment', 'Workspace', 'Data sources', 'Create, update and delete', false, 1030),
    ('workspace.users.manage', 'environment', 'Workspace', 'Users', 'Invite, archive and edit', true, 1040),
    ('workspace.groups.manage', 'environment', 'Workspace', 'Groups', 'Create, edit and delete', false, 1050),
    ('workspace.settings.manage', 'environment', 'Workspace', 'Workspace settings', 'Full access', false, 1060);

-- Application (project / app) privileges.
INSERT INTO privileges (key, scope, category, resource, action, administers_access, position) VALUES
    ('application.content.view', 'application', 'Application', 'Content', 'View', false, 2000),
    ('application.content.build', 'application', 'Application', 'Content', 'Build', false, 2001),
    ('application.recipes.run_stop', 'application', 'Application', 'Recipes', 'Run or stop', false, 2010),
    ('application.deployments.request', 'application', 'Application', 'Deployments', 'Request', false, 2020),
    ('application.deployments.review', 'application', 'Application', 'Deployments', 'Review and approve', false, 2021),
    ('application.deployments.deploy', 'application', 'Application', 'Deployments', 'Deploy', false, 2022),
    ('application.settings.manage', 'application', 'Application', 'Settings', 'Manage', false, 2030),
    ('application.access.manage', 'application', 'Application', 'Access', 'Manage', false, 2040),
    ('application.application.delete', 'application', 'Application', 'Application', 'Delete', false, 2050);

-- System roles: templates copied into every tenant, immutable there.
CREATE TABLE system_roles (
    key          TEXT PRIMARY KEY,
    scope        TEXT NOT NULL CHECK (scope IN ('environment', 'application')),
    name         TEXT NOT NULL,
    description  TEXT NOT NULL,
    position     INTEGER NOT NULL
);
CREATE TABLE system_role_privileges (
    role_key       TEXT NOT NULL REFERENCES system_roles (key) ON DELETE CASCADE,
    privilege_key  TEXT NOT NULL REFERENCES privileges (key) ON DELETE CASCADE,
    PRIMARY KEY (role_key, privilege_key)
);
CREATE INDEX system_role_privileges_privilege_idx ON system_role_privileges (privilege_key);

INSERT INTO system_roles (key, scope, name, description, position) VALUES
    ('environment_admin', 'environment', 'Environment admin', 'Full control over workspace-wide and environment settings.', 1),
    ('environment_manager', 'environment', 'Environment manager', 'Full control over environment settings, but no workspace-wide permissions.', 2),
    ('member', 'environment', 'Member', 'View-only access to environment settings.', 3),
    ('environment_no_access', 'environment', 'No access', 'Cannot view or switch into the environment.', 4),
    ('workspace_admin', 'environment', 'Admin', 'Manages the workspace: users, groups, settings and every app.', 5),
    ('workspace_builder', 'environment', 'Builder', 'Creates and edits apps, folders, constants and data sources.', 6),
    ('workspace_end_user', 'environment', 'End-user', 'Uses the apps granted to them.', 7),
    ('project_admin', 'application', 'Project admin', 'Full access to all content and settings, including access management and deletion.', 11),
    ('advanced_builder', 'application', 'Advanced builder', 'Full access to build and deploy, without settings or access management.', 12),
    ('builder', 'application', 'Builder', 'Builds and submits deployment requests; cannot review, approve or deploy.', 13),
    ('project_operator', 'application', 'Project operator', 'Views all content and runs or stops recipes.', 14),
    ('application_no_access', 'application', 'No access', 'No access to the application.', 15);

-- Environment admin: every environment privilege of the matrix.
INSERT INTO system_role_privileges (role_key, privilege_key)
SELECT 'environment_admin', key FROM privileges WHERE scope = 'environment' AND key NOT LIKE 'workspace.%';
-- Environment manager: the same without workspace-wide and a few environment privileges.
INSERT INTO system_role_privileges (role_key, privilege_key)
SELECT 'environment_manager', key FROM privileges
WHERE scope = 'environment' AND key NOT LIKE 'workspace.%'
  AND key NOT IN ('project_management.manage_projects.full_access',
                  'project_management.manage_projects.access_control',
                  'tools.recipe_lifecycle_management.full_access',
                  'tools.logs.full_access')
  AND key NOT LIKE 'insights.%'
  AND key NOT LIKE 'workspace_access.%'
  AND key NOT LIKE 'environment_settings.%'
  AND key NOT LIKE 'automation_hq.%';
INSERT INTO system_role_privileges (role_key, privilege_key) VALUES
    ('member', 'connector_sdk.use_in_recipes.full_access');
INSERT INTO system_role_privileges (role_key, privilege_key)
SELECT 'workspace_admin', key FROM privileges WHERE key LIKE 'workspace.%';
INSERT INTO system_role_privileges (role_key, privilege_key) VALUES
    ('workspace_builder', 'workspace.apps.create'),
    ('workspace_builder', 'workspace.apps.delete'),
    ('workspace_builder', 'workspace.apps.edit'),
    ('workspace_builder', 'workspace.apps.view'),
    ('workspace_builder', 'workspace.folders.manage'),
    ('workspace_builder', 'workspace.constants.manage'),
    ('workspace_builder', 'workspace.data_sources.manage'),
    ('workspace_end_user', 'workspace.apps.view');
INSERT INTO system_role_privileges (role_key, privilege_key)
SELECT 'project_admin', key FROM privileges WHERE scope = 'application';
INSERT INTO system_role_privileges (role_key, privilege_key) VALUES
    ('advanced_builder', 'application.content.view'),
    ('advanced_builder', 'application.content.build'),
    ('advanced_builder', 'application.recipes.run_stop'),
    ('advanced_builder', 'application.deployments.request'),
    ('advanced_builder', 'application.deployments.review'),
    ('advanced_builder', 'application.deployments.deploy'),
    ('builder', 'application.content.view'),
    ('builder', 'application.content.build'),
    ('builder', 'application.deployments.request'),
    ('project_operator', 'application.content.view'),
    ('project_operator', 'application.recipes.run_stop');

-- Roles of a tenant: copies of the system roles (system_key set, immutable) and custom ones.
CREATE TABLE roles (
    tenant_id    UUID NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           UUID NOT NULL,
    scope        TEXT NOT NULL CHECK (scope IN ('environment', 'application')),
    name         TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    system_key   TEXT REFERENCES system_roles (key),
    position     INTEGER NOT NULL DEFAULT 1000,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX roles_tenant_scope_name_key ON roles (tenant_id, scope, (lower(name) COLLATE "C"));
CREATE UNIQUE INDEX roles_tenant_system_key ON roles (tenant_id, system_key);
CREATE INDEX roles_system_key_idx ON roles (system_key);

CREATE TABLE role_privileges (
    tenant_id      UUID NOT NULL,
    role_id        UUID NOT NULL,
    privilege_key  TEXT NOT NULL REFERENCES privileges (key),
    PRIMARY KEY (tenant_id, role_id, privilege_key),
    FOREIGN KEY (tenant_id, role_id) REFERENCES roles (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX role_privileges_privilege_idx ON role_privileges (privilege_key, tenant_id);

CREATE FUNCTION seed_system_roles() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO roles (tenant_id, id, scope, name, description, system_key, position)
    SELECT NEW.id, gen_random_uuid(), scope, name, description, key, position FROM system_roles;
    INSERT INTO role_privileges (tenant_id, role_id, privilege_key)
    SELECT NEW.id, r.id, p.privilege_key
    FROM system_role_privileges p
    JOIN roles r ON r.tenant_id = NEW.id AND r.system_key = p.role_key;
    RETURN NEW;
END $$;
CREATE TRIGGER tenants_seed_system_roles AFTER INSERT ON tenants
    FOR EACH ROW EXECUTE FUNCTION seed_system_roles();

INSERT INTO roles (tenant_id, id, scope, name, description, system_key, position)
SELECT t.id, gen_random_uuid(), s.scope, s.name, s.description, s.key, s.position
FROM tenants t CROSS JOIN system_roles s;
INSERT INTO role_privileges (tenant_id, role_id, privilege_key)
SELECT r.tenant_id, r.id, p.privilege_key
FROM roles r JOIN system_role_privileges p ON p.role_key = r.system_key;

-- Applications (projects, apps) live in one environment.
CREATE TABLE applications (
    tenant_id       UUID NOT NULL,
    id              UUID NOT NULL,
    environment_id  UUID NOT NULL,
    name            TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, environment_id, id),
    FOREIGN KEY (tenant_id, environment_id) REFERENCES environments (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX applications_environment_name_key
    ON applications (tenant_id, environment_id, (lower(name) COLLATE "C"));

-- Lets assignments prove an end-user group's roles stay inside its environment.
ALTER TABLE end_user_groups ADD CONSTRAINT end_user_groups_environment_id_key
    UNIQUE (tenant_id, environment_id, id);

-- Collaborator groups: tenant-wide, application roles only, no nesting.
CREATE TABLE collaborator_groups (
    tenant_id    UUID NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           UUID NOT NULL,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX collaborator_groups_tenant_name_key
    ON collaborator_groups (tenant_id, (lower(name) COLLATE "C"));

CREATE TABLE collaborator_group_members (
    tenant_id              UUID NOT NULL,
    collaborator_group_id  UUID NOT NULL,
    user_id                UUID NOT NULL,
    created_at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, collaborator_group_id, user_id),
    FOREIGN KEY (tenant_id, collaborator_group_id) REFERENCES collaborator_groups (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX collaborator_group_members_user_idx ON collaborator_group_members (tenant_id, user_id);

-- (principal, role, scope). The principal is one of user / end-user group / collaborator
-- group, or none of them: "everyone else". No application means environment scope.
CREATE TABLE assignments (
    tenant_id              UUID NOT NULL,
    id                     UUID NOT NULL,
    role_id                UUID NOT NULL,
    environment_id         UUID NOT NULL,
    application_id         UUID,
    user_id                UUID,
    end_user_group_id      UUID,
    collaborator_group_id  UUID,
    created_at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, role_id) REFERENCES roles (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, environment_id) REFERENCES environments (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, environment_id, application_id)
        REFERENCES applications (tenant_id, environment_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, environment_id, end_user_group_id)
        REFERENCES end_user_groups (tenant_id, environment_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, collaborator_group_id)
        REFERENCES collaborator_groups (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT assignments_one_principal
        CHECK (num_nonnulls(user_id, end_user_group_id, collaborator_group_id) <= 1),
    -- Environment roles go to individual users only; "everyone else" is per application.
    CONSTRAINT assignments_environment_roles_to_users
        CHECK (application_id IS NOT NULL OR user_id IS NOT NULL)
);
CREATE UNIQUE INDEX assignments_one_environment_role_key
    ON assignments (tenant_id, environment_id, user_id) WHERE application_id IS NULL;
CREATE UNIQUE INDEX assignments_one_everyone_else_key
    ON assignments (tenant_id, application_id)
    WHERE user_id IS NULL AND end_user_group_id IS NULL AND collaborator_group_id IS NULL;
CREATE UNIQUE INDEX assignments_principal_role_key
    ON assignments (tenant_id, application_id, user_id, end_user_group_id, collaborator_group_id, role_id)
    NULLS NOT DISTINCT;
CREATE INDEX assignments_role_idx ON assignments (tenant_id, role_id);
CREATE INDEX assignments_environment_idx ON assignments (tenant_id, environment_id, application_id);
CREATE INDEX assignments_user_idx ON assignments (tenant_id, user_id);
CREATE INDEX assignments_end_user_group_idx ON assignments (tenant_id, end_user_group_id);
CREATE INDEX assignments_collaborator_group_idx ON assignments (tenant_id, collaborator_group_id);
CREATE INDEX assignments_eug_environment_idx ON assignments (tenant_id, environment_id, end_user_group_id);

-- A user may be shut out of an environment without losing anything else.
CREATE TABLE environment_access_revocations (
    tenant_id       UUID NOT NULL,
    user_id         UUID NOT NULL,
    environment_id  UUID NOT NULL,
    revoked_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id, environment_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, environment_id) REFERENCES environments (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX environment_access_revocations_environment_idx
    ON environment_access_revocations (tenant_id, environment_id);

-- invited → active; archived users keep their data but hold no roles.
ALTER TABLE users ADD COLUMN status TEXT NOT NULL DEFAULT 'active'
    CHECK (status IN ('invited', 'active', 'archived'));

-- Workato's rule, per tenant: end-user groups keep at least one direct member.
ALTER TABLE tenants ADD COLUMN require_end_user_group_members BOOLEAN NOT NULL DEFAULT false;

-- The person behind an admin token, for "creator becomes Project admin" and self-lockout.
ALTER TABLE connector_tokens ADD COLUMN user_id UUID;
ALTER TABLE connector_tokens ADD CONSTRAINT connector_tokens_user_fkey
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE SET NULL (user_id);
CREATE INDEX connector_tokens_user_idx ON connector_tokens (tenant_id, user_id);

-- Effective roles, one row per path: which assignment reaches the user, and through which
-- IdP group when it arrives by a group mapping (the nil uuid otherwise). Maintained in the
-- transaction of every change that affects it.
CREATE TABLE effective_roles (
    tenant_id       UUID NOT NULL,
    user_id         UUID NOT NULL,
    assignment_id   UUID NOT NULL,
    via_group_id    UUID NOT NULL,
    environment_id  UUID NOT NULL,
    application_id  UUID,
    role_id         UUID NOT NULL,
    -- The role is part of the key so that changing an assignment's role is a delete of the
    -- old path and an insert of the new one.
    PRIMARY KEY (tenant_id, user_id, assignment_id, via_group_id, role_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    -- Checked at commit: whatever removes an assignment must also have refreshed the paths
    -- it granted (so that a dry run sees them go), or the transaction fails.
    FOREIGN KEY (tenant_id, assignment_id) REFERENCES assignments (tenant_id, id)
        DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX effective_roles_assignment_idx ON effective_roles (tenant_id, assignment_id);
CREATE INDEX effective_roles_role_idx ON effective_roles (tenant_id, role_id, environment_id);
CREATE INDEX effective_roles_scope_idx ON effective_roles (tenant_id, environment_id, application_id);
