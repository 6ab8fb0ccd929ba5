//! Effective roles, kept right in the transaction of every change that affects them.
//!
//! Paths through IdP groups (membership → group mapping → the end-user group's assignment)
//! are not stored per user: the view `group_role_paths` resolves them from those tables,
//! each an index range, so a mapping that reaches a million users is one row. Every other
//! path (direct, end-user and collaborator group membership, everyone else) is a row of
//! `effective_roles`; readers use `effective_paths`, which is both.
//!
//! A change marks the users it may affect and the scope it touches (the tenant, one
//! environment or one application) before it changes anything, and `mark` notes what those
//! users hold through IdP groups there; `refresh` then recomputes exactly those users in that
//! scope with one set-based statement that deletes the stored paths that no longer hold,
//! inserts the new ones, and tells the roles each user gained and lost from what they held
//! before. The same computation over every user and the whole tenant is the from-scratch
//! recomputation (`expected`), which tests compare with `effective_paths`.
//!
//! Writers that may change effective roles take the tenant's access lock first
//! (`lock_tenant`), so two concurrent changes never compute from each other's stale view.

use std::collections::HashSet;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Instant;

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text, Uuid as SqlUuid};
use serde::Serialize;
use uuid::Uuid;

mod mapping;
use mapping::MappingChange;
pub use mapping::MappingEffect;

/// Which part of a tenant a change can touch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Tenant,
    Environment(Uuid),
    /// Only roles on these applications (group memberships only ever grant those).
    Applications(Vec<Uuid>),
}

impl Scope {
    /// The smallest scope covering both.
    fn union(self, other: Scope) -> Scope {
        match (self, other) {
            (Scope::Applications(mut a), Scope::Applications(b)) => {
                a.extend(b);
                a.sort();
                a.dedup();
                Scope::Applications(a)
            }
            (a, b) if a == b => a,
            _ => Scope::Tenant,
        }
    }

    pub fn application(id: Uuid) -> Scope {
        Scope::Applications(vec![id])
    }

    fn applications(
        conn: &mut PgConnection,
        sql: &str,
        tenant_id: Uuid,
        id: Uuid,
    ) -> QueryResult<Scope> {
        #[derive(QueryableByName)]
        struct App {
            #[diesel(sql_type = SqlUuid)]
            application_id: Uuid,
        }
        let apps: Vec<App> = diesel::sql_query(sql)
            .bind::<SqlUuid, _>(tenant_id)
            .bind::<SqlUuid, _>(id)
            .load(conn)?;
        Ok(Scope::Applications(
            apps.into_iter().map(|a| a.application_id).collect(),
        ))
    }

    /// The applications an end-user group holds roles on: all its members can gain or lose.
    pub fn of_end_user_group(
        conn: &mut PgConnection,
        tenant_id: Uuid,
        group: Uuid,
    ) -> QueryResult<Scope> {
        Self::applications(
            conn,
            "SELECT DISTINCT application_id FROM assignments \
             WHERE tenant_id = $1 AND end_user_group_id = $2 AND application_id IS NOT NULL",
            tenant_id,
            group,
        )
    }

    pub fn of_collaborator_group(
        conn: &mut PgConnection,
        tenant_id: Uuid,
        group: Uuid,
    ) -> QueryResult<Scope> {
        Self::applications(
            conn,
            "SELECT DISTINCT application_id FROM assignments \
             WHERE tenant_id = $1 AND collaborator_group_id = $2 AND application_id IS NOT NULL",
            tenant_id,
            group,
        )
    }

    /// The applications an IdP group reaches through the end-user groups it is mapped into.
    pub fn of_idp_group(
        conn: &mut PgConnection,
        tenant_id: Uuid,
        group: Uuid,
    ) -> QueryResult<Scope> {
        Self::applications(
            conn,
            "SELECT DISTINCT a.application_id FROM group_mappings mp \
             JOIN assignments a ON a.tenant_id = mp.tenant_id AND a.end_user_group_id = mp.end_user_group_id \
             WHERE mp.tenant_id = $1 AND mp.idp_group_id = $2 AND a.application_id IS NOT NULL",
            tenant_id,
            group,
        )
    }

    /// A scope that touches nothing (a group holding no roles).
    pub fn is_nothing(&self) -> bool {
        matches!(self, Scope::Applications(apps) if apps.is_empty())
    }
}

/// Users a change may affect.
#[derive(Debug, Clone, Copy)]
pub enum Users<'a> {
    Ids(&'a [Uuid]),
    /// Members of a SCIM (IdP) group.
    IdpGroupMembers(Uuid),
    /// Direct members of an end-user group and members of the IdP groups mapped into it.
    EndUserGroupReach(Uuid),
    CollaboratorGroupMembers(Uuid),
    /// Users currently holding the role, by any path.
    RoleHolders(Uuid),
    /// Every user of the tenant.
    All,
}

/// Users a mark adds to those marked before.
enum Newly {
    Ids(Vec<Uuid>),
    /// The members of this IdP group (this many), none marked before.
    IdpGroupMembers(Uuid, usize),
    /// Every user of the tenant not marked before.
    AllOthers,
}

/// What was marked before a mark.
struct Marked<'a> {
    all: bool,
    users: &'a [Uuid],
    scope: Option<&'a Scope>,
}

