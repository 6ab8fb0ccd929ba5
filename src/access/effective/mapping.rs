//! A group mapping created or deleted, refreshed from the mapping's own paths.
//!
//! A mapping (IdP group → end-user group) grants exactly its own paths: the group's eligible
//! members times the end-user group's roles. None of them is stored (`group_role_paths`
//! resolves them), so creating or deleting it rewrites no row of `effective_roles`; what it
//! changes is who holds those roles, and a member gains (or loses) one unless another path
//! gives it anyway. That is computed from the mapping's paths alone — nothing is noted
//! before the change — so a mapping that reaches 100,000 users costs one pass over them.
//!
//! Two kinds of stored rows do depend on group paths, and a change that would move them is
//! refreshed like any other (see [`Pending::mark_mapping`]): an application's default role
//! for everyone else, which a group role displaces, and the End-user promotion rule.

use diesel::prelude::*;
use diesel::sql_types::{Array, Bool, Text, Uuid as SqlUuid};
use uuid::Uuid;

use super::{ChangeRow, Diff, Pending, Scope};

/// Whether the mapping is being created or deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MappingEffect {
    Grants,
    Revokes,
}

/// A mapping change marked for the refresh.
#[derive(Debug, Clone, Copy)]
pub(super) struct MappingChange {
    pub idp_group: Uuid,
    pub end_user_group: Uuid,
    pub effect: MappingEffect,
}

#[derive(QueryableByName)]
struct Exists {
    #[diesel(sql_type = Bool)]
    exists: bool,
}

#[derive(QueryableByName)]
struct GroupId {
    #[diesel(sql_type = SqlUuid)]
    idp_group_id: Uuid,
}

