//! What a dry run answers: who would gain and who would lose which roles, and which
//! privileges each affected user would gain and lose where, with names.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use diesel::prelude::*;
use serde::Serialize;
use uuid::Uuid;

use super::effective::{Diff, RoleChange};
use crate::db::authorization::HeldPrivilege;
use crate::db::schema::{applications, environments, roles, users};

#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct Named {
    pub id: Uuid,
    pub name: String,
}

#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct DescribedChange {
    pub user: Named,
    pub environment: Named,
    pub application: Option<Named>,
    pub role: Named,
}

/// What one user may do differently in one place (an application, or environment-wide
/// when `application` is null).
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct PrivilegeChange {
    pub user: Named,
    pub environment: Named,
    pub application: Option<Named>,
    pub gained: Vec<String>,
    pub lost: Vec<String>,
}

#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct Preview {
    pub dry_run: bool,
    pub gains: Vec<DescribedChange>,
    pub losses: Vec<DescribedChange>,
    pub users_gaining: usize,
    pub users_losing: usize,
    /// Per user and place, the privileges gained and lost — also when no role changes
    /// hands (a role's privileges edited).
    pub privileges: Vec<PrivilegeChange>,
    pub users_changing_privileges: usize,
    /// At a parent tenant: who would gain and lose which roles in its managed workspaces.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub workspaces: Vec<WorkspacePreview>,
}

/// The role changes a parent's change makes in one managed workspace.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct WorkspacePreview {
    pub workspace_id: Uuid,
    pub gains: Vec<DescribedChange>,
    pub losses: Vec<DescribedChange>,
    pub users_gaining: usize,
    pub users_losing: usize,
}

/// Names of users, environments and applications, read while they exist.
#[derive(Default)]
pub struct Names {
    users: HashMap<Uuid, String>,
    environments: HashMap<Uuid, String>,
    applications: HashMap<Uuid, String>,
}

fn distinct(ids: impl Iterator<Item = Uuid>) -> Vec<Uuid> {
    ids.collect::<HashSet<_>>().into_iter().collect()
}

impl Names {
    /// Reads the names of these ids (those not known yet).
    fn load(
        &mut self,
        conn: &mut PgConnection,
        tenant_id: Uuid,
        user_ids: Vec<Uuid>,
        environment_ids: Vec<Uuid>,
        application_ids: Vec<Uuid>,
    ) -> QueryResult<()> {
        let missing = |ids: Vec<Uuid>, known: &HashMap<Uuid, String>| -> Vec<Uuid> {
            ids.into_iter()
                .filter(|id| !known.contains_key(id))
                .collect()
        };
        let user_ids = missing(user_ids, &self.users);
        let environment_ids = missing(environment_ids, &self.environments);
        let application_ids = missing(application_ids, &self.applications);
        self.users.extend(
            users::table
                .filter(users::tenant_id.eq(tenant_id))
                .filter(users::id.eq_any(user_ids))
                .select((users::id, users::user_name))
                .load::<(Uuid, String)>(conn)?,
        );
        self.environments.extend(
            environments::table
                .filter(environments::tenant_id.eq(tenant_id))
                .filter(environments::id.eq_any(environment_ids))
                .select((environments::id, environments::name))
                .load::<(Uuid, String)>(conn)?,
        );
        self.applications.extend(
            applications::table
                .filter(applications::tenant_id.eq(tenant_id))
                .filter(applications::id.eq_any(application_ids))
                .select((applications::id, applications::name))
                .load::<(Uuid, String)>(conn)?,
        );
        Ok(())
    }

    fn load_for_privileges(
        &mut self,
        conn: &mut PgConnection,
        tenant_id: Uuid,
        held: &[HeldPrivilege],
    ) -> QueryResult<()> {
        self.load(
            conn,
            tenant_id,
            distinct(held.iter().map(|h| h.user_id)),
            distinct(held.iter().map(|h| h.environment_id)),
            distinct(held.iter().filter_map(|h| h.application_id)),
        )
    }

    fn named(map: &HashMap<Uuid, String>, id: Uuid) -> Named {
        Named {
            id,
            name: map.get(&id).cloned().unwrap_or_default(),
        }
    }

    fn user(&self, id: Uuid) -> Named {
        Self::named(&self.users, id)
    }

    fn environment(&self, id: Uuid) -> Named {
        Self::named(&self.environments, id)
    }

    fn application(&self, id: Option<Uuid>) -> Option<Named> {
        id.map(|id| Self::named(&self.applications, id))
    }
}

/// The first half of a preview, taken inside the change before it is undone: the role
/// changes, and the privileges the users hold afterwards, named.
pub struct Rehearsal {
    preview: Preview,
    names: Names,
    after: Vec<HeldPrivilege>,
}

