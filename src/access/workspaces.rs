//! Managed workspaces (Workato's Automation HQ and Embedded, ToolJet's users across
//! workspaces): a tenant may have child tenants. The parent's inheritable roles appear in
//! every child as read-only copies that follow its edits; its moderators hold an environment
//! role in every environment and a project role in every project of a child; it sees every
//! child's users with totals; archiving someone at the parent archives them in every child.
//!
//! What the parent does in a child runs in the parent's transaction, under the child's own
//! lock (taken after the parent's, children in id order, so two such changes cannot wait on
//! each other), with the child's own effective-role refresh, events and audit entries.

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::effective::{self, Pending, Scope, Users};
use super::AdminContext;
use crate::db::moderators::{self, Moderator, Reach};
use crate::db::roles::{self, Role, RoleInsertForm};
use crate::db::tenants::{self, Tenant};
use crate::db::users::{self as user_rows, UserFields};
use crate::db::workspaces::{self as workspace_rows, WorkspaceTotals};
use crate::error::AdminError;
use crate::events::{self, UserState};

/// The parent's managed workspace `id`; another tenant's is not found.
pub fn child_of(conn: &mut PgConnection, parent: Uuid, id: Uuid) -> Result<Tenant, AdminError> {
    match tenants::find(conn, id).optional()? {
        Some(t) if t.parent_id == Some(parent) => Ok(t),
        _ => Err(AdminError::NotFound(format!(
            "{id} is not a managed workspace of this tenant"
        ))),
    }
}

/// Runs `change` in the child `child` on behalf of the parent's admin (see the module
/// documentation).
pub fn in_child<T>(
    conn: &mut PgConnection,
    parent: &AdminContext,
    child: Uuid,
    cause: &'static str,
    change: impl FnOnce(&mut PgConnection, &AdminContext, &mut Pending) -> Result<T, AdminError>,
) -> Result<T, AdminError> {
    effective::lock_tenant(conn, child)?;
    let ctx = AdminContext::internal(
        child,
        format!("{} (parent tenant {})", parent.actor, parent.tenant_id),
    );
    let (had_admin, _) = effective::admin_environments(conn, child, None)?;
    let mut pending = Pending::new(child, cause, &ctx.actor);
    let value = change(conn, &ctx, &mut pending)?;
    effective::refresh(conn, &pending, false)?;
    // The workspace keeps someone who administers its access, as every tenant does.
    let (has_admin, _) = effective::admin_environments(conn, child, None)?;
    if had_admin && !has_admin {
        return Err(AdminError::Rule(
            "last-admin",
            format!(
                "this change would leave workspace {child} without anyone holding admin access"
            ),
        ));
    }
    Ok(value)
}

/// Gives the tenant's moderators what `reach` calls for (a new environment or project).
pub fn moderators_follow(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    pending: &mut Pending,
    reach: Reach,
) -> Result<(), AdminError> {
    if !moderators::any(conn, ctx.tenant_id)? {
        return Ok(());
    }
    let granted = moderators::grant(conn, ctx.tenant_id, reach)?;
    record_grants(conn, ctx, pending, reach, &granted)
}

/// Marks and audits the moderator assignments just made.
fn record_grants(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    pending: &mut Pending,
    reach: Reach,
    granted: &[moderators::Granted],
) -> Result<(), AdminError> {
    let mut users: Vec<Uuid> = granted.iter().map(|g| g.user_id).collect();
    users.sort();
    users.dedup();
    let scope = match reach {
        Reach::Environment(e) => Scope::Environment(e),
        Reach::Application(a) => Scope::application(a),
        Reach::Moderator(_) => Scope::Tenant,
    };
    pending.mark(conn, Users::Ids(&users), scope)?;
    for g in granted {
        ctx.record(
            conn,
            "Assignment",
            g.id,
            "create",
            None,
            Some(json!({"moderator": g})),
        )?;
    }
    Ok(())
}

// ---- Inheritable roles ----

