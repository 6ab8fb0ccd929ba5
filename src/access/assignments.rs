//! Assignments: a principal receives a role in an environment or on one application.
//!
//! Rules (each refused with its own problem type):
//! - the role's scope matches: environment roles without an application, application roles
//!   with one (`role-scope-mismatch`);
//! - environment roles go to individual users only (`environment-role-to-user-only`), one
//!   per user per environment (`one-environment-role`);
//! - "everyone else" applies to an application only (`environment-role-to-user-only`), with
//!   one default role per application (`one-everyone-else`);
//! - an end-user group receives roles only on applications of its own environment
//!   (`cross-environment`);
//! - the principal, role and application belong to the tenant (`unknown-reference`).

use crate::access::Rule;
use diesel::prelude::*;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::authorization::Target;
use super::effective::{Pending, Scope, Users};
use super::AdminContext;
use crate::db::assignments::{self, Assignment, AssignmentFilter, NewAssignment, Principal};
use crate::db::{applications, collaborator_groups, end_user_groups, environments, roles, users};
use crate::error::AdminError;

#[derive(utoipa::ToSchema, Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[schema(as = AssignmentCreate)]
pub struct CreateInput {
    pub principal: Principal,
    pub role_id: Uuid,
    /// Required for an environment role; for an application role it is the application's.
    pub environment_id: Option<Uuid>,
    pub application_id: Option<Uuid>,
}

#[derive(utoipa::ToSchema, Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[schema(as = AssignmentUpdate)]
pub struct UpdateInput {
    pub role_id: Uuid,
}

fn unknown(what: &str, id: Uuid) -> AdminError {
    AdminError::Unprocessable(
        "unknown-reference",
        format!("{id} is not {what} of this tenant"),
    )
}

/// What an assignment acts on, for the route's requirement: project access for application
/// roles, the tenant's collaborators for environment roles.
fn target(environment_id: Uuid, application_id: Option<Uuid>) -> Target {
    match application_id {
        Some(application) => Target::Application {
            environment: environment_id,
            application,
        },
        None => Target::EnvironmentRole(environment_id),
    }
}

/// Marks everyone an assignment of `principal` in this environment or application can
/// reach, in its scope (before the assignment changes).
fn mark(
    conn: &mut PgConnection,
    pending: &mut Pending,
    principal: Principal,
    environment_id: Uuid,
    application_id: Option<Uuid>,
) -> QueryResult<()> {
    let scope = match application_id {
        Some(app) => Scope::application(app),
        None => Scope::Environment(environment_id),
    };
    let ids;
    let users = match principal {
        Principal::User(u) => {
            ids = [u];
            Users::Ids(&ids)
        }
        Principal::EndUserGroup(g) => Users::EndUserGroupReach(g),
        Principal::CollaboratorGroup(g) => Users::CollaboratorGroupMembers(g),
        Principal::EveryoneElse => Users::All,
    };
    pending.mark(conn, users, scope)
}

/// Checks that the role fits the principal and scope; returns the assignment to create.
fn validate(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    principal: Principal,
    role_id: Uuid,
    environment_id: Option<Uuid>,
    application_id: Option<Uuid>,
) -> Result<NewAssignment, AdminError> {
    let t = ctx.tenant_id;
    let role = roles::find(conn, t, role_id).map_err(|_| unknown("a role", role_id))?;
    let environment_id = match application_id {
        Some(app) => {
            let app =
                applications::find(conn, t, app).map_err(|_| unknown("an application", app))?;
            if environment_id.is_some_and(|e| e != app.environment_id) {
                return Err(AdminError::Unprocessable(
                    "cross-environment",
                    "the application belongs to another environment".into(),
                ));
            }
            app.environment_id
        }
        None => {
            let env = environment_id.ok_or_else(|| {
                AdminError::BadRequest(
                    "give environment_id for an environment role, or application_id".into(),
                )
            })?;
            environments::find(conn, t, env).map_err(|_| unknown("an environment", env))?;
            env
        }
    };
    match (role.scope.as_str(), application_id) {
        ("environment", Some(_)) => {
            return Err(AdminError::Unprocessable(
                "role-scope-mismatch",
                format!(
                    "{} is an environment role; assign it without an application",
                    role.name
                ),
            ))
        }
        ("application", None) => {
            return Err(AdminError::Unprocessable(
                "role-scope-mismatch",
                format!(
                    "{} is an application role; give the application it applies to",
                    role.name
                ),
            ))
        }
        _ => {}
    }
    if application_id.is_none() && !matches!(principal, Principal::User(_)) {
        return Err(AdminError::Unprocessable(
            "environment-role-to-user-only",
            "environment roles are assigned to individual users only, not to groups or everyone else"
                .into(),
        ));
    }
    match principal {
        Principal::User(u) => {
            users::find(conn, t, u).map_err(|_| unknown("a user", u))?;
        }
        Principal::EndUserGroup(g) => {
            let group =
                end_user_groups::find(conn, t, g).map_err(|_| unknown("an end-user group", g))?;
            if group.environment_id != environment_id {
                return Err(AdminError::Unprocessable(
                    "cross-environment",
                    "an end-user group receives roles only on applications of its own environment"
                        .into(),
                ));
            }
        }
        Principal::CollaboratorGroup(g) => {
            collaborator_groups::find(conn, t, g)
                .map_err(|_| unknown("a collaborator group", g))?;
        }
        Principal::EveryoneElse => {}
    }
    Ok(NewAssignment {
        role_id,
        environment_id,
        application_id,
        principal,
    })
}

