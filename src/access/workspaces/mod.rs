//! Managed workspaces (Workato's Automation HQ and Embedded, ToolJet's users across
//! workspaces): a tenant may have child tenants. The parent's inheritable roles appear in
//! every child as read-only copies that follow its edits; its moderators hold an environment
//! role in every environment and a project role in every project of a child; it sees every
//! child's users with totals; archiving someone at the parent archives them in every child.
//!
//! What the parent does in a child runs in the parent's transaction, under the child's own
//! lock (taken after the parent's, children in id order, so two such changes cannot wait on
//! each other), with the child's own effective-role refresh, events and audit entries.

mod inherited;
mod listing;
mod moderation;

pub use inherited::{
    check_may_inherit, inherit_roles, refuse_inherited, roles_follow, roles_withdrawn,
};
pub use listing::{list, users, UsersQuery, WorkspaceList, WorkspaceUser, WorkspaceUsers};
pub use moderation::{
    add_moderator, list_moderators, person_deleted, refuse_moderator_in_collaborator_group,
    remove_moderator, ModeratorInput,
};

use crate::access::Rule;
use diesel::prelude::*;
use serde_json::json;
use uuid::Uuid;

use super::effective::{self, Pending, Scope, Users};
use super::AdminContext;
use crate::db::moderators::{self, Reach};
use crate::db::tenants::{self, Tenant};
use crate::db::users as user_rows;
use crate::error::AdminError;

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
    let diff = effective::refresh(conn, &pending, parent.is_dry_run())?;
    if parent.is_dry_run() && !(diff.gains.is_empty() && diff.losses.is_empty()) {
        // Named now, while what the change created still exists.
        let rehearsal = super::preview::rehearse(conn, child, diff, Vec::new())?;
        parent.preview_workspace(rehearsal.in_workspace(child));
    }
    // The workspace keeps someone who administers its access, as every tenant does.
    let (has_admin, _) = effective::admin_environments(conn, child, None)?;
    if had_admin && !has_admin {
        return Err(AdminError::Rule(
            Rule::LastAdmin,
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
pub(super) fn record_grants(
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
        // Workspaces where the person has no account are not locked at all.
        let present = !moderators::accounts_of(conn, child, person)?.is_empty()
            || user_rows::find_by_user_name(conn, child, user_name)
                .optional()?
                .is_some();
        if !present {
            continue;
        }
        let done = in_child(conn, parent, child, "archive", |conn, ctx, pending| {
            // Looked up again under the workspace's lock, so a concurrent rename or deletion
            // is wholly before or after.
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

/// Refuses a workspace's own change to a moderator's account that would take its access
/// away: only the parent ends a moderation.
pub fn refuse_moderator_account(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    user_id: Uuid,
) -> Result<(), AdminError> {
    if moderators::is_moderator(conn, tenant_id, user_id)? {
        return Err(AdminError::Rule(
            Rule::ModeratorManagedByParent,
            format!(
                "{user_id} is a moderator of this workspace; the parent tenant manages its access"
            ),
        ));
    }
    Ok(())
}
