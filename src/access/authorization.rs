//! Delegated administration: the admin API obeys the privilege model it serves.
//!
//! Every admin route declares a [`Requirement`]. *Owner* tokens (bound to no user) meet
//! every requirement; a *user-bound* token meets one only when its user holds the privilege,
//! at the moment of the request, where the requirement says: tenant-wide (in the tenant's
//! first environment, as Workato reads workspace-wide privileges), in the environment of
//! the target, or on the target application. An explicit *No access* environment role
//! refuses every administrative action in that environment.
//!
//! Requirements that depend on the target are checked by the operation once it knows the
//! target ([`AdminContext::authorize`]); the mutation and read helpers refuse to answer
//! when an operation never did, so a route cannot silently skip its check.

use std::fmt;

use diesel::PgConnection;
use serde_json::{json, Value};
use uuid::Uuid;

use super::AdminContext;
use crate::db::authorization as db;
use crate::error::AdminError;

/// The privileges of the catalogue that the admin API asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Privilege {
    /// Environment roles, invitations, imports, archiving, environment access, collaborator
    /// groups, and who holds what.
    Collaborators,
    /// Custom roles.
    CollaboratorRoles,
    /// Environments and the tenant's settings.
    WorkspaceSettings,
    /// OpenID Connect providers and session signing keys.
    SingleSignOn,
    /// SCIM connector tokens.
    ScimProvisioning,
    /// Admin tokens.
    DeveloperApi,
    /// The audit log.
    ActivityAudit,
    /// Creating a project (application) in an environment.
    CreateProjects,
    /// Managing the access of every project of an environment.
    ProjectAccessControl,
    /// Renaming and deleting every project of an environment.
    ManageProjects,
    /// End-user groups and group mappings of an environment.
    UsersAndGroups,
    /// A project's own access (its assignments, *Everyone else*).
    ApplicationAccess,
    /// A project's name and description.
    ApplicationSettings,
    /// Deleting a project.
    ApplicationDelete,
    /// Deploying a project to another environment.
    Deploy,
}

impl Privilege {
    /// Its key in the catalogue.
    pub const fn key(self) -> &'static str {
        match self {
            Privilege::Collaborators => "workspace_access.collaborators.full_access",
            Privilege::CollaboratorRoles => "workspace_access.collaborator_roles.full_access",
            Privilege::WorkspaceSettings => "workspace_access.workspace_settings.full_access",
            Privilege::SingleSignOn => "workspace_access.collaborator_saml_sso_auth.full_access",
            Privilege::ScimProvisioning => "workspace_access.scim_provisioning.full_access",
            Privilege::DeveloperApi => "workspace_access.developer_api.full_access",
            Privilege::ActivityAudit => "environment_settings.activity_audit.full_access",
            Privilege::CreateProjects => "project_management.manage_projects.create",
            Privilege::ProjectAccessControl => "project_management.manage_projects.access_control",
            Privilege::ManageProjects => "project_management.manage_projects.full_access",
            Privilege::UsersAndGroups => "apps_portal.users_and_groups.full_access",
            Privilege::ApplicationAccess => "application.access.manage",
            Privilege::ApplicationSettings => "application.settings.manage",
            Privilege::ApplicationDelete => "application.application.delete",
            Privilege::Deploy => "application.deployments.deploy",
        }
    }
}

impl fmt::Display for Privilege {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// What a route needs, declared with the route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// No token at all (the OpenAPI document).
    Public,
    /// Any admin principal of the tenant: reference data (the privilege catalogue, role
    /// definitions) and what the principal itself may see.
    Principal,
    /// The privilege in the tenant's first environment.
    Tenant(Privilege),
    /// The privilege in the environment of the target.
    Environment(Privilege),
    /// `application` on the target application, or `environment` in its environment.
    Application {
        application: Privilege,
        environment: Privilege,
    },
    /// Seeing a project: any role on it, or project access control or full management of
    /// projects in its environment.
    ProjectVisible,
    /// An assignment: an application role needs the project's access (as
    /// [`PROJECT_ACCESS`]); an environment role needs [`Privilege::Collaborators`]
    /// tenant-wide.
    Assignment,
    /// A user's own record and access, or [`Privilege::Collaborators`] tenant-wide.
    SelfOr(Privilege),
    /// Deploying a project (Workato): Deploy on the source project (or full management of
    /// projects in its environment), and in the target either Create project (a new
    /// project) or Deploy on the same-name project already there.
    Deploy,
}

