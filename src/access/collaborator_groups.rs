//! Collaborator groups: tenant-wide sets of users that receive application roles together.
//! They hold application roles only and do not nest.

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::effective::{Pending, Scope, Users};
use super::end_user_groups::MembersInput;
use super::{valid_description, valid_name, AdminContext};
use crate::db::collaborator_groups::{self, CollaboratorGroup};
use crate::error::AdminError;

#[derive(utoipa::ToSchema, Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[schema(as = CollaboratorGroupCreate)]
pub struct CreateInput {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub members: Vec<Uuid>,
}

#[derive(utoipa::ToSchema, Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[schema(as = CollaboratorGroupUpdate)]
pub struct UpdateInput {
    pub name: Option<String>,
    pub description: Option<String>,
}

#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
#[schema(as = CollaboratorGroupView)]
pub struct GroupView {
    #[serde(flatten)]
    pub group: CollaboratorGroup,
    pub members: Vec<Uuid>,
}

fn view(conn: &mut PgConnection, group: CollaboratorGroup) -> Result<GroupView, AdminError> {
    let members = collaborator_groups::members(conn, group.tenant_id, group.id)?;
    Ok(GroupView { group, members })
}

pub fn list(
    conn: &mut PgConnection,
    ctx: &AdminContext,
) -> Result<Vec<CollaboratorGroup>, AdminError> {
    Ok(collaborator_groups::list(conn, ctx.tenant_id)?)
}

pub fn get(conn: &mut PgConnection, ctx: &AdminContext, id: Uuid) -> Result<GroupView, AdminError> {
    let group = collaborator_groups::find(conn, ctx.tenant_id, id)?;
    view(conn, group)
}

pub fn create(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    input: &CreateInput,
) -> Result<GroupView, AdminError> {
    let name = valid_name(&input.name, "group")?;
    let description = valid_description(&input.description)?;
    let members = super::users::check_users(conn, ctx, &input.members)?;
    super::workspaces::refuse_moderator_in_collaborator_group(conn, ctx.tenant_id, &members)?;
    let group = collaborator_groups::insert(conn, ctx.tenant_id, &name, &description)?;
    collaborator_groups::add_members(conn, ctx.tenant_id, group.id, &members)?;
    let created = view(conn, group)?;
    ctx.record(
        conn,
        "CollaboratorGroup",
        created.group.id,
        "create",
        None,
        Some(json!(created)),
    )?;
    Ok(created)
}

pub fn update(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    id: Uuid,
    input: &UpdateInput,
) -> Result<GroupView, AdminError> {
    let before = collaborator_groups::find(conn, ctx.tenant_id, id)?;
    let name = input
        .name
        .as_deref()
        .map(|n| valid_name(n, "group"))
        .transpose()?;
    let description = input
        .description
        .as_deref()
        .map(valid_description)
        .transpose()?;
    let after = collaborator_groups::update(
        conn,
        ctx.tenant_id,
        id,
        name.as_deref().unwrap_or(&before.name),
        description.as_deref().unwrap_or(&before.description),
    )?;
    ctx.record(
        conn,
        "CollaboratorGroup",
        id,
        "update",
        Some(json!(before)),
        Some(json!(after)),
    )?;
    view(conn, after)
}

/// Deletes the group; its members lose what it granted at once.
pub fn delete(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    pending: &mut Pending,
    id: Uuid,
) -> Result<(), AdminError> {
    let group = collaborator_groups::find(conn, ctx.tenant_id, id)?;
    let before = view(conn, group)?;
    let scope = Scope::of_collaborator_group(conn, ctx.tenant_id, id)?;
    pending.mark(conn, Users::CollaboratorGroupMembers(id), scope)?;
    collaborator_groups::delete(conn, ctx.tenant_id, id)?;
    ctx.record(
        conn,
        "CollaboratorGroup",
        id,
        "delete",
        Some(json!(before)),
        None,
    )?;
    Ok(())
}

pub fn add_members(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    pending: &mut Pending,
    id: Uuid,
    input: &MembersInput,
) -> Result<GroupView, AdminError> {
    let group = collaborator_groups::find(conn, ctx.tenant_id, id)?;
    let users = super::users::check_users(conn, ctx, &input.users)?;
    super::workspaces::refuse_moderator_in_collaborator_group(conn, ctx.tenant_id, &users)?;
    if collaborator_groups::add_members(conn, ctx.tenant_id, id, &users)? > 0 {
        let scope = Scope::of_collaborator_group(conn, ctx.tenant_id, id)?;
        pending.mark(conn, Users::Ids(&users), scope)?;
        ctx.record(
            conn,
            "CollaboratorGroup",
            id,
            "add_members",
            None,
            Some(json!({"users": users})),
        )?;
    }
    view(conn, group)
}

pub fn remove_members(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    pending: &mut Pending,
    id: Uuid,
    input: &MembersInput,
) -> Result<GroupView, AdminError> {
    let group = collaborator_groups::find(conn, ctx.tenant_id, id)?;
    if collaborator_groups::remove_members(conn, ctx.tenant_id, id, &input.users)? > 0 {
        let scope = Scope::of_collaborator_group(conn, ctx.tenant_id, id)?;
        pending.mark(conn, Users::Ids(&input.users), scope)?;
        ctx.record(
            conn,
            "CollaboratorGroup",
            id,
            "remove_members",
            Some(json!({"users": input.users})),
            None,
        )?;
    }
    view(conn, group)
}
