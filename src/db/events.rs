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

/// How many users one outbox row may name (`subject_user_ids`); also the factor between a
/// row's id and the ids of the events it holds (`id * USERS_PER_ROW + position - 1`).
pub const USERS_PER_ROW: i64 = 1_000;

/// The tenant's events after `(txid, event id)` in feed order, one per user of a row that
/// names several, only of transactions older than every transaction still running (see the
/// migration). One range of the primary key, stopped after at most `limit + 1` rows (each
/// holds at least one event after the cursor but the cursor's own row); of each row only the
/// slice of ids the page can still take is expanded, so a page costs the same however large
/// the rows around it are.
pub fn after(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    position: (i64, i64),
    types: Option<&[String]>,
    limit: i64,
) -> QueryResult<Vec<EventRow>> {
    const N: i64 = USERS_PER_ROW;
    diesel::sql_query(format!(
        "WITH candidate AS ( \
           SELECT e.txid, e.id, e.event_type, e.created_at, e.actor, e.subject_user_id, \
                  e.subject_group_id, e.subject_user_ids, e.data, \
                  CASE WHEN e.subject_user_ids IS NOT NULL AND (e.txid, e.id) = ($2, $3 / {N}) \
                       THEN ($3 % {N} + 2)::int ELSE 1 END AS first_n \
           FROM events e \
           WHERE e.tenant_id = $1 AND (e.txid, e.id) >= ($2, $3 / {N}) \
             AND e.txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint \
             AND ($4::text[] IS NULL OR e.event_type = ANY ($4)) \
           ORDER BY e.txid, e.id \
           LIMIT $5 + 1 \
         ), \
         counted AS ( \
           SELECT c.*, CASE WHEN c.subject_user_ids IS NULL \
                            THEN CASE WHEN (c.txid, c.id * {N}) > ($2, $3) THEN 1 ELSE 0 END \
                            ELSE greatest(cardinality(c.subject_user_ids) - c.first_n + 1, 0) END AS remaining \
           FROM candidate c \
         ), \
         placed AS ( \
           SELECT c.*, sum(c.remaining) OVER (ORDER BY c.txid, c.id ROWS UNBOUNDED PRECEDING) \
                       - c.remaining AS before_me \
           FROM counted c \
         ) \
         SELECT p.txid, p.id * {N} + s.n - 1 AS id, p.event_type, p.created_at, p.actor, \
                coalesce(s.user_id, p.subject_user_id) AS subject_user_id, p.subject_group_id, p.data \
         FROM placed p \
         CROSS JOIN LATERAL ( \
           SELECT u.user_id, p.first_n + u.ord - 1 AS n \
           FROM unnest(coalesce( \
                  p.subject_user_ids[p.first_n : p.first_n + least($5 - p.before_me, {N})::int - 1], \
                  ARRAY[NULL::uuid])) WITH ORDINALITY AS u (user_id, ord) \
         ) s \
         WHERE p.remaining > 0 AND p.before_me < $5 \
         ORDER BY p.txid, p.id, s.n \
         LIMIT $5"
    ))
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
