use diesel::prelude::*;
use serde_json::json;

use crate::db::audit::{self, NewAuditEntry};
use crate::db::tenants::{self, Tenant};

/// Creates a tenant, recording it in its own audit log.
pub fn create(conn: &mut PgConnection, name: &str, actor: &str) -> QueryResult<Tenant> {
    conn.transaction(|conn| {
        let tenant = tenants::insert(conn, name)?;
        audit::append(
            conn,
            NewAuditEntry {
                tenant_id: tenant.id,
                actor,
                resource_type: "Tenant",
                resource_id: tenant.id.to_string(),
                operation: "create",
                before: None,
                after: Some(json!({"id": tenant.id, "name": tenant.name})),
            },
        )?;
        Ok(tenant)
    })
}
