use diesel::prelude::*;
use serde_json::json;

use crate::db::audit::{self, NewAuditEntry};
use crate::db::tenants::{self, Tenant};

/// The environment every new tenant starts with.
pub const DEFAULT_ENVIRONMENT: &str = "Production";

/// Creates a tenant with its default environment, recording it in its own audit log.
pub fn create(conn: &mut PgConnection, name: &str, actor: &str) -> QueryResult<Tenant> {
    create_in(conn, name, None, actor)
}

/// Why a managed workspace cannot be created under a tenant.
#[derive(Debug, thiserror::Error)]
pub enum ParentError {
    #[error("no tenant {0}")]
    NotFound(uuid::Uuid),
    #[error("tenant {0} is itself a managed workspace; workspaces are one level deep")]
    Nested(uuid::Uuid),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// Creates a managed workspace of `parent`, with a copy of each of the parent's
/// inheritable roles.
pub fn create_managed(
    conn: &mut PgConnection,
    name: &str,
    parent: uuid::Uuid,
    actor: &str,
) -> Result<Tenant, ParentError> {
    conn.transaction(|conn| {
        // Under the parent's lock, so that no change to its inheritable roles runs between
        // reading them here and this workspace becoming visible to the parent.
        crate::access::effective::lock_tenant(conn, parent)?;
        let found = tenants::find(conn, parent)
            .optional()?
            .ok_or(ParentError::NotFound(parent))?;
        if found.parent_id.is_some() {
            return Err(ParentError::Nested(parent));
        }
        let tenant = create_in(conn, name, Some(parent), actor)?;
        crate::access::workspaces::inherit_roles(conn, parent, tenant.id, actor)?;
        audit::append(
            conn,
            NewAuditEntry {
                tenant_id: parent,
                actor,
                resource_type: "Workspace",
                resource_id: tenant.id.to_string(),
                operation: "create",
                before: None,
                after: Some(json!({"id": tenant.id, "name": tenant.name})),
            },
        )?;
        Ok(tenant)
    })
}

fn create_in(
    conn: &mut PgConnection,
    name: &str,
    parent: Option<uuid::Uuid>,
    actor: &str,
) -> QueryResult<Tenant> {
    conn.transaction(|conn| {
        let tenant = tenants::insert(conn, name, parent)?;
        // A tenant always has at least one environment.
        let environment = crate::db::environments::insert(conn, tenant.id, DEFAULT_ENVIRONMENT, 1)?;
        audit::append(
            conn,
            NewAuditEntry {
                tenant_id: tenant.id,
                actor,
                resource_type: "Tenant",
                resource_id: tenant.id.to_string(),
                operation: "create",
                before: None,
                after: Some(json!({"id": tenant.id, "name": tenant.name, "parent_id": tenant.parent_id, "environments": [environment.name]})),
            },
        )?;
        Ok(tenant)
    })
}
