use diesel::prelude::*;
use serde_json::json;

use crate::db::audit::{self, NewAuditEntry};
use crate::db::tenants::{self, Tenant};

/// The environment every new tenant starts with.
pub const DEFAULT_ENVIRONMENT: &str = "Production";

/// Creates a tenant with its default environment, recording it in its own audit log.
pub fn create(conn: &mut PgConnection, name: &str, actor: &str) -> QueryResult<Tenant> {
    conn.transaction(|conn| {
        let tenant = tenants::insert(conn, name)?;
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
                after: Some(json!({"id": tenant.id, "name": tenant.name, "environments": [environment.name]})),
            },
        )?;
        Ok(tenant)
    })
}
