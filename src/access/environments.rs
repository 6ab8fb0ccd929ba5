//! Environments: ordered stages of a tenant (Development, Testing, Production, …).

use diesel::prelude::*;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::AdminContext;
use crate::db::audit::{self, NewAuditEntry};
use crate::db::environments::{self, Environment};
use crate::error::AdminError;

const MAX_NAME: usize = 100;

#[derive(utoipa::ToSchema, Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentInput {
    pub name: Option<String>,
    pub position: Option<i32>,
}

fn valid_name(name: &str) -> Result<String, AdminError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(AdminError::BadRequest(format!(
            "an environment name has 1 to {MAX_NAME} characters"
        )));
    }
    Ok(name.to_string())
}

fn audit_entry<'a>(
    ctx: &'a AdminContext,
    id: Uuid,
    operation: &'static str,
    before: Option<&Environment>,
    after: Option<&Environment>,
) -> NewAuditEntry<'a> {
    NewAuditEntry {
        tenant_id: ctx.tenant_id,
        actor: &ctx.actor,
        resource_type: "Environment",
        resource_id: id.to_string(),
        operation,
        before: before.map(|e| json!(e)),
        after: after.map(|e| json!(e)),
    }
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
    input: &EnvironmentInput,
) -> Result<Environment, AdminError> {
    let name = valid_name(input.name.as_deref().unwrap_or_default())?;
    conn.transaction(|conn| {
        let position = match input.position {
            Some(p) => p,
            None => environments::next_position(conn, ctx.tenant_id)?,
        };
        let created = environments::insert(conn, ctx.tenant_id, &name, position)?;
        audit::append(
            conn,
            audit_entry(ctx, created.id, "create", None, Some(&created)),
        )?;
        Ok(created)
    })
}

/// Renames or reorders an environment; its identity (and what belongs to it) stays.
pub fn update(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    id: Uuid,
    input: &EnvironmentInput,
) -> Result<Environment, AdminError> {
    let name = input.name.as_deref().map(valid_name).transpose()?;
    conn.transaction(|conn| {
        let before = environments::find_for_update(conn, ctx.tenant_id, id)?;
        let after = environments::update(
            conn,
            ctx.tenant_id,
            id,
            name.as_deref().unwrap_or(&before.name),
            input.position.unwrap_or(before.position),
        )?;
        audit::append(
            conn,
            audit_entry(ctx, id, "update", Some(&before), Some(&after)),
        )?;
        Ok(after)
    })
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
            "last-environment",
            "a tenant keeps at least one environment".into(),
        ));
    }
    audit::append(conn, audit_entry(ctx, id, "delete", Some(&before), None))?;
    Ok(())
}
