//! Change events: what changed, written to the `events` outbox in the transaction of the
//! change itself (a rolled-back change or a dry run leaves none, a committed one always has
//! its events), and read back through the feed (`GET /admin/v1/events`).
//!
//! Access changes (`access.changed`, `session.revoked`) are written by the effective-role
//! refresh, in the same statement that changes the roles; lifecycle and membership events by
//! the operations that make those changes.

pub mod delivery;
pub mod hub;
pub mod webhooks;

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Text, Uuid as SqlUuid};
use serde::Serialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::db::events::{self as rows, EventRow, NewEventRow};

/// Every event type, with its name on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    UserCreated,
    UserUpdated,
    UserDeactivated,
    UserReactivated,
    UserArchived,
    UserUnarchived,
    UserDeleted,
    GroupCreated,
    GroupUpdated,
    GroupDeleted,
    MembershipChanged,
    AccessChanged,
    SessionRevoked,
}

impl EventType {
    pub const ALL: [EventType; 13] = [
        EventType::UserCreated,
        EventType::UserUpdated,
        EventType::UserDeactivated,
        EventType::UserReactivated,
        EventType::UserArchived,
        EventType::UserUnarchived,
        EventType::UserDeleted,
        EventType::GroupCreated,
        EventType::GroupUpdated,
        EventType::GroupDeleted,
        EventType::MembershipChanged,
        EventType::AccessChanged,
        EventType::SessionRevoked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::UserCreated => "user.created",
            EventType::UserUpdated => "user.updated",
            EventType::UserDeactivated => "user.deactivated",
            EventType::UserReactivated => "user.reactivated",
            EventType::UserArchived => "user.archived",
            EventType::UserUnarchived => "user.unarchived",
            EventType::UserDeleted => "user.deleted",
            EventType::GroupCreated => "group.created",
            EventType::GroupUpdated => "group.updated",
            EventType::GroupDeleted => "group.deleted",
            EventType::MembershipChanged => "membership.changed",
            EventType::AccessChanged => "access.changed",
            EventType::SessionRevoked => "session.revoked",
        }
    }
}

impl FromStr for EventType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| format!("unknown event type '{s}'"))
    }
}

/// What an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    User(Uuid),
    Group(Uuid),
}

/// Which kind of group a group or membership event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupKind {
    /// A group of the identity provider (pushed by SCIM or named by a login's claim).
    Idp,
    /// An environment's end-user group.
    EndUser,
}

impl GroupKind {
    fn as_str(self) -> &'static str {
        match self {
            GroupKind::Idp => "idp",
            GroupKind::EndUser => "end_user",
        }
    }
}

/// At most this many user ids go into one `membership.changed` event; a larger change is
/// several events, so that no event carries a whole member list of a large group.
pub const MEMBERS_PER_EVENT: usize = 1_000;

/// Writes one event in the caller's transaction.
pub fn record(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &str,
    event_type: EventType,
    subject: Subject,
    data: Value,
) -> QueryResult<()> {
    let (subject_user_id, subject_group_id) = match subject {
        Subject::User(u) => (Some(u), None),
        Subject::Group(g) => (None, Some(g)),
    };
    rows::insert(
        conn,
        &[NewEventRow {
            tenant_id,
            event_type: event_type.as_str(),
            actor,
            subject_user_id,
            subject_group_id,
            data,
        }],
    )
    .map(|_| ())
}

/// A group was created, renamed or deleted.
pub fn group(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &str,
    event_type: EventType,
    kind: GroupKind,
    group_id: Uuid,
    name: &str,
) -> QueryResult<()> {
    record(
        conn,
        tenant_id,
        actor,
        event_type,
        Subject::Group(group_id),
        json!({"kind": kind.as_str(), "name": name}),
    )
}

/// Members were added to or removed from a group: only the ids that actually changed, in
/// events of at most `MEMBERS_PER_EVENT` ids each.
pub fn membership_changed(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &str,
    kind: GroupKind,
    group_id: Uuid,
    added: &[Uuid],
    removed: &[Uuid],
) -> QueryResult<()> {
    let data = |added: &[Uuid], removed: &[Uuid]| json!({"kind": kind.as_str(), "added": added, "removed": removed});
    let events: Vec<Value> = if added.is_empty() && removed.is_empty() {
        Vec::new()
    } else if added.len() + removed.len() <= MEMBERS_PER_EVENT {
        vec![data(added, removed)]
    } else {
        added
            .chunks(MEMBERS_PER_EVENT)
            .map(|chunk| data(chunk, &[]))
            .chain(
                removed
                    .chunks(MEMBERS_PER_EVENT)
                    .map(|chunk| data(&[], chunk)),
            )
            .collect()
    };
    let rows: Vec<NewEventRow<'_>> = events
        .into_iter()
        .map(|data| NewEventRow {
            tenant_id,
            event_type: EventType::MembershipChanged.as_str(),
            actor,
            subject_user_id: None,
            subject_group_id: Some(group_id),
            data,
        })
        .collect();
    rows::insert(conn, &rows).map(|_| ())
}