/// Refuses a change to a managed workspace's copy of its parent's role.
pub fn refuse_inherited(role: &Role) -> Result<(), AdminError> {
    if role.inherited_from.is_some() {
        return Err(AdminError::Rule(
            "inherited-role-immutable",
            format!(
                "{} is inherited from the parent tenant and changes only there",
                role.name
            ),
        ));
    }
    Ok(())
}

/// Refuses an inheritable role in a tenant that is itself a managed workspace.
pub fn check_may_inherit(conn: &mut PgConnection, tenant_id: Uuid) -> Result<(), AdminError> {
    if tenants::find(conn, tenant_id)?.parent_id.is_some() {
        return Err(AdminError::Unprocessable(
            "inheritable-in-managed-workspace",
            "a managed workspace has no workspaces of its own to pass roles on to".into(),
        ));
    }
    Ok(())
}

/// Creates or updates `child`'s copy of the parent's `role`.
fn sync_copy(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    pending: &mut Pending,
    role: &Role,
    privileges: &[String],
) -> Result<(), AdminError> {
    let child = ctx.tenant_id;
    let existing = roles::find_copy(conn, child, role.id)?;
    if roles::name_taken(
        conn,
        child,
        &role.scope,
        &role.name,
        existing.as_ref().map(|r| r.id),
    )? {
        return Err(AdminError::Rule(
            "inherited-role-name-taken",
            format!(
                "managed workspace {child} has a role named {} of its own; rename one of them",
                role.name
            ),
        ));
    }
    let copy = match existing {
        None => {
            let copy = roles::insert(
                conn,
                &RoleInsertForm {
                    tenant_id: child,
                    id: Uuid::new_v4(),
                    scope: &role.scope,
                    name: &role.name,
                    description: &role.description,
                    inheritable: false,
                    inherited_from: Some(role.id),
                },
            )?;
            roles::set_privileges(conn, child, copy.id, privileges)?;
            ctx.record(
                conn,
                "Role",
                copy.id,
                "inherit",
                None,
                Some(json!({"role": copy, "privileges": privileges})),
            )?;
            return Ok(());
        }
        Some(copy) => copy,
    };
    let before = roles::privileges_of(conn, child, copy.id)?;
    let updated = roles::update(conn, child, copy.id, &role.name, &role.description)?;
    if before != privileges {
        pending.watch(conn, Users::RoleHolders(copy.id))?;
        roles::set_privileges(conn, child, copy.id, privileges)?;
        // Holders who may now build become Builders (as for the tenant's own roles).
        pending.mark(conn, Users::RoleHolders(copy.id), Scope::Tenant)?;
    }
    ctx.record(
        conn,
        "Role",
        copy.id,
        "update",
        Some(json!({"role": copy, "privileges": before})),
        Some(json!({"role": updated, "privileges": privileges})),
    )?;
    Ok(())
}

/// Brings every child's copy of the parent's role up to date (creating missing copies).
pub fn roles_follow(
    conn: &mut PgConnection,
    parent: &AdminContext,
    role: &Role,
    privileges: &[String],
) -> Result<(), AdminError> {
    for child in tenants::child_ids(conn, parent.tenant_id)? {
        in_child(
            conn,
            parent,
            child,
            "inherited_role",
            |conn, ctx, pending| sync_copy(conn, ctx, pending, role, privileges),
        )?;
    }
    Ok(())
}

/// Removes every child's copy of the parent's role `role_id`, with its assignments.
pub fn roles_withdrawn(
    conn: &mut PgConnection,
    parent: &AdminContext,
    role_id: Uuid,
) -> Result<(), AdminError> {
    for child in tenants::child_ids(conn, parent.tenant_id)? {
        in_child(
            conn,
            parent,
            child,
            "inherited_role",
            |conn, ctx, pending| {
                if let Some(copy) = roles::find_copy(conn, ctx.tenant_id, role_id)? {
                    if moderators::using_role(conn, ctx.tenant_id, copy.id)? {
                        return Err(AdminError::Rule(
                            "role-held-by-moderators",
                            format!(
                                "moderators of workspace {} hold {}; change their roles first",
                                ctx.tenant_id, copy.name
                            ),
                        ));
                    }
                    pending.mark(conn, Users::RoleHolders(copy.id), Scope::Tenant)?;
                    roles::delete(conn, ctx.tenant_id, copy.id)?;
                    ctx.record(
                        conn,
                        "Role",
                        copy.id,
                        "delete",
                        Some(json!({"role": copy})),
                        None,
                    )?;
                }
                Ok(())
            },
        )?;
    }
    Ok(())
}

