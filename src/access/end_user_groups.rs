//! End-user groups: each belongs to one environment for life, its name unique there.
//! Members are users of the tenant, added directly (group mappings come next).

use std::collections::HashSet;

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::AdminContext;
use crate::db::audit::{self, NewAuditEntry};
use crate::db::end_user_groups::{self, EndUserGroup};
use crate::db::{environments, users};
use crate::error::AdminError;

const MAX_NAME: usize = 100;
const MAX_DESCRIPTION: usize = 1000;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateInput {
    pub environment_id: Uuid,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub members: Vec<Uuid>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateInput {
    pub name: Option<String>,
    pub description: Option<String>,
    /// Present only to be refused: a group never changes environment.
    pub environment_id: Option<Uuid>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MembersInput {
    pub users: Vec<Uuid>,
}

/// What a duplicate copies besides the name and description.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DuplicateInput {
    pub name: String,
    #[serde(default)]
    pub members: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupView {
    #[serde(flatten)]
    pub group: EndUserGroup,
    pub members: Vec<Uuid>,
}

fn valid_name(name: &str) -> Result<String, AdminError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(AdminError::BadRequest(format!(
            "a group name has 1 to {MAX_NAME} characters"
        )));
    }
    Ok(name.to_string())
}

fn valid_description(description: &str) -> Result<String, AdminError> {
    if description.chars().count() > MAX_DESCRIPTION {
        return Err(AdminError::BadRequest(format!(
            "a description has at most {MAX_DESCRIPTION} characters"
        )));
    }
    Ok(description.to_string())
}

