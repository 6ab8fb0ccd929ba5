//! Rows of the change-event outbox (`events`): written in the transaction of the change
//! they describe, read in commit-safe order by the feed, pruned by age.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{
    Array, BigInt, Interval, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid,
};
use serde_json::Value;
use uuid::Uuid;

use super::schema::events;

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = events)]
pub struct NewEventRow<'a> {
    pub tenant_id: Uuid,
    pub event_type: &'a str,
    pub actor: &'a str,
    pub subject_user_id: Option<Uuid>,
    pub subject_group_id: Option<Uuid>,
    pub data: Value,
}

pub fn insert(conn: &mut PgConnection, rows: &[NewEventRow<'_>]) -> QueryResult<usize> {
    let mut written = 0;
    // PostgreSQL takes at most 65535 parameters per statement.
    for chunk in rows.chunks(5_000) {
        written += diesel::insert_into(events::table)
            .values(chunk)
            .execute(conn)?;
    }
    Ok(written)
}

#[derive(Debug, Clone, QueryableByName)]
pub struct EventRow {
    #[diesel(sql_type = BigInt)]
    pub txid: i64,
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub event_type: String,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    pub actor: String,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub subject_user_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub subject_group_id: Option<Uuid>,
    #[diesel(sql_type = Jsonb)]
    pub data: Value,
}

/// The tenant's events after `(txid, id)` in feed order, only of transactions older than
/// every transaction still running (see the migration): one range of the primary key.
pub fn after(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    position: (i64, i64),
    types: Option<&[String]>,
    limit: i64,
) -> QueryResult<Vec<EventRow>> {
    diesel::sql_query(
        "SELECT txid, id, event_type, created_at, actor, subject_user_id, subject_group_id, data \
         FROM events \
         WHERE tenant_id = $1 AND (txid, id) > ($2, $3) \
           AND txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint \
           AND ($4::text[] IS NULL OR event_type = ANY ($4)) \
         ORDER BY txid, id \
         LIMIT $5",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<BigInt, _>(position.0)
    .bind::<BigInt, _>(position.1)
    .bind::<Nullable<Array<Text>>, _>(types)
    .bind::<BigInt, _>(limit)
    .load(conn)
}

/// Deletes up to `batch` events older than `age`; returns how many went.
pub fn prune(conn: &mut PgConnection, age: std::time::Duration, batch: i64) -> QueryResult<usize> {
    diesel::sql_query(
        "DELETE FROM events WHERE ctid = ANY (ARRAY( \
           SELECT ctid FROM events WHERE created_at < now() - $1 ORDER BY created_at LIMIT $2))",
    )
    .bind::<Interval, _>(diesel::data_types::PgInterval::from_microseconds(
        i64::try_from(age.as_micros()).unwrap_or(i64::MAX),
    ))
    .bind::<BigInt, _>(batch)
    .execute(conn)
}