/// Attaches names to a diff's role changes and to the privileges held after the change
/// (inside the transaction, while what the change created still exists).
pub fn rehearse(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    diff: Diff,
    after: Vec<HeldPrivilege>,
) -> QueryResult<Rehearsal> {
    let all: Vec<&RoleChange> = diff.gains.iter().chain(diff.losses.iter()).collect();
    let mut names = Names::default();
    names.load(
        conn,
        tenant_id,
        distinct(all.iter().map(|c| c.user_id)),
        distinct(all.iter().map(|c| c.environment_id)),
        distinct(all.iter().filter_map(|c| c.application_id)),
    )?;
    names.load_for_privileges(conn, tenant_id, &after)?;
    let role_names: HashMap<Uuid, String> = roles::table
        .filter(roles::tenant_id.eq(tenant_id))
        .filter(roles::id.eq_any(distinct(all.iter().map(|c| c.role_id))))
        .select((roles::id, roles::name))
        .load::<(Uuid, String)>(conn)?
        .into_iter()
        .collect();
    let describe_one = |c: &RoleChange| DescribedChange {
        user: names.user(c.user_id),
        environment: names.environment(c.environment_id),
        application: names.application(c.application_id),
        role: Names::named(&role_names, c.role_id),
    };
    let count_users = |changes: &[RoleChange]| {
        changes
            .iter()
            .map(|c| c.user_id)
            .collect::<HashSet<_>>()
            .len()
    };
    let preview = Preview {
        dry_run: true,
        users_gaining: count_users(&diff.gains),
        users_losing: count_users(&diff.losses),
        gains: diff.gains.iter().map(describe_one).collect(),
        losses: diff.losses.iter().map(describe_one).collect(),
        privileges: Vec::new(),
        users_changing_privileges: 0,
        workspaces: Vec::new(),
    };
    Ok(Rehearsal {
        preview,
        names,
        after,
    })
}

impl Rehearsal {
    /// Only the role changes, named (a managed workspace's part of a parent's preview).
    pub fn in_workspace(self, workspace_id: Uuid) -> WorkspacePreview {
        let p = self.preview;
        WorkspacePreview {
            workspace_id,
            gains: p.gains,
            losses: p.losses,
            users_gaining: p.users_gaining,
            users_losing: p.users_losing,
        }
    }
}

/// Names what the change itself deleted (a role, a user, an application): read once the
/// change is undone, when they exist again.
pub fn name_the_deleted(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    changes: &mut [DescribedChange],
) -> QueryResult<()> {
    let unnamed = |ids: Vec<Uuid>| distinct(ids.into_iter());
    let roles_missing = unnamed(
        changes
            .iter()
            .filter(|c| c.role.name.is_empty())
            .map(|c| c.role.id)
            .collect(),
    );
    if roles_missing.is_empty()
        && !changes.iter().any(|c| {
            c.user.name.is_empty()
                || c.environment.name.is_empty()
                || c.application.as_ref().is_some_and(|a| a.name.is_empty())
        })
    {
        return Ok(());
    }
    let role_names: HashMap<Uuid, String> = roles::table
        .filter(roles::tenant_id.eq(tenant_id))
        .filter(roles::id.eq_any(roles_missing))
        .select((roles::id, roles::name))
        .load::<(Uuid, String)>(conn)?
        .into_iter()
        .collect();
    let mut names = Names::default();
    names.load(
        conn,
        tenant_id,
        unnamed(
            changes
                .iter()
                .filter(|c| c.user.name.is_empty())
                .map(|c| c.user.id)
                .collect(),
        ),
        unnamed(
            changes
                .iter()
                .filter(|c| c.environment.name.is_empty())
                .map(|c| c.environment.id)
                .collect(),
        ),
        unnamed(
            changes
                .iter()
                .filter_map(|c| c.application.as_ref())
                .filter(|a| a.name.is_empty())
                .map(|a| a.id)
                .collect(),
        ),
    )?;
    for c in changes.iter_mut() {
        if c.role.name.is_empty() {
            c.role = Names::named(&role_names, c.role.id);
        }
        if c.user.name.is_empty() {
            c.user = names.user(c.user.id);
        }
        if c.environment.name.is_empty() {
            c.environment = names.environment(c.environment.id);
        }
        if let Some(a) = c.application.as_mut().filter(|a| a.name.is_empty()) {
            *a = names.application(Some(a.id)).unwrap_or_else(|| a.clone());
        }
    }
    Ok(())
}

type Place = (Uuid, Uuid, Option<Uuid>);

fn by_place(held: Vec<HeldPrivilege>) -> BTreeMap<Place, BTreeSet<String>> {
    let mut places: BTreeMap<Place, BTreeSet<String>> = BTreeMap::new();
    for h in held {
        places
            .entry((h.user_id, h.environment_id, h.application_id))
            .or_default()
            .insert(h.privilege_key);
    }
    places
}

/// Completes a preview with the privileges the same users held before the change (read
/// after it was undone): per user and place, what they gain and lose.
pub fn finish(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    rehearsal: Rehearsal,
    before: Vec<HeldPrivilege>,
) -> QueryResult<Preview> {
    let Rehearsal {
        mut preview,
        mut names,
        after,
    } = rehearsal;
    names.load_for_privileges(conn, tenant_id, &before)?;
    name_the_deleted(conn, tenant_id, &mut preview.gains)?;
    name_the_deleted(conn, tenant_id, &mut preview.losses)?;
    let (before, after) = (by_place(before), by_place(after));
    let places: BTreeSet<&Place> = before.keys().chain(after.keys()).collect();
    let none = BTreeSet::new();
    for place in places {
        let was = before.get(place).unwrap_or(&none);
        let is = after.get(place).unwrap_or(&none);
        let gained: Vec<String> = is.difference(was).cloned().collect();
        let lost: Vec<String> = was.difference(is).cloned().collect();
        if gained.is_empty() && lost.is_empty() {
            continue;
        }
        let (user, environment, application) = *place;
        preview.privileges.push(PrivilegeChange {
            user: names.user(user),
            environment: names.environment(environment),
            application: names.application(application),
            gained,
            lost,
        });
    }
    preview.users_changing_privileges = preview
        .privileges
        .iter()
        .map(|p| p.user.id)
        .collect::<HashSet<_>>()
        .len();
    Ok(preview)
}