/// What a user's state is, as far as lifecycle events go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserState {
    pub active: bool,
    pub archived: bool,
}

/// Events for a user going from `before` to `after` (None: not there). `changed` says whether
/// anything else about the user changed (an update).
pub fn user_changed(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &str,
    user_id: Uuid,
    before: Option<UserState>,
    after: Option<UserState>,
    changed: bool,
) -> QueryResult<()> {
    let mut types = Vec::new();
    match (before, after) {
        (None, Some(_)) => types.push(EventType::UserCreated),
        (Some(_), None) => types.push(EventType::UserDeleted),
        (Some(b), Some(a)) => {
            if changed {
                types.push(EventType::UserUpdated);
            }
            match (b.active, a.active) {
                (true, false) => types.push(EventType::UserDeactivated),
                (false, true) => types.push(EventType::UserReactivated),
                _ => {}
            }
            match (b.archived, a.archived) {
                (false, true) => types.push(EventType::UserArchived),
                (true, false) => types.push(EventType::UserUnarchived),
                _ => {}
            }
        }
        (None, None) => {}
    }
    let ends_sessions = after.is_none()
        || matches!((before, after), (Some(b), Some(a)) if (b.active && !a.active) || (!b.archived && a.archived));
    for t in types {
        record(conn, tenant_id, actor, t, Subject::User(user_id), json!({}))?;
    }
    if ends_sessions {
        let reason = match after {
            None => "deleted",
            Some(a) if a.archived => "archived",
            Some(_) => "deactivated",
        };
        revoke_sessions(conn, tenant_id, actor, user_id, reason)?;
    }
    Ok(())
}

/// `session.revoked` for the user, unless this transaction has already written one (the
/// refresh does when the change left the user holding nothing).
pub fn revoke_sessions(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &str,
    user_id: Uuid,
    reason: &str,
) -> QueryResult<()> {
    diesel::sql_query(format!(
        "INSERT INTO events (tenant_id, event_type, actor, subject_user_id, data) \
         SELECT $1, 'session.revoked', $3, $2, jsonb_build_object('reason', $4::text) \
         WHERE NOT {}",
        session_revoked_in_this_transaction("$1", "$2")
    ))
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<SqlUuid, _>(user_id)
    .bind::<Text, _>(actor)
    .bind::<Text, _>(reason)
    .execute(conn)
    .map(|_| ())
}

/// Before a user is deleted: `access.changed` events losing every role the user holds (the
/// rows go with the user), one per environment.
pub fn user_loses_everything(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &str,
    user_id: Uuid,
) -> QueryResult<()> {
    diesel::sql_query(format!(
        "WITH role_changes AS ( \
           SELECT DISTINCT 'loss'::text AS kind, user_id, environment_id, application_id, role_id \
           FROM effective_paths WHERE tenant_id = $1 AND user_id = $2), \
         {} \
         SELECT 1",
        access_events_sql("$1", "$3", None)
    ))
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<SqlUuid, _>(user_id)
    .bind::<Text, _>(actor)
    .execute(conn)
    .map(|_| ())
}

