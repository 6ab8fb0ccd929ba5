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

#[derive(utoipa::ToSchema, Debug, Clone, Queryable, Selectable, serde::Serialize)]
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

/// Appends many entries in few statements (a change that touches many things at once).
pub fn append_all(conn: &mut PgConnection, entries: &[NewAuditEntry<'_>]) -> QueryResult<()> {
    // Well below PostgreSQL's 65,535 bind parameters per statement.
    for chunk in entries.chunks(1000) {
        diesel::insert_into(audit_log::table)
            .values(chunk)
            .execute(conn)?;
    }
    Ok(())
}

/// Conditions on audit entries; `None` means any.
#[derive(Debug, Default)]
pub struct AuditFilter<'a> {
    pub resource_type: Option<&'a str>,
    pub resource_id: Option<&'a str>,
    pub operation: Option<&'a str>,
    pub actor: Option<&'a str>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub before_id: Option<i64>,
}

pub fn search(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    filter: &AuditFilter<'_>,
    limit: i64,
) -> QueryResult<Vec<AuditEntry>> {
    let mut query = audit_log::table
        .filter(audit_log::tenant_id.eq(tenant_id))
        .into_boxed();
    if let Some(v) = filter.resource_type {
        query = query.filter(audit_log::resource_type.eq(v));
    }
    if let Some(v) = filter.resource_id {
        query = query.filter(audit_log::resource_id.eq(v));
    }
    if let Some(v) = filter.operation {
        query = query.filter(audit_log::operation.eq(v));
    }
    if let Some(v) = filter.actor {
        query = query.filter(audit_log::actor.eq(v));
    }
    if let Some(v) = filter.since {
        query = query.filter(audit_log::created_at.ge(v));
    }
    if let Some(v) = filter.until {
        query = query.filter(audit_log::created_at.lt(v));
    }
    if let Some(v) = filter.before_id {
        query = query.filter(audit_log::id.lt(v));
    }
    query
        .order(audit_log::id.desc())
        .limit(limit)
        .select(AuditEntry::as_select())
        .load(conn)
}