/// What a transaction has marked for `refresh`.
#[derive(Debug)]
pub struct Pending {
    tenant_id: Uuid,
    all_users: bool,
    users: HashSet<Uuid>,
    scope: Option<Scope>,
    /// For a dry run: users whose privileges the preview compares before and after,
    /// besides the marked ones (the holders of a role whose privileges change).
    previewing: bool,
    watched: HashSet<Uuid>,
    /// What caused it, for metrics.
    pub cause: &'static str,
    /// Who made the change, for the events it writes.
    actor: String,
    /// This change's rows in `pg_temp.access_before`, once it has any.
    snapshot: Option<i64>,
    /// A group mapping's creation or deletion, refreshed from its own paths (then nothing
    /// else is marked).
    mapping: Option<MappingChange>,
    /// Nothing this change did alters paths through IdP groups, so what the marked users
    /// held through them before is what `group_role_paths` says now (nothing is noted).
    groups_unchanged: bool,
}

#[derive(QueryableByName)]
struct UserId {
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
}

impl Pending {
    pub fn new(tenant_id: Uuid, cause: &'static str, actor: &str) -> Self {
        Pending {
            tenant_id,
            all_users: false,
            users: HashSet::new(),
            scope: None,
            previewing: false,
            watched: HashSet::new(),
            cause,
            actor: actor.to_string(),
            snapshot: None,
            mapping: None,
            groups_unchanged: false,
        }
    }

    /// Marks `users` as possibly affected within `scope`. Call it before the change: the
    /// roles the users hold through IdP groups are not stored per user but resolved from
    /// memberships, mappings and assignments, so what they held before is noted here (in
    /// `pg_temp.access_before`) for `refresh` to tell gains and losses from. The ids are kept
    /// and handed to `refresh` as one array, so that PostgreSQL plans the refresh knowing
    /// how many users it covers.
    pub fn mark(
        &mut self,
        conn: &mut PgConnection,
        users: Users<'_>,
        scope: Scope,
    ) -> QueryResult<()> {
        self.mark_as(conn, users, scope, true)
    }

    /// Marks a group mapping about to be created or deleted. Its effect is its own paths
    /// less what its members hold anyway, so nothing is noted and the refresh is one pass
    /// over the members — unless it would move stored rows (an everyone-else default on its
    /// applications, the End-user promotion) or something else is marked already: then its
    /// members are marked like for any change.
    pub fn mark_mapping(
        &mut self,
        conn: &mut PgConnection,
        idp_group: Uuid,
        end_user_group: Uuid,
        scope: Scope,
        effect: MappingEffect,
    ) -> QueryResult<()> {
        if scope.is_nothing() {
            return Ok(());
        }
        let alone = self.scope.is_none()
            && self.mapping.is_none()
            && match scope.application_ids() {
                Some(apps) => mapping::refreshable_alone(conn, self.tenant_id, apps)?,
                None => false,
            };
        if !alone {
            return self.mark(conn, Users::IdpGroupMembers(idp_group), scope);
        }
        self.scope = Some(scope);
        self.mapping = Some(MappingChange {
            idp_group,
            end_user_group,
            effect,
        });
        Ok(())
    }

    /// Marks users this transaction created: they held nothing before, so nothing is noted
    /// (and the mark may come after the change).
    pub fn mark_new(
        &mut self,
        conn: &mut PgConnection,
        users: &[Uuid],
        scope: Scope,
    ) -> QueryResult<()> {
        self.mark_as(conn, Users::Ids(users), scope, false)
    }

    fn mark_as(
        &mut self,
        conn: &mut PgConnection,
        users: Users<'_>,
        scope: Scope,
        held_before: bool,
    ) -> QueryResult<()> {
        if scope.is_nothing() {
            return Ok(());
        }
        if self.mapping.is_some() {
            // The mapping's change has happened: what its members held before it is gone.
            return Err(diesel::result::Error::QueryBuilderError(
                "a group mapping's change is refreshed alone; mark nothing after it".into(),
            ));
        }
        let old_scope = self.scope.take();
        let new_scope = match old_scope.clone() {
            Some(s) => s.union(scope),
            None => scope,
        };
        self.scope = Some(new_scope.clone());
        let was_all = self.all_users;
        let old_users: Vec<Uuid> = self.users.iter().copied().collect();
        let newly = if was_all {
            Newly::Ids(Vec::new())
        } else {
            match self.resolve(conn, users)? {
                None => {
                    self.all_users = true;
                    self.users.clear();
                    Newly::AllOthers
                }
                Some(found) => {
                    let first = self.users.is_empty();
                    let mut fresh = Vec::new();
                    for user in found {
                        if self.users.insert(user) && held_before {
                            fresh.push(user);
                        }
                    }
                    match users {
                        // A group's members, marked first: found by the group in SQL (a
                        // large array is planned as a filter over every membership).
                        Users::IdpGroupMembers(group)
                            if first && held_before && !fresh.is_empty() =>
                        {
                            Newly::IdpGroupMembers(group, fresh.len())
                        }
                        _ => Newly::Ids(fresh),
                    }
                }
            }
        };
        let widened = old_scope.as_ref() != Some(&new_scope) && (was_all || !old_users.is_empty());
        if matches!(&newly, Newly::Ids(ids) if ids.is_empty()) && !widened {
            return Ok(());
        }
        let old = Marked {
            all: was_all,
            users: &old_users,
            scope: old_scope.as_ref(),
        };
        self.note_group_roles(conn, &newly, &old, &new_scope)
    }

