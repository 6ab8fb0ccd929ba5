use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::Value;
use uuid::Uuid;

use super::schema::audit_log;

/// One mutation, as appended to the audit log in the transaction that made it.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = audit_log)]
pub struct NewAuditEntry<'a> {
    pub tenant_id: Uuid,
    pub actor: &'a str,
    pub resource_type: &'a str,
    pub resource_id: String,
    pub operation: &'a str,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = audit_log)]
pub struct AuditEntry {
    pub tenant_id: Uuid,
    pub id: i64,
    pub actor: String,
    pub resource_type: String,
    pub resource_id: String,
    pub operation: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub created_at: DateTime<Utc>,
}

pub fn append(conn: &mut PgConnection, entry: NewAuditEntry<'_>) -> QueryResult<()> {
    diesel::insert_into(audit_log::table)
        .values(entry)
        .execute(conn)
        .map(|_| ())
}

pub fn list(conn: &mut PgConnection, tenant_id: Uuid, limit: i64) -> QueryResult<Vec<AuditEntry>> {
    audit_log::table
        .filter(audit_log::tenant_id.eq(tenant_id))
        .order(audit_log::id.desc())
        .limit(limit)
        .select(AuditEntry::as_select())
        .load(conn)
}