pub fn list(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    filter: &AssignmentFilter,
) -> Result<Vec<Assignment>, AdminError> {
    match filter.application_id {
        Some(app) => {
            let app = applications::find(conn, ctx.tenant_id, app)?;
            ctx.authorize(conn, target(app.environment_id, Some(app.id)))?;
        }
        None => ctx.authorize(conn, Target::Tenant)?,
    }
    Ok(assignments::list(conn, ctx.tenant_id, filter)?)
}

pub fn get(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    id: Uuid,
) -> Result<Assignment, AdminError> {
    let found = assignments::find(conn, ctx.tenant_id, id)?;
    ctx.authorize(conn, target(found.environment_id, found.application_id))?;
    Ok(found)
}

pub fn create(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    pending: &mut Pending,
    input: &CreateInput,
) -> Result<Assignment, AdminError> {
    let new = validate(
        conn,
        ctx,
        input.principal,
        input.role_id,
        input.environment_id,
        input.application_id,
    )?;
    ctx.authorize(conn, target(new.environment_id, new.application_id))?;
    match (new.principal, new.application_id) {
        (Principal::User(u), None)
            if assignments::environment_role_of(conn, ctx.tenant_id, u, new.environment_id)?
                .is_some() =>
        {
            return Err(AdminError::Rule(
                Rule::OneEnvironmentRole,
                "the user already has an environment role in this environment; change that \
                 assignment's role instead"
                    .into(),
            ));
        }
        (Principal::EveryoneElse, Some(app))
            if assignments::everyone_else_of(conn, ctx.tenant_id, app)?.is_some() =>
        {
            return Err(AdminError::Rule(
                Rule::OneEveryoneElse,
                "the application already has a default role for everyone else; change that \
                 assignment's role instead"
                    .into(),
            ));
        }
        _ => {}
    }
    mark(
        conn,
        pending,
        new.principal,
        new.environment_id,
        new.application_id,
    )?;
    let created = assignments::insert(conn, ctx.tenant_id, &new)?;
    ctx.record(
        conn,
        "Assignment",
        created.id,
        "create",
        None,
        Some(json!(created)),
    )?;
    Ok(created)
}

/// Gives an assignment another role of the same scope.
pub fn update(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    pending: &mut Pending,
    id: Uuid,
    input: &UpdateInput,
) -> Result<Assignment, AdminError> {
    let before = assignments::find(conn, ctx.tenant_id, id)?;
    ctx.authorize(conn, target(before.environment_id, before.application_id))?;
    refuse_moderator_assignment(&before)?;
    validate(
        conn,
        ctx,
        before.principal,
        input.role_id,
        Some(before.environment_id),
        before.application_id,
    )?;
    mark(
        conn,
        pending,
        before.principal,
        before.environment_id,
        before.application_id,
    )?;
    let after = assignments::set_role(conn, ctx.tenant_id, id, input.role_id)?;
    ctx.record(
        conn,
        "Assignment",
        id,
        "update",
        Some(json!(before)),
        Some(json!(after)),
    )?;
    Ok(after)
}

pub fn delete(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    pending: &mut Pending,
    id: Uuid,
) -> Result<(), AdminError> {
    let before = assignments::find(conn, ctx.tenant_id, id)?;
    ctx.authorize(conn, target(before.environment_id, before.application_id))?;
    refuse_moderator_assignment(&before)?;
    mark(
        conn,
        pending,
        before.principal,
        before.environment_id,
        before.application_id,
    )?;
    assignments::delete(conn, ctx.tenant_id, id)?;
    ctx.record(conn, "Assignment", id, "delete", Some(json!(before)), None)?;
    Ok(())
}

/// A moderator's assignments change only with the moderator (the parent tenant's routes).
fn refuse_moderator_assignment(assignment: &Assignment) -> Result<(), AdminError> {
    if assignment.moderator {
        return Err(AdminError::Rule(
            Rule::ModeratorAssignmentManaged,
            "this assignment belongs to a moderator of the workspace; the parent tenant changes it"
                .into(),
        ));
    }
    Ok(())
}

/// Sets a user's one environment role in an environment, replacing any other.
pub fn set_environment_role(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    pending: &mut Pending,
    user_id: Uuid,
    environment_id: Uuid,
    role_id: Uuid,
) -> Result<Assignment, AdminError> {
    match assignments::environment_role_of(conn, ctx.tenant_id, user_id, environment_id)? {
        Some(existing) => update(conn, ctx, pending, existing.id, &UpdateInput { role_id }),
        None => create(
            conn,
            ctx,
            pending,
            &CreateInput {
                principal: Principal::User(user_id),
                role_id,
                environment_id: Some(environment_id),
                application_id: None,
            },
        ),
    }
}

/// An application's assignments with names, for the console (the same check as the
/// assignment list of an application).
pub fn named_access(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    application_id: Uuid,
) -> Result<Vec<assignments::NamedAccess>, AdminError> {
    let app = applications::find(conn, ctx.tenant_id, application_id)?;
    ctx.authorize(conn, target(app.environment_id, Some(app.id)))?;
    Ok(assignments::named_access_of_application(
        conn,
        ctx.tenant_id,
        application_id,
    )?)
}

/// The user with this userName, for a form that names one.
pub fn user_named(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    user_name: &str,
) -> Result<Uuid, AdminError> {
    users::find_by_user_name(conn, ctx.tenant_id, user_name.trim()).map_err(|e| match e {
        diesel::result::Error::NotFound => {
            AdminError::BadRequest(format!("no user named {:?}", user_name.trim()))
        }
        other => other.into(),
    })
}
