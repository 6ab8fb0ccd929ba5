//! The access model administered through the admin API: environments, applications,
//! privileges and roles, end-user and collaborator groups, assignments, group mappings,
//! users' access, and the effective roles they add up to.
//!
//! Every mutation runs through [`mutate`]: one transaction that takes the tenant's access
//! lock, applies the change, brings effective roles up to date, enforces the lockout rules,
//! and — for a dry run — reports who would gain and lose which roles, then rolls back.

pub mod applications;
pub mod assignments;
pub mod audit;
pub mod collaborator_groups;
pub mod effective;
pub mod end_user_groups;
pub mod environments;
pub mod group_mappings;
pub mod preview;
pub mod roles;
pub mod settings;
pub mod users;

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::db::audit::{self as audit_log, NewAuditEntry};
use crate::error::AdminError;
use effective::Pending;
pub use preview::Preview;

/// Who is acting through the admin API.
#[derive(Debug, Clone)]
pub struct AdminContext {
    pub tenant_id: Uuid,
    /// For the audit log: `admin-token:<id>`.
    pub actor: String,
    /// The person the admin token belongs to, when it is bound to one.
    pub user_id: Option<Uuid>,
}

impl AdminContext {
    /// Appends an audit entry for a mutation of this admin.
    pub fn record(
        &self,
        conn: &mut PgConnection,
        resource_type: &str,
        resource_id: impl ToString,
        operation: &str,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
    ) -> QueryResult<()> {
        audit_log::append(
            conn,
            NewAuditEntry {
                tenant_id: self.tenant_id,
                actor: &self.actor,
                resource_type,
                resource_id: resource_id.to_string(),
                operation,
                before,
                after,
            },
        )
    }
}

/// Query flags every admin mutation accepts.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct MutationOptions {
    /// Report who would gain and lose which roles, and change nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Allow a change that removes the acting admin's own admin access.
    #[serde(default)]
    pub confirm_self_lockout: bool,
}

/// The result of a mutation: applied, or previewed by a dry run.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Outcome<T> {
    Applied(T),
    Preview(Preview),
}

enum Abort {
    Preview(Preview),
    Failed(AdminError),
}

impl From<diesel::result::Error> for Abort {
    fn from(e: diesel::result::Error) -> Self {
        Abort::Failed(e.into())
    }
}

impl From<AdminError> for Abort {
    fn from(e: AdminError) -> Self {
        Abort::Failed(e)
    }
}

/// Runs one admin mutation (see the module documentation). `change` marks in `Pending`
/// whom it may affect.
pub fn mutate<T>(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    options: MutationOptions,
    cause: &'static str,
    change: impl FnOnce(&mut PgConnection, &mut Pending) -> Result<T, AdminError>,
) -> Result<Outcome<T>, AdminError> {
    let result = conn.transaction::<T, Abort, _>(|conn| {
        effective::lock_tenant(conn, ctx.tenant_id)?;
        let (had_admin, mine_before) =
            effective::admin_environments(conn, ctx.tenant_id, ctx.user_id)?;
        let mut pending = Pending::new(ctx.tenant_id, cause);
        let value = change(conn, &mut pending)?;
        let diff = effective::refresh(conn, &pending, options.dry_run)?;
        let (has_admin, mine_after) =
            effective::admin_environments(conn, ctx.tenant_id, ctx.user_id)?;
        if had_admin && !has_admin {
            return Err(AdminError::Rule(
                "last-admin",
                "this change would leave the tenant without anyone holding admin access".into(),
            )
            .into());
        }
        let lost: Vec<Uuid> = mine_before
            .iter()
            .filter(|e| !mine_after.contains(e))
            .copied()
            .collect();
        if !lost.is_empty() && !options.confirm_self_lockout {
            return Err(AdminError::Rule(
                "self-lockout",
                format!(
                    "this change removes your own admin access in environment(s) {}; \
                     repeat it with confirm_self_lockout=true to go ahead",
                    lost.iter()
                        .map(Uuid::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
            .into());
        }
        if options.dry_run {
            return Err(Abort::Preview(preview::describe(
                conn,
                ctx.tenant_id,
                diff,
            )?));
        }
        Ok(value)
    });
    match result {
        Ok(value) => Ok(Outcome::Applied(value)),
        Err(Abort::Preview(preview)) => Ok(Outcome::Preview(preview)),
        Err(Abort::Failed(e)) => Err(e),
    }
}

/// Checks a name's length after trimming; `what` names it in the error.
pub fn valid_name(name: &str, what: &str) -> Result<String, AdminError> {
    const MAX_NAME: usize = 100;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(AdminError::BadRequest(format!(
            "a {what} name has 1 to {MAX_NAME} characters"
        )));
    }
    Ok(name.to_string())
}

pub fn valid_description(description: &str) -> Result<String, AdminError> {
    const MAX_DESCRIPTION: usize = 1000;
    if description.chars().count() > MAX_DESCRIPTION {
        return Err(AdminError::BadRequest(format!(
            "a description has at most {MAX_DESCRIPTION} characters"
        )));
    }
    Ok(description.to_string())
}