    /// Notes the roles that users hold through IdP groups and that this change has not
    /// noted yet: newly marked users in the whole marked scope, users marked before only in
    /// the part of the scope that is new (their roles in the rest may have changed since).
    fn note_group_roles(
        &mut self,
        conn: &mut PgConnection,
        newly: &Newly,
        old: &Marked<'_>,
        new_scope: &Scope,
    ) -> QueryResult<()> {
        let id = match self.snapshot {
            Some(id) => id,
            None => {
                diesel::sql_query(
                    "CREATE TEMP TABLE IF NOT EXISTS access_before ( \
                       pending BIGINT NOT NULL, user_id UUID NOT NULL, environment_id UUID NOT NULL, \
                       application_id UUID, role_id UUID NOT NULL) ON COMMIT DELETE ROWS",
                )
                .execute(conn)?;
                let id = NEXT_SNAPSHOT.fetch_add(1, Ordering::Relaxed);
                self.snapshot = Some(id);
                id
            }
        };
        let (fresh_ids, fresh) = match newly {
            Newly::Ids(ids) if ids.is_empty() => (ids.as_slice(), "FALSE"),
            Newly::Ids(ids) => (ids.as_slice(), "g.user_id = ANY($3)"),
            Newly::AllOthers if old.users.is_empty() => (&[][..], "TRUE"),
            Newly::AllOthers => (&[][..], "g.user_id <> ALL($4)"),
            Newly::IdpGroupMembers(_, _) => (
                &[][..],
                "g.user_id IN (SELECT m.user_id FROM group_members m \
                               WHERE m.tenant_id = $1 AND m.group_id = $9)",
            ),
        };
        let (group, many) = match newly {
            Newly::IdpGroupMembers(group, n) => (Some(*group), *n > LARGE_REFRESH),
            Newly::AllOthers => (None, true),
            Newly::Ids(ids) => (None, ids.len() > LARGE_REFRESH),
        };
        if many {
            // As for a large refresh: the de-duplication sorts in memory.
            diesel::sql_query("SET LOCAL work_mem = '64MB'").execute(conn)?;
        }
        let earlier = if old.all {
            "TRUE"
        } else if old.users.is_empty() {
            "FALSE"
        } else {
            "g.user_id = ANY($4)"
        };
        let outside_old = match old.scope {
            None => "FALSE".to_string(),
            Some(scope) => format!("({}) IS NOT TRUE", scope_sql(scope, "g", "$7", "$8")),
        };
        let in_new = scope_sql(new_scope, "g", "$5", "$6");
        let (new_env, new_apps) = scope_binds(new_scope);
        let (old_env, old_apps) = old.scope.map(scope_binds).unwrap_or_default();
        diesel::sql_query(format!(
            "INSERT INTO pg_temp.access_before (pending, user_id, environment_id, application_id, role_id) \
             SELECT DISTINCT $2, g.user_id, g.environment_id, g.application_id, g.role_id \
             FROM group_role_paths g \
             WHERE g.tenant_id = $1 AND {in_new} AND ({fresh} OR ({earlier} AND {outside_old}))"
        ))
        .bind::<SqlUuid, _>(self.tenant_id)
        .bind::<BigInt, _>(id)
        .bind::<Array<SqlUuid>, _>(fresh_ids)
        .bind::<Array<SqlUuid>, _>(old.users)
        .bind::<Nullable<SqlUuid>, _>(new_env)
        .bind::<Array<SqlUuid>, _>(&new_apps)
        .bind::<Nullable<SqlUuid>, _>(old_env)
        .bind::<Array<SqlUuid>, _>(&old_apps)
        .bind::<Nullable<SqlUuid>, _>(group)
        .execute(conn)
        .map(|_| ())
    }

    /// Makes this the pending change of a dry run, whose preview lists privileges too.
    pub fn previewing(mut self, dry_run: bool) -> Self {
        self.previewing = dry_run;
        self
    }

    /// In a dry run, adds `users` to those whose privileges the preview compares, for a
    /// change that alters what a role grants without changing who holds it.
    pub fn watch(&mut self, conn: &mut PgConnection, users: Users<'_>) -> QueryResult<()> {
        if self.previewing {
            if let Some(found) = self.resolve(conn, users)? {
                self.watched.extend(found);
            }
        }
        Ok(())
    }

    /// The users a dry run's preview compares privileges for: the marked and watched ones
    /// and everyone whose roles changed (a tenant-wide mark is not expanded).
    pub fn preview_users(&self, diff: &Diff) -> Vec<Uuid> {
        let mut users: HashSet<Uuid> = self.watched.clone();
        users.extend(self.users.iter().copied());
        users.extend(diff.gains.iter().chain(&diff.losses).map(|c| c.user_id));
        let mut users: Vec<Uuid> = users.into_iter().collect();
        users.sort();
        users
    }