// ---- Creating a managed workspace ----

/// Gives a new child a copy of each of its parent's inheritable roles.
pub fn inherit_roles(
    conn: &mut PgConnection,
    parent: Uuid,
    child: Uuid,
    actor: &str,
) -> QueryResult<()> {
    let ctx = AdminContext::internal(child, actor);
    for role in roles::inheritable(conn, parent)? {
        let privileges = roles::privileges_of(conn, parent, role.id)?;
        let copy = roles::insert(
            conn,
            &RoleInsertForm {
                tenant_id: child,
                id: Uuid::new_v4(),
                scope: &role.scope,
                name: &role.name,
                description: &role.description,
                inheritable: false,
                inherited_from: Some(role.id),
            },
        )?;
        roles::set_privileges(conn, child, copy.id, &privileges)?;
        ctx.record(
            conn,
            "Role",
            copy.id,
            "inherit",
            None,
            Some(json!({"role": copy, "privileges": privileges})),
        )?;
    }
    Ok(())
}

// ---- Moderators ----

#[derive(utoipa::ToSchema, Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[schema(as = ModeratorCreate)]
pub struct ModeratorInput {
    /// A user of the parent tenant.
    pub user_id: Uuid,
    /// An environment role of the parent (a system role or an inheritable one): the
    /// moderator holds it in every environment of the workspace.
    pub environment_role_id: Uuid,
    /// A project role of the parent (system or inheritable): held on every project.
    pub project_role_id: Uuid,
}

/// The workspace's role standing for the parent's role `id`: the same system role, or the
/// copy of an inheritable one.
fn role_in_child(
    conn: &mut PgConnection,
    parent: Uuid,
    child: Uuid,
    id: Uuid,
    scope: &str,
) -> Result<Role, AdminError> {
    let unusable =
        |why: &str| AdminError::Unprocessable("moderator-role", format!("role {id} {why}"));
    let role = roles::find(conn, parent, id)
        .optional()?
        .ok_or_else(|| unusable("is not a role of this tenant"))?;
    if role.scope != scope {
        return Err(unusable(&format!("is not an {scope} role")));
    }
    let found = match &role.system_key {
        Some(key) => Some(roles::find_system(conn, child, key)?),
        None if role.inheritable => roles::find_copy(conn, child, role.id)?,
        None => None,
    };
    found.ok_or_else(|| unusable("is neither a system role nor inheritable"))
}