/// CTEs that write the `access.changed` events for a CTE `role_changes (kind 'gain' |
/// 'loss', user_id, environment_id, application_id, role_id)` — one event per user and
/// environment, each item naming the role and its privileges — and, when `revoked` (a query
/// of `user_id`s) is given, a `session.revoked` after them for each of those users. Users
/// whose changes are the same share an outbox row of up to `USERS_PER_ROW` ids (the feed
/// hands out one event per user), so a change reaching 100,000 users writes about a hundred
/// rows and builds each event body once. Ends with a CTE, for a `WITH` list.
///
/// How users with the same changes are found cheaply: the distinct changes of an environment
/// (few, even when 100,000 users share them) are numbered, and each user's set of changes is
/// the sum of 2 to the power of their numbers — a bit set, in a `bigint` for the first 64 and
/// an exact `numeric` beyond — which one hash aggregation builds in any order. The users of
/// each set are gathered once and cut into rows; each row's body is decoded from its set.
/// Text keys per user and a window over every user cost a 100,000-user change a third of a
/// second.
pub fn access_events_sql(tenant: &str, actor: &str, revoked: Option<&str>) -> String {
    let n = rows::USERS_PER_ROW;
    let nil = "'00000000-0000-0000-0000-000000000000'::uuid";
    let item = "jsonb_build_object('application_id', c.application_id, 'role_id', c.role_id, \
                'role', ri.name, 'privileges', coalesce(ri.privileges, '[]'))";
    let revocations = match revoked {
        Some(users) => format!(
            "UNION ALL \
             SELECT 1, NULL::uuid, NULL::bigint, NULL::numeric, k.chunk, k.users, 'session.revoked', \
                    jsonb_build_object('reason', 'no access left') \
             FROM (SELECT g.users[s.chunk * {n} + 1 : (s.chunk + 1) * {n}] AS users, s.chunk \
                   FROM (SELECT array_agg(r.user_id ORDER BY r.user_id) AS users FROM ({users}) r) g \
                   CROSS JOIN LATERAL generate_series(0, (cardinality(g.users) - 1) / {n}) AS s (chunk)) k"
        ),
        None => String::new(),
    };
    format!(
        "change_items AS MATERIALIZED ( \
           SELECT i.*, (row_number() OVER (PARTITION BY i.environment_id \
                                           ORDER BY i.kind, i.application_id NULLS FIRST, i.role_id) - 1)::int AS item \
           FROM (SELECT DISTINCT environment_id, kind, application_id, role_id FROM role_changes) i \
         ), \
         role_info AS ( \
           SELECT r.id, r.name, coalesce((SELECT jsonb_agg(rp.privilege_key ORDER BY rp.privilege_key) \
                                          FROM role_privileges rp \
                                          WHERE rp.tenant_id = {tenant} AND rp.role_id = r.id), '[]') AS privileges \
           FROM roles r WHERE r.tenant_id = {tenant} AND r.id IN (SELECT role_id FROM change_items) \
         ), \
         change_sets AS MATERIALIZED ( \
           SELECT c.environment_id, c.user_id, \
                  coalesce(bit_or(1::bigint << i.item) FILTER (WHERE i.item < 64), 0) AS low_items, \
                  coalesce(sum(power(2::numeric, i.item)) FILTER (WHERE i.item >= 64), 0) AS high_items \
           FROM role_changes c \
           JOIN change_items i ON i.environment_id = c.environment_id AND i.kind = c.kind \
             AND i.role_id = c.role_id \
             AND coalesce(i.application_id, {nil}) = coalesce(c.application_id, {nil}) \
           GROUP BY c.environment_id, c.user_id \
         ), \
         batches AS MATERIALIZED ( \
           SELECT g.environment_id, g.low_items, g.high_items, s.chunk, \
                  g.users[s.chunk * {n} + 1 : (s.chunk + 1) * {n}] AS users \
           FROM (SELECT environment_id, low_items, high_items, array_agg(user_id ORDER BY user_id) AS users \
                 FROM change_sets GROUP BY environment_id, low_items, high_items) g \
           CROSS JOIN LATERAL generate_series(0, (cardinality(g.users) - 1) / {n}) AS s (chunk) \
         ), \
         batch_data AS ( \
           SELECT b.environment_id, b.low_items, b.high_items, \
                  jsonb_build_object('environment_id', b.environment_id, \
                    'gained', coalesce(jsonb_agg({item} ORDER BY c.application_id NULLS FIRST, c.role_id) \
                                       FILTER (WHERE c.kind = 'gain'), '[]'), \
                    'lost', coalesce(jsonb_agg({item} ORDER BY c.application_id NULLS FIRST, c.role_id) \
                                     FILTER (WHERE c.kind = 'loss'), '[]')) AS data \
           FROM (SELECT DISTINCT environment_id, low_items, high_items FROM batches) b \
           JOIN change_items c ON c.environment_id = b.environment_id \
             AND CASE WHEN c.item < 64 THEN b.low_items & (1::bigint << c.item) <> 0 \
                      ELSE div(b.high_items, power(2::numeric, c.item)) % 2 = 1 END \
           LEFT JOIN role_info ri ON ri.id = c.role_id \
           GROUP BY b.environment_id, b.low_items, b.high_items \
         ), \
         access_rows AS ( \
           SELECT 0 AS ord, b.environment_id, b.low_items, b.high_items, b.chunk, b.users, \
                  'access.changed' AS event_type, d.data \
           FROM batches b \
           JOIN batch_data d ON d.environment_id = b.environment_id \
             AND d.low_items = b.low_items AND d.high_items = b.high_items \
           {revocations} \
         ), \
         access_events AS ( \
           INSERT INTO events (tenant_id, event_type, actor, subject_user_id, subject_user_ids, data) \
           SELECT {tenant}, event_type, {actor}, \
                  CASE WHEN cardinality(users) = 1 THEN users[1] END, \
                  CASE WHEN cardinality(users) > 1 THEN users END, data \
           FROM access_rows \
           ORDER BY ord, environment_id, low_items, high_items, chunk \
           RETURNING 1 \
         )"
    )
}

