//! Roles: named privilege sets with a scope (environment or application). The system roles
//! are seeded per tenant and immutable; custom roles are built from the catalogue.

use crate::access::Rule;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::effective::{Pending, Scope, Users};
use super::{valid_description, valid_name, workspaces, AdminContext};
use crate::db::roles::{self, Privilege, Role, RoleInsertForm};
use crate::error::AdminError;

#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoleScope {
    Environment,
    Application,
}

impl RoleScope {
    pub fn as_str(self) -> &'static str {
        match self {
            RoleScope::Environment => "environment",
            RoleScope::Application => "application",
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeQuery {
    pub scope: Option<RoleScope>,
}

#[derive(utoipa::ToSchema, Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[schema(as = RoleCreate)]
pub struct CreateInput {
    pub name: String,
    pub scope: RoleScope,
    #[serde(default)]
    pub description: String,
    pub privileges: Vec<String>,
    /// In a parent tenant: every managed workspace gets this role, read-only.
    #[serde(default)]
    pub inheritable: bool,
}

#[derive(utoipa::ToSchema, Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[schema(as = RoleUpdate)]
pub struct UpdateInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub privileges: Option<Vec<String>>,
    /// Present only to be refused: a role keeps its scope.
    pub scope: Option<RoleScope>,
    /// Passes the role on to every managed workspace (true) or withdraws it (false).
    pub inheritable: Option<bool>,
}

#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct RoleView {
    #[serde(flatten)]
    pub role: Role,
    pub system: bool,
    /// Whether the tenant may change the role's privileges (custom roles and ToolJet's
    /// Builder).
    pub privileges_editable: bool,
    pub privileges: Vec<String>,
}

pub fn catalogue(
    conn: &mut PgConnection,
    query: &ScopeQuery,
) -> Result<Vec<Privilege>, AdminError> {
    Ok(roles::catalogue(conn, query.scope.map(RoleScope::as_str))?)
}

fn view(conn: &mut PgConnection, role: Role) -> Result<RoleView, AdminError> {
    let privileges = roles::privileges_of(conn, role.tenant_id, role.id)?;
    Ok(RoleView {
        system: role.is_system(),
        privileges_editable: (!role.is_system() && role.inherited_from.is_none())
            || role.system_key.as_deref() == Some(EDITABLE_SYSTEM_ROLE),
        role,
        privileges,
    })
}

pub fn list(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    query: &ScopeQuery,
) -> Result<Vec<RoleView>, AdminError> {
    roles::list(conn, ctx.tenant_id, query.scope.map(RoleScope::as_str))?
        .into_iter()
        .map(|r| view(conn, r))
        .collect()
}

pub fn get(conn: &mut PgConnection, ctx: &AdminContext, id: Uuid) -> Result<RoleView, AdminError> {
    let role = roles::find(conn, ctx.tenant_id, id)?;
    view(conn, role)
}

/// Deduplicates the keys and refuses any that is not a privilege of the role's scope.
fn checked_privileges(
    conn: &mut PgConnection,
    scope: &str,
    keys: &[String],
) -> Result<Vec<String>, AdminError> {
    let mut unique: Vec<String> = keys.to_vec();
    unique.sort();
    unique.dedup();
    let known = roles::known_privileges(conn, scope, &unique)?;
    if let Some(unknown) = unique.iter().find(|k| !known.contains(k)) {
        return Err(AdminError::Unprocessable(
            "unknown-privilege",
            format!("{unknown} is not a privilege of {scope} roles"),
        ));
    }
    Ok(unique)
}

/// The application privilege that makes an End-user a Builder (see `effective::refresh`).
const BUILD_PRIVILEGE: &str = "application.content.build";

/// A role that now lets its holders build makes Builders of the End-users among them
/// (ToolJet): marking them makes their refresh run the promotion.
pub(crate) fn mark_new_builders(
    conn: &mut PgConnection,
    pending: &mut Pending,
    role_id: Uuid,
    before: &[String],
    after: &[String],
) -> Result<(), AdminError> {
    let builds = |keys: &[String]| keys.iter().any(|k| k == BUILD_PRIVILEGE);
    if builds(after) && !builds(before) {
        pending.mark(conn, Users::RoleHolders(role_id), Scope::Tenant)?;
    }
    Ok(())
}

/// ToolJet's Builder: a system role whose privileges each tenant may edit.
const EDITABLE_SYSTEM_ROLE: &str = "workspace_builder";

fn find_custom(conn: &mut PgConnection, ctx: &AdminContext, id: Uuid) -> Result<Role, AdminError> {
    let role = roles::find(conn, ctx.tenant_id, id)?;
    if role.is_system() {
        return Err(AdminError::Rule(
            Rule::SystemRoleImmutable,
            format!(
                "{} is a system role and cannot be changed or deleted",
                role.name
            ),
        ));
    }
    workspaces::refuse_inherited(&role)?;
    Ok(role)
}