/// Makes the parent's user a moderator of the workspace: its account there (created from
/// the parent's, or the existing one with that userName) holds the environment role in every
/// environment and the project role on every project, now and later; it leaves the
/// workspace's collaborator groups and its own environment roles there are replaced.
pub fn add_moderator(
    conn: &mut PgConnection,
    parent: &AdminContext,
    workspace: Uuid,
    input: &ModeratorInput,
) -> Result<Moderator, AdminError> {
    child_of(conn, parent.tenant_id, workspace)?;
    let person = user_rows::find(conn, parent.tenant_id, input.user_id)
        .optional()?
        .ok_or_else(|| {
            AdminError::BadRequest(format!("{} is not a user of this tenant", input.user_id))
        })?;
    if user_rows::status(conn, parent.tenant_id, person.id)? != "active"
        || person.active == Some(false)
    {
        return Err(AdminError::Unprocessable(
            "moderator-not-active",
            format!("{} is not an active user of this tenant", person.user_name),
        ));
    }
    let environment_role = role_in_child(
        conn,
        parent.tenant_id,
        workspace,
        input.environment_role_id,
        "environment",
    )?;
    let project_role = role_in_child(
        conn,
        parent.tenant_id,
        workspace,
        input.project_role_id,
        "application",
    )?;
    let moderator = in_child(
        conn,
        parent,
        workspace,
        "moderator",
        |conn, ctx, pending| {
            if moderators::find_by_parent_user(conn, workspace, person.id)?.is_some() {
                return Err(AdminError::Conflict(format!(
                    "{} is already a moderator of this workspace",
                    person.user_name
                )));
            }
            let existing =
                user_rows::find_by_user_name(conn, workspace, &person.user_name).optional()?;
            let mut replaced = json!(null);
            let user_id = match existing {
                Some(id) => {
                    if user_rows::status(conn, workspace, id)? != "active" {
                        return Err(AdminError::Rule(
                            "moderator-account-not-active",
                            format!(
                                "the workspace's account {} is invited or archived",
                                person.user_name
                            ),
                        ));
                    }
                    let environment_roles =
                        moderators::clear_environment_roles(conn, workspace, id)?;
                    let groups = crate::db::collaborator_groups::remove_user_everywhere(
                        conn, workspace, id,
                    )?;
                    replaced = json!({"environment_assignments_removed": environment_roles,
                                      "collaborator_groups_left": groups});
                    id
                }
                None => {
                    let fields = UserFields {
                        user_name: person.user_name.clone(),
                        external_id: person.external_id.clone(),
                        display_name: person.display_name.clone(),
                        active: Some(true),
                        attributes: person.attributes.clone(),
                    };
                    let row = user_rows::insert(conn, workspace, Uuid::new_v4(), &fields)?;
                    ctx.record(
                        conn,
                        "User",
                        row.id,
                        "create",
                        None,
                        Some(json!({"userName": row.user_name, "moderator_of": person.id})),
                    )?;
                    events::user_changed(
                        conn,
                        workspace,
                        &ctx.actor,
                        row.id,
                        None,
                        Some(UserState {
                            active: true,
                            archived: false,
                        }),
                        true,
                    )?;
                    row.id
                }
            };
            let moderator = moderators::insert(
                conn,
                &Moderator {
                    tenant_id: workspace,
                    user_id,
                    parent_user_id: person.id,
                    environment_role_id: environment_role.id,
                    project_role_id: project_role.id,
                    created_at: chrono::Utc::now(),
                },
            )?;
            let granted = moderators::grant(conn, workspace, Reach::Moderator(user_id))?;
            record_grants(conn, ctx, pending, Reach::Moderator(user_id), &granted)?;
            ctx.record(
                conn,
                "Moderator",
                user_id,
                "create",
                None,
                Some(json!({"moderator": moderator, "replaced": replaced})),
            )?;
            Ok(moderator)
        },
    )?;
    parent.record(
        conn,
        "Moderator",
        person.id,
        "create",
        None,
        Some(json!(moderator)),
    )?;
    Ok(moderator)
}

pub fn list_moderators(
    conn: &mut PgConnection,
    parent: &AdminContext,
    workspace: Uuid,
) -> Result<Vec<Moderator>, AdminError> {
    child_of(conn, parent.tenant_id, workspace)?;
    Ok(moderators::list(conn, workspace)?)
}

/// Ends the parent's user's moderation of the workspace: the grants that came with it go;
/// the account stays, holding whatever else it was given there.
pub fn remove_moderator(
    conn: &mut PgConnection,
    parent: &AdminContext,
    workspace: Uuid,
    parent_user_id: Uuid,
) -> Result<(), AdminError> {
    child_of(conn, parent.tenant_id, workspace)?;
    let moderator = in_child(
        conn,
        parent,
        workspace,
        "moderator",
        |conn, ctx, pending| {
            let moderator = moderators::find_by_parent_user(conn, workspace, parent_user_id)?
                .ok_or_else(|| {
                    AdminError::NotFound(format!(
                        "{parent_user_id} is not a moderator of this workspace"
                    ))
                })?;
            pending.mark(conn, Users::Ids(&[moderator.user_id]), Scope::Tenant)?;
            moderators::delete(conn, workspace, moderator.user_id)?;
            ctx.record(
                conn,
                "Moderator",
                moderator.user_id,
                "delete",
                Some(json!(moderator)),
                None,
            )?;
            Ok(moderator)
        },
    )?;
    parent.record(
        conn,
        "Moderator",
        parent_user_id,
        "delete",
        Some(json!(moderator)),
        None,
    )?;
    Ok(())
}

