//! Inheritable roles: the parent's custom roles that every managed workspace holds as
//! read-only copies, following the parent's edits.

use crate::access::Rule;
use diesel::prelude::*;
use serde_json::json;
use uuid::Uuid;

use super::in_child;
use crate::access::effective::{Pending, Scope, Users};
use crate::access::AdminContext;
use crate::db::moderators;
use crate::db::roles::{self, Role, RoleInsertForm};
use crate::db::tenants;
use crate::error::AdminError;

/// Refuses a change to a managed workspace's copy of its parent's role.
pub fn refuse_inherited(role: &Role) -> Result<(), AdminError> {
    if role.inherited_from.is_some() {
        return Err(AdminError::Rule(
            Rule::InheritedRoleImmutable,
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
            Rule::InheritedRoleNameTaken,
            format!(
                "managed workspace {child} has a role named {} of its own; rename one of them",
                role.name
            ),
        ));
    }
    let copy = match existing {
        None => {
            insert_copy(conn, ctx, role, privileges)?;
            return Ok(());
        }
        Some(copy) => copy,
    };
    let before = roles::privileges_of(conn, child, copy.id)?;
    let updated = roles::update(conn, child, copy.id, &role.name, &role.description)?;
    if before != privileges {
        pending.watch(conn, Users::RoleHolders(copy.id))?;
        roles::set_privileges(conn, child, copy.id, privileges)?;
        crate::access::roles::mark_new_builders(conn, pending, copy.id, &before, privileges)?;
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
                            Rule::RoleHeldByModerators,
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
        insert_copy(conn, &ctx, &role, &privileges)?;
    }
    Ok(())
}

/// Creates the workspace's read-only copy of its parent's `role`.
fn insert_copy(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    role: &Role,
    privileges: &[String],
) -> QueryResult<()> {
    let copy = roles::insert(
        conn,
        &RoleInsertForm {
            tenant_id: ctx.tenant_id,
            id: Uuid::new_v4(),
            scope: &role.scope,
            name: &role.name,
            description: &role.description,
            inheritable: false,
            inherited_from: Some(role.id),
        },
    )?;
    roles::set_privileges(conn, ctx.tenant_id, copy.id, privileges)?;
    ctx.record(
        conn,
        "Role",
        copy.id,
        "inherit",
        None,
        Some(json!({"role": copy, "privileges": privileges})),
    )
}