/// Who may change a project's access: its Project admins, or whoever controls the access
/// of every project of its environment.
pub const PROJECT_ACCESS: Requirement = Requirement::Application {
    application: Privilege::ApplicationAccess,
    environment: Privilege::ProjectAccessControl,
};

impl Requirement {
    /// The requirement as the OpenAPI document states it (`x-rolegate-privilege`).
    pub fn describe(self) -> Value {
        let one = |p: Privilege, scope: &str| json!({"privilege": p.key(), "scope": scope});
        match self {
            Requirement::Public => json!({"scope": "public"}),
            Requirement::Principal => json!({"scope": "any-principal"}),
            Requirement::Tenant(p) => one(p, "tenant"),
            Requirement::Environment(p) => one(p, "environment"),
            Requirement::Application {
                application,
                environment,
            } => {
                json!({"any_of": [one(application, "application"), one(environment, "environment")]})
            }
            Requirement::ProjectVisible => json!({"any_of": [
                {"privilege": "any application role", "scope": "application"},
                one(Privilege::ProjectAccessControl, "environment"),
                one(Privilege::ManageProjects, "environment"),
            ]}),
            Requirement::Assignment => json!({
                "application_roles": PROJECT_ACCESS.describe(),
                "environment_roles": one(Privilege::Collaborators, "tenant"),
            }),
            Requirement::SelfOr(p) => {
                json!({"any_of": [{"privilege": "own record", "scope": "self"}, one(p, "tenant")]})
            }
            Requirement::Deploy => json!({"all_of": [
                {"on": "source project",
                 "any_of": [one(Privilege::Deploy, "application"), one(Privilege::ManageProjects, "environment")]},
                {"on": "target environment: Create project for a new project, Deploy on the same-name project already there",
                 "any_of": [one(Privilege::CreateProjects, "environment"), one(Privilege::Deploy, "application"),
                            one(Privilege::ManageProjects, "environment")]},
            ]}),
        }
    }
}

/// Who acts through the admin API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminPrincipal {
    /// Full access.
    Owner,
    /// Acts with this user's effective privileges.
    User(Uuid),
}

/// What an operation acts on, as far as authorization cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Nothing narrower than the tenant.
    Tenant,
    Environment(Uuid),
    Application {
        environment: Uuid,
        application: Uuid,
    },
    /// An environment role (assignments without an application).
    EnvironmentRole(Uuid),
    User(Uuid),
}

/// Where a refused privilege was needed, for the problem body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub privilege: Privilege,
    /// `tenant`, `environment:<id>` or `application:<id>`.
    pub scope: String,
}

/// Which of a tenant's environments an operation may show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visible {
    All,
    Only(Vec<Uuid>),
}

impl Visible {
    pub fn allows(&self, id: Uuid) -> bool {
        match self {
            Visible::All => true,
            Visible::Only(ids) => ids.contains(&id),
        }
    }
}

