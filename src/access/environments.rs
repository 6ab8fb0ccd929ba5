//! Environments: ordered stages of a tenant (Development, Testing, Production, …).

use crate::access::Rule;
use diesel::prelude::*;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::effective::Pending;
use super::{valid_name, AdminContext};
use crate::db::environments::{self, Environment};
use crate::db::moderators::Reach;
use crate::error::AdminError;

#[derive(utoipa::ToSchema, Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentInput {
    pub name: Option<String>,
    pub position: Option<i32>,
}

fn record(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    id: Uuid,
    operation: &str,
    before: Option<&Environment>,
    after: Option<&Environment>,
) -> QueryResult<()> {
    ctx.record(
        conn,
        "Environment",
        id,
        operation,
        before.map(|e| json!(e)),
        after.map(|e| json!(e)),
    )
}

pub fn list(conn: &mut PgConnection, ctx: &AdminContext) -> Result<Vec<Environment>, AdminError> {
    Ok(environments::list(conn, ctx.tenant_id)?)
}

pub fn get(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    id: Uuid,
) -> Result<Environment, AdminError> {
    Ok(environments::find(conn, ctx.tenant_id, id)?)
}

pub fn create(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    pending: &mut Pending,
    input: &EnvironmentInput,
) -> Result<Environment, AdminError> {
    let name = valid_name(input.name.as_deref().unwrap_or_default(), "environment")?;
    let position = match input.position {
        Some(p) => p,
        None => environments::next_position(conn, ctx.tenant_id)?,
    };
    let created = environments::insert(conn, ctx.tenant_id, &name, position)?;
    // A managed workspace's moderators hold their environment role here too.
    super::workspaces::moderators_follow(conn, ctx, pending, Reach::Environment(created.id))?;
    record(conn, ctx, created.id, "create", None, Some(&created))?;
    Ok(created)
}

/// Renames or reorders an environment; its identity (and what belongs to it) stays.
pub fn update(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    id: Uuid,
    input: &EnvironmentInput,
) -> Result<Environment, AdminError> {
    let name = input
        .name
        .as_deref()
        .map(|n| valid_name(n, "environment"))
        .transpose()?;
    let before = environments::find_for_update(conn, ctx.tenant_id, id)?;
    let after = environments::update(
        conn,
        ctx.tenant_id,
        id,
        name.as_deref().unwrap_or(&before.name),
        input.position.unwrap_or(before.position),
    )?;
    record(conn, ctx, id, "update", Some(&before), Some(&after))?;
    Ok(after)
}

/// Deletes an environment, unless it is the tenant's last one. Everything in it goes.
pub fn delete(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    pending: &mut super::effective::Pending,
    id: Uuid,
) -> Result<(), AdminError> {
    environments::lock_all(conn, ctx.tenant_id)?;
    let before = environments::find(conn, ctx.tenant_id, id)?;
    pending.mark(
        conn,
        super::effective::Users::All,
        super::effective::Scope::Environment(id),
    )?;
    let left = environments::delete(conn, ctx.tenant_id, id)?;
    if left == 0 {
        return Err(AdminError::Rule(
            Rule::LastEnvironment,
            "a tenant keeps at least one environment".into(),
        ));
    }
    record(conn, ctx, id, "delete", Some(&before), None)?;
    Ok(())
}