fn record(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    id: Uuid,
    operation: &str,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> QueryResult<()> {
    audit::append(
        conn,
        NewAuditEntry {
            tenant_id: ctx.tenant_id,
            actor: &ctx.actor,
            resource_type: "EndUserGroup",
            resource_id: id.to_string(),
            operation,
            before,
            after,
        },
    )
}

/// Refuses ids that are not users of the tenant.
fn check_users(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    ids: &[Uuid],
) -> Result<Vec<Uuid>, AdminError> {
    let unique: Vec<Uuid> = ids
        .iter()
        .copied()
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    if unique.is_empty() {
        return Ok(unique);
    }
    let found: HashSet<Uuid> = users::existing_ids(conn, ctx.tenant_id, &unique)?
        .into_iter()
        .collect();
    if let Some(missing) = unique.iter().find(|id| !found.contains(id)) {
        return Err(AdminError::BadRequest(format!(
            "{missing} is not a user of this tenant"
        )));
    }
    Ok(unique)
}

fn view(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    group: EndUserGroup,
) -> Result<GroupView, AdminError> {
    let members = end_user_groups::members(conn, ctx.tenant_id, group.id)?;
    Ok(GroupView { group, members })
}

pub fn list(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    environment_id: Option<Uuid>,
) -> Result<Vec<EndUserGroup>, AdminError> {
    Ok(end_user_groups::list(conn, ctx.tenant_id, environment_id)?)
}

pub fn get(conn: &mut PgConnection, ctx: &AdminContext, id: Uuid) -> Result<GroupView, AdminError> {
    let group = end_user_groups::find(conn, ctx.tenant_id, id)?;
    view(conn, ctx, group)
}

pub fn create(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    input: &CreateInput,
) -> Result<GroupView, AdminError> {
    let name = valid_name(&input.name)?;
    let description = valid_description(&input.description)?;
    conn.transaction(|conn| {
        environments::find(conn, ctx.tenant_id, input.environment_id).map_err(|_| {
            AdminError::BadRequest(format!(
                "{} is not an environment of this tenant",
                input.environment_id
            ))
        })?;
        let members = check_users(conn, ctx, &input.members)?;
        let group = end_user_groups::insert(
            conn,
            ctx.tenant_id,
            input.environment_id,
            &name,
            &description,
        )?;
        end_user_groups::add_members(conn, ctx.tenant_id, group.id, &members)?;
        let created = view(conn, ctx, group)?;
        record(
            conn,
            ctx,
            created.group.id,
            "create",
            None,
            Some(json!(created)),
        )?;
        Ok(created)
    })
}

/// Renames or re-describes a group; its identity, environment and members stay.
pub fn update(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    id: Uuid,
    input: &UpdateInput,
) -> Result<GroupView, AdminError> {
    let name = input.name.as_deref().map(valid_name).transpose()?;
    let description = input
        .description
        .as_deref()
        .map(valid_description)
        .transpose()?;
    conn.transaction(|conn| {
        let before = end_user_groups::find_for_update(conn, ctx.tenant_id, id)?;
        if input
            .environment_id
            .is_some_and(|e| e != before.environment_id)
        {
            return Err(AdminError::Conflict(
                "an end-user group stays in the environment it was created in".into(),
            ));
        }
        let after = end_user_groups::update(
            conn,
            ctx.tenant_id,
            id,
            name.as_deref().unwrap_or(&before.name),
            description.as_deref().unwrap_or(&before.description),
        )?;
        record(
            conn,
            ctx,
            id,
            "update",
            Some(json!(before)),
            Some(json!(after)),
        )?;
        view(conn, ctx, after)
    })
}

/// Deletes a group. One that still has direct members is kept unless `force` is given.
pub fn delete(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    id: Uuid,
    force: bool,
) -> Result<(), AdminError> {
    conn.transaction(|conn| {
        let before = end_user_groups::find_for_update(conn, ctx.tenant_id, id)?;
        let members = end_user_groups::member_count(conn, ctx.tenant_id, id)?;
        if members > 0 && !force {
            return Err(AdminError::Conflict(format!(
                "the group still has {members} direct member(s); delete with force=true to remove it anyway"
            )));
        }
        end_user_groups::delete(conn, ctx.tenant_id, id)?;
        record(conn, ctx, id, "delete", Some(json!({"group": before, "members": members})), None)?;
        Ok(())
    })
}

pub fn add_members(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    id: Uuid,
    input: &MembersInput,
) -> Result<GroupView, AdminError> {
    conn.transaction(|conn| {
        let group = end_user_groups::find_for_update(conn, ctx.tenant_id, id)?;
        let users = check_users(conn, ctx, &input.users)?;
        let added = end_user_groups::add_members(conn, ctx.tenant_id, id, &users)?;
        if added > 0 {
            record(
                conn,
                ctx,
                id,
                "add_members",
                None,
                Some(json!({"users": users})),
            )?;
        }
        view(conn, ctx, group)
    })
}

pub fn remove_members(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    id: Uuid,
    input: &MembersInput,
) -> Result<GroupView, AdminError> {
    conn.transaction(|conn| {
        let group = end_user_groups::find_for_update(conn, ctx.tenant_id, id)?;
        let removed = end_user_groups::remove_members(conn, ctx.tenant_id, id, &input.users)?;
        if removed > 0 {
            record(
                conn,
                ctx,
                id,
                "remove_members",
                Some(json!({"users": input.users})),
                None,
            )?;
        }
        view(conn, ctx, group)
    })
}

/// Copies a group within its environment under a new name, with its members if asked.
pub fn duplicate(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    id: Uuid,
    input: &DuplicateInput,
) -> Result<GroupView, AdminError> {
    let name = valid_name(&input.name)?;
    conn.transaction(|conn| {
        let source = end_user_groups::find(conn, ctx.tenant_id, id)?;
        let copy = end_user_groups::insert(
            conn,
            ctx.tenant_id,
            source.environment_id,
            &name,
            &source.description,
        )?;
        if input.members {
            let members = end_user_groups::members(conn, ctx.tenant_id, id)?;
            end_user_groups::add_members(conn, ctx.tenant_id, copy.id, &members)?;
        }
        let created = view(conn, ctx, copy)?;
        record(
            conn,
            ctx,
            created.group.id,
            "duplicate",
            Some(json!({"source": id})),
            Some(json!(created)),
        )?;
        Ok(created)
    })
}