/// Whether user `user` (an SQL expression) already has a `session.revoked` event in this
/// transaction, alone or in a shared row.
pub fn session_revoked_in_this_transaction(tenant: &str, user: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM events e \
                 CROSS JOIN LATERAL unnest(coalesce(e.subject_user_ids, ARRAY[e.subject_user_id])) AS s (user_id) \
                 WHERE e.tenant_id = {tenant} AND e.txid = pg_current_xact_id()::text::bigint \
                   AND e.event_type = 'session.revoked' AND s.user_id = {user})"
    )
}

/// A position in a tenant's feed: after the event `id` of transaction `txid`. Opaque to
/// clients (`<txid>.<id>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cursor {
    txid: i64,
    id: i64,
}

impl Cursor {
    /// Before every event.
    pub const START: Cursor = Cursor { txid: -1, id: -1 };

    fn of(row: &EventRow) -> Cursor {
        Cursor {
            txid: row.txid,
            id: row.id,
        }
    }
}

impl FromStr for Cursor {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("'{s}' is not a cursor this feed gave out");
        let (txid, id) = s.split_once('.').ok_or_else(bad)?;
        let number = |part: &str| {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            part.parse::<i64>().map_err(|_| bad())
        };
        Ok(Cursor {
            txid: number(txid)?,
            id: number(id)?,
        })
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.txid, self.id)
    }
}

/// One event as the feed answers it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Event {
    /// Unique and stable: use it to drop duplicates.
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub time: DateTime<Utc>,
    pub actor: String,
    /// `{"user_id": …}` or `{"group_id": …}`.
    #[schema(value_type = Object)]
    pub subject: Value,
    #[schema(value_type = Object)]
    pub data: Value,
}

impl From<EventRow> for Event {
    fn from(row: EventRow) -> Self {
        let subject = match (row.subject_user_id, row.subject_group_id) {
            (Some(u), _) => json!({"user_id": u}),
            (None, Some(g)) => json!({"group_id": g}),
            (None, None) => json!({}),
        };
        Event {
            id: row.id.to_string(),
            event_type: row.event_type,
            time: row.created_at,
            actor: row.actor,
            subject,
            data: row.data,
        }
    }
}

/// A page of the feed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FeedPage {
    pub events: Vec<Event>,
    /// Pass it as `after` to continue; the same cursor again when nothing new was found.
    pub next_cursor: Option<String>,
}

/// Reads the feed once: up to `limit` events after `after`.
pub fn read_page(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    after: Option<Cursor>,
    types: Option<&[String]>,
    limit: i64,
) -> QueryResult<FeedPage> {
    let from = after.unwrap_or(Cursor::START);
    let found = rows::after(conn, tenant_id, (from.txid, from.id), types, limit)?;
    let next = found.last().map(Cursor::of).or(after);
    Ok(FeedPage {
        events: found.into_iter().map(Event::from).collect(),
        next_cursor: next.map(|c| c.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_what_it_wrote() {
        let c = Cursor { txid: 7412, id: 91 };
        assert_eq!(c.to_string().parse::<Cursor>(), Ok(c));
        assert!(Cursor::START < c);
    }

    #[test]
    fn a_cursor_is_two_numbers_and_nothing_else() {
        for bad in [
            "", ".", "1.", ".1", "1", "1.2.3", "-1.2", "1.-2", "a.b", "1 .2", "+1.2",
        ] {
            assert!(bad.parse::<Cursor>().is_err(), "{bad:?} was taken");
        }
        assert!("99999999999999999999.1".parse::<Cursor>().is_err());
    }

    #[test]
    fn every_type_is_named_once_and_parses_back() {
        let mut names: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
        for t in EventType::ALL {
            assert_eq!(t.as_str().parse::<EventType>(), Ok(t));
        }
        names.sort();
        names.dedup();
        assert_eq!(names.len(), EventType::ALL.len());
        assert!("user.exploded".parse::<EventType>().is_err());
    }
}