pub fn create(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    _pending: &mut Pending,
    input: &CreateInput,
) -> Result<RoleView, AdminError> {
    let name = valid_name(&input.name, "role")?;
    let description = valid_description(&input.description)?;
    let scope = input.scope.as_str();
    let privileges = checked_privileges(conn, scope, &input.privileges)?;
    if input.inheritable {
        workspaces::check_may_inherit(conn, ctx.tenant_id)?;
    }
    let role = roles::insert(
        conn,
        &RoleInsertForm {
            tenant_id: ctx.tenant_id,
            id: Uuid::new_v4(),
            scope,
            name: &name,
            description: &description,
            inheritable: input.inheritable,
            inherited_from: None,
        },
    )?;
    roles::set_privileges(conn, ctx.tenant_id, role.id, &privileges)?;
    if role.inheritable {
        workspaces::roles_follow(conn, ctx, &role, &privileges)?;
    }
    let created = view(conn, role)?;
    ctx.record(
        conn,
        "Role",
        created.role.id,
        "create",
        None,
        Some(json!(created)),
    )?;
    Ok(created)
}

/// Renames, re-describes or changes the privileges of a custom role (or only the privileges
/// of ToolJet's Builder). Holders keep the role; what they may do changes with it.
pub fn update(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    pending: &mut Pending,
    id: Uuid,
    input: &UpdateInput,
) -> Result<RoleView, AdminError> {
    let role = roles::find(conn, ctx.tenant_id, id)?;
    // ToolJet's Builder default group is the one system role a tenant may change, and only
    // its privileges; its name and the other system roles are fixed.
    let privileges_only = input.name.is_none()
        && input.description.is_none()
        && input.scope.is_none()
        && input.inheritable.is_none();
    let role = if role.system_key.as_deref() == Some(EDITABLE_SYSTEM_ROLE) && privileges_only {
        role
    } else if role.system_key.as_deref() == Some(EDITABLE_SYSTEM_ROLE) {
        return Err(AdminError::Rule(
            Rule::SystemRoleImmutable,
            format!(
                "{} keeps its name and description; only its privileges change",
                role.name
            ),
        ));
    } else {
        find_custom(conn, ctx, id)?
    };
    if input.privileges.is_some() {
        // Nobody gains or loses the role, but every holder may do something else.
        pending.watch(conn, Users::RoleHolders(id))?;
    }
    let before = view(conn, role)?;
    if input.scope.is_some_and(|s| s.as_str() != before.role.scope) {
        return Err(AdminError::Rule(
            Rule::RoleScopeFixed,
            "a role keeps the scope it was created with".into(),
        ));
    }
    let name = input
        .name
        .as_deref()
        .map(|n| valid_name(n, "role"))
        .transpose()?;
    let description = input
        .description
        .as_deref()
        .map(valid_description)
        .transpose()?;
    let role = roles::update(
        conn,
        ctx.tenant_id,
        id,
        name.as_deref().unwrap_or(&before.role.name),
        description.as_deref().unwrap_or(&before.role.description),
    )?;
    if let Some(keys) = &input.privileges {
        let privileges = checked_privileges(conn, &before.role.scope, keys)?;
        roles::set_privileges(conn, ctx.tenant_id, id, &privileges)?;
        mark_new_builders(conn, pending, id, &before.privileges, &privileges)?;
    }
    let role = match input.inheritable {
        Some(true) if !role.inheritable => {
            workspaces::check_may_inherit(conn, ctx.tenant_id)?;
            roles::set_inheritable(conn, ctx.tenant_id, id, true)?
        }
        Some(false) if role.inheritable => {
            workspaces::roles_withdrawn(conn, ctx, id)?;
            roles::set_inheritable(conn, ctx.tenant_id, id, false)?
        }
        _ => role,
    };
    let after = view(conn, role)?;
    // Managed workspaces' copies follow the edit.
    if after.role.inheritable {
        workspaces::roles_follow(conn, ctx, &after.role, &after.privileges)?;
    }
    ctx.record(
        conn,
        "Role",
        id,
        "update",
        Some(json!(before)),
        Some(json!(after)),
    )?;
    Ok(after)
}

/// Deletes a custom role with its assignments; holders lose it at once.
pub fn delete(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    pending: &mut Pending,
    id: Uuid,
) -> Result<(), AdminError> {
    let role = find_custom(conn, ctx, id)?;
    let before = view(conn, role)?;
    // Users losing the role may fall back to "everyone else" on its applications.
    pending.mark(conn, Users::RoleHolders(id), Scope::Tenant)?;
    if before.role.inheritable {
        workspaces::roles_withdrawn(conn, ctx, id)?;
    }
    roles::delete(conn, ctx.tenant_id, id)?;
    ctx.record(conn, "Role", id, "delete", Some(json!(before)), None)?;
    Ok(())
}