/// Refuses to put a moderator into a collaborator group (Workato).
pub fn refuse_moderator_in_collaborator_group(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    users: &[Uuid],
) -> Result<(), AdminError> {
    for user in users {
        if moderators::is_moderator(conn, tenant_id, *user)? {
            return Err(AdminError::Rule(
                "moderator-not-in-collaborator-groups",
                format!("{user} is a moderator; moderators are not members of collaborator groups"),
            ));
        }
    }
    Ok(())
}

// ---- Reads across workspaces ----

#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct WorkspaceList {
    pub workspaces: Vec<WorkspaceTotals>,
    pub total_users: i64,
    pub total_builders: i64,
}

pub fn list(conn: &mut PgConnection, parent: &AdminContext) -> Result<WorkspaceList, AdminError> {
    let workspaces = workspace_rows::totals(conn, parent.tenant_id)?;
    Ok(WorkspaceList {
        total_users: workspaces.iter().map(|w| w.users).sum(),
        total_builders: workspaces.iter().map(|w| w.builders).sum(),
        workspaces,
    })
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsersQuery {
    /// Part of a userName, compared as userNames are.
    pub search: Option<String>,
    /// From the previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Page size, 1–200 (default 50).
    pub count: Option<i64>,
}

#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct WorkspaceUser {
    pub workspace_id: Uuid,
    pub workspace_name: String,
    pub id: Uuid,
    pub user_name: String,
    pub display_name: Option<String>,
    pub status: String,
    pub builder: bool,
}

#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct WorkspaceUsers {
    pub users: Vec<WorkspaceUser>,
    /// Over every workspace (not only this page, nor only the search's matches).
    pub total_users: i64,
    pub total_builders: i64,
    /// Absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A position in the listing: a workspace and the last folded userName shown of it.
#[derive(Debug, Serialize, Deserialize)]
struct Position {
    w: Uuid,
    after: Option<String>,
}

fn encode(position: &Position) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(position).unwrap_or_default())
}

fn decode(cursor: &str) -> Result<Position, AdminError> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| AdminError::BadRequest("the cursor is not one this listing gave".into()))
}

