//! Rows of `webhooks` (subscriptions, with their feed position and delivery lease) and
//! `webhook_deliveries` (every attempt).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Integer, Text};
use uuid::Uuid;

use super::schema::{webhook_deliveries, webhooks};

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = webhooks)]
pub struct WebhookRow {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub url: String,
    pub event_types: Vec<Option<String>>,
    pub created_at: DateTime<Utc>,
    pub position_txid: i64,
    pub position_id: i64,
    pub attempts: i32,
    pub failing_since: Option<DateTime<Utc>>,
    pub next_attempt_at: DateTime<Utc>,
    pub leased_by: Option<String>,
    pub leased_until: Option<DateTime<Utc>>,
}

impl WebhookRow {
    pub fn types(&self) -> Vec<String> {
        self.event_types.iter().flatten().cloned().collect()
    }
}

/// A new webhook; it starts after every event already committed (by its creating
/// transaction's id: later transactions' events are ahead of it).
pub fn insert(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    url: &str,
    event_types: &[String],
) -> QueryResult<WebhookRow> {
    diesel::sql_query(
        "INSERT INTO webhooks (tenant_id, id, url, event_types, position_txid) \
         VALUES ($1, gen_random_uuid(), $2, $3, pg_current_xact_id()::text::bigint) \
         RETURNING *",
    )
    .bind::<diesel::sql_types::Uuid, _>(tenant_id)
    .bind::<Text, _>(url)
    .bind::<diesel::sql_types::Array<Text>, _>(event_types)
    .get_result(conn)
}

pub fn list(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<Vec<WebhookRow>> {
    webhooks::table
        .filter(webhooks::tenant_id.eq(tenant_id))
        .order((webhooks::created_at, webhooks::id))
        .select(WebhookRow::as_select())
        .load(conn)
}

pub fn find(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<WebhookRow> {
    webhooks::table
        .find((tenant_id, id))
        .select(WebhookRow::as_select())
        .first(conn)
}

pub fn delete(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<usize> {
    diesel::delete(webhooks::table.find((tenant_id, id))).execute(conn)
}

/// Leases up to `limit` webhooks that are due and not leased by a live node, for `lease`.
/// Rows another node is claiming at this moment are skipped, never waited for.
pub fn claim_due(
    conn: &mut PgConnection,
    node: &str,
    lease: std::time::Duration,
    limit: i32,
) -> QueryResult<Vec<WebhookRow>> {
    diesel::sql_query(
        "UPDATE webhooks w SET leased_by = $1, leased_until = now() + make_interval(secs => $2) \
         FROM (SELECT tenant_id, id FROM webhooks \
               WHERE next_attempt_at <= now() AND (leased_until IS NULL OR leased_until < now()) \
               ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) due \
         WHERE w.tenant_id = due.tenant_id AND w.id = due.id \
         RETURNING w.*",
    )
    .bind::<Text, _>(node)
    .bind::<Integer, _>(i32::try_from(lease.as_secs()).unwrap_or(i32::MAX))
    .bind::<Integer, _>(limit)
    .load(conn)
}

/// Where a webhook stands after an attempt (or after finding nothing to send).
#[derive(Debug, Clone)]
pub struct Progress {
    pub position: (i64, i64),
    pub attempts: i32,
    pub failing_since: Option<DateTime<Utc>>,
    pub next_attempt_at: DateTime<Utc>,
    /// Keep the lease (more to send now) or give it up.
    pub keep_lease: Option<std::time::Duration>,
}

/// Records progress if this node still holds the lease; false when it was lost (another
/// node has taken over, and this node stops).
pub fn record_progress(
    conn: &mut PgConnection,
    hook: &WebhookRow,
    node: &str,
    progress: &Progress,
) -> QueryResult<bool> {
    let lease_secs = progress.keep_lease.map(|d| d.as_secs_f64());
    let updated = diesel::sql_query(
        "UPDATE webhooks SET position_txid = $4, position_id = $5, attempts = $6, \
             failing_since = $7, next_attempt_at = $8, \
             leased_until = CASE WHEN $9::float8 IS NULL THEN NULL \
                                 ELSE now() + make_interval(secs => $9::float8) END, \
             leased_by = CASE WHEN $9::float8 IS NULL THEN NULL ELSE leased_by END \
         WHERE tenant_id = $1 AND id = $2 AND leased_by = $3 AND leased_until >= now()",
    )
    .bind::<diesel::sql_types::Uuid, _>(hook.tenant_id)
    .bind::<diesel::sql_types::Uuid, _>(hook.id)
    .bind::<Text, _>(node)
    .bind::<diesel::sql_types::BigInt, _>(progress.position.0)
    .bind::<diesel::sql_types::BigInt, _>(progress.position.1)
    .bind::<Integer, _>(progress.attempts)
    .bind::<diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>, _>(progress.failing_since)
    .bind::<diesel::sql_types::Timestamptz, _>(progress.next_attempt_at)
    .bind::<diesel::sql_types::Nullable<diesel::sql_types::Double>, _>(lease_secs)
    .execute(conn)?;
    Ok(updated == 1)
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = webhook_deliveries)]
pub struct NewDelivery<'a> {
    pub tenant_id: Uuid,
    pub webhook_id: Uuid,
    pub event_id: i64,
    pub attempt: i32,
    pub outcome: &'a str,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub node: &'a str,
}

pub fn record_delivery(conn: &mut PgConnection, delivery: NewDelivery<'_>) -> QueryResult<()> {
    diesel::insert_into(webhook_deliveries::table)
        .values(delivery)
        .execute(conn)
        .map(|_| ())
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize, utoipa::ToSchema)]
#[diesel(table_name = webhook_deliveries)]
pub struct DeliveryRow {
    pub id: i64,
    pub event_id: i64,
    pub attempt: i32,
    /// `delivered`, `retrying` or `failed` (given up).
    pub outcome: String,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub node: String,
    pub created_at: DateTime<Utc>,
}

/// The webhook's attempts, newest first.
pub fn deliveries(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    webhook_id: Uuid,
    limit: i64,
) -> QueryResult<Vec<DeliveryRow>> {
    webhook_deliveries::table
        .filter(webhook_deliveries::tenant_id.eq(tenant_id))
        .filter(webhook_deliveries::webhook_id.eq(webhook_id))
        .order(webhook_deliveries::id.desc())
        .limit(limit)
        .select(DeliveryRow::as_select())
        .load(conn)
}

/// Deletes attempts older than `age`, up to `batch`.
pub fn prune_deliveries(
    conn: &mut PgConnection,
    age: std::time::Duration,
    batch: i64,
) -> QueryResult<usize> {
    diesel::sql_query(
        "DELETE FROM webhook_deliveries WHERE ctid = ANY (ARRAY( \
           SELECT ctid FROM webhook_deliveries WHERE created_at < now() - make_interval(secs => $1) \
           ORDER BY created_at LIMIT $2))",
    )
    .bind::<diesel::sql_types::Double, _>(age.as_secs_f64())
    .bind::<diesel::sql_types::BigInt, _>(batch)
    .execute(conn)
}
