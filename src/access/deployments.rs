//! Deploying a project to another environment, and the role suggestions it leaves
//! (Workato). The first deployment to an environment creates the project there, with the
//! deployer as its Project admin; later ones reuse the project of the same name. Either way
//! the source project's assignments are proposed for the target, to be accepted (they
//! become assignments, under every assignment rule) or rejected.

use crate::access::Rule;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::authorization::Target;
use super::effective::Pending;
use super::AdminContext;
use crate::db::applications::{self, Application};
use crate::db::assignments::Assignment;
use crate::db::environments;
use crate::db::role_suggestions::{self, Suggestion};
use crate::error::AdminError;

/// Suggestions one request may accept.
const MAX_ACCEPT: usize = 1000;

#[derive(utoipa::ToSchema, Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeployInput {
    /// The target environment.
    pub environment_id: Uuid,
}

#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct Deployment {
    /// The project in the target environment.
    pub application: Application,
    /// Whether this deployment created it.
    pub created: bool,
    /// Every suggestion waiting for the target project.
    pub suggestions: Vec<Suggestion>,
}

#[derive(utoipa::ToSchema, Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcceptInput {
    pub ids: Vec<Uuid>,
}

fn on(app: &Application) -> Target {
    Target::Application {
        environment: app.environment_id,
        application: app.id,
    }
}

pub fn deploy(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    pending: &mut Pending,
    source_id: Uuid,
    input: &DeployInput,
) -> Result<Deployment, AdminError> {
    let source = applications::find(conn, ctx.tenant_id, source_id)?;
    ctx.authorize(conn, on(&source))?;
    let environment = input.environment_id;
    if environment == source.environment_id {
        return Err(AdminError::Rule(
            Rule::DeploySameEnvironment,
            "a project is deployed to another environment than its own".into(),
        ));
    }
    environments::find(conn, ctx.tenant_id, environment).map_err(|_| {
        AdminError::Unprocessable(
            "unknown-reference",
            format!("{environment} is not an environment of this tenant"),
        )
    })?;
    let (target, created) =
        match applications::find_by_name(conn, ctx.tenant_id, environment, &source.name)? {
            Some(existing) => {
                ctx.authorize(conn, on(&existing))?;
                (existing, false)
            }
            // Creating it checks Create project in the target and makes the deployer its
            // Project admin, as creating any project does.
            None => (
                super::applications::create(
                    conn,
                    ctx,
                    pending,
                    &super::applications::CreateInput {
                        environment_id: environment,
                        name: source.name.clone(),
                        description: source.description.clone(),
                    },
                )?,
                true,
            ),
        };
    role_suggestions::propose(conn, ctx.tenant_id, source.id, target.id, environment)?;
    let suggestions = role_suggestions::list(conn, ctx.tenant_id, target.id)?;
    ctx.record(
        conn,
        "Application",
        target.id,
        "deploy",
        Some(json!({"source_application_id": source.id})),
        Some(json!({"application": target, "created": created, "suggestions": suggestions})),
    )?;
    Ok(Deployment {
        application: target,
        created,
        suggestions,
    })
}

fn target_application(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    id: Uuid,
) -> Result<Application, AdminError> {
    let app = applications::find(conn, ctx.tenant_id, id)?;
    ctx.authorize(conn, on(&app))?;
    Ok(app)
}

pub fn list(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    application_id: Uuid,
) -> Result<Vec<Suggestion>, AdminError> {
    let app = target_application(conn, ctx, application_id)?;
    Ok(role_suggestions::list(conn, ctx.tenant_id, app.id)?)
}

/// Turns the suggestions into assignments (all or none: one that breaks an assignment rule
/// refuses the request).
pub fn accept(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    pending: &mut Pending,
    application_id: Uuid,
    input: &AcceptInput,
) -> Result<Vec<Assignment>, AdminError> {
    let mut ids = input.ids.clone();
    ids.sort();
    ids.dedup();
    if ids.is_empty() || ids.len() > MAX_ACCEPT {
        return Err(AdminError::BadRequest(format!(
            "accept 1 to {MAX_ACCEPT} suggestions"
        )));
    }
    let app = target_application(conn, ctx, application_id)?;
    let taken = role_suggestions::take(conn, ctx.tenant_id, app.id, &ids)?;
    if taken.len() != ids.len() {
        let missing: Vec<String> = ids
            .iter()
            .filter(|id| !taken.iter().any(|s| s.id == **id))
            .map(Uuid::to_string)
            .collect();
        return Err(AdminError::Unprocessable(
            "unknown-reference",
            format!(
                "{} are not suggestions for this application",
                missing.join(", ")
            ),
        ));
    }
    let mut created = Vec::with_capacity(taken.len());
    for suggestion in taken {
        created.push(super::assignments::create(
            conn,
            ctx,
            pending,
            &super::assignments::CreateInput {
                principal: suggestion.principal,
                role_id: suggestion.role_id,
                environment_id: Some(app.environment_id),
                application_id: Some(app.id),
            },
        )?);
        ctx.record(
            conn,
            "RoleSuggestion",
            suggestion.id,
            "accept",
            Some(json!(suggestion)),
            None,
        )?;
    }
    Ok(created)
}

pub fn reject(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    application_id: Uuid,
    suggestion_id: Uuid,
) -> Result<(), AdminError> {
    let app = target_application(conn, ctx, application_id)?;
    let Some(suggestion) = role_suggestions::take(conn, ctx.tenant_id, app.id, &[suggestion_id])?
        .into_iter()
        .next()
    else {
        return Err(AdminError::NotFound(format!(
            "{suggestion_id} is not a suggestion for this application"
        )));
    };
    ctx.record(
        conn,
        "RoleSuggestion",
        suggestion.id,
        "reject",
        Some(json!(suggestion)),
        None,
    )?;
    Ok(())
}