    /// The users `users` names, or `None` for every user of the tenant.
    fn resolve(&self, conn: &mut PgConnection, users: Users<'_>) -> QueryResult<Option<Vec<Uuid>>> {
        let t = self.tenant_id;
        let found: Vec<UserId> = match users {
            Users::All => return Ok(None),
            Users::Ids(ids) => return Ok(Some(ids.to_vec())),
            Users::IdpGroupMembers(group) => diesel::sql_query(
                "SELECT user_id FROM group_members WHERE tenant_id = $1 AND group_id = $2",
            )
            .bind::<SqlUuid, _>(t)
            .bind::<SqlUuid, _>(group)
            .load(conn)?,
            Users::EndUserGroupReach(group) => diesel::sql_query(
                "SELECT user_id FROM end_user_group_members \
                   WHERE tenant_id = $1 AND end_user_group_id = $2 \
                 UNION SELECT gm.user_id FROM group_mappings mp \
                   JOIN group_members gm ON gm.tenant_id = mp.tenant_id AND gm.group_id = mp.idp_group_id \
                   WHERE mp.tenant_id = $1 AND mp.end_user_group_id = $2",
            )
            .bind::<SqlUuid, _>(t)
            .bind::<SqlUuid, _>(group)
            .load(conn)?,
            Users::CollaboratorGroupMembers(group) => diesel::sql_query(
                "SELECT user_id FROM collaborator_group_members \
                 WHERE tenant_id = $1 AND collaborator_group_id = $2",
            )
            .bind::<SqlUuid, _>(t)
            .bind::<SqlUuid, _>(group)
            .load(conn)?,
            Users::RoleHolders(role) => diesel::sql_query(
                "SELECT DISTINCT user_id FROM effective_paths \
                 WHERE tenant_id = $1 AND role_id = $2",
            )
            .bind::<SqlUuid, _>(t)
            .bind::<SqlUuid, _>(role)
            .load(conn)?,
        };
        Ok(Some(found.into_iter().map(|r| r.user_id).collect()))
    }
}

/// Numbers each change's rows in `pg_temp.access_before` (unique within a connection).
static NEXT_SNAPSHOT: AtomicI64 = AtomicI64::new(1);

/// `scope` as a condition on the paths aliased `alias`, over the parameters `env` and `apps`.
fn scope_sql(scope: &Scope, alias: &str, env: &str, apps: &str) -> String {
    match scope {
        Scope::Tenant => "TRUE".to_string(),
        Scope::Environment(_) => format!("{alias}.environment_id = {env}"),
        Scope::Applications(_) => format!("{alias}.application_id = ANY({apps})"),
    }
}

fn tenant_key(tenant_id: Uuid) -> i64 {
    let b = tenant_id.as_bytes();
    i64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}

/// Serialises the writers of one tenant's access model until the transaction ends.
pub fn lock_tenant(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
        .bind::<BigInt, _>(tenant_key(tenant_id))
        .execute(conn)
        .map(|_| ())
}

/// The shared form of the tenant's lock, for creating users: a new user is invisible to
/// every other transaction, so creations need not wait for each other — only for changes
/// to the tenant's assignments, which hold the lock exclusively.
pub fn lock_tenant_shared(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock_shared($1)")
        .bind::<BigInt, _>(tenant_key(tenant_id))
        .execute(conn)
        .map(|_| ())
}