/// A LIKE pattern matching names that contain `text` (folded as userNames are).
fn contains_pattern(text: &str) -> String {
    let folded = crate::casefold::fold(text);
    let folded: &str = &folded;
    let escaped = folded
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// The users of every managed workspace, workspace by workspace (by name) and by userName
/// within each, one page at a time; each page reads only as many rows as it shows.
pub fn users(
    conn: &mut PgConnection,
    parent: &AdminContext,
    query: &UsersQuery,
) -> Result<WorkspaceUsers, AdminError> {
    let count = query.count.unwrap_or(50);
    if !(1..=200).contains(&count) {
        return Err(AdminError::BadRequest("count is between 1 and 200".into()));
    }
    let pattern = query
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(contains_pattern);
    let workspaces = workspace_rows::totals(conn, parent.tenant_id)?;
    let mut position = match &query.cursor {
        Some(c) => Some(decode(c)?),
        None => None,
    };
    let start = match &position {
        Some(p) => workspaces.iter().position(|w| w.id == p.w).ok_or_else(|| {
            AdminError::BadRequest("the cursor is not one this listing gave".into())
        })?,
        None => 0,
    };
    let mut users = Vec::new();
    let mut next_cursor = None;
    for (i, workspace) in workspaces.iter().enumerate().skip(start) {
        let after = position.take().and_then(|p| p.after);
        let room = count - users.len() as i64;
        // One row more than fits says whether this workspace continues on the next page.
        let mut rows = workspace_rows::users_page(
            conn,
            workspace.id,
            after.as_deref(),
            pattern.as_deref(),
            room + 1,
        )?;
        let more = rows.len() as i64 > room;
        rows.truncate(usize::try_from(room).unwrap_or(0));
        let last_key = rows.last().map(|r| r.sort_key.clone());
        users.extend(rows.into_iter().map(|row| WorkspaceUser {
            workspace_id: workspace.id,
            workspace_name: workspace.name.clone(),
            id: row.id,
            user_name: row.user_name,
            display_name: row.display_name,
            status: row.status,
            builder: row.builder,
        }));
        if users.len() as i64 == count {
            next_cursor = if more {
                Some(Position {
                    w: workspace.id,
                    after: last_key,
                })
            } else {
                workspaces.get(i + 1).map(|w| Position {
                    w: w.id,
                    after: None,
                })
            };
            break;
        }
    }
    Ok(WorkspaceUsers {
        users,
        total_users: workspaces.iter().map(|w| w.users).sum(),
        total_builders: workspaces.iter().map(|w| w.builders).sum(),
        next_cursor: next_cursor.as_ref().map(encode),
    })
}

// ---- Archiving across workspaces ----

/// Archives, in every managed workspace of the parent, the person's moderator account and
/// the account with their userName, where not archived yet; returns the workspaces' user ids.
pub fn archive_everywhere(
    conn: &mut PgConnection,
    parent: &AdminContext,
    person: Uuid,
    user_name: &str,
) -> Result<Vec<(Uuid, Uuid)>, AdminError> {
    let mut archived = Vec::new();
    for child in tenants::child_ids(conn, parent.tenant_id)? {
        let done = in_child(conn, parent, child, "archive", |conn, ctx, pending| {
            // Looked up under the workspace's lock, so a concurrent rename or deletion is
            // wholly before or after.
            let mut accounts = moderators::accounts_of(conn, child, person)?;
            if let Some(id) = user_rows::find_by_user_name(conn, child, user_name).optional()? {
                accounts.push(id);
            }
            accounts.sort();
            accounts.dedup();
            let mut done = Vec::new();
            for id in accounts {
                if user_rows::status(conn, child, id)? != "archived" {
                    super::users::archive_account(conn, ctx, pending, id)?;
                    done.push((child, id));
                }
            }
            Ok(done)
        })?;
        archived.extend(done);
    }
    Ok(archived)
}

/// A user deleted at the parent (by SCIM) moderates nothing any more: every workspace's
/// moderation by them ends, their accounts there staying with what else they were given.
/// Like every change from the identity provider, never refused by the lockout rules.
pub fn person_deleted(
    conn: &mut PgConnection,
    parent_tenant: Uuid,
    actor: &str,
    person: Uuid,
) -> QueryResult<()> {
    for child in tenants::child_ids(conn, parent_tenant)? {
        if moderators::find_by_parent_user(conn, child, person)?.is_none() {
            continue;
        }
        effective::lock_tenant(conn, child)?;
        let Some(m) = moderators::find_by_parent_user(conn, child, person)? else {
            continue;
        };
        let ctx = AdminContext::internal(child, format!("{actor} (parent tenant {parent_tenant})"));
        let mut pending = Pending::new(child, "moderator", &ctx.actor);
        pending.mark(conn, Users::Ids(&[m.user_id]), Scope::Tenant)?;
        moderators::delete(conn, child, m.user_id)?;
        ctx.record(
            conn,
            "Moderator",
            m.user_id,
            "delete",
            Some(json!(m)),
            Some(json!({"reason": "the user was deleted in the parent tenant"})),
        )?;
        effective::refresh(conn, &pending, false)?;
    }
    Ok(())
}

/// Refuses a workspace's own change to a moderator's account that would take its access
/// away: only the parent ends a moderation.
pub fn refuse_moderator_account(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    user_id: Uuid,
) -> Result<(), AdminError> {
    if moderators::is_moderator(conn, tenant_id, user_id)? {
        return Err(AdminError::Rule(
            "moderator-managed-by-parent",
            format!(
                "{user_id} is a moderator of this workspace; the parent tenant manages its access"
            ),
        ));
    }
    Ok(())
}
