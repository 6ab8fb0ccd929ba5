//! Applications (projects, apps): they live in one environment and own application roles.
//! Whoever creates one becomes its Project admin.

use crate::access::Rule;
use diesel::prelude::*;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::authorization::{Privilege, Target};
use super::effective::{Pending, Scope, Users};
use super::{valid_description, valid_name, AdminContext};
use crate::db::applications::{self, Application};
use crate::db::moderators::Reach;
use crate::db::{assignments, environments, roles};
use crate::error::AdminError;

/// The system role a creator receives on the application.
pub const CREATOR_ROLE: &str = "project_admin";

#[derive(utoipa::ToSchema, Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[schema(as = ApplicationCreate)]
pub struct CreateInput {
    pub environment_id: Uuid,
    pub name: String,
    #[serde(default)]
    pub description: String,
}

#[derive(utoipa::ToSchema, Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[schema(as = ApplicationUpdate)]
pub struct UpdateInput {
    pub name: Option<String>,
    pub description: Option<String>,
    /// Present only to be refused: an application stays in its environment.
    pub environment_id: Option<Uuid>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub environment_id: Option<Uuid>,
}

pub fn list(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    query: &ListQuery,
) -> Result<Vec<Application>, AdminError> {
    // Holders of project access control or full management see every project of their
    // environments; everyone else only the projects they hold a role on.
    let managed = ctx.environments_holding(
        conn,
        &[Privilege::ProjectAccessControl, Privilege::ManageProjects],
    )?;
    let with_role = ctx.applications_with_role(conn)?;
    let mut apps = applications::list(conn, ctx.tenant_id, query.environment_id)?;
    if let Some(with_role) = with_role {
        apps.retain(|a| managed.allows(a.environment_id) || with_role.contains(&a.id));
    }
    Ok(apps)
}

fn target(app: &Application) -> Target {
    Target::Application {
        environment: app.environment_id,
        application: app.id,
    }
}

pub fn get(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    id: Uuid,
) -> Result<Application, AdminError> {
    let app = applications::find(conn, ctx.tenant_id, id)?;
    ctx.authorize(conn, target(&app))?;
    Ok(app)
}

pub fn create(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    pending: &mut Pending,
    input: &CreateInput,
) -> Result<Application, AdminError> {
    let name = valid_name(&input.name, "application")?;
    let description = valid_description(&input.description)?;
    environments::find(conn, ctx.tenant_id, input.environment_id).map_err(|_| {
        AdminError::BadRequest(format!(
            "{} is not an environment of this tenant",
            input.environment_id
        ))
    })?;
    ctx.authorize(conn, Target::Environment(input.environment_id))?;
    let app = applications::insert(
        conn,
        ctx.tenant_id,
        input.environment_id,
        &name,
        &description,
    )?;
    let mut creator_assignment = None;
    if let Some(creator) = ctx.user_id() {
        let role = roles::find_system(conn, ctx.tenant_id, CREATOR_ROLE)?;
        let assignment = assignments::insert(
            conn,
            ctx.tenant_id,
            &assignments::NewAssignment {
                role_id: role.id,
                environment_id: app.environment_id,
                application_id: Some(app.id),
                principal: assignments::Principal::User(creator),
            },
        )?;
        creator_assignment = Some(assignment.id);
        pending.mark(conn, Users::Ids(&[creator]), Scope::application(app.id))?;
    }
    // A managed workspace's moderators hold their project role here too (after the
    // creator's assignment, which becomes theirs when it is the same role).
    super::workspaces::moderators_follow(conn, ctx, pending, Reach::Application(app.id))?;
    ctx.record(
        conn,
        "Application",
        app.id,
        "create",
        None,
        Some(json!({"application": app, "creator_assignment": creator_assignment})),
    )?;
    Ok(app)
}

pub fn update(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    _pending: &mut Pending,
    id: Uuid,
    input: &UpdateInput,
) -> Result<Application, AdminError> {
    let before = applications::find(conn, ctx.tenant_id, id)?;
    ctx.authorize(conn, target(&before))?;
    if input
        .environment_id
        .is_some_and(|e| e != before.environment_id)
    {
        return Err(AdminError::Rule(
            Rule::EnvironmentFixed,
            "an application stays in the environment it was created in".into(),
        ));
    }
    let name = input
        .name
        .as_deref()
        .map(|n| valid_name(n, "application"))
        .transpose()?;
    let description = input
        .description
        .as_deref()
        .map(valid_description)
        .transpose()?;
    let after = applications::update(
        conn,
        ctx.tenant_id,
        id,
        name.as_deref().unwrap_or(&before.name),
        description.as_deref().unwrap_or(&before.description),
    )?;
    ctx.record(
        conn,
        "Application",
        id,
        "update",
        Some(json!(before)),
        Some(json!(after)),
    )?;
    Ok(after)
}

/// Deletes an application; its assignments and the roles they granted go with it.
pub fn delete(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    pending: &mut Pending,
    id: Uuid,
) -> Result<(), AdminError> {
    let before = applications::find(conn, ctx.tenant_id, id)?;
    ctx.authorize(conn, target(&before))?;
    // Only for the dry run's report: every holder loses everything on the application.
    pending.mark(conn, Users::All, Scope::application(id))?;
    applications::delete(conn, ctx.tenant_id, id)?;
    ctx.record(conn, "Application", id, "delete", Some(json!(before)), None)?;
    Ok(())
}