/// Whether the tenant gives any application a default role for everyone else: the only
/// path by which a user with no memberships and no assignments holds a role.
pub fn has_everyone_else(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<bool> {
    use crate::db::schema::assignments;
    // Asked by every user creation: a prepared statement.
    diesel::select(diesel::dsl::exists(
        assignments::table
            .filter(assignments::tenant_id.eq(tenant_id))
            .filter(assignments::user_id.is_null())
            .filter(assignments::end_user_group_id.is_null())
            .filter(assignments::collaborator_group_id.is_null()),
    ))
    .get_result(conn)
}

/// One role gained or lost by one user somewhere.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, QueryableByName)]
pub struct RoleChange {
    #[diesel(sql_type = SqlUuid)]
    pub user_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub environment_id: Uuid,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub application_id: Option<Uuid>,
    #[diesel(sql_type = SqlUuid)]
    pub role_id: Uuid,
}

#[derive(QueryableByName)]
struct ChangeRow {
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    user_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    environment_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    application_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    role_id: Option<Uuid>,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

impl ChangeRow {
    fn change(&self) -> Option<RoleChange> {
        Some(RoleChange {
            user_id: self.user_id?,
            environment_id: self.environment_id?,
            application_id: self.application_id,
            role_id: self.role_id?,
        })
    }
}

#[derive(QueryableByName)]
struct Counts {
    #[diesel(sql_type = BigInt)]
    added: i64,
    #[diesel(sql_type = BigInt)]
    removed: i64,
}

/// What a refresh changed: path rows, and (when asked for) roles gained and lost.
#[derive(Debug, Default, Clone)]
pub struct Diff {
    pub rows_added: i64,
    pub rows_removed: i64,
    pub gains: Vec<RoleChange>,
    pub losses: Vec<RoleChange>,
}

/// The nil UUID in SQL: `via_group_id` of a path not through an IdP group, and what a NULL
/// application is compared as.
const NIL: &str = "'00000000-0000-0000-0000-000000000000'::uuid";

/// The paths every eligible user of `$1` should hold, restricted by `users` and `scope`
/// (eligible: `active` status — an invited user holds nothing until accepting, an archived one
/// nothing until unarchived and accepting again — and not deactivated by SCIM)
/// (SQL fragments over bind parameters $2 = environment, $3 = application).
fn desired_sql(all_users: bool, scope: &Scope) -> String {
    // Each path is read from its membership table restricted to the marked users, so the
    // planner can start from whichever side is smaller; eligibility is checked once.
    let users = |column: &str| {
        if all_users {
            "TRUE".to_string()
        } else {
            format!("{column} = ANY($4)")
        }
    };
    let a = match scope {
        Scope::Tenant => "TRUE".to_string(),
        Scope::Environment(_) => "a.environment_id = $2".to_string(),
        Scope::Applications(_) => "a.application_id = ANY($3)".to_string(),
    };
    let (direct, eug, idp, collab, everyone) = (
        users("a.user_id"),
        users("m.user_id"),
        users("gm.user_id"),
        users("c.user_id"),
        users("u.id"),
    );
    format!(
        "paths AS ( \
           SELECT a.user_id, a.id AS assignment_id, {NIL} AS via_group_id, \
                  a.environment_id, a.application_id, a.role_id \
           FROM assignments a \
           WHERE a.tenant_id = $1 AND a.user_id IS NOT NULL AND {direct} AND {a} \
           UNION ALL \
           SELECT m.user_id, a.id, {NIL}, a.environment_id, a.application_id, a.role_id \
           FROM end_user_group_members m \
           JOIN assignments a ON a.tenant_id = $1 AND a.end_user_group_id = m.end_user_group_id \
           WHERE m.tenant_id = $1 AND {eug} AND {a} \
           UNION ALL \
           SELECT gm.user_id, a.id, gm.group_id, a.environment_id, a.application_id, a.role_id \
           FROM group_members gm \
           JOIN group_mappings mp ON mp.tenant_id = $1 AND mp.idp_group_id = gm.group_id \
           JOIN assignments a ON a.tenant_id = $1 AND a.end_user_group_id = mp.end_user_group_id \
           WHERE gm.tenant_id = $1 AND {idp} AND {a} \
           UNION ALL \
           SELECT c.user_id, a.id, {NIL}, a.environment_id, a.application_id, a.role_id \
           FROM collaborator_group_members c \
           JOIN assignments a ON a.tenant_id = $1 AND a.collaborator_group_id = c.collaborator_group_id \
           WHERE c.tenant_id = $1 AND {collab} AND {a} \
         ), \
         granted AS MATERIALIZED ( \
           SELECT p.* FROM paths p \
           JOIN users u ON u.tenant_id = $1 AND u.id = p.user_id \
           WHERE u.status = 'active' AND u.active IS NOT FALSE \
             AND NOT EXISTS ( \
               SELECT 1 FROM environment_access_revocations r \
               WHERE r.tenant_id = $1 AND r.user_id = p.user_id AND r.environment_id = p.environment_id) \
         ), \
         defaulted AS ( \
           SELECT u.id AS user_id, a.id AS assignment_id, {NIL} AS via_group_id, \
                  a.environment_id, a.application_id, a.role_id \
           FROM assignments a \
           JOIN users u ON u.tenant_id = $1 AND {everyone} \
           WHERE a.tenant_id = $1 AND a.user_id IS NULL AND a.end_user_group_id IS NULL \
             AND a.collaborator_group_id IS NULL AND {a} \
             AND u.status = 'active' AND u.active IS NOT FALSE \
             AND NOT EXISTS (SELECT 1 FROM granted g \
                             WHERE g.user_id = u.id AND g.application_id = a.application_id) \
             AND NOT EXISTS (SELECT 1 FROM environment_access_revocations r \
                             WHERE r.tenant_id = $1 AND r.user_id = u.id AND r.environment_id = a.environment_id) \
         ), \
         desired AS MATERIALIZED (SELECT * FROM granted UNION ALL SELECT * FROM defaulted)"
    )
}

fn scope_binds(scope: &Scope) -> (Option<Uuid>, Vec<Uuid>) {
    match scope {
        Scope::Tenant => (None, Vec::new()),
        Scope::Environment(e) => (Some(*e), Vec::new()),
        Scope::Applications(a) => (None, a.clone()),
    }
}

/// Brings the marked users' effective roles in the marked scope up to date. With
/// `detailed`, also returns which roles (not just paths) each user gained or lost.
///
/// Then ToolJet's rule for its default groups: an End-user who can now build an
/// application (an application role carrying `application.content.build` in that
/// environment) becomes a Builder there — the assignment changes, is audited, and the
/// users' roles are refreshed again, so the diff and the events show it too.
pub fn refresh(conn: &mut PgConnection, pending: &Pending, detailed: bool) -> QueryResult<Diff> {
    if let Some(change) = &pending.mapping {
        // Marked alone only when no stored row and no promotion depends on it.
        return mapping::refresh(conn, pending, change, detailed);
    }
    let mut diff = refresh_paths(conn, pending, detailed)?;
    if pending.scope.is_none() || (!pending.all_users && pending.users.is_empty()) {
        return Ok(diff);
    }
    if !crate::db::assignments::any_end_user(conn, pending.tenant_id)? {
        return Ok(diff);
    }
    let users: Vec<Uuid> = pending.users.iter().copied().collect();
    let promoted = crate::db::assignments::promote_building_end_users(
        conn,
        pending.tenant_id,
        (!pending.all_users).then_some(users.as_slice()),
    )?;
    if promoted.is_empty() {
        return Ok(diff);
    }
    let entries: Vec<crate::db::audit::NewAuditEntry> = promoted
        .iter()
        .map(|p| crate::db::audit::NewAuditEntry {
            tenant_id: pending.tenant_id,
            actor: &pending.actor,
            resource_type: "Assignment",
            resource_id: p.id.to_string(),
            operation: "update",
            before: Some(serde_json::json!({"user_id": p.user_id, "environment_id": p.environment_id, "role_id": p.from_role_id})),
            after: Some(serde_json::json!({"user_id": p.user_id, "environment_id": p.environment_id, "role_id": p.to_role_id,
                                           "reason": "an End-user who can build an application is a Builder"})),
        })
        .collect();
    crate::db::audit::append_all(conn, &entries)?;
    let mut again = Pending::new(pending.tenant_id, pending.cause, &pending.actor);
    let environments: HashSet<Uuid> = promoted.iter().map(|p| p.environment_id).collect();
    let scope = match environments.into_iter().collect::<Vec<_>>()[..] {
        [one] => Scope::Environment(one),
        _ => Scope::Tenant,
    };
    again.scope = Some(scope);
    again.users = promoted.iter().map(|p| p.user_id).collect();
    // The promotion changed environment roles only: what the users hold through IdP groups
    // is what they hold now.
    again.groups_unchanged = true;
    let more = refresh_paths(conn, &again, detailed)?;
    diff.rows_added += more.rows_added;
    diff.rows_removed += more.rows_removed;
    diff.gains.extend(more.gains);
    diff.losses.extend(more.losses);
    diff.gains.sort();
    diff.losses.sort();
    Ok(diff)
}

/// Refreshes of more users than this get more memory for their sorts.
const LARGE_REFRESH: usize = 10_000;

/// The path maintenance of [`refresh`]: one set-based statement for the marked users.
fn refresh_paths(conn: &mut PgConnection, pending: &Pending, detailed: bool) -> QueryResult<Diff> {
    let Some(scope) = &pending.scope else {
        return Ok(Diff::default());
    };
    if !pending.all_users && pending.users.is_empty() {
        return Ok(Diff::default());
    }
    let users: Vec<Uuid> = pending.users.iter().copied().collect();
    let started = Instant::now();
    if pending.all_users || users.len() > LARGE_REFRESH {
        // The diff and the events sort and hash every affected user's paths; with the
        // default 4 MB these spill to disk (a 100,000-user grant wrote 60 MB of temporary
        // files). Only for this transaction.
        diesel::sql_query("SET LOCAL work_mem = '64MB'").execute(conn)?;
    }
    let user_filter = if pending.all_users {
        ""
    } else {
        "AND x.user_id = ANY($4)"
    };
    let scope_on_x = match scope {
        Scope::Tenant => "TRUE",
        Scope::Environment(_) => "x.environment_id = $2",
        Scope::Applications(_) => "x.application_id = ANY($3)",
    };
    // Users left holding nothing (outside the refreshed scope nothing changed), unless this
    // transaction already said their sessions end. The stored and the group paths are
    // asked apart: a join with `effective_paths` (a union) cannot probe each branch by
    // user and hashed every path of the tenant instead.
    let revoked = format!(
        "SELECT l.user_id FROM (SELECT DISTINCT user_id FROM role_changes WHERE kind = 'loss' ORDER BY user_id) l \
         WHERE NOT EXISTS (SELECT 1 FROM desired d WHERE d.user_id = l.user_id) \
           AND NOT EXISTS (SELECT 1 FROM effective_roles x WHERE x.tenant_id = $1 \
                           AND x.user_id = l.user_id AND ({scope_on_x}) IS NOT TRUE) \
           AND NOT EXISTS (SELECT 1 FROM group_role_paths x WHERE x.tenant_id = $1 \
                           AND x.user_id = l.user_id AND ({scope_on_x}) IS NOT TRUE) \
           AND NOT {already}",
        already = crate::events::session_revoked_in_this_transaction("$1", "l.user_id")
    );
    // What the marked users held before, role by role: their stored paths (untouched until
    // this statement) and what `mark` noted of their roles through IdP groups.
    let noted = if pending.groups_unchanged {
        format!(
            "UNION SELECT x.user_id, x.environment_id, x.application_id, x.role_id FROM group_role_paths x \
             WHERE x.tenant_id = $1 {user_filter} AND {scope_on_x}"
        )
    } else if pending.snapshot.is_some() {
        "UNION SELECT s.user_id, s.environment_id, s.application_id, s.role_id FROM noted s"
            .to_string()
    } else {
        String::new()
    };
    // One statement: the stored paths that no longer hold go, the new ones come (paths
    // through IdP groups are not stored: `group_role_paths` resolves them), the roles each
    // user gained and lost are worked out from what they held before and hold now, and
    // those are written as `access.changed` events — plus `session.revoked` for a user left
    // holding nothing. Sibling CTEs all see the table as it was before. Gains and losses
    // are hash anti-joins (NULL applications compared through coalesce, which hashes where
    // IS NOT DISTINCT FROM cannot); probing the table once per row instead made a full
    // recomputation of 200,000 users run for hours.
    let changes = format!(
        "WITH {desired}, \
         removed AS ( \
           DELETE FROM effective_roles x \
           WHERE x.tenant_id = $1 {user_filter} AND {scope_on_x} \
             AND NOT EXISTS (SELECT 1 FROM desired d WHERE d.user_id = x.user_id \
                             AND d.assignment_id = x.assignment_id AND d.via_group_id = x.via_group_id \
                             AND d.role_id = x.role_id) \
           RETURNING x.user_id \
         ), \
         added AS ( \
           INSERT INTO effective_roles \
             (tenant_id, user_id, assignment_id, via_group_id, environment_id, application_id, role_id) \
           SELECT $1, d.user_id, d.assignment_id, d.via_group_id, d.environment_id, d.application_id, d.role_id \
           FROM desired d WHERE d.via_group_id = {NIL} \
           ON CONFLICT DO NOTHING \
           RETURNING user_id \
         ), \
         {noted_cte} \
         before AS MATERIALIZED ( \
           SELECT x.user_id, x.environment_id, x.application_id, x.role_id FROM effective_roles x \
           WHERE x.tenant_id = $1 {user_filter} AND {scope_on_x} \
           {noted} \
         ), \
         after AS MATERIALIZED ( \
           SELECT DISTINCT d.user_id, d.environment_id, d.application_id, d.role_id FROM desired d \
         ), \
         role_changes AS MATERIALIZED ( \
           SELECT 'gain'::text AS kind, k.* FROM after k \
           WHERE NOT EXISTS (SELECT 1 FROM before b WHERE b.user_id = k.user_id \
               AND b.environment_id = k.environment_id AND b.role_id = k.role_id \
               AND coalesce(b.application_id, {NIL}) = coalesce(k.application_id, {NIL})) \
           UNION ALL \
           SELECT 'loss', k.* FROM before k \
           WHERE NOT EXISTS (SELECT 1 FROM after d WHERE d.user_id = k.user_id \
               AND d.environment_id = k.environment_id AND d.role_id = k.role_id \
               AND coalesce(d.application_id, {NIL}) = coalesce(k.application_id, {NIL})) \
         ), \
         {access_events}",
        desired = desired_sql(pending.all_users, scope),
        noted_cte = if pending.snapshot.is_some() {
            "noted AS (DELETE FROM pg_temp.access_before WHERE pending = $6 \
             RETURNING user_id, environment_id, application_id, role_id),"
        } else {
            ""
        },
        access_events = crate::events::access_events_sql("$1", "$5", Some(&revoked)),
    );
    let (environment, applications) = scope_binds(scope);
    let mut diff = Diff::default();
    if detailed {
        let sql = format!(
            "{changes} \
             SELECT c.*, 0::bigint AS n FROM role_changes c \
             UNION ALL \
             SELECT 'rows_added', NULL, NULL, NULL, NULL, (SELECT count(*) FROM added) \
             UNION ALL \
             SELECT 'rows_removed', NULL, NULL, NULL, NULL, (SELECT count(*) FROM removed)"
        );
        let rows: Vec<ChangeRow> = diesel::sql_query(sql)
            .bind::<SqlUuid, _>(pending.tenant_id)
            .bind::<Nullable<SqlUuid>, _>(environment)
            .bind::<Array<SqlUuid>, _>(&applications)
            .bind::<Array<SqlUuid>, _>(&users)
            .bind::<Text, _>(&pending.actor)
            .bind::<BigInt, _>(pending.snapshot.unwrap_or(0))
            .load(conn)?;
        for row in rows {
            match (row.kind.as_str(), row.change()) {
                ("gain", Some(change)) => diff.gains.push(change),
                ("loss", Some(change)) => diff.losses.push(change),
                ("rows_added", _) => diff.rows_added = row.n,
                ("rows_removed", _) => diff.rows_removed = row.n,
                _ => {}
            }
        }
        diff.gains.sort();
        diff.losses.sort();
    } else {
        let sql = format!(
            "{changes} SELECT (SELECT count(*) FROM added) AS added, (SELECT count(*) FROM removed) AS removed"
        );
        let counts: Counts = diesel::sql_query(sql)
            .bind::<SqlUuid, _>(pending.tenant_id)
            .bind::<Nullable<SqlUuid>, _>(environment)
            .bind::<Array<SqlUuid>, _>(&applications)
            .bind::<Array<SqlUuid>, _>(&users)
            .bind::<Text, _>(&pending.actor)
            .bind::<BigInt, _>(pending.snapshot.unwrap_or(0))
            .get_result(conn)?;
        diff.rows_added = counts.added;
        diff.rows_removed = counts.removed;
    }
    crate::metrics::observe_effective_refresh(
        pending.cause,
        started.elapsed(),
        diff.rows_added + diff.rows_removed,
    );
    Ok(diff)
}

/// One path row of the effective-role table.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, QueryableByName)]
pub struct PathRow {
    #[diesel(sql_type = SqlUuid)]
    pub user_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub assignment_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub via_group_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub environment_id: Uuid,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub application_id: Option<Uuid>,
    #[diesel(sql_type = SqlUuid)]
    pub role_id: Uuid,
}

/// The from-scratch recomputation: every path the tenant's users should hold, sorted.
pub fn expected(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<Vec<PathRow>> {
    diesel::sql_query(format!(
        "WITH {} SELECT user_id, assignment_id, via_group_id, environment_id, application_id, role_id \
         FROM desired ORDER BY 1, 2, 3, 6",
        desired_sql(true, &Scope::Tenant)
    ))
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Nullable<SqlUuid>, _>(None::<Uuid>)
    .bind::<Array<SqlUuid>, _>(Vec::<Uuid>::new())
    .bind::<Array<SqlUuid>, _>(Vec::<Uuid>::new())
    .load(conn)
}

/// The maintained table for a tenant, sorted like `expected`.
pub fn maintained(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<Vec<PathRow>> {
    diesel::sql_query(
        "SELECT user_id, assignment_id, via_group_id, environment_id, application_id, role_id \
         FROM effective_paths WHERE tenant_id = $1 ORDER BY 1, 2, 3, 6",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .load(conn)
}

/// How the maintained table differs from the recomputation, counted in PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, QueryableByName)]
pub struct Drift {
    /// Paths the table holds.
    #[diesel(sql_type = BigInt)]
    pub held: i64,
    /// Paths the recomputation has and the table lacks.
    #[diesel(sql_type = BigInt)]
    pub missing: i64,
    /// Paths the table holds and the recomputation does not.
    #[diesel(sql_type = BigInt)]
    pub extra: i64,
}

pub fn drift(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<Drift> {
    diesel::sql_query(format!(
        "WITH {}, \
         held AS (SELECT user_id, assignment_id, via_group_id, environment_id, application_id, role_id \
                  FROM effective_paths WHERE tenant_id = $1), \
         wanted AS (SELECT user_id, assignment_id, via_group_id, environment_id, application_id, role_id \
                    FROM desired) \
         SELECT (SELECT count(*) FROM held) AS held, \
                (SELECT count(*) FROM (SELECT * FROM wanted EXCEPT SELECT * FROM held) m) AS missing, \
                (SELECT count(*) FROM (SELECT * FROM held EXCEPT SELECT * FROM wanted) e) AS extra",
        desired_sql(true, &Scope::Tenant)
    ))
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Nullable<SqlUuid>, _>(None::<Uuid>)
    .bind::<Array<SqlUuid>, _>(Vec::<Uuid>::new())
    .bind::<Array<SqlUuid>, _>(Vec::<Uuid>::new())
    .get_result(conn)
}

/// Rebuilds a tenant's effective roles from scratch (repairs any drift); returns the diff.
pub fn recompute(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<Diff> {
    conn.transaction(|conn| {
        lock_tenant(conn, tenant_id)?;
        let mut pending = Pending::new(tenant_id, "recompute", "system:recompute");
        pending.mark(conn, Users::All, Scope::Tenant)?;
        refresh(conn, &pending, false)
    })
}

/// Whether any eligible user of the tenant holds admin access, and in which environments
/// `user` does (admin access: a role with a privilege that administers access). The admin
/// roles are read first and bound as values, so each check is an index probe per role.
pub fn admin_environments(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    user: Option<Uuid>,
) -> QueryResult<(bool, Vec<Uuid>)> {
    #[derive(QueryableByName)]
    struct RoleId {
        #[diesel(sql_type = SqlUuid)]
        role_id: Uuid,
    }
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Bool)]
        any: bool,
        #[diesel(sql_type = Array<SqlUuid>)]
        mine: Vec<Uuid>,
    }
    let admin_roles: Vec<Uuid> = diesel::sql_query(
        "SELECT DISTINCT rp.role_id FROM role_privileges rp \
         JOIN privileges p ON p.key = rp.privilege_key AND p.administers_access \
         WHERE rp.tenant_id = $1",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .load::<RoleId>(conn)?
    .into_iter()
    .map(|r| r.role_id)
    .collect();
    if admin_roles.is_empty() {
        return Ok((false, Vec::new()));
    }
    let row: Row = diesel::sql_query(
        "SELECT EXISTS (SELECT 1 FROM effective_paths er \
                        WHERE er.tenant_id = $1 AND er.role_id = ANY($3)) AS any, \
                ARRAY(SELECT DISTINCT er.environment_id FROM effective_paths er \
                      WHERE er.tenant_id = $1 AND er.user_id = $2 AND er.role_id = ANY($3) \
                      ORDER BY 1) AS mine",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Nullable<SqlUuid>, _>(user)
    .bind::<Array<SqlUuid>, _>(&admin_roles)
    .get_result(conn)?;
    Ok((row.any, row.mine))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn a_union_of_scopes_is_the_smallest_scope_covering_both() {
        let (e1, e2) = (Scope::Environment(id(1)), Scope::Environment(id(2)));
        assert_eq!(e1.clone().union(e1.clone()), e1);
        // Two environments: only the tenant covers both; never just one of them.
        assert_eq!(e1.clone().union(e2.clone()), Scope::Tenant);
        assert_eq!(e2.union(e1.clone()), Scope::Tenant);
        // Applications are merged, sorted and without repeats.
        let apps =
            Scope::Applications(vec![id(9), id(3)]).union(Scope::Applications(vec![id(3), id(5)]));
        assert_eq!(apps, Scope::Applications(vec![id(3), id(5), id(9)]));
        assert_eq!(
            Scope::application(id(3)).union(e1.clone()),
            Scope::Tenant,
            "an application and an environment"
        );
        assert_eq!(Scope::Tenant.union(e1), Scope::Tenant);
    }

    #[test]
    fn only_a_scope_of_no_application_touches_nothing() {
        assert!(Scope::Applications(Vec::new()).is_nothing());
        assert!(!Scope::application(id(1)).is_nothing());
        assert!(!Scope::Environment(id(1)).is_nothing());
        assert!(!Scope::Tenant.is_nothing());
    }
}