impl AdminContext {
    /// Checks the route's requirement against the target; refuses with 403
    /// `insufficient-privilege` naming what was missing where.
    pub fn authorize(&self, conn: &mut PgConnection, target: Target) -> Result<(), AdminError> {
        if self.requirement_is_tenant_wide() && self.authorized.get() {
            return Ok(());
        }
        self.authorized.set(true);
        let AdminPrincipal::User(user) = self.principal else {
            return Ok(());
        };
        let t = self.tenant_id;
        let tenant_wide = |conn: &mut PgConnection, p: Privilege| -> Result<(), AdminError> {
            let first = db::first_environment(conn, t)?;
            let held = match first {
                Some(env) => db::holds(conn, t, user, env, &[p.key()], None, &[])?,
                None => false,
            };
            self.grant(held, p, "tenant".into())
        };
        let in_environment =
            |conn: &mut PgConnection, p: Privilege, env: Uuid| -> Result<(), AdminError> {
                let held = db::holds(conn, t, user, env, &[p.key()], None, &[])?;
                self.grant(held, p, format!("environment:{env}"))
            };
        let on_application = |conn: &mut PgConnection,
                              app_p: Privilege,
                              env_p: Privilege,
                              env: Uuid,
                              app: Uuid|
         -> Result<(), AdminError> {
            let held = db::holds(
                conn,
                t,
                user,
                env,
                &[env_p.key()],
                Some(app),
                &[app_p.key()],
            )?;
            self.grant(held, app_p, format!("application:{app}"))
        };
        match (self.requirement, target) {
            (Requirement::Public | Requirement::Principal, _) => Ok(()),
            (Requirement::Tenant(p), _) => tenant_wide(conn, p),
            (Requirement::SelfOr(_), Target::User(u)) if u == user => Ok(()),
            (Requirement::SelfOr(p), _) => tenant_wide(conn, p),
            (
                Requirement::Environment(p),
                Target::Environment(env)
                | Target::EnvironmentRole(env)
                | Target::Application {
                    environment: env, ..
                },
            ) => in_environment(conn, p, env),
            (
                Requirement::Application {
                    application,
                    environment,
                },
                Target::Application {
                    environment: env,
                    application: app,
                },
            ) => on_application(conn, application, environment, env, app),
            (
                Requirement::Assignment,
                Target::Application {
                    environment,
                    application,
                },
            ) => on_application(
                conn,
                Privilege::ApplicationAccess,
                Privilege::ProjectAccessControl,
                environment,
                application,
            ),
            (Requirement::Assignment, _) => tenant_wide(conn, Privilege::Collaborators),
            (
                Requirement::Deploy,
                Target::Application {
                    environment,
                    application,
                },
            ) => on_application(
                conn,
                Privilege::Deploy,
                Privilege::ManageProjects,
                environment,
                application,
            ),
            (Requirement::Deploy, Target::Environment(env)) => {
                in_environment(conn, Privilege::CreateProjects, env)
            }
            (
                Requirement::ProjectVisible,
                Target::Application {
                    environment,
                    application,
                },
            ) => {
                let any_role = db::applications_with_role(conn, t, user)?.contains(&application);
                let managed = db::holds(
                    conn,
                    t,
                    user,
                    environment,
                    &[
                        Privilege::ProjectAccessControl.key(),
                        Privilege::ManageProjects.key(),
                    ],
                    None,
                    &[],
                )?;
                self.grant(
                    any_role || managed,
                    Privilege::ProjectAccessControl,
                    format!("application:{application}"),
                )
            }
            // A requirement that needs a narrower target than the operation named is a
            // mistake in the route's code: refuse rather than guess.
            (requirement, target) => Err(AdminError::Internal(format!(
                "requirement {requirement:?} cannot be checked against {target:?}"
            ))),
        }
    }

    /// Whether the requirement can be checked before the operation knows its target.
    pub fn requirement_is_tenant_wide(&self) -> bool {
        matches!(
            self.requirement,
            Requirement::Public | Requirement::Principal | Requirement::Tenant(_)
        )
    }

    fn grant(&self, held: bool, privilege: Privilege, scope: String) -> Result<(), AdminError> {
        if held {
            return Ok(());
        }
        crate::metrics::observe_admin_denied(self.operation, privilege.key());
        Err(AdminError::Forbidden(Denial { privilege, scope }))
    }