/// Whether a mapping's change can be refreshed from its own paths: nothing stored on the
/// applications it grants roles on depends on group paths.
pub(super) fn refreshable_alone(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    applications: &[Uuid],
) -> QueryResult<bool> {
    if crate::db::assignments::any_end_user(conn, tenant_id)? {
        return Ok(false);
    }
    let defaults: Exists = diesel::sql_query(
        "SELECT EXISTS (SELECT 1 FROM assignments WHERE tenant_id = $1 AND user_id IS NULL \
           AND end_user_group_id IS NULL AND collaborator_group_id IS NULL \
           AND application_id = ANY($2)) AS exists",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Array<SqlUuid>, _>(applications)
    .get_result(conn)?;
    Ok(!defaults.exists)
}

/// The IdP groups that grant something: mapped into an end-user group that holds a role.
fn granting_groups(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<Vec<Uuid>> {
    let groups: Vec<GroupId> = diesel::sql_query(
        "SELECT DISTINCT mp.idp_group_id FROM group_mappings mp \
         JOIN assignments a ON a.tenant_id = mp.tenant_id AND a.end_user_group_id = mp.end_user_group_id \
         WHERE mp.tenant_id = $1",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .load(conn)?;
    Ok(groups.into_iter().map(|g| g.idp_group_id).collect())
}

/// The roles the mapping's members gain or lose (binds: $1 tenant, $2 IdP group, $3
/// end-user group). Its paths are the same before and after the change, and paths through
/// the mapping itself are left out of "held anyway", so this holds on either side of it.
fn role_changes_sql(kind: &str) -> String {
    format!(
        "delta AS MATERIALIZED ( \
           SELECT gm.user_id, a.environment_id, a.application_id, a.role_id \
           FROM group_members gm \
           JOIN assignments a ON a.tenant_id = $1 AND a.end_user_group_id = $3 \
           WHERE gm.tenant_id = $1 AND gm.group_id = $2 \
             AND NOT EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = $1 AND u.id = gm.user_id \
                             AND (u.status <> 'active' OR u.active IS FALSE)) \
             AND NOT EXISTS (SELECT 1 FROM environment_access_revocations r \
                             WHERE r.tenant_id = $1 AND r.user_id = gm.user_id \
                               AND r.environment_id = a.environment_id) \
         ), \
         alike AS MATERIALIZED ( \
           SELECT o.end_user_group_id, o.environment_id, o.application_id, o.role_id \
           FROM assignments t \
           JOIN assignments o ON o.tenant_id = $1 AND o.application_id = t.application_id \
             AND o.role_id = t.role_id AND o.environment_id = t.environment_id \
           WHERE t.tenant_id = $1 AND t.end_user_group_id = $3 AND o.end_user_group_id IS NOT NULL \
         ), \
         elsewhere AS ( \
           SELECT gm.user_id, al.environment_id, al.application_id, al.role_id \
           FROM alike al \
           JOIN group_mappings mp ON mp.tenant_id = $1 AND mp.end_user_group_id = al.end_user_group_id \
           JOIN group_members gm ON gm.tenant_id = $1 AND gm.group_id = mp.idp_group_id \
           WHERE NOT (mp.idp_group_id = $2 AND mp.end_user_group_id = $3) \
         ), \
         role_changes AS MATERIALIZED ( \
           SELECT '{kind}'::text AS kind, d.* FROM delta d \
           WHERE NOT EXISTS (SELECT 1 FROM effective_roles x WHERE x.tenant_id = $1 \
                             AND x.user_id = d.user_id AND x.environment_id = d.environment_id \
                             AND x.application_id = d.application_id AND x.role_id = d.role_id) \
             AND NOT EXISTS (SELECT 1 FROM elsewhere o WHERE o.user_id = d.user_id \
                             AND o.environment_id = d.environment_id \
                             AND o.application_id = d.application_id AND o.role_id = d.role_id) \
         )"
    )
}

/// The members a deleted mapping leaves holding nothing, once it is gone ($4: the groups
/// that still grant something). A member of one of those holds a path through it unless
/// revoked from that environment, so only members of none, and members with a revoked
/// environment, are asked the exact question — one index probe per member, not a join
/// with every path of the tenant.
fn revoked_sql() -> String {
    format!(
        "SELECT c.user_id FROM ( \
           SELECT l.user_id FROM (SELECT DISTINCT user_id FROM role_changes) l \
           WHERE NOT EXISTS (SELECT 1 FROM effective_roles x WHERE x.tenant_id = $1 AND x.user_id = l.user_id) \
             AND NOT EXISTS (SELECT 1 FROM group_members gm \
                             WHERE gm.tenant_id = $1 AND gm.user_id = l.user_id AND gm.group_id = ANY($4) \
                               AND NOT EXISTS (SELECT 1 FROM environment_access_revocations r \
                                               WHERE r.tenant_id = $1 AND r.user_id = l.user_id)) \
           OFFSET 0) c \
         WHERE NOT EXISTS (SELECT 1 FROM group_role_paths g WHERE g.tenant_id = $1 AND g.user_id = c.user_id) \
           AND NOT {already}",
        already = crate::events::session_revoked_in_this_transaction("$1", "c.user_id")
    )
}

/// Tells the roles the mapping's change gives or takes, and writes them as events.
pub(super) fn refresh(
    conn: &mut PgConnection,
    pending: &Pending,
    change: &MappingChange,
    detailed: bool,
) -> QueryResult<Diff> {
    let started = std::time::Instant::now();
    // The events' grouping sorts and hashes one row per member.
    diesel::sql_query("SET LOCAL work_mem = '64MB'").execute(conn)?;
    let (kind, granting, revoked) = match change.effect {
        MappingEffect::Grants => ("gain", Vec::new(), None),
        MappingEffect::Revokes => (
            "loss",
            granting_groups(conn, pending.tenant_id)?,
            Some(revoked_sql()),
        ),
    };
    let changes = format!(
        "WITH {}, {}",
        role_changes_sql(kind),
        crate::events::access_events_sql("$1", "$5", revoked.as_deref())
    );
    let sql = if detailed {
        format!("{changes} SELECT c.*, 0::bigint AS n FROM role_changes c")
    } else {
        format!(
            "{changes} SELECT 'count'::text AS kind, NULL::uuid AS user_id, NULL::uuid AS environment_id, \
             NULL::uuid AS application_id, NULL::uuid AS role_id, count(*) AS n FROM role_changes"
        )
    };
    let rows: Vec<ChangeRow> = diesel::sql_query(sql)
        .bind::<SqlUuid, _>(pending.tenant_id)
        .bind::<SqlUuid, _>(change.idp_group)
        .bind::<SqlUuid, _>(change.end_user_group)
        .bind::<Array<SqlUuid>, _>(&granting)
        .bind::<Text, _>(&pending.actor)
        .load(conn)?;
    let mut diff = Diff::default();
    for row in rows {
        match (change.effect, row.change()) {
            (MappingEffect::Grants, Some(c)) => diff.gains.push(c),
            (MappingEffect::Revokes, Some(c)) => diff.losses.push(c),
            _ => {}
        }
    }
    diff.gains.sort();
    diff.losses.sort();
    crate::metrics::observe_effective_refresh(pending.cause, started.elapsed(), 0);
    Ok(diff)
}

impl Scope {
    /// The applications of an application scope (an end-user group's roles are all there).
    pub(super) fn application_ids(&self) -> Option<&[Uuid]> {
        match self {
            Scope::Applications(apps) => Some(apps),
            _ => None,
        }
    }
}
