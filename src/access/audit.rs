//! Reading the audit log.

use chrono::{DateTime, Utc};
use diesel::PgConnection;
use serde::Deserialize;

use super::AdminContext;
use crate::db::audit::{self, AuditEntry, AuditFilter};
use crate::error::AdminError;

pub const MAX_LIMIT: i64 = 1000;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub operation: Option<String>,
    pub actor: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Entries older than this id (the `id` of the last entry of the previous page).
    pub before_id: Option<i64>,
    pub limit: Option<i64>,
}

/// The newest entries first.
pub fn search(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    query: &AuditQuery,
) -> Result<Vec<AuditEntry>, AdminError> {
    let limit = query.limit.unwrap_or(100);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(AdminError::BadRequest(format!(
            "limit is between 1 and {MAX_LIMIT}"
        )));
    }
    let filter = AuditFilter {
        resource_type: query.resource_type.as_deref(),
        resource_id: query.resource_id.as_deref(),
        operation: query.operation.as_deref(),
        actor: query.actor.as_deref(),
        since: query.since,
        until: query.until,
        before_id: query.before_id,
    };
    Ok(audit::search(conn, ctx.tenant_id, &filter, limit)?)
}