    /// Whether the route answers this principal anything at all: its tenant-wide privilege
    /// held, or its environment privilege held in some environment; routes whose answer is
    /// filtered otherwise (projects one sees) always answer.
    pub fn answers_somewhere(&self, conn: &mut PgConnection) -> Result<bool, AdminError> {
        let outcome = match self.requirement {
            Requirement::Environment(p) => {
                return Ok(self.environments_holding(conn, &[p])? != Visible::Only(Vec::new()))
            }
            _ if self.requirement_is_tenant_wide() => self.authorize(conn, Target::Tenant),
            _ => Ok(()),
        };
        match outcome {
            Ok(()) => Ok(true),
            Err(AdminError::Forbidden(_)) => Ok(false),
            Err(other) => Err(other),
        }
    }

    /// The environments in which the principal holds `privilege` (all of them for owners),
    /// for lists that show only what the principal may administer. Counts as the route's
    /// authorization: what is not visible is simply not listed.
    pub fn environments_holding(
        &self,
        conn: &mut PgConnection,
        privileges: &[Privilege],
    ) -> Result<Visible, AdminError> {
        self.authorized.set(true);
        match self.principal {
            AdminPrincipal::Owner => Ok(Visible::All),
            AdminPrincipal::User(user) => {
                let keys: Vec<&str> = privileges.iter().map(|p| p.key()).collect();
                Ok(Visible::Only(db::environments_holding(
                    conn,
                    self.tenant_id,
                    user,
                    &keys,
                )?))
            }
        }
    }

    /// The applications the principal holds a role on (`None` for owners: everything).
    pub fn applications_with_role(
        &self,
        conn: &mut PgConnection,
    ) -> Result<Option<Vec<Uuid>>, AdminError> {
        match self.principal {
            AdminPrincipal::Owner => Ok(None),
            AdminPrincipal::User(user) => Ok(Some(db::applications_with_role(
                conn,
                self.tenant_id,
                user,
            )?)),
        }
    }

    /// The user acting, when the principal is one.
    pub fn user_id(&self) -> Option<Uuid> {
        match self.principal {
            AdminPrincipal::Owner => None,
            AdminPrincipal::User(u) => Some(u),
        }
    }

    /// Fails when the operation never checked its requirement (a bug, never a client's
    /// fault): the answer is withheld rather than given unchecked.
    pub fn ensure_authorized(&self) -> Result<(), AdminError> {
        if self.authorized.get() {
            Ok(())
        } else {
            Err(AdminError::Internal(format!(
                "{} answered without checking its requirement",
                self.operation
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(requirement: Requirement) -> AdminContext {
        AdminContext::for_route(
            Uuid::nil(),
            "test".into(),
            AdminPrincipal::Owner,
            requirement,
            "GET /admin/v1/test",
        )
    }

    #[test]
    fn an_answer_without_a_check_is_withheld() {
        let ctx = context(Requirement::Environment(Privilege::UsersAndGroups));
        assert!(matches!(
            ctx.ensure_authorized(),
            Err(AdminError::Internal(_))
        ));
    }

    #[test]
    fn privileges_show_as_their_catalogue_keys() {
        assert_eq!(
            Privilege::Collaborators.to_string(),
            "workspace_access.collaborators.full_access"
        );
        let denied = AdminError::Forbidden(Denial {
            privilege: Privilege::CreateProjects,
            scope: "tenant".into(),
        });
        assert!(denied
            .to_string()
            .contains("project_management.manage_projects.create"));
    }

    #[test]
    fn requirements_describe_the_privilege_and_where() {
        assert_eq!(
            Requirement::Tenant(Privilege::ActivityAudit).describe(),
            json!({"privilege": "environment_settings.activity_audit.full_access", "scope": "tenant"})
        );
        assert_eq!(
            PROJECT_ACCESS.describe()["any_of"][0]["privilege"],
            "application.access.manage"
        );
        assert_eq!(Requirement::Public.describe()["scope"], "public");
    }
}
